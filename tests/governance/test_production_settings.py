"""Production settings pass `check --deploy` and refuse to start without their secrets."""

from __future__ import annotations

import subprocess
import sys

from tests.support import ROOT


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _production_env(tmp_path) -> dict[str, str]:
    import os

    key = tmp_path / "audit.pem"
    from audit.checkpoint import Ed25519Signer

    key.write_bytes(Ed25519Signer.generate("prod").private_pem())
    from registry.signing import key_generate

    model_key = tmp_path / "model-signing.pem"
    model_key.write_bytes(key_generate())
    secret = tmp_path / "secret"
    secret.write_text("s" * 20 + "production-secret-key-with-enough-entropy-0123456789")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DATABASE_URL"))}
    env.update(
        DJANGO_SETTINGS_MODULE="governance.settings.production",
        SECRET_KEY_FILE=str(secret),
        PSEUDONYM_KEY="pseudonym-key-for-the-check",
        GRANT_SIGNING_KEY="grant-signing-key-for-the-check-0123456789",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        AUDIT_SIGNING_KEY_FILE=str(key),
        MODEL_SIGNING_KEY_FILE=str(model_key),
        GOVERNANCE_VAR_DIR=str(tmp_path / "var"),
    )
    return env


def test_check_deploy_reports_no_issues_under_production_settings(tmp_path) -> None:
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path) -> None:
    env = _production_env(tmp_path)
    del env["SECRET_KEY_FILE"]

    result = _manage(env, "check")

    assert result.returncode != 0
    assert "Set SECRET_KEY or SECRET_KEY_FILE" in result.stderr


def test_production_refuses_to_start_without_a_model_signing_key(tmp_path) -> None:
    env = _production_env(tmp_path)
    del env["MODEL_SIGNING_KEY_FILE"]

    result = _manage(env, "check")

    assert result.returncode != 0
    assert "MODEL_SIGNING_KEY_FILE" in result.stderr


def test_a_storage_option_that_is_not_json_stops_the_process(tmp_path) -> None:
    env = _production_env(tmp_path)
    env["STORAGE_OPTIONS"] = "{bucket: nope"

    result = _manage(env, "check")

    assert result.returncode != 0
    assert "STORAGE_OPTIONS is not valid JSON" in result.stderr


def _shell(env: dict[str, str], script: str) -> subprocess.CompletedProcess[str]:
    return _manage(env, "shell", "--no-imports", "-c", script)


SEEN = (
    "from django.conf import settings; from django.test import Client, RequestFactory; "
    "forwarded = RequestFactory().get('/healthz', HTTP_X_FORWARDED_PROTO='https'); "
    "print('testserver' in settings.ALLOWED_HOSTS, forwarded.is_secure(), "
    "Client().get('/healthz').status_code)"
)


def test_production_trusts_no_forwarded_proto_and_answers_no_testserver_host(tmp_path) -> None:
    result = _shell(_production_env(tmp_path), SEEN)

    assert result.returncode == 0, result.stderr
    # "testserver" is not an allowed host: the test client's request is refused with 400.
    assert result.stdout.strip().splitlines()[-1].split() == ["False", "False", "400"]


def test_a_forwarded_proto_is_trusted_only_when_trust_proxy_headers_is_set(tmp_path) -> None:
    env = _production_env(tmp_path)
    env["TRUST_PROXY_HEADERS"] = "true"

    result = _shell(env, SEEN)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split()[:2] == ["False", "True"]


def test_production_refuses_to_start_with_testserver_in_allowed_hosts(tmp_path) -> None:
    env = _production_env(tmp_path)
    env["ALLOWED_HOSTS"] = "governance.example,testserver"

    result = _manage(env, "check")

    assert result.returncode != 0
    assert "ALLOWED_HOSTS: remove 'testserver'" in result.stderr
