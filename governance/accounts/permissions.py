"""The signed-in person of an API request, as the accounts app's ``User``."""

from __future__ import annotations

from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request

from governance.accounts.models import User


def request_user(request: Request) -> User:
    """The authenticated user of a request that passed a role check."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated()
    return user
