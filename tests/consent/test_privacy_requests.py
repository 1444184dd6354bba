"""Privacy requests: deadlines, statuses, and an erasure followed through lineage to the models and
deployments built on the subject's data (acceptance 2 of the consent issue)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEntry
from governance.consent.selectors import erasure_affected_nodes, erasure_block_reason
from governance.consent.subjects import subject_hash_of
from registry.models import DatasetSubject, DatasetVersion
from tests.consent.factories import (
    audit_since,
    customers_csv,
    personal_dataset,
    raw_id,
    trained_and_deployed,
    upload,
)
from tests.registry.approved import approved_deploy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def scientist(token_client: Any) -> tuple[APIClient, Actor]:
    client, user = token_client("dana", "data_scientist")
    return client, Actor.for_user(user)


@pytest.fixture
def officer(token_client: Any) -> APIClient:
    client, _ = token_client("olivia", "compliance_officer")
    return client


@pytest.fixture
def deployed(scientist: tuple[APIClient, Actor]) -> tuple[DatasetVersion, Any]:
    """Ten people's data, a model trained on it, serving production."""
    _, actor = scientist
    version = upload(actor, personal_dataset(actor), customers_csv(range(10), rows_each=3))
    model_version, _ = trained_and_deployed(actor, version)
    return version, model_version


def _erasure(officer: APIClient, n: int = 4, **extra: Any) -> dict[str, Any]:
    body = {"subject_id": raw_id(n), "type": "erasure", "jurisdiction": "eu_eea", **extra}
    response = officer.post("/api/v1/privacy-requests", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _move(officer: APIClient, request_id: int, status: str, reason: str = "") -> Any:
    return officer.post(
        f"/api/v1/privacy-requests/{request_id}/status", {"status": status, "reason": reason}, format="json"
    )


def test_an_erasure_marks_the_model_and_its_deployment_affected_and_a_new_deploy_is_refused(
    scientist: tuple[APIClient, Actor], officer: APIClient, deployed: tuple[DatasetVersion, Any]
) -> None:
    client, _ = scientist
    release = approved_deploy("churn", 1, "staging")  # signed off before the erasure arrived
    before = AuditEntry.objects.count()

    report = _erasure(officer)

    impact = report["impact"]
    assert [row["node_id"] for row in impact["dataset_versions"]] == ["dataset:default:customers#v1"]
    assert [(row["node_id"], row["deploy_blocked"]) for row in impact["model_versions"]] == [
        ("model:churn#1", True)
    ]
    assert [(row["node_id"], row["serving"]) for row in impact["deployments"]] == [
        ("deployment:production:churn", True)
    ]
    assert len(impact["runs"]) == 1
    document = report["response_document"]
    assert document["law"].startswith("GDPR Art. 17")
    assert document["found"]["dataset_versions"] == ["dataset:default:customers#v1"]
    assert document["found"]["model_versions"] == ["model:churn#1"]
    assert document["found"]["deployments"] == ["deployment:production:churn"]

    refused = client.post(
        "/api/v1/deployments",
        {"model": "churn", "version": 1, "environment": "staging", "release": release},
        format="json",
    )

    assert refused.status_code == 409
    assert refused.json()["error"] == "affected_by_erasure"
    assert "model:churn#1" in refused.json()["detail"]
    assert f"erasure request {report['request']['id']}" in refused.json()["detail"]
    assert "erase-rows" in refused.json()["detail"] and "exemption" in refused.json()["detail"]
    entries = audit_since(before)
    assert [entry["action"] for entry in entries] == ["privacy_request.create", "privacy_request.impact"]
    assert entries[0]["data"]["subject_hash"] == subject_hash_of(raw_id(4))
    assert entries[1]["data"]["model_versions"]["nodes"] == ["model:churn#1"]
    assert entries[1]["data"]["deployments"]["nodes"] == ["deployment:production:churn"]


def test_erasing_the_rows_writes_a_version_without_the_subject_and_a_model_retrained_on_it_deploys(
    scientist: tuple[APIClient, Actor], officer: APIClient, deployed: tuple[DatasetVersion, Any]
) -> None:
    client, actor = scientist
    old, _ = deployed
    request_id = _erasure(officer)["request"]["id"]
    early = officer.post(f"/api/v1/privacy-requests/{request_id}/erase-rows")
    assert early.status_code == 409 and "verified" in early.json()["detail"]  # identity first
    assert _move(officer, request_id, "verified").status_code == 200
    before = AuditEntry.objects.count()

    erased = officer.post(f"/api/v1/privacy-requests/{request_id}/erase-rows")

    assert erased.status_code == 200, erased.json()
    new = DatasetVersion.objects.get(version=f"v1-erasure-{request_id}")
    assert new.row_count == 27 and new.subject_count == 9
    subject = subject_hash_of(raw_id(4))
    assert not DatasetSubject.objects.filter(dataset_version=new, subject_hash=subject).exists()
    with default_storage.open(new.storage_name) as handle:
        assert raw_id(4).encode() not in handle.read()
    old.refresh_from_db()
    assert old.storage_name == "" and not default_storage.exists(f"artifacts/{old.sha256[:2]}/{old.sha256}")
    assert [entry["action"] for entry in audit_since(before)] == [
        "dataset_version.create",
        "privacy_request.erase_rows",
    ]
    assert audit_since(before)[1]["data"]["replaced"][0]["rows_removed"] == 3

    retrained, _ = trained_and_deployed(actor, new, environment="staging")
    assert retrained.node_id == "model:churn#2"
    assert erasure_block_reason(model_version=retrained) is None
    assert _move(officer, request_id, "completed").status_code == 200
    document = officer.get(f"/api/v1/privacy-requests/{request_id}").json()["response_document"]
    steps = [step["what"] for step in document["done"]]
    assert steps[0] == "erasure request received" and steps[-1] == "request completed"
    assert f"3 row(s) erased from dataset:default:customers#v1, replaced by {new.node_id}" in steps
    assert document["status"] == "completed"
    still = client.post(
        "/api/v1/deployments",
        {
            "model": "churn",
            "version": 1,
            "environment": "production",
            "release": approved_deploy("churn", 1, "production"),
        },
        format="json",
    )
    assert still.status_code == 409  # the version trained on the erased rows stays blocked


def test_an_exemption_with_a_legal_ground_lifts_the_block_for_that_model_version(
    scientist: tuple[APIClient, Actor], officer: APIClient, deployed: tuple[DatasetVersion, Any]
) -> None:
    client, _ = scientist
    request_id = _erasure(officer)["request"]["id"]
    body = {"model": "churn", "version": 1, "ground": "legal_obligation", "reason": "kept for the regulator"}
    before = AuditEntry.objects.count()

    response = officer.post(f"/api/v1/privacy-requests/{request_id}/exemptions", body, format="json")

    assert response.status_code == 201, response.json()
    [model] = response.json()["impact"]["model_versions"]
    assert model["deploy_blocked"] is False and model["exemption"]["ground"] == "legal_obligation"
    [entry] = audit_since(before)
    assert (
        entry["action"] == "privacy_request.exemption" and entry["data"]["model_version"] == "model:churn#1"
    )
    assert "kept for the regulator" not in str(entry)  # free text goes in as its SHA-256
    deploy = {
        "model": "churn",
        "version": 1,
        "environment": "staging",
        "release": approved_deploy("churn", 1, "staging"),
    }
    assert client.post("/api/v1/deployments", deploy, format="json").status_code == 201
    twice = officer.post(f"/api/v1/privacy-requests/{request_id}/exemptions", body, format="json")
    assert twice.status_code == 409


def test_approval_checks_see_the_affected_dataset_and_model_versions(
    officer: APIClient, deployed: tuple[DatasetVersion, Any]
) -> None:
    version, model_version = deployed
    assert (
        erasure_affected_nodes(dataset_version_ids=[version.pk], model_version_ids=[model_version.pk]) == []
    )

    _erasure(officer)

    assert erasure_affected_nodes(dataset_version_ids=[version.pk], model_version_ids=[model_version.pk]) == [
        "dataset:default:customers#v1",
        "model:churn#1",
    ]


def test_a_denied_erasure_blocks_nothing_and_a_denial_needs_a_reason(
    officer: APIClient, deployed: tuple[DatasetVersion, Any]
) -> None:
    _, model_version = deployed
    request_id = _erasure(officer)["request"]["id"]

    silent = _move(officer, request_id, "denied")
    denied = _move(officer, request_id, "denied", "identity could not be verified")

    assert silent.status_code == 400
    assert denied.status_code == 200 and denied.json()["request"]["handled_by"]["username"] == "olivia"
    assert erasure_block_reason(model_version=model_version) is None
    assert _move(officer, request_id, "verified").status_code == 409  # denied is final


def test_an_erasure_is_completed_only_once_the_stored_rows_are_erased(
    officer: APIClient, deployed: tuple[DatasetVersion, Any]
) -> None:
    request_id = _erasure(officer)["request"]["id"]
    assert _move(officer, request_id, "verified").status_code == 200
    assert _move(officer, request_id, "in_progress").status_code == 200

    response = _move(officer, request_id, "completed")

    assert response.status_code == 409
    assert "dataset:default:customers#v1" in response.json()["detail"]


@pytest.mark.parametrize(
    ("jurisdiction", "received", "acknowledge_by", "respond_by"),
    [
        ("eu_eea", "2026-01-31T10:00:00Z", None, "2026-02-28"),  # one month, to the month's last day
        ("uk", "2026-03-15T10:00:00Z", None, "2026-04-15"),
        ("california", "2026-03-06T10:00:00Z", "2026-03-20", "2026-04-20"),  # a Friday
    ],
)
def test_the_deadlines_follow_the_jurisdiction(
    officer: APIClient, jurisdiction: str, received: str, acknowledge_by: str | None, respond_by: str
) -> None:
    body = {"subject_id": raw_id(1), "type": "access", "jurisdiction": jurisdiction, "received_at": received}

    response = officer.post("/api/v1/privacy-requests", body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["request"]["acknowledge_by"] == acknowledge_by
    assert response.json()["request"]["respond_by"] == respond_by
    assert date.fromisoformat(respond_by) > datetime.fromisoformat(received).astimezone(UTC).date()


def test_an_access_request_answers_with_what_is_held_about_the_subject(
    officer: APIClient, token_client: Any, deployed: tuple[DatasetVersion, Any]
) -> None:
    pipeline, _ = token_client("robot", "pipeline")
    grant = {
        "subject_id": raw_id(2),
        "purpose": "train_ai_system",
        "event": "grant",
        "jurisdiction": "eu_eea",
    }
    assert pipeline.post("/api/v1/consent", grant, format="json").status_code == 201
    created = pipeline.post(
        "/api/v1/privacy-requests",
        {"subject_id": raw_id(2), "type": "access", "jurisdiction": "eu_eea"},
        format="json",
    )
    assert created.status_code == 201

    report = officer.get(f"/api/v1/privacy-requests/{created.json()['request']['id']}").json()

    assert report["impact"] is None
    found = report["response_document"]["found"]
    assert found["consent_records"] == 1
    assert [(row["purpose"], row["status"]) for row in found["consent_by_purpose"]] == [
        ("train_ai_system", "granted")
    ]
    assert found["dataset_versions"] == ["dataset:default:customers#v1"]
    assert found["model_versions"] == ["model:churn#1"]
    assert pipeline.get(f"/api/v1/privacy-requests/{created.json()['request']['id']}").status_code == 403


def test_open_requests_are_listed_by_due_date(officer: APIClient, token_client: Any) -> None:
    auditor, _ = token_client("aude", "auditor")
    for n, received in enumerate(["2026-03-01T09:00:00Z", "2026-02-01T09:00:00Z"]):
        body = {"subject_id": raw_id(n), "type": "access", "jurisdiction": "eu_eea", "received_at": received}
        officer.post("/api/v1/privacy-requests", body, format="json")

    listed = auditor.get("/api/v1/privacy-requests", {"open": "true"})

    assert listed.status_code == 200
    assert sorted(row["respond_by"] for row in listed.json()["results"]) == ["2026-03-01", "2026-04-01"]
