"""A release grant is a bearer credential: it never appears in a log line (issue 14).

Celery logs a task's arguments (the grant among them) as extra fields of its "received" and failure
records; the service's JSON log formatter takes every grant out of the finished line.
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from governance.approvals.grants import grant_sign
from governance.core.logs import GRANT_REDACTED


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The service's logging configuration, its console handler writing into a buffer."""
    logging.config.dictConfig(settings.LOGGING)
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)


def _grant() -> str:
    claims: Any = {
        "typ": "governance-grant/1",
        "grant_id": "4b8e6c1e-3f0a-4d8e-9a55-0c7d2f1e9b3a",
        "request_id": 7,
    }
    return grant_sign(claims, Ed25519PrivateKey.generate())


def test_a_grant_in_a_celery_task_record_is_redacted(log_lines: io.StringIO) -> None:
    grant = _grant()
    context = {
        "id": "c0ffee",
        "name": "jobs.release_job_run",
        "args": "()",
        "kwargs": repr({"job_id": 3, "grant": grant}),
    }

    logging.getLogger("celery.worker.strategy").info(
        "Task %(name)s[%(id)s] received, kwargs %(kwargs)s", context, extra={"data": context}
    )
    try:
        raise RuntimeError(f"worker lost while running with grant {grant}")
    except RuntimeError:
        logging.getLogger("celery.app.trace").exception("Task %(name)s[%(id)s] raised", context)

    text = log_lines.getvalue()
    assert grant not in text and grant.split(".")[1] not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 2 and GRANT_REDACTED in lines[0]["message"]
    assert GRANT_REDACTED in lines[0]["data"]["kwargs"] and "'job_id': 3" in lines[0]["data"]["kwargs"]
    assert GRANT_REDACTED in lines[1]["exc_info"]


def test_other_dotted_values_are_left_alone(log_lines: io.StringIO) -> None:
    logging.getLogger("governance").info("token prefix Y0ekwTCP.sha512 and version 1.2.3 of model:churn#1")

    assert "Y0ekwTCP.sha512 and version 1.2.3 of model:churn#1" in log_lines.getvalue()


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_real_worker_logs_and_stores_no_grant(
    needs_postgres_db: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through Redis and a `celery worker` process: its log lines and the stored task result name the
    job, never the grant it ran with."""
    from django_celery_results.models import TaskResult
    from rest_framework.test import APIClient

    from governance.approvals.models import Grant
    from governance.jobs.models import ReleaseJob
    from tests.conftest import need
    from tests.jobs import factories
    from tests.jobs.conftest import broker
    from tests.support import celery_worker_command, child_env, redis_db_url, running

    need("redis")
    redis_url = redis_db_url("worker")
    people = factories.people()
    release = factories.train_request(people.requester, factories.customers_dataset(people.requester))
    factories.sign(release, people.approver)
    client = APIClient()
    client.force_authenticate(people.requester)
    log = tmp_path / "worker.log"
    with (
        running(celery_worker_command(), child_env(CELERY_BROKER_URL=redis_url), log),
        broker(redis_url, monkeypatch),
    ):
        response = client.post(f"/api/v1/releases/{release.pk}/run")
        assert response.status_code == 201, response.json()
        job_id = response.json()["id"]
        deadline = time.monotonic() + 120
        while ReleaseJob.objects.get(pk=job_id).status in ("queued", "running"):
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            time.sleep(0.3)
        results = deadline
        while not TaskResult.objects.exists() and time.monotonic() < results:
            time.sleep(0.2)

    grant = Grant.objects.get(release=release).token
    worker_log = log.read_text()
    assert ReleaseJob.objects.get(pk=job_id).status == "succeeded", worker_log[-4000:]
    assert "jobs.release_job_run" in worker_log and GRANT_REDACTED in worker_log
    assert grant not in worker_log and grant.split(".")[1] not in worker_log
    stored = TaskResult.objects.get()
    assert grant not in (stored.task_kwargs or "") and GRANT_REDACTED in (stored.task_kwargs or "")
