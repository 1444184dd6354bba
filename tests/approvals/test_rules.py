"""The pure policy rules: validating a policy, choosing one, metric thresholds and the quorum."""

from __future__ import annotations

from typing import Any

import pytest

from governance.approvals import rules
from tests.approvals.factories import spec


def _error(**overrides: Any) -> str:
    with pytest.raises(rules.PolicyError) as caught:
        rules.policy_spec_validate(spec(**overrides))
    return str(caught.value)


def test_a_policy_is_normalised_with_defaults_for_its_checks() -> None:
    checked = rules.policy_spec_validate(
        spec(checks=["dpia_reference", {"name": "lawful_basis"}], risk_levels=["high", "limited"])
    )

    assert checked["risk_levels"] == ["limited", "high"]
    assert checked["checks"] == [
        {"name": "dpia_reference", "params": {}, "risk_levels": ["*"]},
        {"name": "lawful_basis", "params": {"purpose": "train_ai_system"}, "risk_levels": ["*"]},
    ]


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"kind": "retrain"}, "kind"),
        ({"environment": "prod uction"}, "environment"),
        ({"risk_levels": ["severe"]}, "risk_levels"),
        ({"risk_levels": ["*", "high"]}, "risk_levels"),
        ({"checks": [{"name": "vibes"}]}, "checks[0].name"),
        ({"checks": [{"name": "dpia_reference", "params": {"x": 1}}]}, "checks[0].params"),
        ({"checks": ["dpia_reference", "dpia_reference"]}, "listed twice"),
        ({"required_approvals": []}, "required_approvals"),
        ({"required_approvals": [{"role": "pipeline", "count": 1}]}, "cannot sign"),
        ({"required_approvals": [{"role": "auditor", "count": 1}]}, "cannot sign"),
        ({"required_approvals": [{"role": "compliance_officer", "count": 0}]}, "count"),
        ({"required_approvals": [{"role": "compliance_officer", "count": True}]}, "count"),
        ({"approval_validity_seconds": 5}, "approval_validity_seconds"),
        (
            {"checks": [{"name": "metric_thresholds", "params": {"metrics": {"accuracy": "high"}}}]},
            "accuracy",
        ),
    ],
)
def test_it_refuses_a_policy_naming_the_field_that_is_wrong(overrides: dict[str, Any], names: str) -> None:
    assert names in _error(**overrides)


def test_the_most_specific_covering_policy_is_chosen() -> None:
    candidates = {
        "any": rules.policy_spec_validate(spec(kind="deploy")),
        "prod": rules.policy_spec_validate(spec(kind="deploy", environment="production")),
        "prod-high": rules.policy_spec_validate(
            spec(kind="deploy", environment="production", risk_levels=["high"])
        ),
        "train": rules.policy_spec_validate(spec()),
    }

    def choose(environment: str, risk: str) -> list[str]:
        return rules.most_specific(candidates, kind="deploy", environment=environment, risk_level=risk)

    assert choose("staging", "high") == ["any"]
    assert choose("production", "minimal") == ["prod"]
    assert choose("production", "high") == ["prod-high"]
    assert rules.most_specific(candidates, kind="train", environment="", risk_level="high") == ["train"]


def test_two_equally_specific_policies_are_reported_as_ambiguous() -> None:
    one = rules.policy_spec_validate(spec())
    assert rules.most_specific({"a": one, "b": one}, kind="train", environment="", risk_level="high") == [
        "a",
        "b",
    ]


def test_declared_thresholds_must_be_at_least_as_strict_as_the_policys() -> None:
    floors = rules.thresholds_normalize({"accuracy": 0.8, "log_loss": {"max": 0.5}}, field="f")

    assert (
        rules.thresholds_at_least_as_strict({"accuracy": {"min": 0.85}, "log_loss": {"max": 0.4}}, floors)
        == []
    )
    problems = rules.thresholds_at_least_as_strict({"accuracy": {"min": 0.7}}, floors)
    assert problems == [
        "accuracy: declared min 0.7 is below the policy's min 0.8",
        "log_loss: no threshold declared; the policy asks for max 0.5",
    ]


def test_measured_metrics_are_judged_against_bounds_and_a_missing_one_fails() -> None:
    bounds = rules.thresholds_normalize({"accuracy": {"min": 0.8}, "latency_ms": {"max": 20}}, field="f")

    assert rules.metrics_meet(bounds, {"accuracy": 0.9, "latency_ms": 12}) == []
    assert rules.metrics_meet(bounds, {"accuracy": 0.7}) == [
        "accuracy: 0.7 is below 0.8",
        "latency_ms: not measured",
    ]
    assert rules.metrics_meet(bounds, {"accuracy": True, "latency_ms": 30}) == [
        "accuracy: not measured",
        "latency_ms: 30 is above 20",
    ]


def test_a_threshold_with_min_above_max_is_refused() -> None:
    with pytest.raises(rules.PolicyError, match="min is above max"):
        rules.thresholds_normalize({"accuracy": {"min": 0.9, "max": 0.5}}, field="metric_thresholds")


def test_one_approval_does_not_fill_a_two_approver_quorum() -> None:
    two = [{"role": "compliance_officer", "count": 2}]

    one = rules.quorum(two, [(1, {"compliance_officer"})])
    both = rules.quorum(two, [(1, {"compliance_officer"}), (2, {"compliance_officer"})])

    assert not one.met and one.missing == [{"role": "compliance_officer", "count": 1}]
    assert both.met and both.assigned == {1: "compliance_officer", 2: "compliance_officer"}


def test_a_person_holding_two_named_roles_counts_once_and_where_needed() -> None:
    needs = [{"role": "compliance_officer", "count": 1}, {"role": "data_scientist", "count": 1}]
    both_roles = (1, {"compliance_officer", "data_scientist"})

    alone = rules.quorum(needs, [both_roles])
    # A greedy pass would give the dual-role signer the officer slot and leave the scientist slot empty.
    with_officer = rules.quorum(needs, [both_roles, (2, {"compliance_officer"})])

    assert not alone.met
    assert with_officer.met and with_officer.assigned == {1: "data_scientist", 2: "compliance_officer"}


def test_approvals_from_roles_the_policy_does_not_name_count_for_nothing() -> None:
    result = rules.quorum([{"role": "compliance_officer", "count": 1}], [(1, {"data_scientist"})])

    assert not result.met and result.assigned == {}
