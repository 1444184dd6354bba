from __future__ import annotations

from django.contrib import admin

from audit.admin_audit import ReadOnlyModelAdmin
from audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["index", "timestamp", "actor_type", "actor_id", "action", "target_type", "target_id"]
    list_filter = ["action", "actor_type", "target_type"]
    search_fields = ["=target_id", "=actor_id", "=request_id"]
    date_hierarchy = "timestamp"
    ordering = ["-index"]
