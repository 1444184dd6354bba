"""``/approvals/all/``: every release request as a filterable, sortable, paginated table (the queue at
``/approvals/`` stays the officers' to-do list). Same roles as ``GET /api/v1/releases``."""

from __future__ import annotations

from typing import Any

import django_filters as filters
import django_tables2 as tables
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from governance.approvals.api_common import RELEASE_READER_ROLES
from governance.approvals.models import EXPIRED, ReleaseKind, ReleaseRequest, ReleaseStatus
from governance.core.lists import badge, link, list_page, roles_required, tone, utc_cell

STATUS_CHOICES = (*ReleaseStatus.choices, (EXPIRED, "Expired"))


class ReleaseFilter(filters.FilterSet):  # type: ignore[misc]
    q = filters.CharFilter(label="Search (model, justification)", method="search", max_length=200)
    status = filters.ChoiceFilter(label="Status", choices=STATUS_CHOICES, method="status_filter")
    kind = filters.ChoiceFilter(label="Kind", choices=ReleaseKind.choices)
    environment = filters.CharFilter(label="Environment", field_name="environment", lookup_expr="iexact")
    requested_by = filters.CharFilter(label="Requested by (username)", field_name="requested_by__username")
    risk_level = filters.CharFilter(label="Risk level", max_length=16)

    class Meta:
        model = ReleaseRequest
        fields: list[str] = []

    def search(self, rows: QuerySet[ReleaseRequest], name: str, value: str) -> QuerySet[ReleaseRequest]:
        return rows.filter(Q(model_name__icontains=value) | Q(justification__icontains=value))

    def status_filter(
        self, rows: QuerySet[ReleaseRequest], name: str, value: str
    ) -> QuerySet[ReleaseRequest]:
        # "expired" is derived: an approved request past its grant's expiry (models.ReleaseStatus).
        now = timezone.now()
        if value == EXPIRED:
            return rows.filter(status=ReleaseStatus.APPROVED, expires_at__lte=now)
        if value == ReleaseStatus.APPROVED:
            return rows.filter(status=ReleaseStatus.APPROVED, expires_at__gt=now)
        return rows.filter(status=value)


def release_rows() -> QuerySet[ReleaseRequest]:
    return ReleaseRequest.objects.select_related(
        "requested_by", "model_version__model", "policy_version__policy"
    )


class ReleaseTable(tables.Table):  # type: ignore[misc]
    id = tables.Column(verbose_name="Request")
    kind = tables.Column(verbose_name="Kind")
    what = tables.Column(verbose_name="What", accessor="model_name", order_by=("model_name", "environment"))
    risk_level = tables.Column(verbose_name="Risk")
    policy = tables.Column(verbose_name="Policy", accessor="policy_version", orderable=False)
    requested_by = tables.Column(verbose_name="Requested by", order_by=("requested_by__username",))
    created_at = tables.Column(verbose_name="Made")
    status = tables.Column(verbose_name="Status")
    expires_at = tables.Column(verbose_name="Grant expires")

    class Meta:
        order_by = "-created_at"
        empty_text = "No release requests match."

    def render_id(self, record: ReleaseRequest) -> SafeString:
        return link(reverse("approval-release", args=[record.pk]), f"#{record.pk}")

    def render_what(self, record: ReleaseRequest) -> str:
        if record.kind == "deploy":
            version = record.model_version.version if record.model_version else "?"
            return f"{record.model_name} v{version} → {record.environment}"
        return f"train {record.model_name}"

    def render_risk_level(self, record: ReleaseRequest) -> SafeString:
        return badge(record.risk_level, tone(record.risk_level))

    def render_kind(self, record: ReleaseRequest) -> str:
        return str(record.kind)

    def render_policy(self, record: ReleaseRequest) -> str:
        return f"{record.policy_version.policy.name} v{record.policy_version.version}"

    def render_requested_by(self, record: ReleaseRequest) -> str:
        user = record.requested_by
        return str(user.full_name or user.username)

    def render_created_at(self, value: Any) -> Any:
        return utc_cell(value)

    def render_status(self, record: ReleaseRequest) -> SafeString:
        status = str(record.effective_status())
        return badge(status, tone(status))

    def render_expires_at(self, value: Any) -> Any:
        return utc_cell(value)


@login_required
@require_GET
def release_list_page(request: HttpRequest) -> HttpResponse:
    """``/approvals/all/?q=&status=&kind=&environment=&requested_by=&risk_level=&sort=&page=``"""
    roles_required(request, RELEASE_READER_ROLES, who="data scientists, pipelines, officers and auditors")
    return list_page(
        request,
        title="All release requests",
        intro="Every train and deploy request, whatever its state; the approval queue lists those waiting.",
        filterset=ReleaseFilter(request.GET or None, queryset=release_rows()),
        table_class=ReleaseTable,
        table_id="releases",
    )
