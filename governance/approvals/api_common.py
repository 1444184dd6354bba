"""Small pieces the approvals API views share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.core.pagination import CursorPagination
from governance.core.permissions import roles_allowed
from governance.core.roles import Role

if TYPE_CHECKING:
    from rest_framework.permissions import _SupportsHasPermission
    from rest_framework.throttling import BaseThrottle

ANY_ROLE = roles_allowed(*Role)
ADMINS = roles_allowed(Role.ADMIN)
RELEASE_READERS = roles_allowed(Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER, Role.AUDITOR)
REQUESTERS = roles_allowed(Role.DATA_SCIENTIST, Role.PIPELINE)
# The roles a policy may name as signers (rules.SIGNER_ROLES); the service checks the policy's own list.
SIGNERS = roles_allowed(Role.COMPLIANCE_OFFICER, Role.DATA_SCIENTIST)
HISTORY_READERS = roles_allowed(Role.COMPLIANCE_OFFICER, Role.AUDITOR)


class SharedPath(APIView):
    """Reads and writes on one path: GET takes the reading operation's roles (and throttles), the rest
    the writing operation's. ``permission_classes`` names the union, for the generic role checks."""

    read_operation: type[APIView]
    write_operation: type[APIView]

    def _operation(self) -> type[APIView]:
        return self.read_operation if self.request.method in SAFE_METHODS else self.write_operation

    def get_permissions(self) -> Sequence[_SupportsHasPermission]:
        return [permission() for permission in self._operation().permission_classes]

    def get_throttles(self) -> list[BaseThrottle]:
        return [throttle() for throttle in self._operation().throttle_classes]


def valid(serializer: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    incoming = serializer(data=data)
    incoming.is_valid(raise_exception=True)
    return dict(incoming.validated_data)


def paginated(
    request: Request,
    view: APIView,
    rows: QuerySet[Any],
    serializer: type[serializers.Serializer[Any]],
    *,
    ordering: str = "-created_at",
    context: dict[str, Any] | None = None,
) -> Response:
    paginator = CursorPagination()
    paginator.ordering = ordering
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(serializer(page, many=True, context=context or {}).data)
