"""Consent and privacy requests in the admin site: read-only, for auditors and compliance officers
(every change goes through an audited service).

Reading personal data here is audited as it is in the console (``governance.consent.services.reads``):
a consent event's or a privacy request's detail page shows a subject's keyed hash, and a list searched
by one (``?q=<hash>``) says what the service holds about that subject. A plain list names no subject
and is an access-log line only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from audit.actors import actor_from_request
from audit.admin_audit import ReadOnlyModelAdmin
from governance.consent.models import (
    ConsentEvent,
    ConsentImport,
    ConsentNotice,
    ErasureExemption,
    PrivacyRequest,
)
from governance.consent.services.reads import (
    consent_events_read,
    privacy_request_list_read,
    privacy_request_read,
)


def _shown(response: HttpResponse, key: str) -> Any:
    """What an admin view put in its page (``original``: the detail's row; ``cl``: the list), or None
    when it answered otherwise (a redirect for an unknown number, a 403)."""
    context = getattr(response, "context_data", None) or {}
    return context.get(key) if response.status_code == 200 else None


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

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().change_view(request, object_id, *args, **kwargs)
        event = _shown(response, "original")
        if request.method == "GET" and isinstance(event, ConsentEvent):
            consent_events_read(actor=actor_from_request(request), events=[event], via="admin")
        return response

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        listing = _shown(response, "cl")
        if listing is not None and request.GET.get("q"):
            consent_events_read(actor=actor_from_request(request), events=listing.result_list, via="admin")
        return response


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

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().change_view(request, object_id, *args, **kwargs)
        row = _shown(response, "original")
        if request.method == "GET" and isinstance(row, PrivacyRequest):
            privacy_request_read(actor=actor_from_request(request), pk=row.pk, via="admin")
        return response

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        listing = _shown(response, "cl")
        if listing is not None and request.GET.get("q"):
            privacy_request_list_read(
                actor=actor_from_request(request),
                shown=[row.pk for row in listing.result_list],
                filters={"q": request.GET["q"]},
                via="admin",
            )
        return response


@admin.register(ErasureExemption)
class ErasureExemptionAdmin(ReadOnlyModelAdmin):
    list_display = ["request", "model_version", "ground", "decided_by", "decided_at"]
    list_select_related = ["request", "model_version__model", "decided_by"]
