"""Jobs run only with a valid grant, checked again inside the worker (issue 6, acceptance 1 and 2).

The worker's code runs in-process here (``run_release_job``, what the Celery task calls); the task
message is captured instead of sent. ``test_worker_process.py`` runs the same through a real broker
and worker process.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.files.storage import default_storage

from audit.actors import Actor
from audit.models import AuditEntry
from governance.approvals import grants
from governance.approvals.models import Grant
from governance.jobs.models import JobStatus, ReleaseJob
from governance.jobs.runner import run_release_job
from registry.models import Deployment, ModelAlias, ModelVersion
from tests.jobs import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(db: None) -> Any:
    people = factories.people()
    people.extra["version"] = factories.customers_dataset(people.requester)
    return people


def _client(user: Any) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def _run(message: dict[str, Any]) -> str:
    return run_release_job(job_id=message["job_id"], grant=message["grant"], worker="test-worker")


def _actions() -> list[str]:
    return list(AuditEntry.objects.order_by("index").values_list("action", flat=True))


def _trained(story: Any, sent: list[dict[str, Any]]) -> ModelVersion:
    release = factories.train_request(story.requester, story.extra["version"])
    factories.sign(release, story.approver)
    response = _client(story.requester).post(f"/api/v1/releases/{release.pk}/run")
    assert response.status_code == 201, response.json()
    assert _run(sent[-1]) == JobStatus.SUCCEEDED, ReleaseJob.objects.get(pk=sent[-1]["job_id"]).error
    return ModelVersion.objects.order_by("-pk").first()


def test_running_a_request_that_is_not_approved_is_refused_with_the_reason(story: Any, sent: list) -> None:
    release = factories.train_request(story.requester, story.extra["version"])
    response = _client(story.requester).post(f"/api/v1/releases/{release.pk}/run")
    assert response.status_code == 409
    assert "pending" in response.json()["detail"] and "compliance_officer" in response.json()["detail"]
    assert sent == [] and not ReleaseJob.objects.exists()


def test_an_approved_training_request_trains_registers_and_records_lineage(story: Any, sent: list) -> None:
    version = _trained(story, sent)
    job = ReleaseJob.objects.get()
    assert (job.status, job.stage, job.percent, job.queue) == ("succeeded", "done", 100, "train")
    assert version.node_id == "model:churn#1" and len(version.artifact_sha256) == 64
    assert version.artifact_verified and version.metrics["accuracy"] >= 0.6
    run = version.run
    assert list(run.inputs.all()) == [story.extra["version"]]
    assert run.code_version == "git:4f2a9c1" and run.parameters == factories.PARAMETERS
    manifest = run.facets["consent"][0]
    assert manifest["rows_included"] == 300 and manifest["purpose"] == "train_ai_system"
    assert job.result["model_version"] == "model:churn#1"
    actions = _actions()
    for action in (
        "job.enqueue",
        "job.start",
        "grant.claim",
        "run.create",
        "model_version.create",
        "job.complete",
    ):
        assert action in actions
    from registry.selectors.lineage import lineage_graph

    ids = {node["id"] for node in lineage_graph(node_id=version.node_id, depth=5)["graph"]}
    assert story.extra["version"].node_id in ids and "job:governance:train/churn" in ids


def test_training_keeps_only_the_rows_consent_allows(db: None, sent: list) -> None:
    people = factories.people()
    version = factories.customers_dataset(people.requester, consent_for=100)
    release = factories.train_request(people.requester, version)
    factories.sign(release, people.approver)
    _client(people.requester).post(f"/api/v1/releases/{release.pk}/run")
    assert _run(sent[-1]) == JobStatus.SUCCEEDED
    manifest = ModelVersion.objects.get().run.facets["consent"][0]
    assert manifest["rows_included"] == 200 and manifest["subjects_included"] == 100
    excluded = {reason: rows for reason, rows in manifest["rows_excluded_by_reason"].items() if rows}
    assert excluded == {"no_lawful_basis": 100}


def test_a_forged_or_altered_grant_sent_straight_to_the_broker_is_refused_and_audited(
    story: Any, sent: list
) -> None:
    release = factories.train_request(story.requester, story.extra["version"])
    factories.sign(release, story.approver)
    _client(story.requester).post(f"/api/v1/releases/{release.pk}/run")
    genuine = sent[-1]
    claims = grants.grant_verify(genuine["grant"], [grants.public_key_bytes(_public())])
    forged = grants.grant_sign(claims, Ed25519PrivateKey.generate())
    payload, signature = genuine["grant"].split(".")
    altered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    for grant in (forged, altered, "not-a-grant"):
        assert run_release_job(job_id=genuine["job_id"], grant=grant, worker="attacker") == "refused"
    assert not ModelVersion.objects.exists()
    refusals = AuditEntry.objects.filter(action="job.refuse")
    assert refusals.count() == 3
    assert (
        all("grant refused" in entry.data["reason"] for entry in refusals)
        if hasattr(AuditEntry, "data")
        else True
    )
    job = ReleaseJob.objects.get()
    assert job.status == "refused"  # a bad grant for a queued job ends that job
    assert Grant.objects.get(release=release).used_at is None  # never claimed


def _public() -> Any:
    from governance.approvals.keys import grant_public_key

    return grant_public_key()


def test_a_grant_runs_once(story: Any, sent: list) -> None:
    _trained(story, sent)
    again = run_release_job(job_id=sent[-1]["job_id"], grant=sent[-1]["grant"], worker="replay")
    assert again == "ignored"
    assert ModelVersion.objects.count() == 1
    assert AuditEntry.objects.filter(action="job.refuse").count() == 1
    release_id = ReleaseJob.objects.get().release_id
    response = _client(story.requester).post(f"/api/v1/releases/{release_id}/run")
    assert response.status_code == 409 and "consumed" in response.json()["detail"]


def test_dataset_bytes_changed_after_approval_make_the_worker_refuse(story: Any, sent: list) -> None:
    version = story.extra["version"]
    release = factories.train_request(story.requester, version)
    factories.sign(release, story.approver)
    _client(story.requester).post(f"/api/v1/releases/{release.pk}/run")
    with default_storage.open(version.storage_name, "wb") as handle:  # tampered at rest
        handle.write(factories.customers_csv(300, seed=99))
    assert _run(sent[-1]) == "refused"
    job = ReleaseJob.objects.get()
    assert job.status == "refused" and "hash to" in job.error and version.sha256 in job.error
    assert not ModelVersion.objects.exists()


def test_an_approved_deploy_moves_the_alias_serves_predictions_and_can_be_stopped(
    story: Any, sent: list
) -> None:
    version = _trained(story, sent)
    deploy = factories.deploy_request(story.requester, version.version, "staging")
    factories.sign(deploy, story.approver)
    assert _client(story.requester).post(f"/api/v1/releases/{deploy.pk}/run").status_code == 201
    assert sent[-1]["queue"] == "deploy"
    assert _run(sent[-1]) == JobStatus.SUCCEEDED
    deployment = Deployment.objects.get()
    assert (deployment.environment, deployment.model_version, deployment.job_reference) == (
        "staging",
        version,
        f"job-{sent[-1]['job_id']}",
    )
    assert ModelAlias.objects.get(alias="staging").version == version
    client = _client(story.requester)
    rows = [
        {"tenure": 3, "plan": "basic", "monthly_spend": 30.0},
        {"tenure": 50, "plan": "pro", "monthly_spend": 20},
    ]
    response = client.post("/api/v1/deployments/staging/churn/predict", {"rows": rows}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["model_version"] == 1 and len(response.json()["predictions"]) == 2
    bad = client.post("/api/v1/deployments/staging/churn/predict", {"rows": [{"tenure": 3}]}, format="json")
    assert bad.status_code == 400 and "missing feature" in bad.json()["detail"]
    stop = _client(story.approver).post(
        "/api/v1/deployments/staging/churn/stop", {"reason": "bias found in review"}, format="json"
    )
    assert stop.status_code == 200
    after = client.post("/api/v1/deployments/staging/churn/predict", {"rows": rows}, format="json")
    assert after.status_code == 404
    assert not ModelAlias.objects.filter(alias="staging").exists()
    assert "deployment.stop" in _actions()


def test_rollback_is_a_deploy_of_an_earlier_approved_version(story: Any, sent: list) -> None:
    first = _trained(story, sent)
    second = _trained(story, sent)
    for version in (second, first):
        deploy = factories.deploy_request(story.requester, version.version, "staging")
        factories.sign(deploy, story.approver)
        _client(story.requester).post(f"/api/v1/releases/{deploy.pk}/run")
        assert _run(sent[-1]) == JobStatus.SUCCEEDED
    assert ModelAlias.objects.get(alias="staging").version == first
    history = list(Deployment.objects.order_by("deployed_at").values_list("model_version__version", "until"))
    assert [v for v, _ in history] == [2, 1] and history[0][1] is not None and history[1][1] is None


def test_a_job_whose_worker_stops_answering_is_failed_and_registers_nothing(story: Any, sent: list) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from governance.jobs.services import job_reap_stale, job_start

    release = factories.train_request(story.requester, story.extra["version"])
    factories.sign(release, story.approver)
    _client(story.requester).post(f"/api/v1/releases/{release.pk}/run")
    job_start(actor=Actor.worker("w1"), job_id=sent[-1]["job_id"], worker="w1")
    ReleaseJob.objects.update(stage="training", heartbeat_at=timezone.now() - timedelta(minutes=10))
    assert job_reap_stale(actor=Actor.system("reaper"), stale_after=timedelta(minutes=2)) == [
        sent[-1]["job_id"]
    ]
    job = ReleaseJob.objects.get()
    assert job.status == "failed" and "during training" in job.error
    entry = AuditEntry.objects.filter(action="job.fail").get()
    assert "during training" in entry.entry
    assert not ModelVersion.objects.exists()
    assert _run(sent[-1]) == "ignored"  # the redelivered message does nothing


def test_the_lineage_report_of_a_deployment_shows_who_signed_off_training_and_deploy(
    story: Any, sent: list
) -> None:
    from registry.reports.assemble import lineage_report_build

    version = _trained(story, sent)
    deploy = factories.deploy_request(story.requester, version.version, "production")
    factories.sign(deploy, story.approver, story.second_approver)  # production: two officers
    _client(story.requester).post(f"/api/v1/releases/{deploy.pk}/run")
    assert _run(sent[-1]) == JobStatus.SUCCEEDED
    report = lineage_report_build(subject="deployment:production:churn")
    signed = [(entry["request"], entry["signer_name"], entry["meaning"]) for entry in report["approvals"]]
    train_release = ReleaseJob.objects.get(kind="train").release_id
    assert signed == [
        (f"release:{train_release}", "Olga Officer", "approved"),
        (f"release:{deploy.pk}", "Olga Officer", "approved"),
        (f"release:{deploy.pk}", "Oscar Officer", "approved"),
    ]
    assert all(entry["signed_at"].endswith("Z") for entry in report["approvals"])
    assert version.artifact_sha256 in report["approvals"][1]["covers"]
    actions = {(row["action"], row["target"].split(":")[0]) for row in report["audit"]["entries"]}
    assert {
        ("release.sign", "release"),
        ("grant.claim", "release"),
        ("deployment.create", "deployment"),
    } <= actions


def test_a_training_request_with_parameters_the_job_would_refuse_is_refused_before_signing(
    story: Any,
) -> None:
    response = _client(story.requester).post(
        "/api/v1/releases",
        {
            "kind": "train",
            "model": "churn",
            "risk_level": "limited",
            "datasets": [
                {"namespace": "crm", "name": "customers", "version": story.extra["version"].version}
            ],
            "parameters": {"target": "churned", "kernel": "rbf"},
            "metric_thresholds": {"accuracy": 0.6},
        },
        format="json",
    )
    assert response.status_code == 400
    assert "parameters.kernel: unknown" in response.json()["detail"]


def test_a_deployment_made_elsewhere_is_recorded_only_under_its_approved_deploy_request(
    story: Any, sent: list
) -> None:
    version = _trained(story, sent)
    client = _client(story.requester)
    body = {
        "model": "churn",
        "version": 1,
        "environment": "staging",
        "endpoint": "https://serving.example/churn",
    }
    pending = factories.deploy_request(story.requester, version.version, "staging")
    refused = client.post("/api/v1/deployments", {**body, "release": pending.pk}, format="json")
    assert refused.status_code == 409 and "pending" in refused.json()["detail"]
    wrong_place = client.post(
        "/api/v1/deployments", {**body, "environment": "production", "release": pending.pk}, format="json"
    )
    assert (
        wrong_place.status_code == 409
        and "not model:churn#1 for 'production'" in wrong_place.json()["detail"]
    )
    factories.sign(pending, story.approver)
    recorded = client.post("/api/v1/deployments", {**body, "release": pending.pk}, format="json")
    assert recorded.status_code == 201, recorded.json()
    assert ModelAlias.objects.get(alias="staging").version == version
    again = client.post("/api/v1/deployments", {**body, "release": pending.pk}, format="json")
    assert again.status_code == 409 and "consumed" in again.json()["detail"]
    assert Deployment.objects.count() == 1


@pytest.mark.parametrize("ending", ["rejected", "revoked", "expired", "withdrawn"])
def test_a_rejected_revoked_expired_or_withdrawn_request_cannot_run(
    story: Any, sent: list, ending: str
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from governance.approvals.models import ReleaseRequest, Signature
    from governance.approvals.services.releases import release_withdraw
    from governance.approvals.services.signatures import signature_revoke

    release = factories.train_request(story.requester, story.extra["version"])
    factories.sign(release, story.approver, meaning="rejected" if ending == "rejected" else "approved")
    if ending == "revoked":
        signature = Signature.objects.get(release=release)
        signature_revoke(
            actor=Actor.for_user(story.approver), signature=signature, by=story.approver, reason="wrong data"
        )
    elif ending == "expired":
        ReleaseRequest.objects.filter(pk=release.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif ending == "withdrawn":
        release_withdraw(actor=Actor.for_user(story.requester), release=release, by=story.requester)
    response = _client(story.requester).post(f"/api/v1/releases/{release.pk}/run")
    assert response.status_code == 409, response.json()
    assert response.json()["error"] == "no_valid_grant"
    assert sent == [] and not ReleaseJob.objects.exists()
