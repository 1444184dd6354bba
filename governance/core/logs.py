"""Structured logs: JSON lines carrying a request id from the HTTP request into the tasks it enqueues.

A release grant is a bearer credential (whoever holds it can have the job run once), and it travels
as a task argument, which Celery writes into its own log records ("Task ... received", failures, with
the arguments as extra fields). The formatter takes every grant-shaped string out of the finished line,
whatever record or traceback carried it.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HEADER = "X-Request-ID"
# A grant (governance/approvals/grants.py): base64url of a JSON object (so "eyJ..."), ".", then the
# base64url of a 64-byte Ed25519 signature (86 characters).
GRANT = re.compile(r"eyJ[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{86}(?![A-Za-z0-9_-])")
GRANT_REDACTED = "[grant redacted]"


def redact_grants(text: str) -> str:
    return GRANT.sub(GRANT_REDACTED, text)


def current_request_id() -> str | None:
    return request_id_var.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines with every grant replaced by ``[grant redacted]``."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_grants(super().format(record))


class RequestIdMiddleware:
    """Takes a well-formed ``X-Request-ID`` from the caller (or makes one) and echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if _ACCEPTABLE_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[HEADER] = request_id
        return response
