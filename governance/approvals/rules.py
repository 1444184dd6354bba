"""Release policies as data, and the pure rules that read them (no Django here).

A policy version says which release requests it covers (kind, environment, EU AI Act risk levels),
the automated checks a request must pass, whose approvals it needs ({role, count} each) and how long
an approval stays valid. Everything here is plain data in, plain data out, so it is unit-tested alone.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, NotRequired, TypedDict

from governance.approvals import rules_bias, rules_quality

KINDS: Final = ("train", "deploy")
# The EU AI Act tiers (Regulation (EU) 2024/1689), spelled as registry.models.RiskLevel spells them.
RISK_LEVELS: Final = ("minimal", "limited", "high", "unacceptable")
ANY: Final = "*"
# Who may sign at all. Pipelines never sign (a machine is not a person, 21 CFR 11.100(a)); auditors stay
# independent of what they audit, and administrators, who edit the policies, do not approve under them.
SIGNER_ROLES: Final = ("compliance_officer", "data_scientist")
CHECK_NAMES: Final = (
    "risk_not_prohibited",
    "metric_thresholds",
    "dpia_reference",
    "human_overseer",
    "lawful_basis",
    "no_erasure_impact",
    "data_quality",
    "bias_within_threshold",
)
ENVIRONMENT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
METRIC: Final = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")
PURPOSE: Final = re.compile(r"^[a-z_]+(\.[a-z_]+)*$")  # a fideslang data use, e.g. train_ai_system
MIN_VALIDITY_SECONDS: Final = 60
MAX_VALIDITY_SECONDS: Final = 366 * 86_400
MAX_PER_ROLE: Final = 10
# Drift thresholds a deploy policy may set for the deployments it approves (governance.monitoring.drift);
# any left out take the monitoring defaults.
MONITORING_KEYS: Final = ("psi", "ks", "prediction_psi", "accuracy_drop", "min_samples", "min_labels")
# People a policy may bar from signing beyond those who made the request or its evidence (who always are,
# governance.approvals.duties): the registered model's owner and the request's named human overseer.
SIGNER_EXCLUSIONS: Final = ("model_owner", "human_overseer")


class PolicyError(ValueError):
    """A policy, threshold or request field that cannot be used; the message names the field and why."""


class CheckSpec(TypedDict):
    name: str
    params: dict[str, Any]
    risk_levels: list[str]  # the risk levels the check applies to; ["*"] for all


class ApprovalRequirement(TypedDict):
    role: str
    count: int


class PolicySpec(TypedDict):
    kind: str
    environment: str
    risk_levels: list[str]
    checks: list[CheckSpec]
    required_approvals: list[ApprovalRequirement]
    approval_validity_seconds: int
    monitoring: NotRequired[dict[str, float]]
    signer_exclusions: NotRequired[list[str]]


Bounds = dict[str, dict[str, float]]  # metric -> {"min": x} and/or {"max": y}


# --- Validating a policy -----------------------------------------------------------------------------------


def _risk_levels(value: Any, *, field: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise PolicyError(f'{field}: give a non-empty list of risk levels, or ["*"] for all')
    if ANY in value:
        if len(value) > 1:
            raise PolicyError(f'{field}: "*" already means every risk level; list nothing else with it')
        return [ANY]
    unknown = [item for item in value if item not in RISK_LEVELS]
    if unknown:
        raise PolicyError(f"{field}: {', '.join(unknown)} not a risk level; use {', '.join(RISK_LEVELS)}")
    return sorted(set(value), key=RISK_LEVELS.index)


def _check_params(name: str, params: Mapping[str, Any], *, field: str) -> dict[str, Any]:
    try:
        if name == "data_quality":
            return rules_quality.params_validate(params)
        if name == "bias_within_threshold":
            return rules_bias.params_validate(params)
    except (rules_quality.ParamsError, rules_bias.ParamsError) as exc:
        raise PolicyError(f"{field}.params: {exc}") from exc
    allowed = {"metric_thresholds": {"metrics"}, "lawful_basis": {"purpose"}}.get(name, set())
    unknown = sorted(set(params) - allowed)
    if unknown:
        takes = ", ".join(sorted(allowed)) or "no parameters"
        raise PolicyError(f"{field}.params: {', '.join(unknown)} unknown; {name} takes {takes}")
    checked: dict[str, Any] = {}
    if name == "metric_thresholds":
        checked["metrics"] = thresholds_normalize(params.get("metrics", {}), field=f"{field}.params.metrics")
    if name == "lawful_basis":
        purpose = params.get("purpose", "train_ai_system")
        if not isinstance(purpose, str) or not PURPOSE.match(purpose):
            raise PolicyError(f"{field}.params.purpose: a fideslang data use such as train_ai_system")
        checked["purpose"] = purpose
    return checked


def _checks(value: Any) -> list[CheckSpec]:
    if not isinstance(value, list):
        raise PolicyError("checks: give a list of {name, params, risk_levels}")
    checks: list[CheckSpec] = []
    for index, item in enumerate(value):
        field = f"checks[{index}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping):
            raise PolicyError(f"{field}: a check is an object {{name, params, risk_levels}}")
        unknown = sorted(set(item) - {"name", "params", "risk_levels"})
        if unknown:
            raise PolicyError(f"{field}: {', '.join(unknown)} unknown; a check has name, params, risk_levels")
        name = item.get("name")
        if name not in CHECK_NAMES:
            raise PolicyError(f"{field}.name: {name!r} is not a check; choose {', '.join(CHECK_NAMES)}")
        if any(check["name"] == name for check in checks):
            raise PolicyError(f"{field}.name: {name} is listed twice")
        params = item.get("params", {})
        if not isinstance(params, Mapping):
            raise PolicyError(f"{field}.params: must be an object")
        checks.append(
            {
                "name": name,
                "params": _check_params(name, params, field=field),
                "risk_levels": _risk_levels(item.get("risk_levels", [ANY]), field=f"{field}.risk_levels"),
            }
        )
    return checks


def _approvals(value: Any) -> list[ApprovalRequirement]:
    if not isinstance(value, list) or not value:
        raise PolicyError('required_approvals: give a non-empty list such as [{"role": ..., "count": 2}]')
    wanted: list[ApprovalRequirement] = []
    for index, item in enumerate(value):
        field = f"required_approvals[{index}]"
        if not isinstance(item, Mapping) or set(item) != {"role", "count"}:
            raise PolicyError(f"{field}: an object with exactly role and count")
        role, count = item["role"], item["count"]
        if role not in SIGNER_ROLES:
            raise PolicyError(
                f"{field}.role: {role!r} cannot sign releases; choose {', '.join(SIGNER_ROLES)}"
            )
        if any(other["role"] == role for other in wanted):
            raise PolicyError(f"{field}.role: {role} is listed twice; give one count per role")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_PER_ROLE:
            raise PolicyError(f"{field}.count: a whole number from 1 to {MAX_PER_ROLE}")
        wanted.append({"role": role, "count": count})
    return sorted(wanted, key=lambda requirement: requirement["role"])


def _monitoring(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise PolicyError('monitoring: an object of drift thresholds, e.g. {"psi": 0.2, "ks": 0.2}')
    unknown = sorted(set(value) - set(MONITORING_KEYS))
    if unknown:
        raise PolicyError(f"monitoring: {', '.join(unknown)} unknown; use {', '.join(MONITORING_KEYS)}")
    for key, number in value.items():
        if not _number(number) or number < 0:
            raise PolicyError(f"monitoring.{key}: a number of at least 0")
    return {key: float(value[key]) for key in MONITORING_KEYS if key in value}


def _signer_exclusions(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise PolicyError(f"signer_exclusions: a list of {', '.join(SIGNER_EXCLUSIONS)}")
    unknown = sorted(set(value) - set(SIGNER_EXCLUSIONS))
    if unknown:
        raise PolicyError(
            f"signer_exclusions: {', '.join(unknown)} unknown; use {', '.join(SIGNER_EXCLUSIONS)}"
        )
    return [name for name in SIGNER_EXCLUSIONS if name in value]


def policy_spec_validate(raw: Mapping[str, Any]) -> PolicySpec:
    """Check and normalise a policy version's content; raise PolicyError naming the first bad field."""
    kind = raw.get("kind")
    if kind not in KINDS:
        raise PolicyError(f"kind: {kind!r} is not a request kind; choose {' or '.join(KINDS)}")
    environment = raw.get("environment", ANY)
    if not isinstance(environment, str) or not (environment == ANY or ENVIRONMENT.match(environment)):
        raise PolicyError('environment: an environment name (letters, digits, "_", ".", "-") or "*"')
    validity = raw.get("approval_validity_seconds")
    if (
        isinstance(validity, bool)
        or not isinstance(validity, int)
        or not MIN_VALIDITY_SECONDS <= validity <= MAX_VALIDITY_SECONDS
    ):
        raise PolicyError(
            f"approval_validity_seconds: how long an approval stays valid, "
            f"{MIN_VALIDITY_SECONDS} to {MAX_VALIDITY_SECONDS} seconds"
        )
    return {
        "kind": kind,
        "environment": environment,
        "risk_levels": _risk_levels(raw.get("risk_levels", [ANY]), field="risk_levels"),
        "checks": _checks(raw.get("checks", [])),
        "required_approvals": _approvals(raw.get("required_approvals")),
        "approval_validity_seconds": validity,
        "monitoring": _monitoring(raw.get("monitoring", {})),
        "signer_exclusions": _signer_exclusions(raw.get("signer_exclusions", [])),
    }


# --- Which policy covers a request --------------------------------------------------------------------------


def policy_covers(spec: PolicySpec, *, kind: str, environment: str, risk_level: str) -> bool:
    return (
        spec["kind"] == kind
        and spec["environment"] in (ANY, environment)
        and (ANY in spec["risk_levels"] or risk_level in spec["risk_levels"])
    )


def most_specific(
    candidates: Mapping[str, PolicySpec], *, kind: str, environment: str, risk_level: str
) -> list[str]:
    """The names of the covering policies that are most specific (a named environment beats "*", listed
    risk levels beat "*"); more than one name means the policies overlap and the requester must choose."""
    covering = {
        name: (spec["environment"] != ANY, ANY not in spec["risk_levels"])
        for name, spec in candidates.items()
        if policy_covers(spec, kind=kind, environment=environment, risk_level=risk_level)
    }
    if not covering:
        return []
    best = max(covering.values())
    return sorted(name for name, rank in covering.items() if rank == best)


def check_applies(check: CheckSpec, risk_level: str) -> bool:
    return ANY in check["risk_levels"] or risk_level in check["risk_levels"]


# --- Metric thresholds --------------------------------------------------------------------------------------


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def thresholds_normalize(raw: Any, *, field: str) -> Bounds:
    """Bounds per metric: ``{"accuracy": 0.8, "log_loss": {"max": 0.4}}`` becomes
    ``{"accuracy": {"min": 0.8}, "log_loss": {"max": 0.4}}`` (a bare number is a minimum)."""
    if not isinstance(raw, Mapping):
        raise PolicyError(f'{field}: an object of metric → bound, e.g. {{"accuracy": {{"min": 0.8}}}}')
    bounds: Bounds = {}
    for metric, bound in raw.items():
        if not isinstance(metric, str) or not METRIC.match(metric):
            raise PolicyError(f"{field}: {metric!r} is not a metric name")
        if _number(bound):
            bound = {"min": bound}
        if (
            not isinstance(bound, Mapping)
            or not bound
            or set(bound) - {"min", "max"}
            or not all(_number(value) for value in bound.values())
        ):
            raise PolicyError(f'{field}.{metric}: a number (a minimum) or {{"min": x, "max": y}}')
        if "min" in bound and "max" in bound and bound["min"] > bound["max"]:
            raise PolicyError(f"{field}.{metric}: min is above max, so no value could pass")
        bounds[metric] = dict(bound)
    return bounds


def thresholds_at_least_as_strict(declared: Bounds, floors: Bounds) -> list[str]:
    """Problems with thresholds declared before training, against the policy's floors."""
    problems: list[str] = []
    for metric, floor in sorted(floors.items()):
        mine = declared.get(metric)
        if mine is None:
            problems.append(f"{metric}: no threshold declared; the policy asks for {_bound_text(floor)}")
            continue
        if "min" in floor and mine.get("min", -math.inf) < floor["min"]:
            problems.append(
                f"{metric}: declared {_bound_text(mine)} is below the policy's min {floor['min']}"
            )
        if "max" in floor and mine.get("max", math.inf) > floor["max"]:
            problems.append(
                f"{metric}: declared {_bound_text(mine)} is above the policy's max {floor['max']}"
            )
    return problems


def metrics_meet(bounds: Bounds, metrics: Mapping[str, Any]) -> list[str]:
    """Problems with measured ``metrics`` against ``bounds`` (a missing measurement is a problem)."""
    problems: list[str] = []
    for metric, bound in sorted(bounds.items()):
        value = metrics.get(metric)
        if not _number(value):
            problems.append(f"{metric}: not measured")
            continue
        assert value is not None  # noqa: S101 (for the type checker: _number excludes None)
        if "min" in bound and value < bound["min"]:
            problems.append(f"{metric}: {value} is below {bound['min']}")
        if "max" in bound and value > bound["max"]:
            problems.append(f"{metric}: {value} is above {bound['max']}")
    return problems


def _bound_text(bound: Mapping[str, float]) -> str:
    return " and ".join(f"{side} {value}" for side, value in sorted(bound.items(), reverse=True))


# --- Quorum -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quorum:
    met: bool
    assigned: dict[Hashable, str] = field(default_factory=dict)  # approval key -> the role it counts for
    missing: list[ApprovalRequirement] = field(default_factory=list)


def quorum(
    requirements: Sequence[ApprovalRequirement], approvals: Iterable[tuple[Hashable, Iterable[str]]]
) -> Quorum:
    """Do these approvals (key, roles of the signer) fill the required {role, count} slots?

    Each approval fills at most one slot, so one person counts once even when they hold two named
    roles; a maximum bipartite matching (Kuhn's augmenting paths) finds the best assignment, which a
    greedy pass could miss when a signer holds several roles.
    """
    slots = [req["role"] for req in requirements for _ in range(req["count"])]
    approvals = [(key, frozenset(roles)) for key, roles in approvals]
    slot_holder: dict[int, int] = {}

    def place(approval: int, seen: set[int]) -> bool:
        for slot, role in enumerate(slots):
            if role in approvals[approval][1] and slot not in seen:
                seen.add(slot)
                if slot not in slot_holder or place(slot_holder[slot], seen):
                    slot_holder[slot] = approval
                    return True
        return False

    for index in range(len(approvals)):
        place(index, set())
    assigned = {approvals[holder][0]: slots[slot] for slot, holder in slot_holder.items()}
    missing: list[ApprovalRequirement] = []
    for requirement in requirements:
        filled = sum(1 for slot in slot_holder if slots[slot] == requirement["role"])
        if filled < requirement["count"]:
            missing.append({"role": requirement["role"], "count": requirement["count"] - filled})
    return Quorum(met=not missing, assigned=assigned, missing=missing)


# --- Governed aliases ------------------------------------------------------------------------------------

# Aliases that mean "released" whatever the policies say; each moves only with an approved deploy.
DEFAULT_GOVERNED_ALIASES: Final = ("production", "champion")


def governed_aliases(deploy_specs: Iterable[PolicySpec]) -> frozenset[str]:
    """The alias names only an approved deploy may move: the defaults and every environment a deploy
    policy names (the deploy job moves the alias named after its environment). Compared lowercased."""
    names = {alias.lower() for alias in DEFAULT_GOVERNED_ALIASES}
    for spec in deploy_specs:
        if spec["kind"] == "deploy" and spec["environment"] != ANY:
            names.add(spec["environment"].lower())
    return frozenset(names)
