"""The console's menu: one link per page, shown only to users whose roles that page admits.

Each link names where its page's role check gets its roles (the same constant the view passes to its
check, a tuple of roles or a ``roles_allowed`` permission class), so the menu and the page cannot
disagree. A link whose path does not resolve (a page not there yet) or whose constant cannot be found
is left out, so the menu never offers a 404 or a 403; ``tests/console/test_shell.py`` opens every
link as every role to hold the menu to that.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypedDict

from django.http import HttpRequest
from django.urls import Resolver404, resolve
from django.utils.module_loading import import_string

from governance.core.permissions import user_roles

logger = logging.getLogger(__name__)

EVERYONE = "*"  # any signed-in user
STAFF = "staff"  # users the Django admin admits (is_staff)


@dataclass(frozen=True)
class Link:
    label: str
    path: str
    roles: str  # dotted path of the roles the page's check admits, or EVERYONE / STAFF


LINKS: tuple[Link, ...] = (
    Link("Home", "/", EVERYONE),
    Link("Approvals", "/approvals/", "governance.approvals.pages.PAGE_READERS"),
    Link("Releases", "/approvals/all/", "governance.approvals.api_common.RELEASE_READER_ROLES"),
    Link("Privacy", "/privacy/requests/", "governance.consent.apis.requests.REQUEST_READ_ROLES"),
    Link("Models", "/models/", "registry.apis.common.READERS"),
    Link("Datasets", "/datasets/", "registry.apis.common.READERS"),
    Link("Runs", "/runs/", "registry.apis.common.READERS"),
    Link("Deployments", "/deployments/", "registry.apis.common.READERS"),
    Link("Jobs", "/jobs/", "governance.jobs.apis.READERS"),
    Link("Lineage", "/lineage/", "registry.pages.PAGE_READERS"),
    Link("Audit log", "/audit/", "audit.apis.AUDIT_READERS"),
    Link("Search", "/search/", "registry.apis.common.READERS"),
    Link("API", "/api/docs/", EVERYONE),
    Link("Admin", "/admin/", STAFF),
)


class MenuEntry(TypedDict):
    label: str
    path: str
    current: bool


def _role_names(found: Any) -> frozenset[str]:
    # A roles_allowed(...) permission class carries its roles; otherwise a tuple or set of roles.
    roles: Iterable[Any] = getattr(found, "allowed_roles", found)
    return frozenset(str(role) for role in roles)


def _page_roles(link: Link) -> frozenset[str] | None:
    try:
        resolve(link.path)
    except Resolver404:
        return None
    try:
        return _role_names(import_string(link.roles))
    except ImportError:
        logger.warning("menu: %s not found; the link to %s is left out", link.roles, link.path)
        return None


@lru_cache(maxsize=1)
def _admitted() -> tuple[tuple[Link, frozenset[str] | str], ...]:
    """Each link with the roles its page admits (EVERYONE or STAFF as such); links to no page dropped."""
    found: list[tuple[Link, frozenset[str] | str]] = []
    for link in LINKS:
        roles = link.roles if link.roles in (EVERYONE, STAFF) else _page_roles(link)
        if roles is not None:
            found.append((link, roles))
    return tuple(found)


def _current(link: Link, path: str) -> bool:
    return path == link.path if link.path == "/" else path.startswith(link.path)


def menu_for(user: Any, path: str = "") -> list[MenuEntry]:
    """The links ``user`` may follow, in menu order; the one for ``path`` marked current."""
    if user is None or not user.is_authenticated:
        return []
    roles = user_roles(user)
    entries: list[MenuEntry] = []
    for link, admitted in _admitted():
        if admitted == STAFF:
            shown = bool(user.is_staff and user.is_active)
        else:
            shown = admitted == EVERYONE or bool(roles & set(admitted))
        if shown:
            entries.append({"label": link.label, "path": link.path, "current": False})
    # The longest matching path is the current page (/approvals/all/ rather than /approvals/).
    matching = [entry for entry in entries if _current(Link(entry["label"], entry["path"], ""), path)]
    if matching:
        max(matching, key=lambda entry: len(entry["path"]))["current"] = True
    return entries


def console(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the menu (``console_menu``) for the signed-in user."""
    return {"console_menu": menu_for(getattr(request, "user", None), request.path)}
