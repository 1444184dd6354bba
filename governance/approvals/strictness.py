"""Which release policy applies to a request: the strictest that covers it (pure; no Django here).

A requester must not be able to pick a weaker policy than the one their request falls under (a
high-risk training request under the one-officer default, a production deploy under the default deploy
policy). So strictness is read from the policies' own data, for the request's risk level:

- approvals: at least as many approvals of every role the other policy asks for;
- checks: every check the other policy applies at this risk level, a metric floor at least as tight
  and the same lawful-basis purpose;
- validity: approvals valid no longer than the other policy's;
- separation of duties: every signer exclusion the other policy adds.

This is a partial order: two policies may each be stricter in some way. A policy applies when it is at
least as strict as every other policy covering the request; when none is, the policies contradict each
other and nothing is filed until an administrator reconciles them (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from governance.approvals import rules_bias, rules_quality
from governance.approvals.rules import (
    PolicySpec,
    check_applies,
    most_specific,
    policy_covers,
    thresholds_at_least_as_strict,
)

NO_POLICY: Final = "no_policy"
POLICY_NOT_APPLICABLE: Final = "policy_not_applicable"
POLICY_WEAKER: Final = "policy_weaker"
POLICIES_CONFLICT: Final = "policies_conflict"
POLICY_AMBIGUOUS: Final = "policy_ambiguous"


def strictness_gaps(spec: PolicySpec, other: PolicySpec, *, risk_level: str) -> list[str]:
    """How ``spec`` is less strict than ``other`` for a request at ``risk_level`` (empty: at least as
    strict)."""
    gaps: list[str] = []
    mine = {requirement["role"]: requirement["count"] for requirement in spec["required_approvals"]}
    for requirement in other["required_approvals"]:
        have = mine.get(requirement["role"], 0)
        if have < requirement["count"]:
            gaps.append(f"{requirement['count']} {requirement['role']} approvals (it asks {have})")
    my_checks = {check["name"]: check for check in spec["checks"] if check_applies(check, risk_level)}
    for check in other["checks"]:
        if not check_applies(check, risk_level):
            continue
        name, same = check["name"], my_checks.get(check["name"])
        if same is None:
            gaps.append(f"the {name} check")
        elif name == "metric_thresholds":
            floors = thresholds_at_least_as_strict(
                same["params"].get("metrics", {}), check["params"].get("metrics", {})
            )
            gaps.extend(f"metric_thresholds {problem}" for problem in floors)
        elif name == "lawful_basis" and same["params"].get("purpose") != check["params"].get("purpose"):
            gaps.append(f"a lawful basis for {check['params'].get('purpose')}")
        elif name == "data_quality":
            gaps.extend(f"data_quality {gap}" for gap in rules_quality.gaps(same["params"], check["params"]))
        elif name == "bias_within_threshold":
            gaps.extend(
                f"bias_within_threshold {gap}" for gap in rules_bias.gaps(same["params"], check["params"])
            )
    if spec["approval_validity_seconds"] > other["approval_validity_seconds"]:
        gaps.append(f"approvals valid at most {other['approval_validity_seconds']} s")
    missing = sorted(set(other.get("signer_exclusions", [])) - set(spec.get("signer_exclusions", [])))
    gaps.extend(f"the signer exclusion {exclusion}" for exclusion in missing)
    return gaps


@dataclass(frozen=True)
class PolicyChoice:
    """The policy a request falls under (``name``), or why none can be chosen (``code`` and
    ``problem``); ``required`` names the strictest policies whenever they are known."""

    name: str = ""
    code: str = ""
    problem: str = ""
    required: tuple[str, ...] = ()


def policy_choose(
    specs: Mapping[str, PolicySpec], *, kind: str, environment: str, risk_level: str, named: str = ""
) -> PolicyChoice:
    """The strictest active policy covering the request; ``named`` may only pick among equally strict
    ones. Ties the requester leaves open go to the most specific policy."""
    where = f"a {kind} request for environment {environment or '(none)'} at risk level {risk_level}"
    covering = {
        name: spec
        for name, spec in specs.items()
        if policy_covers(spec, kind=kind, environment=environment, risk_level=risk_level)
    }
    if not covering:
        return PolicyChoice(code=NO_POLICY, problem=f"no active policy covers {where}; ask an administrator")
    strictest = tuple(
        sorted(
            name
            for name, spec in covering.items()
            if not any(strictness_gaps(spec, other, risk_level=risk_level) for other in covering.values())
        )
    )
    if not strictest:
        return PolicyChoice(
            code=POLICIES_CONFLICT,
            problem=f"policies {', '.join(sorted(covering))} all cover {where} and none is at least as "
            "strict as every other; an administrator must make one stricter or narrow the others",
        )
    if named:
        return _named(covering, strictest, named=named, where=where, risk_level=risk_level)
    best = most_specific(
        {name: covering[name] for name in strictest},
        kind=kind,
        environment=environment,
        risk_level=risk_level,
    )
    if len(best) > 1:
        return PolicyChoice(
            code=POLICY_AMBIGUOUS,
            problem=f"policies {', '.join(best)} all cover {where}, equally strict; name one in 'policy'",
            required=strictest,
        )
    return PolicyChoice(name=best[0], required=strictest)


def _named(
    covering: Mapping[str, PolicySpec],
    strictest: tuple[str, ...],
    *,
    named: str,
    where: str,
    risk_level: str,
) -> PolicyChoice:
    if named not in covering:
        return PolicyChoice(
            code=POLICY_NOT_APPLICABLE,
            problem=f"policy: {named!r} is not an active policy covering {where}; "
            f"it falls under {' or '.join(strictest)}",
            required=strictest,
        )
    if named in strictest:
        return PolicyChoice(name=named, required=strictest)
    required = strictest[0]
    gaps = strictness_gaps(covering[named], covering[required], risk_level=risk_level)
    return PolicyChoice(
        code=POLICY_WEAKER,
        problem=f"policy: {named!r} is weaker than {required!r}, which {where} requires "
        f"({named} lacks {'; '.join(gaps)}); leave policy out or name {' or '.join(strictest)}",
        required=strictest,
    )
