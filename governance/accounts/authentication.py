"""``Authorization: Bearer <token>`` for pipelines and scripts (RFC 6750 §2.1)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Model
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from governance.accounts import token_cache
from governance.accounts.models import ApiToken, User

Converter = Callable[[Any, Any, Any], Any]


@cache
def _token_query() -> str:
    """Every column of the token and of its user, and the user's group names: one row per group.

    Written once from the models' metadata rather than through the ORM on each request: every API call
    authenticates, and compiling the ORM's query cost ten times the query itself.
    """
    q = connection.ops.quote_name
    groups = User.groups.through._meta
    token_columns = [f"t.{q(str(field.column))}" for field in ApiToken._meta.concrete_fields]
    user_columns = [f"u.{q(str(field.column))}" for field in User._meta.concrete_fields]
    return (
        f"SELECT {', '.join([*token_columns, *user_columns])}, g.{q('name')} "  # noqa: S608 (no input)
        f"FROM {q(ApiToken._meta.db_table)} t "
        f"JOIN {q(User._meta.db_table)} u ON u.{q('id')} = t.{q('user_id')} "
        f"LEFT JOIN {q(groups.db_table)} ug ON ug.{q('user_id')} = u.{q('id')} "
        f"LEFT JOIN {q(Group._meta.db_table)} g ON g.{q('id')} = ug.{q('group_id')} "
        f"WHERE t.{q('prefix')} = %s AND t.{q('revoked')} = %s"
    )


@cache
def _converters(model: type[Model]) -> list[tuple[Any, list[Converter]]]:
    """Per column, what the ORM would apply to a raw database value (e.g. aware datetimes on SQLite)."""
    table = model._meta.db_table
    columns = [field.get_col(table) for field in model._meta.concrete_fields]
    return [
        (column, connection.ops.get_db_converters(column) + column.field.get_db_converters(connection))
        for column in columns
    ]


def _instance(model: type[Model], row: tuple[Any, ...]) -> Any:
    values = []
    for value, (column, converters) in zip(row, _converters(model), strict=True):
        for convert in converters:
            value = convert(value, column, connection)
        values.append(value)
    return model.from_db(connection.alias, [field.attname for field in model._meta.concrete_fields], values)


def token_with_roles(key: str) -> ApiToken:
    """The usable (unrevoked) token ``key`` is, with its user and the user's roles (group names), in one
    query; DoesNotExist when there is none or the key does not match its hash.

    The roles are left where ``core.permissions.user_roles`` reads them, so a token request costs one
    statement to authenticate and authorise.
    """
    prefix, _, _ = key.partition(".")
    with connection.cursor() as cursor:
        cursor.execute(_token_query(), [prefix, False])
        rows = cursor.fetchall()
    if not rows:
        raise ApiToken.DoesNotExist("No usable token with this prefix.")
    width = len(ApiToken._meta.concrete_fields)
    token: ApiToken = _instance(ApiToken, rows[0][:width])
    if not token.is_valid(key):
        raise ApiToken.DoesNotExist("Key is not valid.")
    user: User = _instance(User, rows[0][width:-1])
    user._role_names_cache = frozenset(row[-1] for row in rows if row[-1] is not None)  # type: ignore[attr-defined]
    token.user = user
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
            token = token_cache.verified(credentials, token_with_roles)
        except ApiToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("The token is not valid or has been revoked.") from None
        if token.has_expired:
            raise exceptions.AuthenticationFailed("The token has expired; issue a new one.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The token's user is inactive.")
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
