"""Jobs through Redis and a real `celery worker` process on PostgreSQL (issue 6, acceptance 4)."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEntry
from governance.jobs.models import ReleaseJob
from governance.jobs.services import job_reap_stale
from registry.models import ModelVersion
from tests.conftest import need
from tests.jobs import factories
from tests.jobs.conftest import broker
from tests.support import celery_worker_command, child_env, redis_db_url, running

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def _wait_for(condition: Any, timeout: float, what: str, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s; worker log:\n{log.read_text()[-4000:]}")


def test_killing_the_worker_mid_training_leaves_the_job_failed_and_no_model_version(
    needs_postgres_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("redis")
    redis_url = redis_db_url("jobs")
    people = factories.people()
    version = factories.customers_dataset(people.requester, rows=20_000, personal=False)
    release = factories.train_request(
        people.requester,
        version,
        parameters={**factories.PARAMETERS, "n_estimators": 1500, "max_depth": None},
    )
    factories.sign(release, people.approver)
    log = tmp_path / "worker.log"
    env = child_env(CELERY_BROKER_URL=redis_url, JOB_HEARTBEAT_SECONDS="1")
    client = APIClient()
    client.force_authenticate(people.requester)
    with running(celery_worker_command(), env, log) as worker, broker(redis_url, monkeypatch):
        response = client.post(f"/api/v1/releases/{release.pk}/run")
        assert response.status_code == 201, response.json()
        job_id = response.json()["id"]
        _wait_for(
            lambda: ReleaseJob.objects.filter(pk=job_id, stage="training").exists(),
            90,
            "training started",
            log,
        )
        time.sleep(1.0)
        os.killpg(worker.pid, signal.SIGKILL)  # no warm shutdown: the process is gone mid-fit
        worker.wait()
    job = ReleaseJob.objects.get(pk=job_id)
    assert job.status == "running"  # nobody has noticed yet
    time.sleep(2.5)  # three missed heartbeats
    assert job_reap_stale(actor=Actor.system("jobs.reap_stale"), stale_after=timedelta(seconds=2)) == [job_id]
    job.refresh_from_db()
    assert job.status == "failed" and "stopped answering during training" in job.error
    assert not ModelVersion.objects.exists()  # nothing half-registered
    failure = AuditEntry.objects.get(action="job.fail", target_id=str(job_id))
    assert "during training" in failure.entry and "nothing was registered" in failure.entry
    assert AuditEntry.objects.filter(action="job.start", target_id=str(job_id)).exists()
