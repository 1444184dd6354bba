"""Helpers every app's API views share: input validation, cursor pages, rows named in a request body,
and roles per HTTP method on a path that serves more than one operation.

One APIView per operation stays the rule; where two operations share a URL (list and create, read and
update), one view carries both methods and says which roles each method needs with ``method_roles``
instead of joining two views through multiple inheritance.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Manager, Model, QuerySet
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.core.errors import NotFound, ValidationFailed
from governance.core.pagination import CursorPagination
from governance.core.permissions import user_roles
from governance.core.roles import Role

if TYPE_CHECKING:
    from rest_framework.throttling import BaseThrottle

T = TypeVar("T")
M = TypeVar("M", bound=Model)


def valid(serializer_class: type[serializers.Serializer[Any]], data: Any, **kwargs: Any) -> dict[str, Any]:
    """The validated data; invalid input raises DRF's ValidationError (a 400 naming the fields)."""
    incoming = serializer_class(data=data, **kwargs)
    incoming.is_valid(raise_exception=True)
    return dict(incoming.validated_data)


def paginated(
    request: Request,
    queryset: QuerySet[Any],
    serializer_class: type[serializers.Serializer[Any]],
    *,
    view: APIView | None = None,
    ordering: str = "-created_at",
    context: dict[str, Any] | None = None,
) -> Response:
    """One cursor page of ``queryset`` (stable under concurrent inserts), serialized."""
    paginator = CursorPagination()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True, context=context or {}).data)


def must_exist(source: QuerySet[M] | Callable[[], T], /, *, field: str | None = None, **lookup: Any) -> M | T:
    """A row named in a request body. Its absence is a bad request (400 ``validation_error``), not a
    missing page (404): the path exists, the body points at nothing.

    ``source`` is a queryset filtered by ``lookup`` (``must_exist(TrainingRun.objects, run_id=x)``) or a
    selector call that raises NotFound (``must_exist(lambda: run_get(run_id=x), field="run_id")``).
    """
    name = field or next(iter(lookup), "id").replace("__", ".")
    if isinstance(source, QuerySet | Manager):
        queryset = source.all()
        row = queryset.filter(**lookup).first()
        if row is None:
            wanted = ", ".join(f"{key.replace('__', '.')}={value!r}" for key, value in lookup.items())
            raise ValidationFailed(f"{name}: no {queryset.model._meta.verbose_name} with {wanted}.")
        return row
    try:
        return source()
    except NotFound as exc:
        raise ValidationFailed(f"{name}: {exc.detail}") from exc


class MethodRoles(BasePermission):
    """Roles per HTTP method, read from the view's ``method_roles``::

        permission_classes = [MethodRoles]
        method_roles = {"GET": (Role.AUDITOR, Role.DATA_SCIENTIST), "POST": (Role.DATA_SCIENTIST,)}

    HEAD follows GET. A method the mapping does not name (OPTIONS, or one the view does not serve and
    will answer 405) admits the union of all roles named, so outsiders learn nothing about the path.
    """

    message = "You do not hold a role this endpoint admits."

    def has_permission(self, request: Request, view: Any) -> bool:
        mapping: Mapping[str, Sequence[Role]] = getattr(view, "method_roles", {})
        method = "GET" if request.method == "HEAD" and "GET" in mapping else str(request.method)
        if method in mapping:
            allowed = frozenset(str(role) for role in mapping[method])
        else:
            allowed = frozenset(str(role) for roles in mapping.values() for role in roles)
        self.message = f"This endpoint is for the role(s): {', '.join(sorted(allowed))}."
        return bool(user_roles(request.user) & allowed)


def method_allowed_roles(view_class: type[APIView], method: str) -> frozenset[str]:
    """The role names a view admits for ``method`` (for role matrices and documentation)."""
    mapping: Mapping[str, Sequence[Role]] = getattr(view_class, "method_roles", {})
    roles = mapping.get(method.upper()) or [role for roles in mapping.values() for role in roles]
    return frozenset(str(role) for role in roles)


class MethodThrottles(APIView):
    """Throttles per HTTP method from the view's ``method_throttles``; methods not named keep the view's
    ``throttle_classes``::

    method_throttles = {"POST": (ReleaseFilingThrottle,)}
    """

    method_throttles: Mapping[str, Sequence[type[BaseThrottle]]] = {}

    def get_throttles(self) -> list[BaseThrottle]:
        named = self.method_throttles.get(str(self.request.method))
        if named is None:
            return super().get_throttles()
        return [throttle() for throttle in named]
