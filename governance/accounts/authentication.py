"""``Authorization: Bearer <token>`` for pipelines and scripts (RFC 6750 §2.1)."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from governance.accounts.models import ApiToken, User
from governance.core.roles import Role

# The user's roles come with the token, in its one query: ``core.permissions.user_roles`` reads them
# from the cache this fills on the user, so a token request costs one statement to authenticate.
_ROLES: dict[str, Any] = {
    f"role_{role}": Exists(User.groups.through.objects.filter(user_id=OuterRef("user_id"), group__name=role))
    for role in Role
}


def token_with_roles(key: str) -> ApiToken:
    """The usable token ``key`` is, its user and the user's roles in one query; DoesNotExist otherwise."""
    prefix, _, _ = key.partition(".")
    token = ApiToken.objects.get_usable_keys().annotate(**_ROLES).get(prefix=prefix)
    if not token.is_valid(key):
        raise ApiToken.DoesNotExist("Key is not valid.")
    token.user._role_names_cache = frozenset(  # type: ignore[attr-defined]
        str(role) for role in Role if getattr(token, f"role_{role}")
    )
    return token


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != self.keyword:
            return None
        credentials = credentials.strip()
        if not credentials:
            raise exceptions.AuthenticationFailed("The Bearer header carries no token.")
        try:
            token = token_with_roles(credentials)
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("The token is not valid or has been revoked.") from None
        if token.has_expired:
            raise exceptions.AuthenticationFailed("The token has expired; issue a new one.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's user is inactive.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
