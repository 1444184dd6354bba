"""The automated checks a policy names, run when a request is made."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.actors import Actor
from governance.approvals import automated_checks
from governance.approvals.models import ReleaseRequest
from registry.models import DatasetVersion
from registry.services.datasets import dataset_create, dataset_version_upload
from tests.approvals.factories import (
    PASSWORD,
    client_for,
    dataset_version,
    make_policy,
    model_version,
    train_request,
)

pytestmark = pytest.mark.django_db


def _check(release: ReleaseRequest, name: str) -> dict[str, Any]:
    return next(check for check in release.checks if check["name"] == name)


def _fake_consent(monkeypatch: pytest.MonkeyPatch, **functions: Callable[..., Any] | None) -> None:
    monkeypatch.setattr(automated_checks, "consent_selector", lambda name: functions.get(name))


# --- Declared by the request -----------------------------------------------------------------------------


def test_a_high_risk_request_needs_a_dpia_reference_and_a_human_overseer(
    requester: Any, approver: Any
) -> None:
    make_policy(
        "train-default",
        checks=[
            {"name": "dpia_reference", "risk_levels": ["high"]},
            {"name": "human_overseer", "risk_levels": ["high"]},
        ],
    )
    version = dataset_version(requester)

    bare = train_request(requester, version, risk_level="high", model="fraud")
    complete = train_request(
        requester,
        version,
        risk_level="high",
        model="fraud2",
        dpia_reference="DPIA-2026-04",
        human_overseer="olivia",
    )
    low = train_request(requester, version, risk_level="minimal", model="tiny")

    assert bare.status == "rejected"
    assert "GDPR Art. 35" in _check(bare, "dpia_reference")["detail"]
    assert "EU AI Act Art. 14" in _check(bare, "human_overseer")["detail"]
    assert complete.status == "pending"
    assert _check(complete, "human_overseer")["detail"] == "overseen by Olivia Officer"
    assert [check["status"] for check in low.checks] == ["not_applicable", "not_applicable"]


def test_a_machine_account_is_no_human_overseer(requester: Any, pipeline: Any) -> None:
    make_policy("train-default", checks=["human_overseer"])

    release = train_request(requester, dataset_version(requester), human_overseer="robot")

    assert _check(release, "human_overseer")["status"] == "failed"


def test_declared_thresholds_below_the_policys_floor_fail(requester: Any) -> None:
    make_policy(
        "train-default", checks=[{"name": "metric_thresholds", "params": {"metrics": {"accuracy": 0.9}}}]
    )
    version = dataset_version(requester)

    lax = train_request(requester, version, metric_thresholds={"accuracy": 0.8})
    strict = train_request(requester, version, metric_thresholds={"accuracy": {"min": 0.95}})

    assert (
        _check(lax, "metric_thresholds")["detail"]
        == "accuracy: declared min 0.8 is below the policy's min 0.9"
    )
    assert strict.status == "pending"


def test_a_deploy_is_judged_on_the_model_versions_measured_metrics(requester: Any) -> None:
    make_policy(
        "deploy-any",
        kind="deploy",
        checks=[{"name": "metric_thresholds", "params": {"metrics": {"accuracy": 0.9}}}],
    )
    model_version(requester, metrics={"accuracy": 0.93})
    model_version(requester, metrics={"accuracy": 0.85})
    model_version(requester, metrics={"f1": 0.99})
    client = client_for(requester)

    def deploy(version: int, **fields: Any) -> dict[str, Any]:
        body = {"kind": "deploy", "model": "churn", "version": version, "environment": "staging", **fields}
        return client.post("/api/v1/releases", body, format="json").json()

    assert deploy(1)["status"] == "pending"
    assert (
        deploy(1, metric_thresholds={"accuracy": 0.95})["checks"][0]["detail"]
        == "accuracy: 0.93 is below 0.95"
    )
    assert deploy(2)["checks"][0]["detail"] == "accuracy: 0.85 is below 0.9"
    assert deploy(3)["checks"][0]["detail"] == "accuracy: not measured"


def test_self_declared_metrics_never_meet_a_threshold_and_say_who_declared_them(
    requester: Any, approver: Any
) -> None:
    make_policy(
        "deploy-any",
        kind="deploy",
        checks=[{"name": "metric_thresholds", "params": {"metrics": {"accuracy": 0.9}}}],
    )
    model_version(requester, metrics={"accuracy": 0.99}, metrics_source="declared")
    body = {"kind": "deploy", "model": "churn", "version": 1, "environment": "staging"}

    response = client_for(requester).post("/api/v1/releases", body, format="json")

    assert response.status_code == 201
    release = response.json()
    assert release["status"] == "rejected"
    check = release["checks"][0]
    assert check["status"] == "failed"
    assert "were declared by Rita Requester, not computed by the service" in check["detail"]
    assert check["data"]["metrics_source"] == "declared"
    browser = Client()
    assert browser.login(username=approver.username, password=PASSWORD)
    page = browser.get(f"/approvals/{release['id']}/").content.decode()
    assert "(declared by Rita Requester)" in page
    assert "(declared by Rita Requester)" in browser.get("/models/churn/").content.decode()


def test_metrics_the_service_computed_are_shown_as_such(requester: Any, approver: Any) -> None:
    make_policy("deploy-any", kind="deploy")
    model_version(requester, metrics={"accuracy": 0.93})
    body = {"kind": "deploy", "model": "churn", "version": 1, "environment": "staging"}
    release = client_for(requester).post(
        "/api/v1/releases", {**body, "metric_thresholds": {"accuracy": 0.9}}, format="json"
    )
    browser = Client()
    assert browser.login(username=approver.username, password=PASSWORD)

    page = browser.get(f"/approvals/{release.json()['id']}/").content.decode()

    assert release.json()["status"] == "pending"
    assert "(computed by the service)" in page and "declared by" not in page


# --- Asked of the consent app ------------------------------------------------------------------------------


def test_a_lawful_basis_check_passes_when_rows_may_be_used_and_keeps_the_counts(
    requester: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[Any, str]] = []

    def manifest(*, dataset_version: DatasetVersion, purpose: str, at: Any = None) -> dict[str, Any]:
        asked.append((dataset_version.pk, purpose))
        return {"rows_total": 10, "rows_included": 7, "rows_excluded_by_reason": {"withdrawn": 3}}

    _fake_consent(monkeypatch, eligibility_manifest=manifest)
    make_policy("train-default", checks=["lawful_basis"])
    version = dataset_version(requester, personal=True)

    release = train_request(requester, version)

    check = _check(release, "lawful_basis")
    assert check["status"] == "passed"
    assert check["data"]["manifests"][version.node_id]["rows_excluded_by_reason"] == {"withdrawn": 3}
    assert asked == [(version.pk, "train_ai_system")]


def test_a_lawful_basis_check_fails_when_no_row_may_be_used(
    requester: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_consent(monkeypatch, eligibility_manifest=lambda **_: {"rows_total": 10, "rows_included": 0})
    make_policy("train-default", checks=["lawful_basis"])

    release = train_request(requester, dataset_version(requester, personal=True))

    assert release.status == "rejected"
    assert (
        "no row has a lawful basis recorded for train_ai_system" in _check(release, "lawful_basis")["detail"]
    )


def test_data_without_personal_data_needs_no_lawful_basis(
    requester: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_consent(monkeypatch)
    make_policy("train-default", checks=["lawful_basis"])

    release = train_request(requester, dataset_version(requester, personal=False))

    assert _check(release, "lawful_basis")["status"] == "passed"


def test_data_affected_by_an_erasure_fails_the_check(requester: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    version = dataset_version(requester)
    seen: dict[str, Any] = {}

    def affected(*, dataset_version_ids: Any = (), model_version_ids: Any = ()) -> list[str]:
        seen.update(datasets=tuple(dataset_version_ids), models=tuple(model_version_ids))
        return [version.node_id]

    _fake_consent(monkeypatch, erasure_affected_nodes=affected)
    make_policy("train-default", checks=["no_erasure_impact"])

    release = train_request(requester, version)

    assert release.status == "rejected"
    assert "GDPR Art. 17" in _check(release, "no_erasure_impact")["detail"]
    assert seen == {"datasets": (version.pk,), "models": ()}


def test_a_check_nobody_can_answer_fails_rather_than_passes(
    requester: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_consent(monkeypatch)  # the consent app answers nothing
    make_policy("train-default", checks=["no_erasure_impact", "lawful_basis"])

    release = train_request(requester, dataset_version(requester, personal=True))

    assert [check["status"] for check in release.checks] == ["failed", "failed"]
    assert "not available" in release.checks[0]["detail"]


# --- With the real consent app ------------------------------------------------------------------------------


CSV = b"customer_id,tenure,churned\n" + b"".join(f"c{n},{n},{n % 2}\n".encode() for n in range(10))


def _uploaded(requester: Any) -> DatasetVersion:
    actor = Actor.for_user(requester)
    dataset = dataset_create(
        actor=actor,
        name="customers",
        namespace="warehouse",
        holds_personal_data=True,
        subject_id_column="customer_id",
        jurisdictions=["eu_eea"],
    )
    return dataset_version_upload(
        actor=actor, dataset=dataset, upload=SimpleUploadedFile("customers.csv", CSV), version="v1"
    )


def test_the_lawful_basis_check_reads_the_real_consent_ledger(requester: Any, pipeline: Any) -> None:
    version = _uploaded(requester)
    client = client_for(pipeline)
    for n in range(6):
        body = {
            "subject_id": f"c{n}",
            "purpose": "train_ai_system",
            "event": "grant",
            "jurisdiction": "eu_eea",
        }
        assert client.post("/api/v1/consent", body, format="json").status_code == 201
    make_policy("train-default", checks=["lawful_basis"])

    release = train_request(requester, version)

    check = _check(release, "lawful_basis")
    assert check["status"] == "passed", check
    assert check["data"]["manifests"][version.node_id]["rows_included"] == 6


def test_the_erasure_check_reads_the_real_privacy_requests(requester: Any, approver: Any) -> None:
    version = _uploaded(requester)
    response = client_for(approver).post(
        "/api/v1/privacy-requests",
        {"subject_id": "c3", "type": "erasure", "jurisdiction": "eu_eea"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    make_policy("train-default", checks=["no_erasure_impact"])

    release = train_request(requester, version)

    check = _check(release, "no_erasure_impact")
    assert check["status"] == "failed"
    assert check["data"]["affected"] == [version.node_id]
