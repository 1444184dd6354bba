"""What the release page adds so an officer sees who may sign and what the request's level rests on:
who may not sign and why (separation of duties), the compliance officer's risk reclassification with
its reason, and whose numbers the model version's metrics are."""

from __future__ import annotations

from typing import Any

from governance.accounts.models import User
from governance.approvals.automated_checks import metrics_declared_by
from governance.approvals.duties import second_person, signers_excluded
from governance.approvals.models import ReleaseRequest
from registry.models import MetricsSource


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
    }
