"""The whole governed path on PostgreSQL, Redis and a real worker process (issue 6, acceptance 3):
training request → two sign-offs in a browser → training in the worker → deploy request → sign-offs →
deploy in the worker → predictions; every step in the audit log and in the lineage report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from governance.jobs.models import ReleaseJob
from registry.models import ModelAlias
from tests.browser import sign_in_and_approve
from tests.conftest import need
from tests.jobs import factories
from tests.jobs.conftest import broker
from tests.support import celery_worker_command, child_env, redis_db_url, running

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration, pytest.mark.browser]


def _job_done(job_id: int, log: Path, timeout: float = 120) -> ReleaseJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ReleaseJob.objects.get(pk=job_id)
        if job.status in {"succeeded", "failed", "refused"}:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish; worker log:\n{log.read_text()[-4000:]}")


def test_request_browser_sign_offs_training_deploy_and_predictions_end_to_end(
    needs_postgres_db: None, live_server: Any, browser: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("redis")
    redis_url = redis_db_url("jobs")
    people = factories.people()
    version = factories.customers_dataset(people.requester)
    training = factories.train_request(
        people.requester,
        version,
        risk_level="high",
        dpia_reference="DPIA-2026-014",
        human_overseer="olga",
    )
    assert training.policy_version.policy.name == "train-high-risk"  # two compliance officers

    first = sign_in_and_approve(
        browser, live_server.url, "olga", factories.PASSWORD, training.pk, "data pinned"
    )
    second = sign_in_and_approve(browser, live_server.url, "oscar", factories.PASSWORD, training.pk, "agreed")
    assert first.startswith("Signed: Olga Officer · approved") and second.startswith("Signed: Oscar Officer")

    requester = APIClient()
    requester.force_authenticate(people.requester)
    log = tmp_path / "worker.log"
    with (
        running(celery_worker_command(), child_env(CELERY_BROKER_URL=redis_url), log),
        broker(redis_url, monkeypatch),
    ):
        response = requester.post(f"/api/v1/releases/{training.pk}/run")
        assert response.status_code == 201, response.json()
        trained = _job_done(response.json()["id"], log)
        assert trained.status == "succeeded", trained.error
        assert trained.worker and trained.worker != "test-worker"  # the worker process ran it
        model_node = trained.result["model_version"]

        deploy = factories.deploy_request(
            people.requester, 1, "production", dpia_reference="DPIA-2026-014", human_overseer="olga"
        )
        factories.sign(deploy, people.approver, people.second_approver)
        response = requester.post(f"/api/v1/releases/{deploy.pk}/run")
        assert response.status_code == 201, response.json()
        deployed = _job_done(response.json()["id"], log)
        assert deployed.status == "succeeded", deployed.error

    assert ModelAlias.objects.get(alias="production").version.node_id == model_node
    rows = [
        {"tenure": 2, "plan": "basic", "monthly_spend": 35.5},
        {"tenure": 40, "plan": "pro", "monthly_spend": 20},
    ]
    predicted = requester.post("/api/v1/deployments/production/churn/predict", {"rows": rows}, format="json")
    assert predicted.status_code == 200, predicted.json()
    assert predicted.json()["model_version"] == 1 and len(predicted.json()["predictions"]) == 2

    actions = list(AuditEntry.objects.order_by("index").values_list("action", flat=True))
    for step in (
        "release.create",
        "release.sign",
        "grant.issue",
        "job.enqueue",
        "job.start",
        "grant.claim",
        "run.create",
        "model_version.create",
        "job.complete",
        "deployment.create",
        "model.alias_move",
    ):
        assert step in actions, step

    auditor = APIClient()
    auditor.force_authenticate(factories.people_extra_auditor())
    report = auditor.get(
        "/api/v1/reports/lineage", {"nodeId": "deployment:production:churn", "format": "json"}
    )
    assert report.status_code == 200
    body = report.json()
    assert {entry["signer_name"] for entry in body["approvals"]} == {"Olga Officer", "Oscar Officer"}
    assert version.node_id in {node["id"] for node in body["nodes"]}
    assert {"model:churn#1", "deployment:production:churn"} <= {node["id"] for node in body["nodes"]}
