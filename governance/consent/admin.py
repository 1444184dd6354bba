"""Consent and privacy requests in the admin site: read-only, for auditors and compliance officers
(every change goes through an audited service)."""

from __future__ import annotations

from django.contrib import admin

from audit.admin_audit import ReadOnlyModelAdmin
from governance.consent.models import (
    ConsentEvent,
    ConsentImport,
    ConsentNotice,
    ErasureExemption,
    PrivacyRequest,
)


@admin.register(ConsentNotice)
class ConsentNoticeAdmin(ReadOnlyModelAdmin):
    list_display = ["key", "version", "title", "language", "sha256", "created_at"]
    search_fields = ["key", "title"]


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyModelAdmin):
    # Found by exact keyed hash (what an audit entry names), never browsed by a raw id.
    list_display = ["occurred_at", "kind", "purpose", "lawful_basis", "jurisdiction", "method", "recorded_by"]
    list_filter = ["kind", "method", "jurisdiction"]
    search_fields = ["=subject_hash", "purpose"]
    list_select_related = ["recorded_by"]


@admin.register(ConsentImport)
class ConsentImportAdmin(ReadOnlyModelAdmin):
    list_display = ["pk", "events", "subjects", "sha256", "imported_by", "created_at"]
    list_select_related = ["imported_by"]


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(ReadOnlyModelAdmin):
    list_display = ["pk", "type", "jurisdiction", "status", "received_at", "respond_by", "handled_by"]
    list_filter = ["type", "status", "jurisdiction"]
    search_fields = ["=subject_hash"]
    list_select_related = ["handled_by"]


@admin.register(ErasureExemption)
class ErasureExemptionAdmin(ReadOnlyModelAdmin):
    list_display = ["request", "model_version", "ground", "decided_by", "decided_at"]
    list_select_related = ["request", "model_version__model", "decided_by"]
