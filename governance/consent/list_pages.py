"""``/privacy/requests/``: data subjects' requests as a filterable, sortable, paginated table, soonest
deadline first (GDPR Art. 12(3) one month; CCPA confirm in 10 business days, answer in 45 days). Same
roles as ``GET /api/v1/privacy-requests``. Subjects appear by keyed hash only."""

from __future__ import annotations

from typing import Any

import django_filters as filters
import django_tables2 as tables
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from audit.actors import actor_from_request
from governance.consent.apis.requests import REQUEST_READ_ROLES
from governance.consent.models import OPEN_STATUSES, PrivacyRequest, RequestStatus, RequestType
from governance.consent.services.reads import privacy_request_list_read
from governance.core.lists import badge, link, list_page, roles_required, tone, utc_cell
from registry.models import Jurisdiction

STATUS_CHOICES = (("open", "open (received, verified or in progress)"), *RequestStatus.choices)


def request_url(pk: int) -> str:
    """The request's own page (built by the privacy workflow)."""
    return f"/privacy/requests/{pk}/"


class PrivacyRequestFilter(filters.FilterSet):  # type: ignore[misc]
    status = filters.ChoiceFilter(label="Status", choices=STATUS_CHOICES, method="status_filter")
    overdue = filters.ChoiceFilter(label="Overdue only", choices=(("1", "yes"),), method="overdue_filter")
    type = filters.ChoiceFilter(label="Type", choices=RequestType.choices)
    jurisdiction = filters.ChoiceFilter(label="Jurisdiction", choices=Jurisdiction.choices)
    handled_by = filters.CharFilter(label="Handled by (username)", field_name="handled_by__username")

    class Meta:
        model = PrivacyRequest
        fields: list[str] = []

    def status_filter(
        self, rows: QuerySet[PrivacyRequest], name: str, value: str
    ) -> QuerySet[PrivacyRequest]:
        return rows.filter(status__in=OPEN_STATUSES) if value == "open" else rows.filter(status=value)

    def overdue_filter(
        self, rows: QuerySet[PrivacyRequest], name: str, value: str
    ) -> QuerySet[PrivacyRequest]:
        return rows.filter(status__in=OPEN_STATUSES, respond_by__lt=timezone.now().date())


def _overdue(request: PrivacyRequest) -> bool:
    return request.status in OPEN_STATUSES and request.respond_by < timezone.now().date()


def privacy_request_rows() -> QuerySet[PrivacyRequest]:
    return PrivacyRequest.objects.select_related("handled_by")


class PrivacyRequestTable(tables.Table):  # type: ignore[misc]
    id = tables.Column(verbose_name="Request")
    type = tables.Column(verbose_name="Type")
    jurisdiction = tables.Column(verbose_name="Jurisdiction")
    status = tables.Column(verbose_name="Status")
    subject_hash = tables.Column(verbose_name="Subject (keyed hash)", orderable=False)
    received_at = tables.Column(verbose_name="Received")
    acknowledge_by = tables.Column(verbose_name="Confirm by")
    respond_by = tables.Column(verbose_name="Answer by")
    handled_by = tables.Column(verbose_name="Handled by", order_by=("handled_by__username",))

    class Meta:
        order_by = ("respond_by", "id")
        row_attrs = {"class": lambda record: "overdue" if _overdue(record) else ""}
        empty_text = "No privacy requests match."

    def render_id(self, record: PrivacyRequest) -> SafeString:
        return link(request_url(record.pk), f"#{record.pk}")

    def render_status(self, record: PrivacyRequest) -> SafeString:
        return badge(record.status, tone(record.status))

    def render_type(self, record: PrivacyRequest) -> str:
        return str(record.type)

    def render_jurisdiction(self, record: PrivacyRequest) -> str:
        return str(record.jurisdiction)

    def render_subject_hash(self, value: str) -> SafeString:
        return format_html('<code title="{}">{}…</code>', value, value[:12])

    def render_received_at(self, value: Any) -> Any:
        return utc_cell(value)

    def render_respond_by(self, record: PrivacyRequest) -> SafeString | str:
        due = record.respond_by.isoformat()
        if _overdue(record):
            return badge(f"{due} (overdue)", "bad")
        return due

    def render_acknowledge_by(self, record: PrivacyRequest) -> str:
        return record.acknowledge_by.isoformat() if record.acknowledge_by else "—"

    def render_handled_by(self, record: PrivacyRequest) -> str:
        user = record.handled_by
        return str(user.full_name or user.username) if user is not None else "—"


@login_required
@require_GET
def privacy_request_list_page(request: HttpRequest) -> HttpResponse:
    """``/privacy/requests/?status=open|received|...&overdue=1&type=&jurisdiction=&handled_by=&sort=&page=``

    The rows name subjects by keyed hash, pseudonymous personal data (GDPR Recital 26): a page that shows
    any is an audit entry (``privacy_request.read``: the numbers shown and the filters)."""
    roles_required(request, REQUEST_READ_ROLES, who="compliance officers and auditors")
    filterset = PrivacyRequestFilter(request.GET or None, queryset=privacy_request_rows())
    shown: list[PrivacyRequest] = []
    response = list_page(
        request,
        title="Privacy requests",
        intro="Soonest deadline first. Deadlines: GDPR Art. 12(3) one month; CCPA confirm within 10 "
        "business days, answer within 45 days.",
        filterset=filterset,
        table_class=PrivacyRequestTable,
        table_id="privacy-requests",
        shown=shown,
    )
    filters = {name: request.GET.get(name) for name in (*filterset.filters, "sort", "page", "per_page")}
    privacy_request_list_read(
        actor=actor_from_request(request), shown=[row.pk for row in shown], filters=filters, via="page"
    )
    return response
