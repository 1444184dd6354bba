"""The catalog's console lists: a filter (GET parameters) and a table for models, datasets, runs and
deployments. Each table reads its page in a fixed number of queries (related rows joined or
prefetched), whatever the number of rows."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import django_filters as filters
import django_tables2 as tables
from django.db.models import Count, Max, Q, QuerySet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from governance.core.lists import badge, link, tone, utc_cell
from registry.models import Dataset, Deployment, RegisteredModel, RiskLevel, TrainingRun

YES_NO = (("1", "yes"), ("0", "no"))


def lineage_url(node_id: str) -> str:
    return "/lineage/?nodeId=" + quote(node_id, safe=":")


def person(user: Any) -> str:
    return str(user.full_name or user.username) if user is not None else "—"


def _yes(value: str) -> bool:
    return value == "1"


# --- Models --------------------------------------------------------------------------------------------


class ModelFilter(filters.FilterSet):  # type: ignore[misc]
    q = filters.CharFilter(label="Search", method="search", max_length=200)
    risk_level = filters.ChoiceFilter(label="Risk level", choices=RiskLevel.choices)
    owner = filters.CharFilter(label="Owner (username)", field_name="owner__username", max_length=150)
    archived = filters.ChoiceFilter(label="Archived", choices=YES_NO, method="archived_filter")

    class Meta:
        model = RegisteredModel
        fields: list[str] = []

    def search(self, rows: QuerySet[RegisteredModel], name: str, value: str) -> QuerySet[RegisteredModel]:
        return rows.filter(
            Q(name__icontains=value) | Q(description__icontains=value) | Q(intended_use__icontains=value)
        )

    def archived_filter(
        self, rows: QuerySet[RegisteredModel], name: str, value: str
    ) -> QuerySet[RegisteredModel]:
        return rows.filter(archived_at__isnull=not _yes(value))


def model_rows() -> QuerySet[RegisteredModel]:
    serving = Count("versions__deployments", filter=Q(versions__deployments__until__isnull=True))
    return RegisteredModel.objects.select_related("owner").annotate(
        version_count=Count("versions", distinct=True), serving_count=serving
    )


class ModelTable(tables.Table):  # type: ignore[misc]
    name = tables.Column(verbose_name="Model")
    risk_level = tables.Column(verbose_name="Risk (EU AI Act)")
    owner = tables.Column(verbose_name="Owner", order_by=("owner__full_name", "owner__username"))
    version_count = tables.Column(verbose_name="Versions")
    serving_count = tables.Column(verbose_name="Serving deployments")
    created_at = tables.Column(verbose_name="Registered")
    intended_use = tables.Column(verbose_name="Intended use", orderable=False)

    class Meta:
        order_by = "name"
        empty_text = "No models match."

    def render_name(self, record: RegisteredModel) -> SafeString:
        shown = link(reverse("model-page", args=[record.name]), record.name)
        return format_html("{} {}", shown, badge("archived", "muted")) if record.archived_at else shown

    def render_risk_level(self, record: RegisteredModel) -> SafeString:
        return badge(record.risk_level, tone(record.risk_level))

    def render_owner(self, record: RegisteredModel) -> str:
        return person(record.owner)

    def render_created_at(self, value: Any) -> Any:
        return utc_cell(value)

    def render_intended_use(self, value: str) -> str:
        return value if len(value) <= 80 else value[:79] + "…"


# --- Datasets ------------------------------------------------------------------------------------------


class DatasetFilter(filters.FilterSet):  # type: ignore[misc]
    q = filters.CharFilter(label="Search", method="search", max_length=200)
    namespace = filters.CharFilter(label="Namespace", max_length=200)
    personal = filters.ChoiceFilter(label="Personal data", choices=YES_NO, method="personal_filter")

    class Meta:
        model = Dataset
        fields: list[str] = []

    def search(self, rows: QuerySet[Dataset], name: str, value: str) -> QuerySet[Dataset]:
        return rows.filter(
            Q(name__icontains=value) | Q(namespace__icontains=value) | Q(description__icontains=value)
        )

    def personal_filter(self, rows: QuerySet[Dataset], name: str, value: str) -> QuerySet[Dataset]:
        return rows.filter(holds_personal_data=_yes(value))


def dataset_rows() -> QuerySet[Dataset]:
    return Dataset.objects.prefetch_related("versions").annotate(
        version_count=Count("versions"), latest_version_at=Max("versions__created_at")
    )


class DatasetTable(tables.Table):  # type: ignore[misc]
    name = tables.Column(verbose_name="Dataset", order_by=("namespace", "name"))
    holds_personal_data = tables.Column(verbose_name="Personal data")
    jurisdictions = tables.Column(verbose_name="Jurisdictions", orderable=False)
    data_categories = tables.Column(verbose_name="Categories", orderable=False)
    version_count = tables.Column(verbose_name="Versions", orderable=True)
    versions = tables.Column(verbose_name="Versions (lineage, rows)", empty_values=(), orderable=False)
    latest_version_at = tables.Column(verbose_name="Latest version")

    class Meta:
        order_by = "name"
        empty_text = "No datasets match."

    def render_name(self, record: Dataset) -> SafeString:
        versions = list(record.versions.all())
        target = versions[-1].node_id if versions else record.node_id
        shown = link(lineage_url(target), f"{record.namespace}:{record.name}")
        return format_html("{} {}", shown, badge("archived", "muted")) if record.archived_at else shown

    def render_holds_personal_data(self, record: Dataset) -> SafeString:
        if not record.holds_personal_data:
            return badge("no", "muted")
        return badge("yes, Art. 9" if record.special_categories else "yes", "warn")

    def render_jurisdictions(self, value: list[str]) -> str:
        return ", ".join(value) or "—"

    def render_data_categories(self, value: list[str]) -> str:
        return ", ".join(value) or "—"

    def render_versions(self, record: Dataset) -> SafeString:
        return format_html_join(
            ", ",
            '<a href="{}" title="SHA-256 {}">{}</a>{}',
            (
                (
                    lineage_url(v.node_id),
                    v.sha256 or "not recorded",
                    v.version,
                    f" ({v.row_count} rows)" if v.row_count is not None else "",
                )
                for v in record.versions.all()
            ),
        )

    def render_latest_version_at(self, value: Any) -> Any:
        return utc_cell(value)


# --- Runs ----------------------------------------------------------------------------------------------


class RunFilter(filters.FilterSet):  # type: ignore[misc]
    q = filters.CharFilter(label="Search (job, code version)", method="search", max_length=200)
    state = filters.CharFilter(label="State", max_length=16)
    started_by = filters.CharFilter(label="Started by (username)", field_name="started_by__username")

    class Meta:
        model = TrainingRun
        fields: list[str] = []

    def search(self, rows: QuerySet[TrainingRun], name: str, value: str) -> QuerySet[TrainingRun]:
        return rows.filter(
            Q(job__name__icontains=value)
            | Q(job__namespace__icontains=value)
            | Q(code_version__icontains=value)
            | Q(models__model__name__icontains=value)
        ).distinct()


def run_rows() -> QuerySet[TrainingRun]:
    return TrainingRun.objects.select_related("job", "started_by").prefetch_related(
        "inputs__dataset", "models__model"
    )


class RunTable(tables.Table):  # type: ignore[misc]
    run_id = tables.Column(verbose_name="Run", orderable=False)
    job = tables.Column(verbose_name="Job", order_by=("job__namespace", "job__name"))
    state = tables.Column(verbose_name="State")
    started_by = tables.Column(verbose_name="Started by", order_by=("started_by__username",))
    started_at = tables.Column(verbose_name="Started")
    ended_at = tables.Column(verbose_name="Ended")
    inputs = tables.Column(verbose_name="Data used", empty_values=(), orderable=False)
    produced = tables.Column(verbose_name="Model versions", empty_values=(), orderable=False)

    class Meta:
        order_by = "-started_at"
        empty_text = "No runs match."

    def render_run_id(self, record: TrainingRun) -> SafeString:
        return link(lineage_url(record.node_id), str(record.run_id)[:8])

    def render_job(self, record: TrainingRun) -> str:
        return str(record.job) if record.job is not None else "—"

    def render_state(self, value: str) -> SafeString:
        return badge(value.lower())

    def render_started_by(self, record: TrainingRun) -> str:
        return person(record.started_by)

    def render_started_at(self, value: Any) -> Any:
        return utc_cell(value)

    def render_ended_at(self, value: Any) -> Any:
        return utc_cell(value)

    def render_inputs(self, record: TrainingRun) -> SafeString | str:
        items = [(lineage_url(v.node_id), f"{v.dataset}#{v.version}") for v in record.inputs.all()]
        return format_html_join(", ", '<a href="{}">{}</a>', items) if items else "—"

    def render_produced(self, record: TrainingRun) -> SafeString | str:
        items = [(reverse("model-page", args=[m.model.name]), m.node_id) for m in record.models.all()]
        return format_html_join(", ", '<a href="{}">{}</a>', items) if items else "—"


# --- Deployments ---------------------------------------------------------------------------------------


class DeploymentFilter(filters.FilterSet):  # type: ignore[misc]
    q = filters.CharFilter(
        label="Search (model)", field_name="model_version__model__name", lookup_expr="icontains"
    )
    environment = filters.CharFilter(label="Environment", max_length=100)
    model = filters.CharFilter(label="Model", field_name="model_version__model__name", max_length=200)
    serving = filters.ChoiceFilter(label="Serving now", choices=YES_NO, method="serving_filter")

    class Meta:
        model = Deployment
        fields: list[str] = []

    def serving_filter(self, rows: QuerySet[Deployment], name: str, value: str) -> QuerySet[Deployment]:
        return rows.filter(until__isnull=_yes(value))


def deployment_rows() -> QuerySet[Deployment]:
    return Deployment.objects.select_related("model_version__model", "deployed_by")


class DeploymentTable(tables.Table):  # type: ignore[misc]
    id = tables.Column(verbose_name="Deployment")
    model = tables.Column(
        verbose_name="Model version",
        accessor="model_version",
        order_by=("model_version__model__name", "model_version__version"),
    )
    environment = tables.Column(verbose_name="Environment")
    serving = tables.Column(verbose_name="Status", accessor="until", empty_values=(), order_by=("until",))
    deployed_by = tables.Column(verbose_name="Deployed by", order_by=("deployed_by__username",))
    deployed_at = tables.Column(verbose_name="Deployed")
    until = tables.Column(verbose_name="Ended")

    class Meta:
        order_by = "-deployed_at"
        empty_text = "No deployments match."

    def render_id(self, record: Deployment) -> SafeString:
        name = record.model_version.model.name
        url = reverse("monitoring-page", args=[record.environment, name])
        return link(url, f"{record.environment}/{name} (#{record.pk})")

    def render_model(self, record: Deployment) -> SafeString:
        version = record.model_version
        return link(reverse("model-page", args=[version.model.name]), version.node_id)

    def render_serving(self, record: Deployment) -> SafeString:
        return badge("ended", "muted") if record.until else badge("serving", "ok")

    def render_deployed_by(self, record: Deployment) -> str:
        return person(record.deployed_by)

    def render_deployed_at(self, value: Any) -> Any:
        return utc_cell(value)

    def render_until(self, value: Any) -> Any:
        return utc_cell(value)
