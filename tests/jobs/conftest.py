from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _own_media_root(request: pytest.FixtureRequest, tmp_path: Path, settings: Any) -> None:
    """Each in-process test stores files in its own directory (one tampers with stored bytes on
    purpose); tests with a worker process share the var directory's, as the worker reads it."""
    if request.node.get_closest_marker("integration") is None:
        settings.MEDIA_ROOT = tmp_path / "media"


@contextmanager
def broker(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tasks this process enqueues go to ``url`` (where the worker process under test listens), through a
    publisher app of their own: the real broker, only not the one the test settings name."""
    from celery import Celery

    from governance.jobs import tasks

    publisher = Celery("test-publisher", broker=url)
    publisher.conf.task_serializer = "json"

    def send(*, kwargs: dict[str, Any], queue: str, kwargsrepr: str | None = None) -> Any:
        return publisher.send_task(
            tasks.release_job_run.name, kwargs=kwargs, queue=queue, kwargsrepr=kwargsrepr
        )

    monkeypatch.setattr(tasks.release_job_run, "apply_async", send)
    try:
        yield
    finally:
        publisher.close()
