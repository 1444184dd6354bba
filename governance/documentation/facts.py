"""What the service knows about one model version, loaded once (a handful of queries) for the sections.

Reads only. The lineage part is the lineage report's (``registry.reports.assemble``), so the data
lineage, dataset hashes, signatures and audit entries shown are exactly those the lineage report shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from governance.approvals.models import ReleaseRequest
from governance.core.errors import NotFound, ValidationFailed
from governance.monitoring import selectors as monitoring_selectors
from governance.monitoring.models import DriftCheck, ReferenceProfile
from registry.models import (
    DatasetVersion,
    Deployment,
    ModelVersion,
    RiskClassification,
)
from registry.models_quality import QualityProfile
from registry.reports.assemble import lineage_report_build
from registry.reports.types import LineageReport
from registry.selectors.lineage import node_query

_MODEL_VERSION = re.compile(r"^model:(?P<name>[A-Za-z0-9_-]{1,200})#(?P<version>[0-9]{1,9})$")


@dataclass
class Facts:
    """The rows behind one model version's documentation."""

    version: ModelVersion
    lineage: LineageReport
    history: list[ModelVersion]  # every version of the model, oldest first
    classifications: list[RiskClassification]
    datasets: list[DatasetVersion]  # upstream dataset versions, as the lineage report lists them
    profiles: dict[int, QualityProfile]  # by dataset version pk
    releases: list[ReleaseRequest]  # the training request that made it and deploy requests naming it
    deployments: list[Deployment]
    thresholds: dict[int, dict[str, float]]  # drift thresholds by deployment pk
    drift_checks: list[DriftCheck]
    reference_profile: bool
    extra: dict[str, Any] = field(default_factory=dict)


def model_version_for(subject: str) -> ModelVersion:
    """The model version a ``model:<name>#<version>`` node id names; ValidationFailed (400) for any other
    node id, NotFound (404) for a version that does not exist."""
    match = _MODEL_VERSION.match(subject or "")
    if match is None:
        raise ValidationFailed(
            f"nodeId: {subject!r} is not a model version node id; give one such as model:<name>#<version> "
            "(e.g. model:churn#1)"
        )
    version = (
        ModelVersion.objects.select_related("model__owner", "run__job", "run__started_by", "created_by")
        .filter(model__name=match["name"], version=int(match["version"]))
        .first()
    )
    if version is None:
        raise NotFound(
            f"no model version {subject!r}: model {match['name']!r} has no version {match['version']}"
        )
    return version


def _release_ids(version: ModelVersion) -> set[int]:
    release = (version.run.facets or {}).get("release") if version.run is not None else None
    found = release.get("id") if isinstance(release, dict) else None
    return {found} if isinstance(found, int) else set()


def facts_load(*, subject: str) -> Facts:
    """Everything the sections read; raises as ``model_version_for`` does."""
    version = model_version_for(subject)
    lineage = lineage_report_build(subject=version.node_id)
    dataset_nodes = [entry["node"] for entry in lineage["datasets"]]
    query = node_query("dataset_version", dataset_nodes)
    datasets = (
        sorted(
            (
                row
                for row in DatasetVersion.objects.select_related("dataset").filter(query)
                if row.node_id in set(dataset_nodes)
            ),
            key=lambda row: row.node_id,
        )
        if query is not None
        else []
    )
    profiles = {
        profile.version_id: profile for profile in QualityProfile.objects.filter(version__in=datasets)
    }
    releases = list(
        ReleaseRequest.objects.filter(Q(pk__in=_release_ids(version)) | Q(model_version=version))
        .select_related("policy_version__policy", "requested_by", "human_overseer", "risk_classification")
        .prefetch_related("signatures", "datasets")
        .order_by("created_at", "pk")
    )
    deployments = list(
        Deployment.objects.filter(model_version=version).select_related("deployed_by").order_by("deployed_at")
    )
    return Facts(
        version=version,
        lineage=lineage,
        history=list(
            ModelVersion.objects.filter(model=version.model).select_related("created_by").order_by("version")
        ),
        classifications=list(
            RiskClassification.objects.filter(model=version.model)
            .select_related("decided_by")
            .order_by("decided_at", "pk")
        ),
        datasets=datasets,
        profiles=profiles,
        releases=releases,
        deployments=deployments,
        thresholds={one.pk: monitoring_selectors.thresholds_for(one) for one in deployments},
        drift_checks=list(
            DriftCheck.objects.filter(model_version=version)
            .select_related("deployment", "retraining_release")
            .order_by("created_at", "pk")
        ),
        reference_profile=ReferenceProfile.objects.filter(model_version=version).exists(),
    )
