"""The console's list pages: who may open a page, and one filterable, sortable, paginated table.

A list page is a django-filter ``FilterSet`` (its GET parameters narrow the rows) feeding a
django-tables2 ``Table`` (``?sort=<column>`` or ``?sort=-<column>`` orders it, ``?page=`` pages it), both
rendered by ``lists/list.html`` with classes only (the Content Security Policy forbids inline styles).
A filter value that does not parse is a 400 page naming the field, with no rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html
from django.utils.safestring import SafeString

from governance.core.permissions import user_roles

PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 100


def roles_required(request: HttpRequest, roles: Iterable[str], *, who: str) -> None:
    """Raise ``PermissionDenied`` (the branded 403 page) unless the signed-in user holds one of ``roles``;
    ``who`` names the roles in words for the page."""
    if not user_roles(request.user) & frozenset(str(role) for role in roles):
        raise PermissionDenied(f"This page is for {who}.")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def table_configure(request: HttpRequest, table: Any) -> Any:
    """Order and page ``table`` from ``?sort=`` and ``?page=`` (``?per_page=`` up to 100); a page past the
    end shows the last one, as django-tables2's RequestConfig does."""
    table.request = request
    order_by = request.GET.getlist("sort")
    if order_by:
        table.order_by = order_by
    per_page = min(max(_int(request.GET.get("per_page"), PAGE_SIZE), 1), MAX_PAGE_SIZE)
    try:
        table.paginate(per_page=per_page, page=_int(request.GET.get("page"), 1))
    except PageNotAnInteger:
        table.page = table.paginator.page(1)
    except EmptyPage:
        table.page = table.paginator.page(table.paginator.num_pages)
    return table


def list_page(  # noqa: PLR0913 (keyword-only: what a list page is made of)
    request: HttpRequest,
    *,
    title: str,
    filterset: Any,
    table_class: type[Any],
    table_id: str,
    intro: str = "",
    context: Mapping[str, Any] | None = None,
    template: str = "lists/list.html",
    shown: list[Any] | None = None,
) -> HttpResponse:
    """Render a list page: the filter form, the table of the rows it selects, and the pages.

    ``shown``, when given, receives the records of the page rendered (in order): what the reader saw, for
    a page whose reading is itself an audit entry."""
    status = 200
    if filterset.is_bound and not filterset.is_valid():
        rows = filterset.queryset.none()
        status = 400
    else:
        rows = filterset.qs
    table = table_configure(request, table_class(rows, attrs={"id": table_id, "class": "table"}))
    page = {"title": title, "intro": intro, "filter": filterset, "table": table, **(context or {})}
    response = render(request, template, page, status=status)
    if shown is not None:
        shown.extend(row.record for row in table.page.object_list)
    return response


def utc_cell(moment: datetime | None) -> SafeString | str:
    """An instant as the console writes it: UTC to the minute, the full value on hover."""
    if moment is None:
        return "—"
    utc = moment.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        utc.isoformat(),
        utc.isoformat(),
        utc.strftime("%Y-%m-%d %H:%M UTC"),
    )


def link(url: str, text: object) -> SafeString:
    return format_html('<a href="{}">{}</a>', url, text)


# How a state reads at a glance: the console stylesheet colours ``badge ok``, ``badge warn``, ``badge bad``.
TONES: Final = {
    **dict.fromkeys(("succeeded", "approved", "consumed", "completed", "serving", "minimal"), "ok"),
    **dict.fromkeys(
        ("queued", "running", "pending", "received", "verified", "in_progress", "limited"), "warn"
    ),
    **dict.fromkeys(("failed", "refused", "rejected", "withdrawn", "expired", "denied", "high"), "bad"),
    "unacceptable": "bad",
}


def tone(state: str) -> str:
    return TONES.get(state, "")


def badge(text: object, kind: str = "") -> SafeString:
    """A short word in a pill (``badge``), toned ``ok``, ``warn``, ``bad`` or ``muted`` when given."""
    return format_html('<span class="{}">{}</span>', f"badge {kind}".strip(), text)


def roles_of(permission: Any) -> frozenset[str]:
    """The roles a ``roles_allowed(...)`` permission class admits: a page admits the same as its API."""
    return frozenset(permission.allowed_roles)
