"""Release requests: what they pin, the policy they are judged under, their checks and their states."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from governance.approvals import hashing, hooks, selectors
from governance.approvals.models import ReleaseRequest
from tests.approvals.factories import (
    client_for,
    dataset_version,
    make_policy,
    model_version,
    sign,
    train_request,
)

pytestmark = pytest.mark.django_db


def _train_body(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "train",
        "model": "churn",
        "risk_level": "minimal",
        "datasets": [{"namespace": "warehouse", "name": "customers", "version": "v1"}],
        "parameters": {"target": "label", "n_estimators": 50, "max_depth": 6},
        "code_version": "git:abc123",
        "metric_thresholds": {"accuracy": 0.8},
        **fields,
    }


def test_the_requester_asks_to_train_and_the_request_pins_the_data_and_runs_its_checks(
    requester: Any,
) -> None:
    make_policy("train-default")
    version = dataset_version(requester)

    response = client_for(requester).post("/api/v1/releases", _train_body(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["pinned"] == [{"node_id": "dataset:warehouse:customers#v1", "sha256": version.sha256}]
    assert body["policy"] == {"name": "train-default", "version": 1}
    assert [check["status"] for check in body["checks"]] == ["passed", "passed"]
    assert body["metric_thresholds"] == {"accuracy": {"min": 0.8}}
    assert body["request_hash_valid"] is True
    assert body["approvals"] == {
        "needed": [{"role": "compliance_officer", "count": 1}],
        "counted": 0,
        "missing": [{"role": "compliance_officer", "count": 1}],
        "met": False,
    }
    release = ReleaseRequest.objects.get()
    assert release.request_hash == hashing.request_hash(selectors.release_document(release))
    entry = AuditEntry.objects.get(action="release.create")
    assert entry.target_id == str(release.pk)


def test_a_deploy_request_pins_the_model_artifact_and_is_judged_by_the_environments_policy(
    requester: Any, pipeline: Any
) -> None:
    make_policy("deploy-any", kind="deploy")
    make_policy("deploy-production", kind="deploy", environment="production")
    version = model_version(requester, metrics={"accuracy": 0.9})

    response = client_for(pipeline).post(
        "/api/v1/releases",
        {
            "kind": "deploy",
            "model": "churn",
            "version": 1,
            "environment": "production",
            "metric_thresholds": {"accuracy": 0.85},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["pinned"] == [{"node_id": "model:churn#1", "sha256": version.artifact_sha256}]
    assert body["policy"]["name"] == "deploy-production"
    assert body["requested_by"] == "robot"
    assert body["status"] == "pending"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            {"storage_name": "", "artifact_format": "reference", "artifact_uri": "s3://m/churn/1"},
            "only a reference",
        ),
        (
            {"storage_name": "", "artifact_format": "reference", "artifact_uri": "runs:/abc/model"},
            "runs:/abc",
        ),
        ({"artifact_format": ""}, "no safe format"),
        ({"signature_storage_name": ""}, "no signature bundle"),
    ],
)
def test_it_refuses_a_deploy_request_for_a_version_that_is_never_deployable(
    requester: Any, row: dict[str, Any], reason: str
) -> None:
    make_policy("deploy-any", kind="deploy")
    version = model_version(requester)
    type(version).objects.filter(pk=version.pk).update(**row)

    response = client_for(requester).post(
        "/api/v1/releases",
        {"kind": "deploy", "model": "churn", "version": 1, "environment": "staging"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "not_deployable"
    assert reason in response.json()["detail"]
    assert not ReleaseRequest.objects.exists()
    refusal = json.loads(AuditEntry.objects.get(action="release.refuse").entry)["data"]
    assert (refusal["error"], refusal["version"]) == ("not_deployable", 1)


def test_a_request_that_fails_a_check_is_rejected_at_once_with_the_reason(requester: Any) -> None:
    make_policy("train-default")
    dataset_version(requester)

    response = client_for(requester).post(
        "/api/v1/releases", _train_body(metric_thresholds={}), format="json"
    )

    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "rejected"
    assert body["checks_passed"] is False
    assert body["decision_reason"] == "automated checks failed: metric_thresholds"
    failed = next(check for check in body["checks"] if check["name"] == "metric_thresholds")
    assert "declare metric_thresholds before training" in failed["detail"]


def test_an_unacceptable_risk_model_is_rejected_by_its_check(requester: Any) -> None:
    make_policy("train-default")
    dataset_version(requester)

    body = (
        client_for(requester)
        .post("/api/v1/releases", _train_body(risk_level="unacceptable"), format="json")
        .json()
    )

    assert body["status"] == "rejected"
    assert "EU AI Act Art. 5" in body["checks"][0]["detail"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (_train_body(datasets=[]), "datasets: name at least one"),
        (
            _train_body(datasets=[{"namespace": "warehouse", "name": "nope", "version": "v1"}]),
            "datasets[0]: no dataset",
        ),
        (_train_body(model="fresh", risk_level=""), "risk_level: model 'fresh' is not registered yet"),
        (_train_body(version=3), "leave version out"),
        (
            _train_body(parameters={"target": "label", "learning_rate": 0.1}),
            "parameters.learning_rate: unknown",
        ),
        (_train_body(metric_thresholds={"accuracy": "good"}), "metric_thresholds.accuracy"),
        (_train_body(policy="nonesuch"), "policy: 'nonesuch' is not an active policy"),
        (_train_body(human_overseer="nobody"), "human_overseer: no user named"),
        ({"kind": "deploy", "model": "churn", "version": 9, "environment": "production"}, "has no version 9"),
        ({"kind": "deploy", "model": "churn", "version": 1}, "names the model's version and the environment"),
    ],
)
def test_bad_input_is_a_400_that_says_why_and_stores_nothing(
    requester: Any, body: dict[str, Any], detail: str
) -> None:
    make_policy("train-default")
    make_policy("deploy-any", kind="deploy")
    dataset_version(requester)
    model_version(requester)

    response = client_for(requester).post("/api/v1/releases", body, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "validation_error"
    assert detail in response.json()["detail"]
    assert not ReleaseRequest.objects.exists()
    assert not AuditEntry.objects.filter(action="release.create").exists()


def test_it_refuses_every_training_request_while_no_training_job_checks_parameters(
    requester: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_policy("train-default")
    dataset_version(requester)
    monkeypatch.setattr(hooks, "_training_parameters_checks", [])  # the jobs app registered nothing

    response = client_for(requester).post("/api/v1/releases", _train_body(), format="json")

    assert response.status_code == 409, response.json()
    assert response.json()["error"] == "training_unavailable"
    assert not ReleaseRequest.objects.exists()
    refusal = json.loads(AuditEntry.objects.get(action="release.refuse").entry)["data"]
    assert (refusal["kind"], refusal["error"]) == ("train", "training_unavailable")


def test_a_dataset_version_without_a_hash_cannot_be_pinned(requester: Any) -> None:
    make_policy("train-default")
    version = dataset_version(requester)
    type(version).objects.filter(pk=version.pk).update(sha256="")

    response = client_for(requester).post("/api/v1/releases", _train_body(), format="json")

    assert response.status_code == 400
    assert "has no SHA-256, so it cannot be pinned" in response.json()["detail"]


def test_the_risk_level_is_the_registered_models_and_cannot_be_lowered_by_the_request(requester: Any) -> None:
    make_policy("train-default")
    dataset_version(requester)
    model_version(requester, risk_level="high")

    response = client_for(requester).post(
        "/api/v1/releases", _train_body(risk_level="minimal"), format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "risk_level_too_low"
    assert response.json()["risk_level"] == "high"
    assert "is at risk level high" in response.json()["detail"]
    assert not ReleaseRequest.objects.exists()
    refusal = AuditEntry.objects.get(action="release.refuse")
    assert json.loads(refusal.entry)["data"]["error"] == "risk_level_too_low"


def test_overlapping_policies_make_the_requester_choose_one(requester: Any) -> None:
    make_policy("train-a")
    make_policy("train-b")
    dataset_version(requester)
    client = client_for(requester)

    ambiguous = client.post("/api/v1/releases", _train_body(), format="json")
    chosen = client.post("/api/v1/releases", _train_body(policy="train-b"), format="json")

    assert ambiguous.status_code == 400
    assert "train-a, train-b all cover" in ambiguous.json()["detail"]
    assert chosen.status_code == 201 and chosen.json()["policy"]["name"] == "train-b"


def test_only_data_scientists_and_pipelines_ask_for_releases(approver: Any, outsider: Any) -> None:
    make_policy("train-default")
    for person in (approver, outsider):
        response = client_for(person).post("/api/v1/releases", _train_body(), format="json")
        assert response.status_code == 403


def test_the_list_filters_by_status_and_kind_and_pages(requester: Any, approver: Any) -> None:
    make_policy("train-default")
    first = train_request(requester, dataset_version(requester))
    train_request(requester, dataset_version(requester, version="v2"))
    rejected = train_request(requester, dataset_version(requester, version="v3"), metric_thresholds={})
    client = client_for(approver)
    assert sign(client, first.pk).status_code == 201

    def ids(query: str) -> list[int]:
        return [row["id"] for row in client.get(f"/api/v1/releases?{query}").json()["results"]]

    assert ids("status=approved") == [first.pk]
    assert ids("status=rejected") == [rejected.pk]
    assert len(ids("status=pending")) == 1
    assert ids("kind=deploy") == []
    page = client.get("/api/v1/releases?page_size=2").json()
    assert len(page["results"]) == 2 and page["next"]
    assert client.get("/api/v1/releases?status=lost").status_code == 400


def test_an_approved_request_past_its_approval_expiry_is_expired(requester: Any, approver: Any) -> None:
    make_policy("train-default", approval_validity_seconds=3600)
    release = train_request(requester, dataset_version(requester))
    client = client_for(approver)
    sign(client, release.pk)
    ReleaseRequest.objects.filter(pk=release.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert client.get(f"/api/v1/releases/{release.pk}").json()["status"] == "expired"
    assert [row["id"] for row in client.get("/api/v1/releases?status=expired").json()["results"]] == [
        release.pk
    ]


def test_the_requester_withdraws_an_approved_request_and_its_grant_is_revoked(
    requester: Any, approver: Any
) -> None:
    make_policy("train-default")
    release = train_request(requester, dataset_version(requester))
    sign(client_for(approver), release.pk)

    response = client_for(requester).post(
        f"/api/v1/releases/{release.pk}/withdraw", {"reason": "wrong data"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "withdrawn"
    assert response.json()["grant"] is None
    grant = release.grants.get()
    assert grant.revoked_at is not None and grant.unusable_reason()
    assert AuditEntry.objects.filter(action="release.withdraw").count() == 1
    again = client_for(requester).post(f"/api/v1/releases/{release.pk}/withdraw", {}, format="json")
    assert again.status_code == 409


def test_nobody_but_the_requester_withdraws(requester: Any, make_user: Any) -> None:
    make_policy("train-default")
    release = train_request(requester, dataset_version(requester))
    colleague = make_user("carl", "data_scientist", full_name="Carl Colleague")

    response = client_for(colleague).post(f"/api/v1/releases/{release.pk}/withdraw", {}, format="json")

    assert response.status_code == 403
    assert response.json()["error"] == "not_requester"


def test_an_unknown_release_is_a_404(approver: Any) -> None:
    assert client_for(approver).get("/api/v1/releases/999").status_code == 404
    assert client_for(approver).get("/api/v1/releases/abc").status_code == 404


def test_the_list_reads_a_fixed_number_of_queries_however_many_requests(
    requester: Any, approver: Any, django_assert_max_num_queries: Any
) -> None:
    make_policy("train-default")
    client = client_for(approver)
    for n in range(6):
        release = train_request(requester, dataset_version(requester, version=f"v{n}"))
        if n % 2:
            sign(client, release.pk)

    with django_assert_max_num_queries(12):
        rows = client.get("/api/v1/releases").json()["results"]

    assert len(rows) == 6
