"""What the release page adds so an officer sees who may sign and what the request's level rests on:
who may not sign and why (separation of duties), the compliance officer's risk reclassification with
its reason, whose numbers the model version's metrics are, the data quality rules beside what each
dataset version's profile measured, the consent the training actually applied, and the privacy requests
that block the model versions it concerns."""

from __future__ import annotations

import uuid
from typing import Any

from governance.accounts.models import User
from governance.approvals import selectors
from governance.approvals.automated_checks import metrics_declared_by
from governance.approvals.duties import second_person, signers_excluded
from governance.approvals.models import ReleaseRequest
from governance.consent.selectors.blocks import erasure_blocks_for
from registry.models import MetricsSource, TrainingRun
from registry.reports.types import ErasureBlock
from registry.selectors.quality import quality_profiles_by_sha256


def sign_off_context(release: ReleaseRequest, user: User) -> dict[str, Any]:
    excluded = signers_excluded(release)
    mine = next((row["reason"] for row in excluded if row["username"] == user.username), "")
    version = release.model_version
    metrics: dict[str, Any] | None = None
    if version is not None:
        service = version.metrics_source == MetricsSource.SERVICE
        metrics = {
            "values": version.metrics,
            "service": service,
            "declared_by": "" if service else metrics_declared_by(version),
        }
    return {
        "excluded_signers": excluded,
        "you_may_not_sign": second_person(mine),
        "risk_reclassification": release.risk_classification,
        "model_metrics": metrics,
        "data_quality": data_quality_rows(release.checks),
    }


def _shown(rule: str, value: Any) -> str:
    if value is None:
        return "not measured"
    if rule == "max_missing_fraction" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, dict) and "class" in value:
        return f"class {value['class']!r}: {value.get('count')} rows"
    return str(value)


def _limit(rule: str, value: Any) -> str:
    if rule == "max_missing_fraction" and isinstance(value, int | float):
        return f"at most {value * 100:g}%"
    if rule in ("no_duplicate_subjects", "no_duplicate_rows"):
        return "none"
    return f"at least {value}" if rule.startswith("min_") else f"at most {value}"


def _column_summary(column: dict[str, Any]) -> dict[str, Any]:
    if column.get("withheld"):
        values = "withheld (personal data)"
    elif column.get("top"):
        values = ", ".join(f"{one['value']} ({one['count']})" for one in column["top"][:5])
    elif column.get("min") is not None:
        values = f"{column['min']} to {column['max']}"
    else:
        values = ""
    distinct = column.get("distinct")
    return {
        "name": column.get("name"),
        "type": column.get("type"),
        "missing": _shown("max_missing_fraction", column.get("missing_fraction")),
        "distinct": distinct if column.get("distinct_exact") else f"about {distinct}",
        "values": values,
        "outside_schema": column.get("outside_schema"),
    }


def _profile_summary(row: Any) -> dict[str, Any] | None:
    """What the officer sees of a stored quality profile: per column, and the dataset-level counts."""
    if row is None:
        return None
    profile = row.profile
    target = profile.get("target") or {}
    return {
        "columns": [_column_summary(column) for column in profile.get("columns", [])],
        "duplicate_rows": profile.get("duplicate_rows"),
        "duplicate_subjects": profile.get("duplicate_subjects"),
        "target": target.get("column"),
        "classes": [f"{one['value']}: {one['count']}" for one in target.get("classes", [])],
        "computed_at": row.computed_at,
    }


def data_quality_rows(checks: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """For the ``data_quality`` check as last run: per dataset version, each rule with its column, the
    policy's limit, what the version's quality profile measured and the verdict; None when the policy
    has no such check."""
    result = next((check for check in checks if check.get("name") == "data_quality"), None)
    if result is None:
        return None
    versions = result.get("data", {}).get("versions", [])
    profiles = quality_profiles_by_sha256(str(version.get("profile_sha256") or "") for version in versions)
    return [
        {
            "label": version.get("label"),
            "node_id": version.get("node_id"),
            "profile_sha256": version.get("profile_sha256"),
            "rows": version.get("rows"),
            "profile": _profile_summary(profiles.get(str(version.get("profile_sha256") or ""))),
            "findings": [
                {
                    "rule": finding["rule"],
                    "column": finding["column"] or "(all rows)",
                    "limit": _limit(finding["rule"], finding["limit"]),
                    "measured": _shown(finding["rule"], finding["measured"]),
                    "passed": finding["passed"],
                    "detail": finding["detail"],
                }
                for finding in version.get("findings", [])
            ],
        }
        for version in versions
    ]


def _trained_manifests(
    runs: list[selectors.RunSummary], release: ReleaseRequest
) -> list[dict[str, Any]] | None:
    """The consent manifests the training run stored (its ``consent`` facet), or None when no run of
    this request trained anything."""
    for run in runs:
        if run["status"] != "succeeded":
            continue
        job = next((one for one in release.jobs.all() if one.pk == run["job_id"]), None)
        result = job.result if job is not None and isinstance(job.result, dict) else {}
        node = str(result.get("run") or "")
        try:
            run_id = uuid.UUID(node.removeprefix("run:"))
        except ValueError:
            continue
        row = TrainingRun.objects.filter(run_id=run_id).only("facets").first()
        manifests = row.facets.get("consent") if row is not None and isinstance(row.facets, dict) else None
        if isinstance(manifests, list):
            return [one for one in manifests if isinstance(one, dict)]
    return None


def consent_context(release: ReleaseRequest, runs: list[selectors.RunSummary]) -> dict[str, Any]:
    """For a training request: once trained, the consent the run applied (rows used, as of when it
    ran, from the manifests it stored); before, the consent as it stands now."""
    if release.kind != "train":
        return {"consent": None, "consent_trained": None}
    manifests = _trained_manifests(runs, release)
    if manifests is None:
        return {"consent": selectors.consent_summary(release), "consent_trained": None}
    by_node = {str(one.get("dataset_version", "")): one for one in manifests}
    rows = [
        {
            "node_id": row.node_id,
            "personal_data": row.dataset_version.dataset.holds_personal_data,
            "manifest": by_node.get(row.node_id),
        }
        for row in release.datasets.all()
    ]
    as_of = sorted({str(one.get("as_of", "")) for one in manifests if one.get("as_of")})
    return {"consent": rows, "consent_trained": as_of[0] if as_of else ""}


def erasure_context(release: ReleaseRequest, runs: list[selectors.RunSummary]) -> list[ErasureBlock]:
    """The privacy requests blocking the request's model version, the ones its runs produced, or (a
    training request) training on its pinned dataset versions."""
    nodes = [run["model_version"] for run in runs if run["model_version"]]
    if release.model_version is not None:
        nodes.append(release.model_version.node_id)
    if release.kind == "train":  # the pinned data: training on a version holding the subject is refused
        nodes.extend(row.node_id for row in release.datasets.all())
    return erasure_blocks_for(nodes) if nodes else []
