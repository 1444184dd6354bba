"""Policies as data: administrators create and change them as audited versions; everyone reads them;
pending requests stay on the version they were made under."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from audit.models import AuditEntry
from governance.approvals.models import Policy, PolicyVersion
from tests.approvals.factories import client_for, dataset_version, make_policy, spec, train_request

pytestmark = pytest.mark.django_db


def test_the_admin_creates_a_policy_and_every_role_can_read_it(
    admin_user: Any, requester: Any, pipeline: Any
) -> None:
    body = {"name": "train-strict", "description": "two officers", **spec()}
    body["required_approvals"] = [{"role": "compliance_officer", "count": 2}]

    created = client_for(admin_user).post("/api/v1/policies", body, format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["current"]["version"] == 1
    assert created.json()["current"]["required_approvals"] == [{"role": "compliance_officer", "count": 2}]
    for reader in (requester, pipeline):
        listed = client_for(reader).get("/api/v1/policies").json()["results"]
        assert [policy["name"] for policy in listed] == ["train-strict"]
    entry = AuditEntry.objects.get(action="policy.create")
    assert entry.target_id == "train-strict"


def test_a_policy_bars_more_signers_by_data_and_refuses_an_unknown_exclusion(admin_user: Any) -> None:
    client = client_for(admin_user)
    body = {"name": "deploy-strict", **spec(kind="deploy"), "signer_exclusions": ["model_owner"]}

    created = client.post("/api/v1/policies", body, format="json")
    unknown = client.post(
        "/api/v1/policies", {**body, "name": "deploy-odd", "signer_exclusions": ["auditor"]}, format="json"
    )

    assert created.status_code == 201, created.json()
    assert created.json()["current"]["signer_exclusions"] == ["model_owner"]
    assert PolicyVersion.objects.get().signer_exclusions == ["model_owner"]
    assert unknown.status_code == 400
    assert "signer_exclusions: auditor unknown" in unknown.json()["detail"]


def test_a_deploy_policy_sets_its_drift_thresholds_through_the_api_and_a_bad_one_is_refused(
    admin_user: Any,
) -> None:
    client = client_for(admin_user)
    body = {"name": "deploy-watchful", **spec(kind="deploy"), "monitoring": {"psi": 0.1, "min_samples": 500}}

    created = client.post("/api/v1/policies", body, format="json")
    odd = client.post(
        "/api/v1/policies", {**body, "name": "deploy-odd", "monitoring": {"entropy": 1}}, format="json"
    )

    assert created.status_code == 201, created.json()
    assert created.json()["current"]["monitoring"] == {"psi": 0.1, "min_samples": 500}
    assert PolicyVersion.objects.get().monitoring == {"psi": 0.1, "min_samples": 500}
    assert odd.status_code == 400 and "monitoring" in odd.json()["detail"]
    assert not Policy.objects.filter(name="deploy-odd").exists()


def test_only_an_admin_writes_policies(requester: Any, approver: Any) -> None:
    make_policy("train-default")
    for person in (requester, approver):
        client = client_for(person)
        assert client.post("/api/v1/policies", {"name": "mine", **spec()}, format="json").status_code == 403
        response = client.post("/api/v1/policies/train-default/versions", spec(), format="json")
        assert response.status_code == 403
    assert PolicyVersion.objects.count() == 1


def test_a_bad_policy_is_a_400_naming_the_field_and_stores_nothing(admin_user: Any) -> None:
    body = {"name": "bad", **spec(required_approvals=[{"role": "pipeline", "count": 1}])}

    response = client_for(admin_user).post("/api/v1/policies", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "required_approvals[0].role" in response.json()["detail"]
    assert not Policy.objects.exists()
    assert not AuditEntry.objects.filter(action="policy.create").exists()


def test_a_second_policy_of_the_same_name_is_a_409(admin_user: Any) -> None:
    make_policy("train-default")

    response = client_for(admin_user).post(
        "/api/v1/policies", {"name": "train-default", **spec()}, format="json"
    )

    assert response.status_code == 409


def test_a_change_is_a_new_audited_version_and_a_pending_request_keeps_its_version(
    admin_user: Any, requester: Any
) -> None:
    make_policy("train-default")
    pending = train_request(requester, dataset_version(requester))

    response = client_for(admin_user).post(
        "/api/v1/policies/train-default/versions",
        {**spec(required_approvals=[{"role": "compliance_officer", "count": 2}]), "change_note": "stricter"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["version"] == 2
    pending.refresh_from_db()
    assert pending.policy_version.version == 1
    later = train_request(requester, dataset_version(requester, version="v2"))
    assert later.policy_version.version == 2
    assert AuditEntry.objects.filter(action="policy.update", target_id="train-default").count() == 1
    history = client_for(requester).get("/api/v1/policies/train-default/versions").json()["results"]
    assert [version["version"] for version in history] == [2, 1]


def test_a_retired_policy_covers_no_new_request(admin_user: Any, requester: Any) -> None:
    make_policy("train-default")
    dataset_version(requester)
    client_for(admin_user).post(
        "/api/v1/policies/train-default/versions", {**spec(), "active": False}, format="json"
    )

    response = client_for(requester).post(
        "/api/v1/releases",
        {
            "kind": "train",
            "model": "churn",
            "risk_level": "minimal",
            "datasets": [{"namespace": "warehouse", "name": "customers", "version": "v1"}],
            "parameters": {"target": "label"},
        },
        format="json",
    )

    assert response.status_code == 400
    assert "no active policy covers" in response.json()["detail"]


def test_seeding_the_default_policies_is_audited_and_idempotent() -> None:
    first, second = StringIO(), StringIO()

    call_command("seed_policies", stdout=first)
    call_command("seed_policies", stdout=second)

    names = set(Policy.objects.values_list("name", flat=True))
    assert names == {"train-default", "train-high-risk", "deploy-default", "deploy-production"}
    assert AuditEntry.objects.filter(action="policy.create").count() == 4
    assert "every default policy exists already" in second.getvalue()
    production = PolicyVersion.objects.get(policy__name="deploy-production")
    assert production.required_approvals == [{"role": "compliance_officer", "count": 2}]


def test_the_seeded_policies_judge_training_and_production_deploys(requester: Any) -> None:
    from tests.approvals.factories import model_version

    call_command("seed_policies", stdout=StringIO())
    version = dataset_version(requester)
    model_version(requester, name="fraud", risk_level="high", metrics={"accuracy": 0.95})

    ordinary = train_request(requester, version)
    high = train_request(
        requester, version, model="fraud", risk_level="", dpia_reference="DPIA-9", human_overseer="rita"
    )
    deploy = (
        client_for(requester)
        .post(
            "/api/v1/releases",
            {
                "kind": "deploy",
                "model": "fraud",
                "version": 1,
                "environment": "production",
                "metric_thresholds": {"accuracy": 0.9},
                "dpia_reference": "DPIA-9",
                "human_overseer": "rita",
            },
            format="json",
        )
        .json()
    )

    assert (ordinary.policy_version.policy.name, ordinary.status) == ("train-default", "pending"), (
        ordinary.checks
    )
    assert (high.policy_version.policy.name, high.status) == ("train-high-risk", "pending"), high.checks
    assert (deploy["policy"]["name"], deploy["status"]) == ("deploy-production", "pending"), deploy["checks"]
    assert deploy["approvals"]["needed"] == [{"role": "compliance_officer", "count": 2}]
