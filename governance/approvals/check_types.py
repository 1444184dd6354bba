"""What an automated check looks at and what it answers (shared by ``automated_checks`` and the checks
kept in modules of their own, ``checks_quality`` and ``checks_bias``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NotRequired, TypedDict

from governance.accounts.models import User
from governance.approvals import rules
from registry.models import DatasetVersion, ModelVersion

PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not_applicable"


class CheckResult(TypedDict):
    name: str
    status: str
    detail: str
    data: dict[str, Any]
    evaluated_at: NotRequired[str]  # RFC 3339 UTC; results stored before checks were re-run lack it


@dataclass(frozen=True)
class CheckSubject:
    """What the checks look at: the request's declarations and the registry rows it covers."""

    kind: str
    risk_level: str
    environment: str
    dataset_versions: Sequence[DatasetVersion]  # pinned (train) or the model's training inputs (deploy)
    model_version: ModelVersion | None = None
    metric_thresholds: rules.Bounds = field(default_factory=dict)
    dpia_reference: str = ""
    human_overseer: User | None = None


def check_result(name: str, status: str, detail: str, data: Mapping[str, Any] | None = None) -> CheckResult:
    return {"name": name, "status": status, "detail": detail, "data": dict(data or {})}
