"""One exception handler: every API error is ``{"error": "<stable code>", "detail": "<what is wrong>"}``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from governance.core.errors import ApplicationError
from governance.core.json_parser import too_large

_CODES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "parse_error",
    exceptions.ValidationError: "validation_error",
}


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    """Turn DRF's nested error detail into readable 'field: message' sentences."""
    if isinstance(detail, dict):
        messages: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            messages.extend(_flatten(value, f"{prefix}{name}." if name else prefix))
        return messages
    if isinstance(detail, list):
        return [message for item in detail for message in _flatten(item, prefix)]
    field = prefix.rstrip(".")
    return [f"{field}: {detail}" if field else str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE (= MAX_JSON_BODY_BYTES)
        exc = too_large()
    elif isinstance(exc, SuspiciousOperation):
        return Response({"error": "bad_request", "detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ApplicationError):
        return Response({"error": exc.code, "detail": exc.detail, **exc.extra}, status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if not isinstance(exc, exceptions.APIException):
        return response
    code = next((c for cls, c in _CODES.items() if isinstance(exc, cls)), exc.default_code)
    if isinstance(exc, exceptions.ValidationError):
        detail = "; ".join(_flatten(exc.detail)) or "The request is not valid."
        body: dict[str, Any] = {"error": code, "detail": detail, "fields": exc.detail}
    else:
        body = {"error": code, "detail": str(exc.detail)}
    # DRF answers a missing token with 403 unless an authenticator names a challenge; we always do.
    if code in {"not_authenticated", "authentication_failed"}:
        response.status_code = status.HTTP_401_UNAUTHORIZED
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    response.data = body
    return response
