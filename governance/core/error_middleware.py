"""One place that turns a failure into an answer of the right shape and status, for every route.

- ``/api/...``: ``{"error": "<code>", "detail": "<what is wrong>"}`` (a 500 also carries ``request_id``,
  the id its log line has); DRF views map their own errors through ``core.exceptions``, and anything
  they leave (an unforeseen exception, Django's ``RequestDataTooBig``) ends here.
- a prefix with its own shape (``shape_register``; the wiring registers MLflow's ``{"error_code",
  "message"}`` for ``/api/2.0/mlflow/``);
- pages: the site's styled error page with the status, never Django's plain or debug page.

``ErrorMiddleware`` answers for exceptions raised by views, and refuses a NUL character in the path,
the query string or a form before any view runs (PostgreSQL cannot store or compare text
holding NUL). The ``handler400/403/404/500`` functions answer for everything else (unknown URLs,
middleware failures).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Final

from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from django.utils.html import escape

from governance.core.json_parser import NUL, too_large
from governance.core.logs import current_request_id

logger = logging.getLogger("governance.errors")

# (request, status, code, detail) -> the response in that prefix's shape
Shape = Callable[[HttpRequest, int, str, str], HttpResponse]
_SHAPES: dict[str, Shape] = {}
API_PREFIX: Final = "/api/"
TITLES: Final = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    413: "Too large",
    500: "Something went wrong",
}
_CODES: Final = {
    400: "bad_request",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    500: "internal_error",
}


def shape_register(prefix: str, shape: Shape) -> None:
    """Errors under ``prefix`` get ``shape``'s body instead of ``{"error", "detail"}``."""
    _SHAPES[prefix] = shape


def _json(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if status >= 500:
        body["request_id"] = current_request_id()
    return JsonResponse(body, status=status)


def _page(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse:
    context = {
        "status": status,
        "title": TITLES.get(status, "Error"),
        "code": code,
        "detail": detail,
        "request_id": current_request_id(),
    }
    try:
        html: str = render_to_string("error.html", context, request=request)
    except Exception:  # the page must render even when the failure is in templates or the database
        logger.exception("error page could not be rendered")
        html = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(detail)}</p>"
    return HttpResponse(html, status=status, content_type="text/html; charset=utf-8")


def error_response(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponse:
    path = request.path
    for prefix, shape in _SHAPES.items():
        if path.startswith(prefix):
            return shape(request, status, code, detail)
    if path.startswith(API_PREFIX):
        return _json(request, status, code, detail)
    return _page(request, status, code, detail)


def _classify(exc: BaseException | None) -> tuple[int, str, str]:
    if isinstance(exc, RequestDataTooBig):
        return 413, "payload_too_large", too_large().detail
    if isinstance(exc, Http404):
        return 404, "not_found", _text(exc) or "Nothing here."
    if isinstance(exc, PermissionDenied):
        return 403, "permission_denied", _text(exc) or "You are not allowed to do this."
    if isinstance(exc, TooManyFieldsSent):
        return 400, "bad_request", "too many form fields (DATA_UPLOAD_MAX_NUMBER_FIELDS)"
    if isinstance(exc, SuspiciousOperation | BadRequest | MultiPartParserError):
        return 400, "bad_request", _text(exc) or "The request is malformed."
    return (
        500,
        "internal_error",
        f"An unexpected error happened; it is logged with request id {current_request_id()}.",
    )


def _text(exc: BaseException) -> str:
    # Http404 from the resolver carries a dict (path, tried patterns), not a sentence.
    if exc.args and isinstance(exc.args[0], dict):
        path = exc.args[0].get("path", "")
        return f"No page or API at '/{path}'."
    return str(exc)


class ErrorMiddleware:
    """Refuses NUL in the path or query; answers for any exception a view raises (see module docs)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nul_in = _nul_in_request(request)
        if nul_in:
            detail = f"{nul_in}: NUL characters (\\u0000) are not accepted"
            return error_response(request, 400, "nul_character", detail)
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith(API_PREFIX)
            and response.get("Content-Type", "").startswith("text/html")
            and not hasattr(response, "accepted_renderer")  # DRF's browsable API, asked for by a browser
        ):
            # An HTML error made below (Django's CSRF page, its DEBUG pages): the API answers JSON only.
            status = response.status_code
            code = _CODES.get(status, "error")
            return error_response(request, status, code, f"{TITLES.get(status, 'Error')} (HTTP {status}).")
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None  # pages: Django's handlers below (and its debug page when DEBUG is on)
        status, code, detail = _classify(exc)
        if status >= 500:
            logger.exception("unhandled exception on %s %s", request.method, request.path)
        return error_response(request, status, code, detail)


def _nul_in_request(request: HttpRequest) -> str:
    if NUL in request.path:
        return "the path"
    found = _nul_in(request.GET.lists(), "query parameter")
    # Forms: every page's (their CSRF check reads them anyway), and url-encoded ones under /api/; an API's
    # multipart body is left to its view, which streams files within upload limits and checks its fields.
    if found or request.method != "POST":
        return found
    kind = request.content_type
    if kind == "application/x-www-form-urlencoded" or (
        kind == "multipart/form-data" and not request.path.startswith(API_PREFIX)
    ):
        return _nul_in(request.POST.lists(), "form field")
    return ""


def _nul_in(items: Iterable[tuple[str, list[str]]], what: str) -> str:
    for key, values in items:
        if NUL in key or any(NUL in value for value in values):
            return f"{what} {key.replace(NUL, '?')!r}"
    return ""


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    status, code, detail = _classify(exception)
    return error_response(request, status if status < 500 else 400, code, detail)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, *_classify(exception or PermissionDenied()))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(request, *_classify(exception or Http404()))


def server_error(request: HttpRequest) -> HttpResponse:
    # Django has logged the traceback (logger "django.request") with this request's id.
    return error_response(request, *_classify(None))
