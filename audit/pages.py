"""The audit log as pages: ``/audit/`` lists entries (filter by action, actor, target and time; newest
first), ``/audit/<index>/`` shows one entry with its inclusion proof against the latest signed checkpoint,
checked on the server. Both name the verifier keys, the export button and the command that verifies an
exported bundle offline. Same roles as ``GET /api/v1/audit/entries`` and the export.

Entries hold pseudonymous actors (a user's number); the pages put people's names beside them for the
roles allowed to see who did what (``NAME_VIEWERS``). Each page that shows entries is itself an audit
entry (``audit.read``: the entry's index, or the range of a list page with its filters).
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import quote

import django_filters as filters
import django_tables2 as tables
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from audit.actions import AuditAction
from audit.actors import actor_from_request
from audit.apis import AUDIT_READERS
from audit.entry_proof import entry_proof, verifier_keys, verify_command
from audit.models import AuditEntry
from audit.reads import audit_entries_read, audit_entry_read
from governance.core.lists import link, list_page, roles_of, roles_required, utc_cell
from governance.core.permissions import user_roles
from governance.core.roles import Role

NAME_VIEWERS: Final = frozenset({Role.AUDITOR, Role.COMPLIANCE_OFFICER, Role.ADMIN})
ACTOR_TYPES: Final = ("user", "token", "worker", "system", "anonymous")
WHO: Final = "auditors, compliance officers and administrators"
MAX_NAMED: Final = 50
PAGES: Final = {"job": "/jobs/{}/", "release": "/approvals/{}/", "privacy_request": "/privacy/requests/{}/"}
NODE_KINDS: Final = frozenset({"model", "dataset", "run", "deployment"})


class AuditEntryFilter(filters.FilterSet):  # type: ignore[misc]
    action = filters.ChoiceFilter(label="Action", choices=[(a.value, a.value) for a in AuditAction])
    actor = filters.CharFilter(
        label="Actor (name, username or type:id)", method="actor_filter", max_length=200
    )
    target_type = filters.CharFilter(label="Target type", max_length=64)
    target_id = filters.CharFilter(label="Target id", max_length=700)
    since = filters.DateTimeFilter(
        label="From (UTC)",
        field_name="timestamp",
        lookup_expr="gte",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = filters.DateTimeFilter(
        label="Before (UTC)",
        field_name="timestamp",
        lookup_expr="lt",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def actor_filter(self, rows: QuerySet[AuditEntry], name: str, value: str) -> QuerySet[AuditEntry]:
        kind, _, ident = value.partition(":")
        if kind in ACTOR_TYPES and ident:
            return rows.filter(actor_type=kind, actor_id=ident)
        people = get_user_model().objects.filter(Q(username__iexact=value) | Q(full_name__icontains=value))
        ids = [str(pk) for pk in people.values_list("pk", flat=True)[:MAX_NAMED]]
        matches = Q(actor_type="user", actor_id__in=ids)
        for pk in ids:  # a person's tokens and the jobs run for them carry "<user id>:" first
            matches |= Q(actor_type__in=("token", "worker"), actor_id__startswith=f"{pk}:")
        return rows.filter(matches)


def target_url(target_type: str, target_id: str) -> str:
    """The console page of an entry's target, when it has one (paths only: audit imports no app)."""
    if target_type in PAGES and target_id.isdigit():
        return PAGES[target_type].format(target_id)
    if target_id.partition(":")[0] in NODE_KINDS:
        return "/lineage/?nodeId=" + quote(target_id, safe=":")
    return ""


def _user_id(actor_type: str, actor_id: str) -> str | None:
    if actor_type == "user":
        return actor_id
    head, sep, _ = actor_id.partition(":")
    return head if sep and actor_type in ("token", "worker") and head.isdigit() else None


def people_names(entries: list[AuditEntry]) -> dict[str, str]:
    """Users' printed names by id, for the actors of ``entries`` (one query)."""
    ids = {uid for e in entries if (uid := _user_id(e.actor_type, e.actor_id)) and uid.isdigit()}
    rows = (
        get_user_model()
        .objects.filter(pk__in=[int(i) for i in ids])
        .values_list("pk", "full_name", "username")
    )
    return {str(pk): full_name or username for pk, full_name, username in rows}


def actor_text(actor_type: str, actor_id: str, names: dict[str, str] | None) -> str:
    """An actor as people read it: the person's name when the viewer may see it, else the pseudonym."""
    plain = f"{actor_type} {actor_id}" if actor_id not in ("", "-") else actor_type
    uid = _user_id(actor_type, actor_id)
    if names is None or uid is None or uid not in names:
        return plain
    if actor_type == "user":
        return f"{names[uid]} (user {uid})"
    what = "token" if actor_type == "token" else "worker"
    return f"{names[uid]} via {what} {actor_id.partition(':')[2]}"


class AuditEntryTable(tables.Table):  # type: ignore[misc]
    index = tables.Column(verbose_name="Entry")
    timestamp = tables.Column(verbose_name="When")
    actor = tables.Column(verbose_name="Actor", accessor="actor_id", order_by=("actor_type", "actor_id"))
    action = tables.Column(verbose_name="Action")
    target_type = tables.Column(verbose_name="Target type")
    target = tables.Column(verbose_name="Target", accessor="target_id", order_by=("target_type", "target_id"))

    class Meta:
        order_by = "-index"
        empty_text = "No entries match."

    def _names(self) -> dict[str, str] | None:
        if not _show_names(self.request):
            return None
        if not hasattr(self, "_names_cache"):
            self._names_cache = people_names([row.record for row in self.page.object_list])
        return self._names_cache

    def render_index(self, record: AuditEntry) -> SafeString:
        return link(reverse("audit-entry-page", args=[record.index]), f"#{record.index}")

    def render_timestamp(self, value: Any) -> Any:
        return utc_cell(value)

    def render_actor(self, record: AuditEntry) -> str:
        return actor_text(record.actor_type, record.actor_id, self._names())

    def render_target(self, record: AuditEntry) -> SafeString | str:
        url = target_url(record.target_type, record.target_id)
        return link(url, record.target_id) if url else record.target_id


def _verify_context() -> dict[str, Any]:
    return {"keys": verifier_keys(), "command": verify_command(), "export_url": reverse("audit-export")}


def _show_names(request: HttpRequest) -> bool:
    return bool(user_roles(request.user) & NAME_VIEWERS)


@login_required
@require_GET
def audit_log_page(request: HttpRequest) -> HttpResponse:
    """``/audit/?action=&actor=&target_type=&target_id=&since=&until=&sort=&page=``"""
    roles_required(request, roles_of(AUDIT_READERS), who=WHO)
    filterset = AuditEntryFilter(request.GET or None, queryset=AuditEntry.objects.all())
    shown: list[AuditEntry] = []
    response = list_page(
        request,
        title="Audit log",
        intro="Every action, one entry each, chained and signed into a Merkle tree; open one for its proof.",
        filterset=filterset,
        table_class=AuditEntryTable,
        table_id="audit-entries",
        context=_verify_context(),
        template="audit/entries.html",
        shown=shown,
    )
    filters = {name: request.GET.get(name) for name in (*filterset.filters, "sort", "page", "per_page")}
    audit_entries_read(
        actor=actor_from_request(request),
        indices=[entry.index for entry in shown],
        filters=filters,
        via="page",
    )
    return response


@login_required
@require_GET
def audit_entry_page(request: HttpRequest, index: int) -> HttpResponse:
    roles_required(request, roles_of(AUDIT_READERS), who=WHO)
    entry = AuditEntry.objects.filter(index=index).first()
    if entry is None:
        raise Http404(f"no audit entry {index}")
    fields = json.loads(entry.entry)
    names = people_names([entry]) if _show_names(request) else None
    context = {
        "entry": entry,
        "actor": actor_text(entry.actor_type, entry.actor_id, names),
        "target_url": target_url(entry.target_type, entry.target_id),
        "data": json.dumps(fields.get("data") or {}, indent=2, sort_keys=True, ensure_ascii=False),
        "prev": fields.get("prev", ""),
        "proof": entry_proof(entry),
        **_verify_context(),
    }
    response = render(request, "audit/entry.html", context)
    audit_entry_read(actor=actor_from_request(request), index=entry.index, via="page")
    return response
