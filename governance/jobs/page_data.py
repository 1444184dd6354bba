"""What the job pages show: the jobs table and its filter, and one job's outcome in words and links
(the release that authorised it, what it produced, why it was refused, its audit trail)."""

from __future__ import annotations

from typing import Any, TypedDict
from urllib.parse import quote

import django_filters as filters
import django_tables2 as tables
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from audit import selectors as audit_selectors
from governance.core.lists import badge, link, tone, utc_cell
from governance.jobs.models import JobStatus, ReleaseJob

KINDS = (("train", "train"), ("deploy", "deploy"))
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class Link(TypedDict):
    label: str
    url: str


def _page(route: str, *args: object) -> str:
    try:
        return reverse(route, args=args)
    except NoReverseMatch:  # a page of another app that is not mounted here
        return ""


def _lineage(node_id: str) -> str:
    return "/lineage/?nodeId=" + quote(node_id, safe=":")


class JobFilter(filters.FilterSet):  # type: ignore[misc]
    q = filters.CharFilter(label="Search (model)", field_name="release__model_name", lookup_expr="icontains")
    status = filters.ChoiceFilter(
        label="Status", choices=(*JobStatus.choices, ("active", "queued or running")), method="status_filter"
    )
    kind = filters.ChoiceFilter(label="Kind", choices=KINDS)
    release = filters.NumberFilter(label="Release request", field_name="release_id", min_value=1)
    requested_by = filters.CharFilter(label="Requested by (username)", field_name="requested_by__username")
    mine = filters.ChoiceFilter(label="Mine only", choices=(("1", "yes"),), method="mine_filter")

    class Meta:
        model = ReleaseJob
        fields: list[str] = []

    def status_filter(self, rows: QuerySet[ReleaseJob], name: str, value: str) -> QuerySet[ReleaseJob]:
        return rows.filter(status__in=ACTIVE) if value == "active" else rows.filter(status=value)

    def mine_filter(self, rows: QuerySet[ReleaseJob], name: str, value: str) -> QuerySet[ReleaseJob]:
        user = getattr(self.request, "user", None)
        return rows.filter(requested_by_id=getattr(user, "pk", None))


def job_rows() -> QuerySet[ReleaseJob]:
    return ReleaseJob.objects.select_related("requested_by", "release")


def outcome_links(job: ReleaseJob) -> list[Link]:
    """Links to what a job produced: the model version (its model page and lineage), the deployment."""
    result = job.result if isinstance(job.result, dict) else {}
    links: list[Link] = []
    node = str(result.get("model_version") or "")
    model = job.release.model_name
    if node:
        if url := _page("model-page", model):
            links.append({"label": node, "url": url})
        links.append({"label": f"lineage of {node}", "url": _lineage(node)})
    run = str(result.get("run") or "")
    if run:
        links.append({"label": f"training run {run.removeprefix('run:')[:8]}", "url": _lineage(run)})
    environment = str(result.get("environment") or "")
    deployed = isinstance(result.get("deployment"), int) and environment
    if deployed and (url := _page("monitoring-page", environment, model)):
        links.append({"label": f"deployment of {model} in {environment}", "url": url})
    return links


class JobTable(tables.Table):  # type: ignore[misc]
    id = tables.Column(verbose_name="Job")
    kind = tables.Column(verbose_name="Kind")
    release = tables.Column(verbose_name="Release", order_by=("release_id",))
    status = tables.Column(verbose_name="Status")
    percent = tables.Column(verbose_name="Progress")
    requested_by = tables.Column(verbose_name="Requested by", order_by=("requested_by__username",))
    created_at = tables.Column(verbose_name="Queued")
    finished_at = tables.Column(verbose_name="Finished")
    outcome = tables.Column(verbose_name="Outcome", empty_values=(), orderable=False)

    class Meta:
        order_by = "-created_at"
        empty_text = "No jobs match."

    def render_id(self, record: ReleaseJob) -> SafeString:
        return link(reverse("job-page", args=[record.pk]), f"job {record.pk}")

    def render_release(self, record: ReleaseJob) -> SafeString | str:
        url = _page("approval-release", record.release_id)
        text = f"#{record.release_id} {record.release.model_name}"
        return link(url, text) if url else text

    def render_status(self, record: ReleaseJob) -> SafeString:
        return badge(record.status, tone(record.status))

    def render_percent(self, record: ReleaseJob) -> SafeString:
        return format_html(
            '<progress max="100" value="{}" aria-label="job {} progress">{}%</progress> {} ({}%)',
            record.percent,
            record.pk,
            record.percent,
            record.stage,
            record.percent,
        )

    def render_requested_by(self, record: ReleaseJob) -> str:
        return str(record.requested_by.full_name or record.requested_by.username)

    def render_created_at(self, value: Any) -> Any:
        return utc_cell(value)

    def render_finished_at(self, value: Any) -> Any:
        return utc_cell(value)

    def render_outcome(self, record: ReleaseJob) -> SafeString | str:
        if record.status in (JobStatus.REFUSED, JobStatus.FAILED):
            reason = record.error if len(record.error) <= 100 else record.error[:99] + "…"
            return reason or "—"
        links = outcome_links(record)
        return link(links[0]["url"], links[0]["label"]) if links else "—"


def job_trail(job: ReleaseJob) -> list[dict[str, Any]]:
    """The job's audit entries (queued, started, refused, failed, done), oldest first: its log summary."""
    entries = audit_selectors.entry_list(target_type="job", target_id=str(job.pk))[:50]
    rows = []
    for entry in entries:
        fields = audit_selectors.entry_as_dict(entry)
        data = fields.get("data") or {}
        note = data.get("reason") or data.get("worker") or data.get("model_version") or ""
        rows.append({"index": entry.index, "at": entry.timestamp, "action": entry.action, "note": note})
    return rows


def job_facts(job: ReleaseJob) -> dict[str, Any]:
    """Metrics and consent manifests of a training job's result, as rows for the page."""
    result = job.result if isinstance(job.result, dict) else {}
    metrics = result.get("metrics") if isinstance(result.get("metrics"), dict) else {}
    consent = result.get("consent") if isinstance(result.get("consent"), list) else []
    return {
        "metrics": sorted((str(k), v) for k, v in (metrics or {}).items()),
        "consent": [row for row in consent or [] if isinstance(row, dict)],
        "artifact_sha256": str(result.get("artifact_sha256") or ""),
    }
