"""What the catalog API's resources share: the roles that read and write, JSON fields and the output
shapes. Request helpers (``valid``, ``paginated``, ``must_exist``, ``MethodRoles``) are the kernel's,
``governance.core.api``."""

from __future__ import annotations

from typing import Any, Final

from rest_framework import serializers
from rest_framework.exceptions import ParseError

from governance.core.errors import ApplicationError
from governance.core.json_parser import json_loads_checked
from governance.core.permissions import roles_allowed
from governance.core.roles import Role
from registry.models import (
    Dataset,
    DatasetVersion,
    Deployment,
    ModelVersion,
    RegisteredModel,
    TrainingRun,
)
from registry.services.datasets import (
    special_category_keys,
)

READERS: Final = (Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER, Role.AUDITOR)
WRITERS: Final = (Role.DATA_SCIENTIST, Role.PIPELINE)
# Compliance officers change only a model's risk_level (its EU AI Act classification) through PATCH.
UPDATERS: Final = (Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER)
READ_ROLES = roles_allowed(*READERS)
WRITE_ROLES = roles_allowed(*WRITERS)
WRITE_ROLE_NAMES = frozenset({Role.DATA_SCIENTIST.value, Role.PIPELINE.value})
RISK_LEVEL_ERRORS: dict[str, Any] = {
    "invalid_choice": (
        '"{input}" is not an EU AI Act risk level; choose minimal, limited, high or unacceptable.'
    )
}
JURISDICTION_ERRORS: dict[str, Any] = {
    "invalid_choice": '"{input}" is not a jurisdiction; choose eu_eea, uk, california or other.'
}


class JsonValueField(serializers.JSONField):
    """A JSON object or array, also accepted as JSON text (multipart forms carry every field as text)."""

    def __init__(self, *, kind: type[dict[str, Any]] | type[list[Any]], **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            try:  # within MAX_JSON_DEPTH and MAX_JSON_ITEMS, no NaN, no NUL: as a JSON body would be
                data = json_loads_checked(data)
            except (ApplicationError, ParseError) as exc:
                raise serializers.ValidationError(str(exc.detail)) from exc
        value = super().to_internal_value(data)
        if not isinstance(value, self.kind):
            raise serializers.ValidationError(f"must be a JSON {'object' if self.kind is dict else 'array'}")
        return value


class CatalogModelOutputSerializer(serializers.Serializer[RegisteredModel]):
    name = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    description = serializers.CharField()
    intended_use = serializers.CharField()
    risk_level = serializers.CharField()
    tags = serializers.DictField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)


class CatalogModelVersionOutputSerializer(serializers.Serializer[ModelVersion]):
    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField()
    node_id = serializers.CharField()
    artifact_sha256 = serializers.CharField()
    artifact_size = serializers.IntegerField(allow_null=True)
    artifact_uri = serializers.CharField()
    artifact_stored = serializers.SerializerMethodField()
    artifact_verified = serializers.BooleanField()
    artifact_format = serializers.CharField(help_text="skops, onnx, reference (lineage only), or '' (legacy)")
    onnx_sha256 = serializers.CharField(help_text="the serving form (ONNX), pinned like the artifact")
    signing_key_id = serializers.CharField(help_text="SHA-256 of the public key that signed the artifact")
    metrics_source = serializers.CharField(help_text="service (computed here) or declared (by the uploader)")
    undeployable_reason = serializers.CharField(help_text="why it can never be deployed; '' when it can")
    framework = serializers.CharField()
    parameters = serializers.JSONField()
    metrics = serializers.JSONField()
    bias_examination = serializers.JSONField(
        help_text="the training job's bias examination on its held-out rows (format bias-examination/1); "
        "{} when none ran"
    )
    input_schema = serializers.JSONField()
    status = serializers.CharField()
    run_id = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)

    def get_artifact_stored(self, obj: ModelVersion) -> bool:
        return bool(obj.storage_name)

    def get_run_id(self, obj: ModelVersion) -> str | None:
        return str(obj.run.run_id) if obj.run is not None else None


class CatalogDatasetOutputSerializer(serializers.Serializer[Dataset]):
    namespace = serializers.CharField()
    name = serializers.CharField()
    node_id = serializers.CharField()
    description = serializers.CharField()
    holds_personal_data = serializers.BooleanField()
    subject_id_column = serializers.CharField()
    jurisdictions = serializers.ListField(child=serializers.CharField())
    data_categories = serializers.ListField(child=serializers.CharField())
    special_categories = serializers.BooleanField()
    special_category_keys = serializers.SerializerMethodField()
    purposes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    archived_at = serializers.DateTimeField(allow_null=True)

    def get_special_category_keys(self, obj: Dataset) -> list[str]:
        return special_category_keys(obj.data_categories)


class CatalogDatasetVersionOutputSerializer(serializers.Serializer[DatasetVersion]):
    namespace = serializers.CharField(source="dataset.namespace")
    name = serializers.CharField(source="dataset.name")
    version = serializers.CharField()
    node_id = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    uri = serializers.CharField()
    stored = serializers.SerializerMethodField()
    file_format = serializers.CharField()
    schema = serializers.JSONField()
    row_count = serializers.IntegerField(allow_null=True)
    subject_count = serializers.IntegerField(allow_null=True)
    created_by = serializers.CharField(source="created_by.username", allow_null=True)
    created_at = serializers.DateTimeField()

    def get_stored(self, obj: DatasetVersion) -> bool:
        return bool(obj.storage_name)


class CatalogDatasetVersionRefSerializer(serializers.Serializer[Any]):
    namespace = serializers.CharField(max_length=200, default="default")
    name = serializers.CharField(max_length=300)
    version = serializers.CharField(max_length=200)


class CatalogRunOutputSerializer(serializers.Serializer[TrainingRun]):
    run_id = serializers.UUIDField()
    node_id = serializers.CharField()
    job = serializers.SerializerMethodField()
    state = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    parameters = serializers.JSONField()
    metrics = serializers.JSONField()
    code_version = serializers.CharField()
    environment = serializers.JSONField()
    started_by = serializers.CharField(source="started_by.username", allow_null=True)
    inputs = serializers.SerializerMethodField()
    model_versions = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_job(self, obj: TrainingRun) -> dict[str, str] | None:
        return {"namespace": obj.job.namespace, "name": obj.job.name} if obj.job is not None else None

    def get_inputs(self, obj: TrainingRun) -> list[dict[str, str]]:
        return [
            {"namespace": row.dataset.namespace, "name": row.dataset.name, "version": row.version}
            for row in obj.inputs.all()
        ]

    def get_model_versions(self, obj: TrainingRun) -> list[str]:
        return [row.node_id for row in obj.models.all()]


class CatalogDeploymentOutputSerializer(serializers.Serializer[Deployment]):
    id = serializers.IntegerField()
    node_id = serializers.CharField()
    model = serializers.CharField(source="model_version.model.name")
    version = serializers.IntegerField(source="model_version.version")
    environment = serializers.CharField()
    endpoint = serializers.CharField()
    deployed_by = serializers.CharField(source="deployed_by.username")
    deployed_at = serializers.DateTimeField()
    until = serializers.DateTimeField(allow_null=True)
    job_reference = serializers.CharField()
