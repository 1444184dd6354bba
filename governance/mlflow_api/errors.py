"""MLflow's error shape ``{"error_code", "message"}`` with the HTTP status MLflow gives each code.

Statuses follow ``mlflow.server.handlers`` / ``mlflow.protos.databricks_pb2``: RESOURCE_DOES_NOT_EXIST
404, RESOURCE_ALREADY_EXISTS 400, INVALID_PARAMETER_VALUE 400, PERMISSION_DENIED 403,
UNAUTHENTICATED 401, ENDPOINT_NOT_FOUND 404, REQUEST_LIMIT_EXCEEDED 429. A refusal is never a 5xx:
the client retries 5xx (and 429) with back-off, and a governance refusal must fail at once.
"""

from __future__ import annotations

import re
from typing import Any, Final

from django.http import HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from governance.core.errors import ApplicationError, Conflict, NotFound, PermissionRefused
from governance.mlflow_api.filters import FilterError

STATUS: Final = {
    "RESOURCE_DOES_NOT_EXIST": 404,
    "RESOURCE_ALREADY_EXISTS": 400,
    "INVALID_PARAMETER_VALUE": 400,
    "MALFORMED_REQUEST": 400,
    "PERMISSION_DENIED": 403,
    "UNAUTHENTICATED": 401,
    "ENDPOINT_NOT_FOUND": 404,
    "REQUEST_LIMIT_EXCEEDED": 429,
}
MODEL_NAME: Final = re.compile(r"^[-a-zA-Z0-9_]{1,200}$")
ALIAS_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
RESERVED_ALIAS: Final = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


class MlflowError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def body(code: str, message: str) -> dict[str, str]:
    return {"error_code": code, "message": message}


def check_model_name(name: str) -> None:
    if not MODEL_NAME.match(name):
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Invalid model name {name!r}: here a model name is up to 200 letters, digits, '-' or '_' "
            "(it is part of lineage node ids such as model:<name>#<version>).",
        )


def check_alias_name(alias: str) -> None:
    if RESERVED_ALIAS.match(alias):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"'{alias}' is a reserved alias name.")
    if not ALIAS_NAME.match(alias):
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Invalid alias name {alias!r}: start with a letter, then letters, digits, '_', '.' or '-'.",
        )


def _code_of(exc: Exception) -> tuple[str, str] | None:
    if isinstance(exc, MlflowError):
        return exc.code, exc.message
    if isinstance(exc, FilterError):
        return "INVALID_PARAMETER_VALUE", str(exc)
    if isinstance(exc, NotFound):
        return "RESOURCE_DOES_NOT_EXIST", exc.detail
    if isinstance(exc, PermissionRefused):
        return "PERMISSION_DENIED", exc.detail
    if isinstance(exc, Conflict | ApplicationError):
        return "INVALID_PARAMETER_VALUE", exc.detail
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return "UNAUTHENTICATED", str(exc.detail)
    if isinstance(exc, exceptions.PermissionDenied):
        return "PERMISSION_DENIED", str(exc.detail)
    if isinstance(exc, exceptions.Throttled):
        return "REQUEST_LIMIT_EXCEEDED", str(exc.detail)
    if isinstance(exc, exceptions.MethodNotAllowed | exceptions.NotFound):
        return "ENDPOINT_NOT_FOUND", str(exc.detail)
    if isinstance(exc, exceptions.APIException):
        return "MALFORMED_REQUEST", str(exc.detail)
    return None


def mlflow_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The DRF exception handler of the MLflow views; anything unforeseen stays a 500 (a real fault)."""
    found = _code_of(exc)
    if found is None:
        return None
    code, message = found
    response = Response(body(code, message), status=STATUS[code])
    if code == "UNAUTHENTICATED":
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        response["Retry-After"] = str(int(wait) + 1)
    return response


def endpoint_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /api/2.0/mlflow/ (tracking, artifacts...): MLflow's answer for an API it lacks."""
    return JsonResponse(
        body(
            "ENDPOINT_NOT_FOUND",
            f"No API endpoint /api/2.0/mlflow/{rest}: only the model registry is served here.",
        ),
        status=404,
    )
