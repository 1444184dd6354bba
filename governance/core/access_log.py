"""The access log: one JSON line per request on the ``governance.access`` logger, shipped like other logs.

What is not personal data and changes nothing (a pipeline reading registry metadata through the MLflow
API, say) is an access-log line, not a signed audit entry: the audit log keeps changes, refusals and
every read of personal data (consent state, subject lookups, privacy requests, audit entries and
exports, reports). A view names what it read with ``access_note(request, target)``; the line carries it.

A line: ``{"time", "request_id", "method", "path", "status", "ms", "user", "token", "target"}``. The
user is ``user:<pk>`` (a name may be personal data; logs are kept for a while and copied around), the
token its public prefix; the query string is left out, since it may carry a subject's id. Lines are
formatted here with the standard library's encoder, not through the JSON log formatter: one
``json.dumps`` and one write per request. ``ACCESS_LOG=off`` turns it off.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from governance.core.logs import current_request_id

logger = logging.getLogger("governance.access")
_NOTE = "_access_target"


def access_note(request: Any, target: str) -> None:
    """Name what this request read (``model:churn#3``) in its access-log line. ``request``: Django's or
    DRF's request."""
    setattr(getattr(request, "_request", request), _NOTE, target)


def _user_and_token(request: HttpRequest) -> tuple[str | None, str | None]:
    """Who made the request, if authentication already ran (never evaluates a lazy session user)."""
    user = request.__dict__.get("user")
    # Django's lazy user says whether it was evaluated only through its private ``_wrapped``.
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):  # noqa: SLF001
        return None, None
    if not getattr(user, "is_authenticated", False):
        return None, None
    token = request.__dict__.get("auth")
    prefix = getattr(token, "prefix", None)
    return f"user:{user.pk}", str(prefix) if prefix else None


def access_line(request: HttpRequest, response: HttpResponse, started: float) -> str:
    user, token = _user_and_token(request)
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "request_id": current_request_id(),
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "user": user,
        "token": token,
        "target": getattr(request, _NOTE, None),
    }
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


class AccessLogMiddleware:
    """Writes the request's access-log line once the response is ready (after the request id is set)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not logger.isEnabledFor(logging.INFO):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        logger.info(access_line(request, response, started))
        return response
