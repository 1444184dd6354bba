"""Domain exceptions raised by services; the API maps each to a stable code and a 4xx status."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """A request the service understood but refuses; ``detail`` says what is wrong and how to fix it."""

    code = "invalid_request"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra or {}


class ValidationFailed(ApplicationError):
    code = "validation_error"
    status = 400


class NotFound(ApplicationError):
    code = "not_found"
    status = 404


class PermissionRefused(ApplicationError):
    code = "permission_denied"
    status = 403


class Conflict(ApplicationError):
    """The request is valid but the current state forbids it (HTTP 409)."""

    code = "conflict"
    status = 409
