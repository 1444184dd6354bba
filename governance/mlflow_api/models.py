"""What MLflow says about a model version that the governed registry does not otherwise keep.

Kept in this app's own table (one row per version, created when the MLflow API first writes to it)
rather than on ``registry.ModelVersion``: tags, the deprecated stage, the description and the run id
as the client sent it are MLflow's vocabulary; the registry keeps the governed facts (artifact, hash,
run edge, aliases). Every write goes through ``governance.mlflow_api.services``, audited as
``model_version.update`` (or within ``model_version.create``).
"""

from __future__ import annotations

from django.db import models

from registry.models import ModelVersion


class Stage(models.TextChoices):
    """MLflow's (deprecated) stages; Staging and Production are only ever derived from the governed
    aliases ``staging`` and ``production``, never stored."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"


class MlflowVersionInfo(models.Model):
    model_version = models.OneToOneField(
        ModelVersion, on_delete=models.PROTECT, primary_key=True, related_name="mlflow_info"
    )
    tags = models.JSONField(default=dict, blank=True)
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.NONE)
    description = models.TextField(blank=True)
    run_id = models.CharField(max_length=64, blank=True, db_index=True)  # as the client sent it
    run_link = models.CharField(max_length=1000, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "MLflow version info"
        verbose_name_plural = "MLflow version info"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stage__in=[Stage.NONE, Stage.ARCHIVED]), name="mlflow_info_stage_stored"
            )
        ]

    def __str__(self) -> str:
        return f"MLflow info of {self.model_version_id}"
