"""A real `celery worker` process completes a task with Redis and with the embedded filesystem broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings

from tests.conftest import need
from tests.support import celery_worker_command, child_env, redis_db_url, running, wait_for_task_result

pytestmark = pytest.mark.django_db(transaction=True)


def _publisher(broker_url: str, transport_options: dict[str, object]) -> Celery:
    app = Celery("publisher", broker=broker_url)
    app.conf.broker_transport_options = transport_options
    app.conf.task_serializer = "json"
    return app


def _round_trip(broker_url: str, transport_options: dict[str, object], tmp_path: Path) -> None:
    env = child_env(CELERY_BROKER_URL=broker_url)
    with running(celery_worker_command(), env, tmp_path / "worker.log"):
        publisher = _publisher(broker_url, transport_options)
        with publisher.connection_for_write() as conn:
            sent = publisher.send_task("audit.tasks.ping", args=[41], queue="default", connection=conn)
        result = wait_for_task_result(sent.id)
    assert result.status == "SUCCESS", (tmp_path / "worker.log").read_text()
    assert json.loads(result.result) == 42


def test_a_worker_on_redis_completes_a_task(tmp_path: Path) -> None:
    need("redis")
    _round_trip(redis_db_url("celery"), {}, tmp_path)


def test_a_worker_on_the_embedded_filesystem_broker_completes_a_task(tmp_path: Path) -> None:
    assert settings.CELERY_BROKER_URL.startswith("filesystem://")
    _round_trip("filesystem://", dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS), tmp_path)
