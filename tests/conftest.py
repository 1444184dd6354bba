from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from governance.testing.services import service_problem

pytest_plugins = ["tests.browser"]  # the `browser` fixture

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
_triggers_dropped = False


def need(service: str) -> None:
    """Skip when a service is absent; with REQUIRE_SERVICES=1 (CI) fail instead."""
    problem = service_problem(service)
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"{service} is required (REQUIRE_SERVICES=1) but {problem}")
        pytest.skip(f"{service} not available: {problem}")


@pytest.fixture
def committer(needs_postgres_db: None, tmp_path: Path) -> Iterator[Path]:
    """``manage.py audit_committer`` running on PostgreSQL (tests/audit/committer_support.py), and this
    process's writers pointed at its socket (yielded). Needs a transactional database."""
    from django.test import override_settings

    from audit import handoff
    from tests.audit.committer_support import run_committer

    sock = tmp_path / "committer.sock"
    with run_committer(sock, tmp_path / "committer.log"), override_settings(AUDIT_COMMITTER_SOCKET=str(sock)):
        yield sock
    handoff.close()


@pytest.fixture
def needs_postgres_db() -> None:
    if connection.vendor != "postgresql":
        if REQUIRE_SERVICES and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
            pytest.skip("runs in the PostgreSQL pass of `make test`")
        pytest.skip("needs DATABASE_URL pointing at PostgreSQL (the second pass of `make test`)")


@pytest.fixture(autouse=True)
def _append_only_triggers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Keep the audit triggers in place for every test, yet let pytest-django flush after
    transactional tests (flush TRUNCATEs/DELETEs the audit tables, which the triggers refuse)."""
    global _triggers_dropped
    uses_db = any(name in request.fixturenames for name in ("db", "transactional_db", "live_server"))
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or (marker is not None and marker.kwargs.get("transaction", False))
    )
    if not (uses_db or marker):
        yield
        return
    request.getfixturevalue("transactional_db" if transactional else "db")
    from audit import triggers
    from audit.models import AuditHead

    # Installed afresh for every test, not only after a transactional one: a test that drops them inside
    # its own transaction, or DDL rolled back with one, must never leave the next test without them.
    triggers.remove(connection)
    triggers.install(connection)
    _triggers_dropped = False
    AuditHead.objects.get_or_create(pk=1)
    if not transactional:
        # These tests run inside a transaction that never commits, and most (and their fixtures) read the
        # audit log right after a service returns, so "after commit" work (the audit sequencer, task
        # enqueueing) runs at once instead; transactional tests keep real commits. A test about *when*
        # work is enqueued uses pytest-django's django_capture_on_commit_callbacks or a transactional db.
        from django.db import transaction

        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setattr(transaction, "on_commit", lambda func, using=None, robust=False: func())
    yield
    if transactional:
        triggers.remove(connection)
        _triggers_dropped = True


@pytest.fixture(autouse=True)
def _isolated_audit_store(tmp_path: Any, settings: Any) -> None:
    """Each test gets its own checkpoint store, so a test's signed checkpoints don't leak into another."""
    settings.AUDIT_STORE_DIR = tmp_path / "audit-store"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Job messages the API would have sent to the broker, captured instead (in-process job tests run
    the worker's code on them; tests with a worker process use the real broker)."""
    from governance.jobs import tasks

    messages: list[dict[str, Any]] = []

    class Result:
        id = "captured"

    def capture(*, kwargs: dict[str, Any], queue: str, kwargsrepr: str = "") -> Result:
        assert not kwargs.get("grant") or kwargs["grant"] not in kwargsrepr  # Celery logs and stores this
        messages.append({**kwargs, "queue": queue})
        return Result()

    monkeypatch.setattr(tasks.release_job_run, "apply_async", capture)
    return messages


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    from audit.actors import Actor
    from governance.accounts import services

    def make(username: str, *roles: str, password: str | None = None, full_name: str = "") -> Any:
        return services.user_create(
            actor=Actor.system("tests"),
            username=username,
            roles=list(roles) or ["data_scientist"],
            password=password,
            full_name=full_name or username.title(),
        )

    return make


@pytest.fixture
def token_client(make_user: Callable[..., Any]) -> Callable[..., tuple[APIClient, Any]]:
    """An API client authenticated with a fresh Bearer token of a new user holding ``roles``."""
    from audit.actors import Actor
    from governance.accounts import services

    def make(username: str, *roles: str) -> tuple[APIClient, Any]:
        user = make_user(username, *roles)
        _, raw = services.token_issue(actor=Actor.system("tests"), user=user, name=f"{username}-token")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return client, user

    return make
