"""Models, datasets, runs, deployments and the lineage graph joining them.

Node ids (also the keys of ``LineageEdge``): ``dataset:<namespace>:<name>`` (``#<version>`` for a
version), ``job:<namespace>:<name>``, ``run:<id>``, ``model:<name>#<version>``,
``deployment:<environment>:<model>``. Nothing an approval or a lineage edge points to is deleted:
rows are archived (``archived_at``), and the archive is audited.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Coalesce


class RiskLevel(models.TextChoices):
    """EU AI Act risk tiers (Regulation (EU) 2024/1689, Arts. 5, 6, 50)."""

    MINIMAL = "minimal"
    LIMITED = "limited"
    HIGH = "high"
    UNACCEPTABLE = "unacceptable"


class Jurisdiction(models.TextChoices):
    EU_EEA = "eu_eea", "EU/EEA"
    UK = "uk", "United Kingdom"
    CALIFORNIA = "california", "California"
    OTHER = "other", "Other"


class RegisteredModel(models.Model):
    name = models.SlugField(max_length=200, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    description = models.TextField(blank=True)
    intended_use = models.TextField(blank=True)
    risk_level = models.CharField(max_length=16, choices=RiskLevel.choices, default=RiskLevel.MINIMAL)
    tags = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RiskClassification(models.Model):
    """One decision on a model's EU AI Act risk level, never changed: the level declared when the model
    was registered, or a compliance officer's reclassification with its reason. A release request takes
    the highest level ever recorded for its model since the latest reclassification (approvals.risk)."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="risk_classifications")
    risk_level = models.CharField(max_length=16, choices=RiskLevel.choices)
    previous_level = models.CharField(max_length=16, blank=True)
    reclassified = models.BooleanField(default=False)  # an officer's decision, not the registration
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["model", "decided_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(risk_level__in=RiskLevel.values), name="risk_classification_level_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(reclassified=False) | ~models.Q(reason=""),
                name="risk_reclassification_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model.name}: {self.risk_level} ({self.decided_at:%Y-%m-%d %H:%M:%S} UTC)"


class Dataset(models.Model):
    namespace = models.CharField(max_length=200, default="default")
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    holds_personal_data = models.BooleanField(default=False)
    subject_id_column = models.CharField(max_length=200, blank=True)
    jurisdictions = models.JSONField(default=list, blank=True)
    # fideslang data categories (e.g. "user.contact.email") and data uses (e.g. "train_ai_system").
    data_categories = models.JSONField(default=list, blank=True)
    special_categories = models.BooleanField(default=False)  # GDPR Art. 9
    purposes = models.JSONField(default=list, blank=True)
    facets = models.JSONField(default=dict, blank=True)  # kept as sent by OpenLineage producers
    # --- Data quality and bias (issue 20, EU AI Act Art. 10) ---
    # Database defaults too: the PostgreSQL lineage ingest function inserts datasets without naming them.
    # The label column a model is trained to predict: the quality profile reports its class balance.
    target_column = models.CharField(max_length=200, blank=True, default="", db_default="")
    # The declared schema the profile checks values against (registry.quality): a list of
    # {"name", "type", "nullable", "min", "max", "allowed"}; empty: nothing declared.
    declared_schema = models.JSONField(default=list, blank=True, db_default=[])
    # Protected and proxy attributes a bias examination groups by: a list of
    # {"column", "data_categories": [fideslang categories], "proxy": bool}.
    protected_attributes = models.JSONField(default=list, blank=True, db_default=[])
    created_at = models.DateTimeField()
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="dataset_unique_name")]

    def __str__(self) -> str:
        return f"{self.namespace}:{self.name}"

    @property
    def node_id(self) -> str:
        return f"dataset:{self.namespace}:{self.name}"


class DatasetVersion(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    uri = models.CharField(max_length=1000, blank=True)
    storage_name = models.CharField(max_length=300, blank=True)  # our copy, content-addressed
    file_format = models.CharField(max_length=16, blank=True)
    schema = models.JSONField(default=list, blank=True)
    row_count = models.BigIntegerField(null=True, blank=True)
    subject_count = models.IntegerField(null=True, blank=True)
    facets = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    archived_at = models.DateTimeField(null=True, blank=True)
    # --- Honest versions (issue 19): which version an OpenLineage input without a version read. ---
    # When the producer says the version came to be: the eventTime of the first event naming it (null
    # for versions registered here, whose created_at says it). An input sent without a version binds
    # to the newest version at its event's time by this (or created_at).
    event_time = models.DateTimeField(null=True, blank=True)
    # The "unknown version" marker (version "unknown"): a run read the dataset before any version of
    # it was known here. Never bound to by later readers; holds no rows of its own.
    unknown = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["dataset", "created_at"]
        indexes = [
            models.Index(
                F("dataset"),
                Coalesce("event_time", "created_at").desc(),
                F("id").desc(),
                name="dataset_version_as_of",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "version"], name="dataset_version_unique"),
            models.CheckConstraint(
                condition=models.Q(sha256="") | models.Q(sha256__regex=r"^[0-9a-f]{64}$"),
                name="dataset_version_sha256_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset}#{self.version}"

    @property
    def node_id(self) -> str:
        return f"{self.dataset.node_id}#{self.version}"


class DatasetSubject(models.Model):
    """A data subject in a dataset version, by keyed hash only (HMAC-SHA256, never the raw id)."""

    dataset_version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="subjects")
    subject_hash = models.CharField(max_length=64, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset_version", "subject_hash"], name="dataset_subject_unique")
        ]

    def __str__(self) -> str:
        return f"{self.dataset_version_id}:{self.subject_hash[:12]}"


class Job(models.Model):
    namespace = models.CharField(max_length=200)
    name = models.CharField(max_length=300)
    facets = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="job_unique_name")]

    def __str__(self) -> str:
        return f"{self.namespace}:{self.name}"

    @property
    def node_id(self) -> str:
        return f"job:{self.namespace}:{self.name}"


class TrainingRun(models.Model):
    """A run: dataset versions in, model versions (and datasets) out, who and when."""

    run_id = models.UUIDField(unique=True, default=uuid.uuid4)
    job = models.ForeignKey(Job, on_delete=models.PROTECT, null=True, blank=True, related_name="runs")
    state = models.CharField(max_length=16, default="COMPLETE")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    code_version = models.CharField(max_length=200, blank=True)
    environment = models.JSONField(default=dict, blank=True)
    facets = models.JSONField(default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    inputs = models.ManyToManyField(DatasetVersion, related_name="consumed_by", blank=True)
    outputs = models.ManyToManyField(DatasetVersion, related_name="produced_by", blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"run {self.run_id}"

    @property
    def node_id(self) -> str:
        return f"run:{self.run_id}"


class ArtifactFormat(models.TextChoices):
    """The forms a stored model artifact may take. None of them runs code when loaded: skops is loaded
    with an allow-list of types, ONNX by onnxruntime. Pickle and joblib are refused at the door."""

    SKOPS = "skops"
    ONNX = "onnx"
    REFERENCE = "reference"  # only a URI (``s3://``, ``runs:/``): lineage, never deployable


class MetricsSource(models.TextChoices):
    """Who produced a model version's metrics. Only the service's own evaluation satisfies a policy."""

    SERVICE = "service"  # the training job's held-out evaluation, or a governed evaluation job
    DECLARED = "declared"  # typed in by the uploader: shown as "declared by", never trusted


class ModelVersion(models.Model):
    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    artifact_sha256 = models.CharField(max_length=64, blank=True)
    artifact_size = models.BigIntegerField(null=True, blank=True)
    artifact_uri = models.CharField(max_length=1000, blank=True)
    storage_name = models.CharField(max_length=300, blank=True)
    artifact_verified = models.BooleanField(default=False)
    artifact_format = models.CharField(max_length=16, choices=ArtifactFormat.choices, blank=True)
    # The serving form (ONNX), pinned like the artifact; the same file when the artifact is ONNX.
    onnx_sha256 = models.CharField(max_length=64, blank=True)
    onnx_storage_name = models.CharField(max_length=300, blank=True)
    # The OpenSSF model-signing bundle over the artifact files, and the id of the key that signed it.
    signature_storage_name = models.CharField(max_length=300, blank=True)
    # The signed provenance.json (model version, training run or uploader, file hashes) beside the bundle.
    provenance_storage_name = models.CharField(max_length=300, blank=True)
    signing_key_id = models.CharField(max_length=64, blank=True)
    metrics_source = models.CharField(
        max_length=16, choices=MetricsSource.choices, default=MetricsSource.DECLARED
    )
    framework = models.CharField(max_length=100, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    # The training job's bias examination on its held-out rows (governance.jobs.bias); {} when none ran.
    bias_examination = models.JSONField(default=dict, blank=True, db_default={})
    input_schema = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=32, default="registered")
    run = models.ForeignKey(
        TrainingRun, on_delete=models.PROTECT, null=True, blank=True, related_name="models"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["model", "version"]
        constraints = [
            models.UniqueConstraint(fields=["model", "version"], name="model_version_unique"),
            models.CheckConstraint(
                condition=models.Q(artifact_sha256="") | models.Q(artifact_sha256__regex=r"^[0-9a-f]{64}$"),
                name="model_version_sha256_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model.name}#{self.version}"

    @property
    def node_id(self) -> str:
        return f"model:{self.model.name}#{self.version}"

    @property
    def undeployable_reason(self) -> str:
        """Why this version can never be deployed ("" when it can): only an artifact the service holds,
        in a form that runs no code when loaded, and signed by the service, is ever served."""
        if not self.storage_name or self.artifact_format == ArtifactFormat.REFERENCE:
            return (
                f"{self.node_id} is only a reference ({self.artifact_uri or 'no artifact'}): it is recorded "
                "for lineage, but only an artifact uploaded to the service (ONNX or skops) can be deployed"
            )
        if self.artifact_format not in (ArtifactFormat.SKOPS, ArtifactFormat.ONNX):
            return (
                f"{self.node_id} has an artifact in no safe format (stored before pickle was refused); "
                "upload it again as ONNX or skops, or retrain it through an approved training request"
            )
        if not self.signature_storage_name:
            return f"{self.node_id} has no signature bundle from the service, so its bytes cannot be trusted"
        return ""


class ModelAlias(models.Model):
    """A named pointer to one version of a model (``production``, ``staging``...). Moved only by the
    deploy job of an approved release (or, for ungoverned aliases, by the MLflow-compatible API)."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="aliases")
    alias = models.CharField(max_length=100)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="aliases")
    moved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    moved_at = models.DateTimeField()
    job_reference = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["model", "alias"]
        constraints = [models.UniqueConstraint(fields=["model", "alias"], name="model_alias_unique")]

    def __str__(self) -> str:
        return f"{self.model.name}@{self.alias}"


class Deployment(models.Model):
    """A model version serving an environment from ``deployed_at`` until ``until`` (open while serving)."""

    model_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="deployments")
    environment = models.CharField(max_length=100)
    endpoint = models.CharField(max_length=500, blank=True)
    deployed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    deployed_at = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)
    job_reference = models.CharField(max_length=100, blank=True)  # the approved job that deployed it

    class Meta:
        ordering = ["environment", "deployed_at"]
        indexes = [models.Index(fields=["environment", "deployed_at"], name="deployment_env_time")]

    def __str__(self) -> str:
        return f"{self.model_version} in {self.environment}"

    @property
    def node_id(self) -> str:
        return f"deployment:{self.environment}:{self.model_version.model.name}"


class LineageEdge(models.Model):
    """One edge of the lineage graph between node ids, in data-flow direction (input → output).

    Kept as its own table so the walk up or down is one recursive query on PostgreSQL and SQLite.
    """

    source = models.CharField(max_length=700)
    target = models.CharField(max_length=700)
    relation = models.CharField(max_length=32)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "target", "relation"], name="lineage_edge_unique")
        ]
        indexes = [models.Index(fields=["target"], name="lineage_edge_target")]

    def __str__(self) -> str:
        return f"{self.source} -[{self.relation}]-> {self.target}"


class LineageEvent(models.Model):
    """An OpenLineage event exactly as received (validated against spec 2-0-2), for replay and proof."""

    kind = models.CharField(max_length=16)  # RunEvent | DatasetEvent | JobEvent
    event_type = models.CharField(max_length=16, blank=True)
    event_time = models.DateTimeField()
    run_id = models.UUIDField(null=True, blank=True, db_index=True)
    body = models.JSONField()
    body_sha256 = models.CharField(max_length=64, unique=True)  # the same event twice changes nothing
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} {self.event_type} {self.event_time:%Y-%m-%dT%H:%M:%SZ}"


from registry.models_columns import ColumnCategory, ColumnLineageEdge, DatasetField  # noqa: E402, F401
from registry.models_quality import QualityProfile  # noqa: E402, F401
