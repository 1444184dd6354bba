"""The console's menu: one link per page, shown only to users whose roles that page admits.

Each link's roles are read from the page itself: the module of the view its path resolves to names the
roles it admits (``PAGE_READERS``, or the attribute a link names). A path that does not resolve yet (a
page another app has not added) is left out, so the menu never offers a 404 or a 403.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import Any, TypedDict

from django.http import HttpRequest
from django.urls import Resolver404, resolve

from governance.core.permissions import user_roles

logger = logging.getLogger(__name__)

EVERYONE = "*"  # any signed-in user
STAFF = "staff"  # users the Django admin admits (is_staff)


@dataclass(frozen=True)
class Link:
    label: str
    path: str
    roles_from: str = "PAGE_READERS"  # attribute of the view's module, or EVERYONE / STAFF


LINKS: tuple[Link, ...] = (
    Link("Home", "/", EVERYONE),
    Link("Approvals", "/approvals/"),
    Link("Privacy", "/privacy/requests/"),
    Link("Models", "/models/"),
    Link("Datasets", "/datasets/"),
    Link("Runs", "/runs/"),
    Link("Deployments", "/deployments/"),
    Link("Jobs", "/jobs/"),
    Link("Lineage", "/lineage/"),
    Link("Audit log", "/audit/"),
    Link("API", "/api/docs/", EVERYONE),
    Link("Admin", "/admin/", STAFF),
)


class MenuEntry(TypedDict):
    label: str
    path: str
    current: bool


def _view_module(path: str) -> Any | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    view = getattr(match.func, "view_class", match.func)
    return import_module(view.__module__)


@lru_cache(maxsize=1)
def _admitted() -> tuple[tuple[Link, frozenset[str] | str], ...]:
    """Each link with the roles its page admits (EVERYONE or STAFF as such); links to no page dropped."""
    found: list[tuple[Link, frozenset[str] | str]] = []
    for link in LINKS:
        if link.roles_from in (EVERYONE, STAFF):
            found.append((link, link.roles_from))
            continue
        module = _view_module(link.path)
        if module is None:
            continue
        roles = getattr(module, link.roles_from, None)
        if roles is None:
            logger.warning(
                "menu: %s names no %s; link to %s left out", module.__name__, link.roles_from, link.path
            )
            continue
        found.append((link, frozenset(str(role) for role in roles)))
    return tuple(found)


def _current(link: Link, path: str) -> bool:
    return path == link.path if link.path == "/" else path.startswith(link.path)


def menu_for(user: Any, path: str = "") -> list[MenuEntry]:
    """The links ``user`` may follow, in menu order."""
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
            entries.append({"label": link.label, "path": link.path, "current": _current(link, path)})
    return entries


def console(request: HttpRequest) -> dict[str, Any]:
    """Context processor: the menu (``console_menu``) for the signed-in user."""
    user = getattr(request, "user", None)
    return {"console_menu": menu_for(user, request.path)}
