"""The ``bias_within_threshold`` check (issue 20): thresholds on the training job's bias examination as
policy data, checked on deploy requests against the version's examination and on train requests against
the pinned datasets' declared protected attributes; a weaker bias policy cannot be chosen."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEntry
from governance.approvals import rules, rules_bias
from governance.approvals.check_types import CheckSubject
from governance.approvals.checks_bias import NO_EXAMINATION, bias_within_threshold
from governance.approvals.models import Policy, ReleaseRequest
from governance.approvals.strictness import POLICY_WEAKER, policy_choose
from registry.models import Dataset, ModelVersion
from tests.approvals.factories import client_for, dataset_version, make_policy, model_version

pytestmark = pytest.mark.django_db

SEX = {"column": "sex", "data_categories": ["user.demographic.gender"], "proxy": False}
AGE = {"column": "age_band", "data_categories": ["user.demographic.age_range"], "proxy": False}


def _examination(**attributes: tuple[float | None, float | None]) -> dict[str, Any]:
    """A recorded examination with these (demographic parity, equalized odds) differences per column."""
    examined = [
        {
            "column": column,
            "data_categories": [],
            "proxy": False,
            "groups": [],
            "demographic_parity_difference": dpd,
            "equalized_odds_difference": eod,
        }
        for column, (dpd, eod) in attributes.items()
    ]
    return {
        "format": "bias-examination/1",
        "evaluated_on": "held-out rows",
        "rows": 100,
        "positive_label": "1",
        "library": "fairlearn 0.15.0",
        "attributes": examined,
        "demographic_parity_difference": max(
            (a["demographic_parity_difference"] or 0 for a in examined), default=None
        ),
        "equalized_odds_difference": max(
            (a["equalized_odds_difference"] or 0 for a in examined), default=None
        ),
        "skipped": [],
    }


def _version(owner: Any, examination: dict[str, Any] | None = None) -> ModelVersion:
    version = model_version(owner, name="credit")
    if examination is not None:
        ModelVersion.objects.filter(pk=version.pk).update(bias_examination=examination)
        version.refresh_from_db()
    return version


def _deploy(version: ModelVersion) -> CheckSubject:
    return CheckSubject(
        kind="deploy", risk_level="high", environment="staging", dataset_versions=[], model_version=version
    )


def _declare(version: Any, *attributes: dict[str, Any]) -> None:
    Dataset.objects.filter(pk=version.dataset_id).update(protected_attributes=list(attributes))
    version.dataset.refresh_from_db()


# --- Policy data --------------------------------------------------------------------------------------------


def test_the_params_are_thresholds_from_0_to_1_and_the_columns_to_examine() -> None:
    checked = rules_bias.params_validate(
        {
            "demographic_parity_difference": 0.1,
            "equalized_odds_difference": 1,
            "attributes": ["sex", "age_band"],
        }
    )
    assert checked == {
        "demographic_parity_difference": 0.1,
        "equalized_odds_difference": 1.0,
        "attributes": ["age_band", "sex"],
    }
    assert rules_bias.params_validate({}) == {}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"demographic_parity_difference": 1.5}, "demographic_parity_difference: the largest difference"),
        ({"demographic_parity_difference": -0.1}, "demographic_parity_difference: the largest difference"),
        ({"equalized_odds_difference": "0.1"}, "equalized_odds_difference: the largest difference"),
        ({"equalized_odds_difference": True}, "equalized_odds_difference: the largest difference"),
        ({"attributes": "sex"}, "attributes: a list of 1 to 50 column names"),
        ({"attributes": []}, "attributes: a list of 1 to 50 column names"),
        ({"parity": 0.1}, "parity unknown; bias_within_threshold takes demographic_parity_difference"),
    ],
)
def test_bad_params_are_refused_naming_the_key(params: dict[str, Any], message: str) -> None:
    with pytest.raises(rules_bias.ParamsError, match=message):
        rules_bias.params_validate(params)


def test_a_bad_bias_policy_is_a_400_naming_the_field_and_stores_nothing(admin_user: Any) -> None:
    body = {
        "name": "deploy-fair",
        "kind": "deploy",
        "checks": [
            {"name": "metric_thresholds"},
            {"name": "bias_within_threshold", "params": {"demographic_parity_difference": 2}},
        ],
        "required_approvals": [{"role": "compliance_officer", "count": 1}],
        "approval_validity_seconds": 86_400,
    }

    response = client_for(admin_user).post("/api/v1/policies", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert response.json()["detail"].startswith("checks[1].params: demographic_parity_difference: ")
    assert "a number from 0 to 1" in response.json()["detail"]
    assert not Policy.objects.exists()
    assert not AuditEntry.objects.filter(action="policy.create").exists()


def test_a_larger_threshold_a_missing_metric_or_a_column_left_unrequired_is_weaker() -> None:
    strict = {"demographic_parity_difference": 0.1, "equalized_odds_difference": 0.2, "attributes": ["sex"]}

    assert rules_bias.gaps(strict, strict) == []
    assert rules_bias.gaps(strict, {"demographic_parity_difference": 0.3}) == []
    assert rules_bias.gaps({**strict, "demographic_parity_difference": 0.15}, strict) == [
        "demographic_parity_difference at most 0.1 (it allows 0.15)"
    ]
    assert rules_bias.gaps({"attributes": ["sex"]}, strict) == [
        "demographic_parity_difference at most 0.1 (it sets no threshold)",
        "equalized_odds_difference at most 0.2 (it sets no threshold)",
    ]
    assert rules_bias.gaps({**strict, "attributes": ["age_band"]}, strict) == ["the attribute sex examined"]


def test_a_weaker_bias_policy_cannot_be_chosen_over_a_stricter_one(requester: Any, pipeline: Any) -> None:
    def deploy_policy(name: str, threshold: float) -> None:
        make_policy(
            name,
            kind="deploy",
            checks=[
                {"name": "metric_thresholds"},
                {"name": "bias_within_threshold", "params": {"demographic_parity_difference": threshold}},
            ],
        )

    deploy_policy("deploy-fair", 0.1)
    deploy_policy("deploy-lenient", 0.3)
    model_version(requester, name="credit")
    body = {
        "kind": "deploy",
        "model": "credit",
        "version": 1,
        "environment": "staging",
        "metric_thresholds": {"accuracy": 0.8},
    }

    weaker = client_for(pipeline).post(
        "/api/v1/releases", {**body, "policy": "deploy-lenient"}, format="json"
    )
    chosen = client_for(pipeline).post("/api/v1/releases", body, format="json")

    assert weaker.status_code == 400, weaker.json()
    assert weaker.json()["error"] == POLICY_WEAKER
    assert weaker.json()["required_policy"] == ["deploy-fair"]
    assert (
        "bias_within_threshold demographic_parity_difference at most 0.1 (it allows 0.3)"
        in weaker.json()["detail"]
    )
    assert chosen.status_code == 201, chosen.json()
    assert chosen.json()["policy"]["name"] == "deploy-fair"
    assert ReleaseRequest.objects.count() == 1
    specs = {
        name: rules.policy_spec_validate(
            {
                "kind": "deploy",
                "checks": [{"name": "bias_within_threshold", "params": params}],
                "required_approvals": [{"role": "compliance_officer", "count": 1}],
                "approval_validity_seconds": 86_400,
            }
        )
        for name, params in (("strict", {"attributes": ["sex"]}), ("loose", {}))
    }
    choice = policy_choose(specs, kind="deploy", environment="staging", risk_level="high", named="loose")
    assert choice.code == POLICY_WEAKER and "the attribute sex examined" in choice.problem


# --- On a deploy request: the version's examination ---------------------------------------------------------


def test_a_version_with_no_examination_fails(requester: Any) -> None:
    result = bias_within_threshold(_deploy(_version(requester)), {"demographic_parity_difference": 0.1})

    assert result["status"] == "failed"
    assert result["detail"] == NO_EXAMINATION
    assert result["detail"] == (
        "no bias examination recorded: train it through an approved training request on data that "
        "declares protected_attributes"
    )


def test_a_difference_above_the_threshold_fails_naming_attribute_metric_value_and_threshold(
    requester: Any,
) -> None:
    version = _version(requester, _examination(sex=(0.31, 0.12), age_band=(0.05, 0.25)))

    result = bias_within_threshold(
        _deploy(version), {"demographic_parity_difference": 0.1, "equalized_odds_difference": 0.2}
    )

    assert result["status"] == "failed"
    assert result["detail"] == (
        "age_band: equalized_odds_difference 0.25 > 0.2; sex: demographic_parity_difference 0.31 > 0.1"
    )
    assert result["data"]["values"]["sex"] == {
        "demographic_parity_difference": 0.31,
        "equalized_odds_difference": 0.12,
    }


def test_differences_within_the_thresholds_pass_with_the_values_in_data(requester: Any) -> None:
    version = _version(requester, _examination(sex=(0.04, 0.08)))

    result = bias_within_threshold(
        _deploy(version), {"demographic_parity_difference": 0.1, "attributes": ["sex"]}
    )

    assert result["status"] == "passed", result["detail"]
    assert (
        result["detail"]
        == "bias examined on sex; demographic_parity_difference within the policy's thresholds"
    )
    assert result["data"]["values"] == {
        "sex": {"demographic_parity_difference": 0.04, "equalized_odds_difference": 0.08}
    }


def test_a_required_column_that_was_skipped_or_never_declared_fails(requester: Any) -> None:
    examination = _examination(sex=(0.02, 0.03))
    examination["skipped"] = [{"column": "age_band", "reason": "the column is not in the held-out rows"}]
    version = _version(requester, examination)

    result = bias_within_threshold(_deploy(version), {"attributes": ["age_band", "sex", "postcode"]})

    assert result["status"] == "failed"
    assert result["detail"] == (
        "age_band: not examined (the column is not in the held-out rows); "
        "postcode: not examined (no pinned dataset declared it in protected_attributes)"
    )


def test_an_undefined_difference_under_a_threshold_fails_closed(requester: Any) -> None:
    version = _version(requester, _examination(sex=(0.02, None)))

    result = bias_within_threshold(_deploy(version), {"equalized_odds_difference": 0.2})

    assert result["status"] == "failed"
    assert "sex: equalized_odds_difference could not be computed" in result["detail"]


def test_an_examination_that_examined_nothing_fails(requester: Any) -> None:
    examination = _examination()
    examination["skipped"] = [{"column": "sex", "reason": "the column is not in the held-out rows"}]

    result = bias_within_threshold(_deploy(_version(requester, examination)), {})

    assert result["status"] == "failed" and result["detail"] == "no protected attribute was examined"


# --- On a train request: what the job will examine ----------------------------------------------------------


def test_a_train_request_passes_when_every_personal_dataset_declares_protected_attributes(
    requester: Any,
) -> None:
    personal = dataset_version(requester, personal=True)
    other = dataset_version(requester, name="regions", personal=False)
    _declare(personal, SEX, AGE)
    subject = CheckSubject(
        kind="train", risk_level="high", environment="", dataset_versions=[personal, other]
    )

    result = bias_within_threshold(subject, {"attributes": ["sex"]})

    assert result["status"] == "passed", result["detail"]
    assert result["detail"] == "the training job will examine bias on age_band, sex"


def test_a_train_request_fails_naming_the_personal_dataset_without_declarations(requester: Any) -> None:
    declared = dataset_version(requester, name="loans", personal=True)
    undeclared = dataset_version(requester, personal=True)
    _declare(declared, SEX)
    subject = CheckSubject(
        kind="train", risk_level="high", environment="", dataset_versions=[declared, undeclared]
    )

    result = bias_within_threshold(subject, {})

    assert result["status"] == "failed"
    assert result["detail"].startswith("declare protected_attributes on dataset:warehouse:customers, ")


def test_a_train_request_fails_when_the_policy_requires_a_column_no_dataset_declares(requester: Any) -> None:
    version = dataset_version(requester, personal=True)
    _declare(version, SEX)
    subject = CheckSubject(kind="train", risk_level="high", environment="", dataset_versions=[version])

    result = bias_within_threshold(subject, {"attributes": ["age_band", "sex"]})

    assert result["status"] == "failed"
    assert result["detail"].startswith(
        "the policy requires age_band examined, but no pinned dataset declares it"
    )


def test_a_train_request_under_a_bias_policy_records_the_check(requester: Any) -> None:
    make_policy(
        "train-fair",
        checks=[
            {"name": "metric_thresholds"},
            {"name": "bias_within_threshold", "params": {"attributes": ["sex"]}},
        ],
    )
    version = dataset_version(requester, personal=True)
    _declare(version, SEX)
    body = {
        "kind": "train",
        "model": "credit",
        "risk_level": "minimal",
        "datasets": [{"namespace": "warehouse", "name": "customers", "version": "v1"}],
        "parameters": {"target": "label", "n_estimators": 50},
        "code_version": "git:abc123",
        "metric_thresholds": {"accuracy": 0.8},
    }

    response = client_for(requester).post("/api/v1/releases", body, format="json")

    assert response.status_code == 201, response.json()
    checks = {check["name"]: check for check in response.json()["checks"]}
    assert checks["bias_within_threshold"]["status"] == "passed"
    assert checks["bias_within_threshold"]["detail"] == "the training job will examine bias on sex"
