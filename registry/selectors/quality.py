"""Reading the data quality profiles of dataset versions (issue 20)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from registry.models import DatasetVersion
from registry.models_quality import QualityProfile


def quality_profile_of(version: DatasetVersion) -> QualityProfile | None:
    """The version's profile; None for a version registered without its file (e.g. from OpenLineage)."""
    return QualityProfile.objects.filter(version_id=version.pk).first()


def quality_profiles_of(versions: Iterable[DatasetVersion]) -> dict[int, QualityProfile]:
    """The profiles of ``versions`` by version id, in one query (versions without one are absent)."""
    ids = [version.pk for version in versions]
    return {row.version_id: row for row in QualityProfile.objects.filter(version_id__in=ids)}


def dataset_versions_with_profiles(rows: QuerySet[DatasetVersion]) -> QuerySet[DatasetVersion]:
    """``rows`` with each version's profile joined in (one query, no N+1)."""
    return rows.select_related("quality_profile")


def quality_profiles_by_sha256(digests: Iterable[str]) -> dict[str, QualityProfile]:
    """Stored profiles by their SHA-256 (what a check result or a request names), in one query."""
    wanted = [digest for digest in digests if digest]
    return {row.sha256: row for row in QualityProfile.objects.filter(sha256__in=wanted)} if wanted else {}
