"""``Authorization: Bearer <token>`` for pipelines and scripts (RFC 6750 §2.1)."""

from __future__ import annotations

from typing import cast

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from governance.accounts.models import ApiToken, User


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
            token = cast(ApiToken, ApiToken.objects.get_from_key(credentials))
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("The token is not valid or has been revoked.") from None
        if token.has_expired:
            raise exceptions.AuthenticationFailed("The token has expired; issue a new one.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's user is inactive.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
