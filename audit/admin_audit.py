"""Admin-site changes into the audit log: Django's admin wraps each change in a transaction and then
calls ``log_addition``/``log_change``/``log_deletions``; we record our entry right there, inside it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:  # ModelAdmin is generic only in the type stubs
    _ModelAdmin = admin.ModelAdmin


def _actor(request: HttpRequest) -> Actor:
    return Actor("user", str(request.user.pk))


def _target(obj: Model) -> Target:
    return Target.of(obj._meta.label_lower, obj.pk)


class AuditedModelAdmin(_ModelAdmin):
    def log_addition(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        audit_record(actor=_actor(request), action=AuditAction.ADMIN_ADD, target=_target(obj))
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Model, message: Any) -> Any:
        fields = sorted(
            {name for item in message or [] for name in item.get("changed", {}).get("fields", [])}
        )
        audit_record(
            actor=_actor(request),
            action=AuditAction.ADMIN_CHANGE,
            target=_target(obj),
            data={"fields": fields},
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request: HttpRequest, queryset: QuerySet[Any]) -> Any:
        for obj in queryset:
            audit_record(
                actor=_actor(request),
                action=AuditAction.ADMIN_DELETE,
                target=_target(obj),
            )
        return super().log_deletions(request, queryset)


class ReadOnlyModelAdmin(_ModelAdmin):
    """Governed rows: visible to those allowed to view them, changed only through services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
