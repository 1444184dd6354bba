"""Release approvals in the admin site: read-only (every change goes through an audited service)."""

from __future__ import annotations

from django.contrib import admin

from audit.admin_audit import ReadOnlyModelAdmin
from governance.approvals.models import Grant, Policy, PolicyVersion, ReleaseRequest, Signature


@admin.register(Policy)
class PolicyAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ReadOnlyModelAdmin):
    list_display = ["policy", "version", "kind", "environment", "active", "created_at"]
    list_filter = ["kind", "environment", "active"]
    list_select_related = ["policy"]


@admin.register(ReleaseRequest)
class ReleaseRequestAdmin(ReadOnlyModelAdmin):
    list_display = ["pk", "kind", "model_name", "environment", "status", "requested_by", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["model_name", "=request_hash"]
    list_select_related = ["requested_by"]


@admin.register(Signature)
class SignatureAdmin(ReadOnlyModelAdmin):
    # The manifestation of 21 CFR 11.50: printed name, UTC date and time, meaning.
    list_display = ["printed_name", "signed_at", "meaning", "release", "revoked_at"]
    list_filter = ["meaning"]
    search_fields = ["printed_name", "=signed_hash"]
    list_select_related = ["release"]


@admin.register(Grant)
class GrantAdmin(ReadOnlyModelAdmin):
    list_display = ["grant_id", "release", "issued_at", "expires_at", "used_at", "revoked_at"]
    exclude = ["token"]
