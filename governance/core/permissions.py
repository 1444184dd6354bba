"""Role checks for API views: every view names the roles that may call it, explicitly."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from governance.core.roles import Role


def user_roles(user: Any) -> frozenset[str]:
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_role_names_cache", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_names_cache = cached
    return frozenset(cached)


def roles_allowed(*roles: Role) -> type[BasePermission]:
    """A permission class admitting authenticated users holding any of ``roles``."""
    allowed = frozenset(str(role) for role in roles)

    class HasRole(BasePermission):
        message = f"This endpoint is for the role(s): {', '.join(sorted(allowed))}."

        def has_permission(self, request: Request, view: Any) -> bool:
            return bool(user_roles(request.user) & allowed)

    HasRole.__name__ = "HasRole_" + "_".join(sorted(allowed))
    HasRole.allowed_roles = allowed  # type: ignore[attr-defined]
    return HasRole


ANY_ROLE = roles_allowed(*Role)
