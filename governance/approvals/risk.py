"""The risk level a release request is judged at: a compliance decision nobody else can lower.

The level is the highest ever recorded for the model (each classification row, the model's current
level, and the level of every release request filed for it), counted from the latest reclassification
by a compliance officer: that decision, with its reason, is what may lower it (EU AI Act Art. 6).
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.approvals import rules
from governance.approvals.models import ReleaseRequest
from registry.models import RegisteredModel, RiskClassification


@dataclass(frozen=True)
class EffectiveRisk:
    level: str
    source: str  # where that level was recorded, for an error detail
    reclassification: RiskClassification | None  # the officer's decision it starts from


def _rank(level: str) -> int:
    return rules.RISK_LEVELS.index(level) if level in rules.RISK_LEVELS else len(rules.RISK_LEVELS)


def effective_risk(model_name: str, model: RegisteredModel | None = None) -> EffectiveRisk | None:
    """The level a new request for ``model_name`` is judged at at least (the request may declare a
    higher one); None when nothing was ever recorded (a new model: the request declares it)."""
    rows: list[RiskClassification] = []
    latest: RiskClassification | None = None
    recorded: list[tuple[str, str]] = []
    if model is not None:
        rows = list(RiskClassification.objects.filter(model=model).select_related("decided_by"))
        latest = next((row for row in reversed(rows) if row.reclassified), None)
        if latest is not None:
            rows = [row for row in rows if (row.decided_at, row.pk) >= (latest.decided_at, latest.pk)]
        recorded.append((model.risk_level, f"model {model.name}'s current level"))
    recorded += [
        (
            row.risk_level,
            f"reclassified by {row.decided_by.full_name or row.decided_by.username}"
            if row.reclassified
            else "declared when the model was registered",
        )
        for row in rows
    ]
    requests = ReleaseRequest.objects.filter(model_name=model_name)
    if latest is not None:
        requests = requests.filter(created_at__gt=latest.decided_at)
    recorded += [
        (level, f"release request {pk}")
        for pk, level in requests.order_by("pk").values_list("pk", "risk_level")
    ]
    if not recorded:
        return None
    level, source = max(recorded, key=lambda item: _rank(item[0]))
    return EffectiveRisk(level=level, source=source, reclassification=latest)


def risk_rank(level: str) -> int:
    return _rank(level)
