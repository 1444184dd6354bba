"""Helpers for integration tests that run real processes (Celery workers, gunicorn)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    """The URL of the database this test session uses, for a child process to share it."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings["USER"] or "postgres"
    return (
        f"postgres://{user}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


REDIS_SLOTS = ("worker", "jobs", "celery", "throttle")


def redis_db_url(slot: str, *, flush: bool = True) -> str:
    """A Redis database of this pytest-xdist worker's own, for one kind of test (``REDIS_SLOTS``).

    Two xdist workers running worker-process tests at once must never share a broker: a Celery worker
    started by one would take the other's task and look its job up in the wrong test database. gw0 gets
    databases 4-7, gw1 8-11, gw2 12-15 (Redis has 16); a run without xdist uses gw0's. Flushed unless told
    not to, so a task an earlier, killed run left queued is never taken.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    number = 4 + len(REDIS_SLOTS) * index + REDIS_SLOTS.index(slot)
    if number > 15:
        raise RuntimeError(f"Redis has 16 databases; xdist worker {worker} would need database {number}")
    url = f"redis://127.0.0.1:6379/{number}"
    if flush:
        import redis

        redis.Redis.from_url(url).flushdb()
    return url


def child_env(**overrides: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["DATABASE_URL"] = test_database_url()
    # A process a test starts runs as deployed (pytest itself runs governance.settings.test).
    env["DJANGO_SETTINGS_MODULE"] = "governance.settings.base"
    env.update(overrides)
    return env


def run_together(
    commands: list[list[str]], logs_dir: Path, timeout: float = 900, env: dict[str, str] | None = None
) -> None:
    """Start the commands at once (each a Python module run against the test database, in ``env`` or
    ``child_env()``), wait for all, and fail with the tail of each one's output unless every one exited 0."""
    paths = [logs_dir / f"process-{n}.log" for n in range(len(commands))]
    logs = [path.open("wb") for path in paths]
    try:
        children = [
            subprocess.Popen(command, cwd=ROOT, env=env or child_env(), stdout=log, stderr=subprocess.STDOUT)
            for command, log in zip(commands, logs, strict=True)
        ]
        codes = [child.wait(timeout=timeout) for child in children]
    finally:
        for log in logs:
            log.close()
    assert codes == [0] * len(commands), [path.read_text()[-2000:] for path in paths]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[Any]]:
    with log.open("wb") as out:
        # Its own process group, so that children (gunicorn's workers, a shell's commands) stop with it.
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):  # the test may have stopped it already
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def celery_worker_command(*extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "governance",
        "worker",
        "--queues",
        "default,train,deploy",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--without-mingle",
        "--without-gossip",
        *extra,
    ]


def wait_for_task_result(task_id: str, timeout: float = 90) -> Any:
    """Poll the database result backend (django-celery-results) until the task finished."""
    from django_celery_results.models import TaskResult

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = TaskResult.objects.filter(task_id=task_id).first()
        if result is not None and result.status in {"SUCCESS", "FAILURE"}:
            return result
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} did not finish within {timeout}s")
