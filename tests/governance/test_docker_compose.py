"""docker-compose.yml is right without a Docker engine: its commands and environment are ones the
project accepts, and its web and worker commands really run against local PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import need
from tests.support import ROOT, free_port, redis_db_url, running

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _settings_variables() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "governance" / "settings").glob("*.py"):
        names |= set(re.findall(r'env\.\w+\(\s*"([A-Z0-9_]+)"', path.read_text()))
    return names | {"DJANGO_SETTINGS_MODULE"}


def _env(service: str) -> dict[str, str]:
    return {key: str(value) for key, value in COMPOSE["services"][service]["environment"].items()}


def test_it_has_the_six_services_with_health_checks_and_a_named_volume() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat", "audit-committer"}
    for name in ("postgres", "redis", "web", "worker", "audit-committer"):
        assert "healthcheck" in services[name], name
    assert "governance-data" in COMPOSE["volumes"]


def test_every_variable_it_sets_is_one_the_settings_read() -> None:
    known = _settings_variables()
    for service in ("web", "worker", "beat", "audit-committer"):
        env = _env(service)
        for key in env:
            assert key in known or key.removesuffix("_FILE") in known, (
                f"{service} sets {key}, which no setting reads"
            )
        assert env["DJANGO_SETTINGS_MODULE"] == "governance.settings.production"
        assert not any(key in env for key in ("SECRET_KEY", "PSEUDONYM_KEY", "DATABASE_URL")), (
            "secrets via *_FILE"
        )


def test_the_commands_are_ones_the_project_runs() -> None:
    web = " ".join(COMPOSE["services"]["web"]["command"])
    worker = COMPOSE["services"]["worker"]["command"]
    beat = COMPOSE["services"]["beat"]["command"]
    assert "manage.py migrate" in web and "gunicorn governance.wsgi:application" in web
    assert worker[:4] == ["celery", "-A", "governance", "worker"]
    assert "default,train,deploy" in worker
    assert beat[:4] == ["celery", "-A", "governance", "beat"]
    assert COMPOSE["services"]["audit-committer"]["command"] == ["python", "manage.py", "audit_committer"]
    # Every app container names the committer's socket, on the volume they share.
    for service in ("web", "worker", "beat", "audit-committer"):
        assert _env(service)["AUDIT_COMMITTER_SOCKET"].startswith("/srv/governance/"), service


def _local_env(tmp_path: Path, database: str) -> dict[str, str]:
    """The compose environment, with hosts and secret files mapped onto this machine."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.pop("DATABASE_URL", None)
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "django_secret_key").write_text("compose-test-" + "k" * 60)
    (secrets_dir / "pseudonym_key").write_text("compose-test-pseudonym-" + "p" * 40)
    (secrets_dir / "grant_signing_key").write_text("compose-test-grant-key-" + "g" * 40)
    (secrets_dir / "database_url").write_text(f"postgres://postgres@127.0.0.1:5432/{database}")
    from audit.checkpoint import Ed25519Signer

    (secrets_dir / "audit_signing_key").write_bytes(Ed25519Signer.generate("compose").private_pem())
    for key, value in _env("web").items():
        value = value.replace("redis://redis:", "redis://127.0.0.1:").replace(
            "/run/secrets", str(secrets_dir)
        )
        value = value.replace("/srv/governance", str(tmp_path / "srv"))
        env[key] = value
    env["CELERY_BROKER_URL"] = redis_db_url("worker")
    return env


def _fresh_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (localhost)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.integration
def test_the_web_and_worker_commands_run_against_local_postgres_and_redis(tmp_path: Path) -> None:
    need("postgres")
    need("redis")
    database = "governance_compose_check"
    _fresh_database(database)
    env = _local_env(tmp_path, database)
    port = free_port()
    web_command = " ".join(COMPOSE["services"]["web"]["command"][2:])
    web_command = web_command.replace("0.0.0.0:8000", f"127.0.0.1:{port}").replace(
        "--workers 3", "--workers 1"
    )
    worker_command = [sys.executable, "-m", *COMPOSE["services"]["worker"]["command"], "--pool", "solo"]
    # The image's `python` and `gunicorn` are this virtualenv's here.
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    with running(
        ["sh", "-c", web_command.replace("python ", f"{sys.executable} ")], env, tmp_path / "web.log"
    ):
        deadline = time.monotonic() + 120
        status, _body = 0, None
        while time.monotonic() < deadline:
            try:
                status, _body = _get(f"http://127.0.0.1:{port}/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        assert status == 200, (tmp_path / "web.log").read_text()[-3000:]
        _check_the_audit_committer(env, tmp_path)
        with running(worker_command, env, tmp_path / "worker.log"):
            from celery import Celery

            publisher = Celery("compose-check", broker=env["CELERY_BROKER_URL"])
            sent = publisher.send_task("audit.tasks.ping", args=[1], queue="default")
            import psycopg

            deadline = time.monotonic() + 90
            row = None
            with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{database}", autocommit=True) as conn:
                while time.monotonic() < deadline and row is None:
                    row = conn.execute(
                        "SELECT status, result FROM django_celery_results_taskresult WHERE task_id = %s",
                        [sent.id],
                    ).fetchone()
                    time.sleep(0.5)
        assert row is not None and row[0] == "SUCCESS", (tmp_path / "worker.log").read_text()[-3000:]
        assert json.loads(row[1]) == 2


def _check_the_audit_committer(env: dict[str, str], tmp_path: Path) -> None:
    """The committer's command serves the socket the app names, and an action recorded outside a
    transaction goes through it."""
    command = [sys.executable, *COMPOSE["services"]["audit-committer"]["command"][1:]]
    sock = Path(env["AUDIT_COMMITTER_SOCKET"])
    record = (
        "from audit.actions import AuditAction; from audit.actors import Actor; "
        "from audit.services import Target, audit_record; "
        "audit_record(actor=Actor.system('compose'), action=AuditAction.USER_CREATE, "
        "target=Target.of('user', 1))"
    )
    with running(command, env, tmp_path / "committer.log") as committer:
        deadline = time.monotonic() + 60
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sock.exists(), (tmp_path / "committer.log").read_text()[-3000:]
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", record],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        committer.send_signal(signal.SIGTERM)
        committer.wait(timeout=30)
    assert "stopped after 1 actions" in (tmp_path / "committer.log").read_text()
