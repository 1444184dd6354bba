"""Every API endpoint states which roles may call it; every other role gets 403, anonymous gets 401."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from governance.accounts.roles import Role

pytestmark = pytest.mark.django_db


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, type[APIView]]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None and issubclass(view_class, APIView) and route.startswith("api/v1/"):
                yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", "zzz", route), view_class


ENDPOINTS = sorted(_walk(get_resolver().url_patterns), key=lambda item: item[0])


def _allowed(view: type[APIView]) -> frozenset[str] | None:
    """The roles a view admits; None for a public view."""
    classes = view.permission_classes
    if any(cls is AllowAny for cls in classes):
        return None
    roles = [getattr(cls, "allowed_roles", None) for cls in classes]
    assert all(r is not None for r in roles), f"{view.__name__} must name its roles with roles_allowed()"
    return frozenset.intersection(*roles)


def _methods(view: type[APIView]) -> list[str]:
    return [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]


def test_there_are_endpoints_to_check() -> None:
    assert len(ENDPOINTS) >= 8


@pytest.mark.parametrize(("path", "view"), ENDPOINTS, ids=[path for path, _ in ENDPOINTS])
def test_each_endpoint_refuses_the_roles_it_does_not_name(
    path: str, view: type[APIView], token_client
) -> None:
    allowed = _allowed(view)
    if allowed is None:
        return
    for role in sorted(set(Role.values) - allowed):
        client, _ = token_client(f"u-{role}", role)
        for method in _methods(view):
            response = getattr(client, method)(path)
            assert response.status_code == 403, (path, method, role, response.status_code)
            assert response.json()["error"] == "permission_denied"


@pytest.mark.parametrize(("path", "view"), ENDPOINTS, ids=[path for path, _ in ENDPOINTS])
def test_each_restricted_endpoint_answers_401_to_anonymous_callers(
    path: str, view: type[APIView], client
) -> None:
    if _allowed(view) is None:
        return
    for method in _methods(view):
        response = getattr(client, method)(path)
        assert response.status_code == 401, (path, method)
        assert response.json()["error"] == "not_authenticated"
