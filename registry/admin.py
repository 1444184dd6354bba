"""The registry in the admin site: read-only (every change goes through an audited service)."""

from __future__ import annotations

from django.contrib import admin

from audit.admin_audit import ReadOnlyModelAdmin
from registry.models import (
    Dataset,
    DatasetVersion,
    Deployment,
    Job,
    LineageEdge,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
    TrainingRun,
)
from registry.models_columns import ColumnCategory, ColumnLineageEdge, DatasetField
from registry.models_quality import QualityProfile


@admin.register(RegisteredModel)
class RegisteredModelAdmin(ReadOnlyModelAdmin):
    list_display = ["name", "owner", "risk_level", "created_at", "archived_at"]
    list_filter = ["risk_level"]
    search_fields = ["name"]
    list_select_related = ["owner"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyModelAdmin):
    list_display = ["model", "version", "framework", "artifact_verified", "created_by", "created_at"]
    list_filter = ["artifact_verified", "framework"]
    search_fields = ["model__name", "=artifact_sha256"]
    list_select_related = ["model", "created_by"]


@admin.register(ModelAlias)
class ModelAliasAdmin(ReadOnlyModelAdmin):
    # Aliases such as production and staging move only with an approved release's deploy job
    # (registry.services.aliases); the admin shows where each points and which job moved it.
    list_display = ["model", "alias", "version", "moved_by", "moved_at", "job_reference"]
    search_fields = ["model__name", "alias", "=job_reference"]
    list_select_related = ["model", "version", "moved_by"]


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyModelAdmin):
    list_display = ["namespace", "name", "holds_personal_data", "special_categories", "created_at"]
    list_filter = ["holds_personal_data", "special_categories", "namespace"]
    search_fields = ["name", "namespace"]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ReadOnlyModelAdmin):
    # Subject hashes are left out on purpose: they are looked up by erasure requests, not browsed.
    list_display = ["dataset", "version", "row_count", "subject_count", "file_format", "created_at"]
    search_fields = ["dataset__name", "version", "=sha256"]
    list_select_related = ["dataset"]


@admin.register(Job)
class JobAdmin(ReadOnlyModelAdmin):
    list_display = ["namespace", "name", "created_at"]
    search_fields = ["name", "namespace"]


@admin.register(TrainingRun)
class TrainingRunAdmin(ReadOnlyModelAdmin):
    list_display = ["run_id", "job", "state", "started_at", "ended_at", "started_by"]
    list_filter = ["state"]
    search_fields = ["=run_id", "code_version"]
    list_select_related = ["job", "started_by"]


@admin.register(Deployment)
class DeploymentAdmin(ReadOnlyModelAdmin):
    list_display = ["model_version", "environment", "deployed_at", "until", "deployed_by"]
    list_filter = ["environment"]
    list_select_related = ["model_version__model", "deployed_by"]


@admin.register(LineageEdge)
class LineageEdgeAdmin(ReadOnlyModelAdmin):
    list_display = ["source", "relation", "target", "created_at"]
    list_filter = ["relation"]
    search_fields = ["=source", "=target"]


@admin.register(DatasetField)
class DatasetFieldAdmin(ReadOnlyModelAdmin):
    list_display = ["version", "name", "type", "data_categories", "position"]
    search_fields = ["version__dataset__name", "name"]
    list_select_related = ["version__dataset"]


@admin.register(ColumnLineageEdge)
class ColumnLineageEdgeAdmin(ReadOnlyModelAdmin):
    list_display = [
        "input_namespace",
        "input_name",
        "input_field",
        "transformation_type",
        "transformation_subtype",
        "output_version",
        "output_field",
        "masking",
    ]
    list_filter = ["transformation_type", "masking"]
    search_fields = ["input_name", "input_field", "output_field"]
    list_select_related = ["output_version__dataset"]


@admin.register(ColumnCategory)
class ColumnCategoryAdmin(ReadOnlyModelAdmin):
    list_display = ["dataset", "column", "data_categories", "declared_at"]
    search_fields = ["dataset__name", "column"]
    list_select_related = ["dataset"]


@admin.register(QualityProfile)
class QualityProfileAdmin(ReadOnlyModelAdmin):
    list_display = ["version", "sha256", "computed_at"]
    search_fields = ["version__dataset__name", "=sha256"]
    list_select_related = ["version__dataset"]
