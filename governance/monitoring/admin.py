"""Monitoring in the admin site: read-only (checks and deliveries are written by audited services)."""

from __future__ import annotations

from django.contrib import admin

from audit.admin_audit import ReadOnlyModelAdmin
from governance.monitoring.models import DriftCheck, WebhookDelivery


@admin.register(DriftCheck)
class DriftCheckAdmin(ReadOnlyModelAdmin):
    list_display = ["pk", "deployment", "model_version", "samples", "conclusive", "alarm", "created_at"]
    list_filter = ["alarm", "conclusive"]
    list_select_related = ["deployment__model_version__model", "model_version__model"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ["pk", "drift_check", "url", "status", "created_at", "finished_at"]
    list_filter = ["status"]
