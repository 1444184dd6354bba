"""The service chooses the policy (issue 14): the strictest active policy covering a request applies,
and a ``policy`` field can only pick between equally strict ones."""

from __future__ import annotations

import json
from typing import Any

import pytest

from audit.actors import Actor
from audit.models import AuditEntry
from governance.approvals import rules
from governance.approvals.models import ReleaseRequest
from governance.approvals.services.policies import DEFAULT_POLICIES, policy_seed_defaults
from governance.approvals.strictness import policy_choose, strictness_gaps
from registry.models import RegisteredModel
from tests.approvals.factories import client_for, dataset_version, make_policy, model_version

pytestmark = pytest.mark.django_db

ENVIRONMENTS = {"train": [""], "deploy": ["staging", "production", "eu-canary"]}
# What the default policies require, by kind, environment and risk level.
EXPECTED = {
    ("train", "", "minimal"): "train-default",
    ("train", "", "limited"): "train-default",
    ("train", "", "high"): "train-high-risk",
    ("train", "", "unacceptable"): "train-default",
    **{
        ("deploy", env, level): "deploy-default"
        for env in ("staging", "eu-canary")
        for level in rules.RISK_LEVELS
    },
    **{("deploy", "production", level): "deploy-production" for level in rules.RISK_LEVELS},
}
SPECS = {policy["name"]: rules.policy_spec_validate(policy["spec"]) for policy in DEFAULT_POLICIES}


def _refusals() -> list[dict[str, Any]]:
    return [json.loads(entry.entry)["data"] for entry in AuditEntry.objects.filter(action="release.refuse")]


def _train_body(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "train",
        "model": "credit",
        "datasets": [{"namespace": "warehouse", "name": "customers", "version": "v1"}],
        "parameters": {"target": "label", "n_estimators": 50},
        "code_version": "git:abc123",
        "metric_thresholds": {"accuracy": 0.8},
        **fields,
    }


def _deploy_body(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "deploy",
        "model": "credit",
        "version": 1,
        "environment": "production",
        "metric_thresholds": {"accuracy": 0.8},
        **fields,
    }


# --- The scenarios of the issue, through the API ------------------------------------------------------------


def test_it_refuses_a_high_risk_training_request_naming_the_one_officer_default(
    requester: Any, approver: Any
) -> None:
    policy_seed_defaults(actor=Actor.system("tests"))
    dataset_version(requester)

    response = client_for(requester).post(
        "/api/v1/releases", _train_body(risk_level="high", policy="train-default"), format="json"
    )

    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["error"] == "policy_weaker"
    assert body["required_policy"] == ["train-high-risk"]
    assert "weaker than 'train-high-risk'" in body["detail"]
    assert "2 compliance_officer approvals" in body["detail"]
    assert not ReleaseRequest.objects.exists()
    assert [(r["error"], r["policy"]) for r in _refusals()] == [("policy_weaker", "train-default")]


def test_it_refuses_a_production_deploy_naming_the_default_deploy_policy(
    requester: Any, pipeline: Any
) -> None:
    policy_seed_defaults(actor=Actor.system("tests"))
    model_version(requester, name="credit")

    response = client_for(pipeline).post(
        "/api/v1/releases", _deploy_body(policy="deploy-default"), format="json"
    )

    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "policy_weaker"
    assert response.json()["required_policy"] == ["deploy-production"]
    assert not ReleaseRequest.objects.exists()
    assert _refusals()[0]["error"] == "policy_weaker"


def test_without_a_named_policy_the_strictest_applies(requester: Any, pipeline: Any, approver: Any) -> None:
    policy_seed_defaults(actor=Actor.system("tests"))
    dataset_version(requester)
    model_version(requester, name="credit", risk_level="high")

    train = client_for(requester).post("/api/v1/releases", _train_body(), format="json")
    deploy = client_for(pipeline).post("/api/v1/releases", _deploy_body(), format="json")

    assert train.status_code == 201, train.json()
    assert train.json()["policy"]["name"] == "train-high-risk"
    assert train.json()["approvals"]["needed"] == [{"role": "compliance_officer", "count": 2}]
    assert deploy.status_code == 201, deploy.json()
    assert deploy.json()["policy"]["name"] == "deploy-production"


def test_a_capitalised_environment_meets_that_environments_policy(requester: Any, pipeline: Any) -> None:
    policy_seed_defaults(actor=Actor.system("tests"))
    model_version(requester, name="credit")

    weaker = client_for(pipeline).post(
        "/api/v1/releases", _deploy_body(environment="Production", policy="deploy-default"), format="json"
    )
    chosen = client_for(pipeline).post(
        "/api/v1/releases", _deploy_body(environment="PRODUCTION"), format="json"
    )

    assert weaker.status_code == 400, weaker.json()
    assert weaker.json()["required_policy"] == ["deploy-production"]
    assert chosen.status_code == 201, chosen.json()
    assert chosen.json()["policy"]["name"] == "deploy-production"
    assert chosen.json()["environment"] == "production"


def test_policies_that_contradict_each_other_file_nothing(requester: Any) -> None:
    make_policy("train-two-officers", required_approvals=[{"role": "compliance_officer", "count": 2}])
    make_policy("train-with-overseer", checks=[{"name": "metric_thresholds"}, {"name": "human_overseer"}])
    dataset_version(requester)

    response = client_for(requester).post(
        "/api/v1/releases", _train_body(risk_level="minimal"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "policies_conflict"
    assert "train-two-officers, train-with-overseer" in response.json()["detail"]
    assert not ReleaseRequest.objects.exists()
    assert _refusals()[0]["error"] == "policies_conflict"


def test_a_named_policy_picks_between_equally_strict_ones(requester: Any) -> None:
    make_policy("train-a")
    make_policy("train-b")
    make_policy("train-lenient", checks=[{"name": "risk_not_prohibited"}])
    dataset_version(requester)
    client = client_for(requester)

    chosen = client.post(
        "/api/v1/releases", _train_body(risk_level="minimal", policy="train-a"), format="json"
    )
    weaker = client.post(
        "/api/v1/releases", _train_body(risk_level="minimal", policy="train-lenient"), format="json"
    )

    assert chosen.status_code == 201 and chosen.json()["policy"]["name"] == "train-a"
    assert weaker.status_code == 400
    assert weaker.json()["required_policy"] == ["train-a", "train-b"]
    assert "the metric_thresholds check" in weaker.json()["detail"]
    assert ReleaseRequest.objects.count() == 1


# --- Every kind x environment x risk level ------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "environment", "risk_level"), sorted(EXPECTED))
def test_every_kind_environment_and_risk_level_gets_the_strictest_default_and_no_weaker_one(
    requester: Any, approver: Any, kind: str, environment: str, risk_level: str
) -> None:
    policy_seed_defaults(actor=Actor.system("tests"))
    dataset_version(requester)
    model_version(requester, name="credit", risk_level=risk_level)
    client = client_for(requester)
    body = _train_body if kind == "train" else _deploy_body
    fields: dict[str, Any] = {"environment": environment} if kind == "deploy" else {}
    required = EXPECTED[(kind, environment, risk_level)]

    chosen = client.post("/api/v1/releases", body(**fields), format="json")

    assert chosen.status_code == 201, chosen.json()
    assert chosen.json()["policy"]["name"] == required
    assert chosen.json()["risk_level"] == risk_level
    for name, spec in SPECS.items():
        if name == required or spec["kind"] != kind:
            continue
        named = client.post("/api/v1/releases", body(policy=name, **fields), format="json")
        assert named.status_code == 400, (name, named.json())
        assert required in named.json()["detail"]
        assert named.json()["required_policy"] == [required]
    assert ReleaseRequest.objects.count() == 1
    assert RegisteredModel.objects.get(name="credit").risk_level == risk_level


# --- Strictness, from the policies' data --------------------------------------------------------------------


def _spec(**overrides: Any) -> rules.PolicySpec:
    raw = {
        "kind": "train",
        "checks": [{"name": "metric_thresholds", "params": {"metrics": {"accuracy": 0.8}}}],
        "required_approvals": [{"role": "compliance_officer", "count": 1}],
        "approval_validity_seconds": 3600,
        **overrides,
    }
    return rules.policy_spec_validate(raw)


def test_strictness_reads_approvals_checks_floors_validity_and_exclusions() -> None:
    base = _spec()

    assert strictness_gaps(base, base, risk_level="high") == []
    assert strictness_gaps(
        base, _spec(required_approvals=[{"role": "compliance_officer", "count": 2}]), risk_level="high"
    )
    assert strictness_gaps(base, _spec(approval_validity_seconds=60), risk_level="high") == [
        "approvals valid at most 60 s"
    ]
    tighter = _spec(checks=[{"name": "metric_thresholds", "params": {"metrics": {"accuracy": 0.9}}}])
    assert "below the policy's min 0.9" in strictness_gaps(base, tighter, risk_level="high")[0]
    overseer = _spec(checks=[*base["checks"], {"name": "human_overseer", "risk_levels": ["high"]}])
    assert strictness_gaps(base, overseer, risk_level="minimal") == []
    assert strictness_gaps(base, overseer, risk_level="high") == ["the human_overseer check"]
    excluding = _spec(signer_exclusions=["model_owner"])
    assert strictness_gaps(base, excluding, risk_level="high") == ["the signer exclusion model_owner"]


def test_the_choice_is_refused_when_nothing_covers_the_request() -> None:
    production_only = {"deploy-production": SPECS["deploy-production"]}

    choice = policy_choose(production_only, kind="deploy", environment="staging", risk_level="high")

    assert choice.name == "" and choice.code == "no_policy"


def test_an_unknown_signer_exclusion_is_refused() -> None:
    with pytest.raises(rules.PolicyError, match="signer_exclusions: auditor unknown"):
        _spec(signer_exclusions=["auditor"])
