"""MLflow's error shape ``{"error_code", "message"}`` with the HTTP status MLflow gives each code.

Statuses follow ``mlflow.server.handlers`` / ``mlflow.protos.databricks_pb2``: RESOURCE_DOES_NOT_EXIST
404, RESOURCE_ALREADY_EXISTS 400, INVALID_PARAMETER_VALUE 400, PERMISSION_DENIED 403,
UNAUTHENTICATED 401, ENDPOINT_NOT_FOUND 404, REQUEST_LIMIT_EXCEEDED 429. A refusal is never a 5xx:
the client retries 5xx (and 429) with back-off, and a governance refusal must fail at once.
"""

from __future__ import annotations

import re
from typing import Any, Final

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from governance.core.errors import ApplicationError, Conflict, NotFound, PermissionRefused
from governance.core.json_parser import PayloadTooLarge, too_large
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
    "INTERNAL_ERROR": 500,
}
# A Django-level failure's status, as MLflow's code (ErrorMiddleware, handler404...): 413 keeps its status
# with INVALID_PARAMETER_VALUE, a code the client does not retry.
CODE_OF_STATUS: Final = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "ENDPOINT_NOT_FOUND",
    413: "INVALID_PARAMETER_VALUE",
    429: "REQUEST_LIMIT_EXCEEDED",
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
    if isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE (= MAX_JSON_BODY_BYTES)
        exc = too_large()
    elif isinstance(exc, SuspiciousOperation):
        exc = MlflowError("MALFORMED_REQUEST", str(exc))
    found = _code_of(exc)
    if found is None:
        return None
    code, message = found
    response = Response(body(code, message), status=413 if isinstance(exc, PayloadTooLarge) else STATUS[code])
    if code == "UNAUTHENTICATED":
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    wait = getattr(exc, "wait", None)
    if isinstance(exc, exceptions.Throttled) and wait is not None:
        response["Retry-After"] = str(int(wait) + 1)
    return response


def django_error_response(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse:
    """MLflow's shape for failures outside the MLflow views' own handler (registered by the wiring with
    ``core.error_middleware.shape_register``): an unknown URL, an oversize body, an unforeseen fault."""
    return JsonResponse(body(CODE_OF_STATUS.get(status, "INTERNAL_ERROR"), detail), status=status)


def endpoint_not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Any other path under /api/2.0/mlflow/ (tracking, artifacts...): MLflow's answer for an API it lacks."""
    return JsonResponse(
        body(
            "ENDPOINT_NOT_FOUND",
            f"No API endpoint /api/2.0/mlflow/{rest}: only the model registry is served here.",
        ),
        status=404,
    )
