from __future__ import annotations

from django.db.models import QuerySet

from governance.accounts.models import ApiToken, User
from governance.core.errors import NotFound


def user_get(*, username: str) -> User:
    try:
        return User.objects.prefetch_related("groups").get(username=username)
    except User.DoesNotExist as exc:
        raise NotFound(f"no user named {username!r}") from exc


def token_list(*, user: User | None = None) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user").order_by("-created")
    return tokens.filter(user=user) if user is not None else tokens
