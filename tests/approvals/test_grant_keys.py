"""The grant signing key: required in production, generated once for a first run, checked at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core import checks

from governance.approvals.keys import check_grant_signing_key
from tests.governance.test_production_settings import _production_env
from tests.support import ROOT


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_a_grant_signing_key(tmp_path: Path) -> None:
    env = _production_env(tmp_path)
    del env["GRANT_SIGNING_KEY"]

    result = _manage(env, "check")

    assert result.returncode != 0
    assert "Set GRANT_SIGNING_KEY or GRANT_SIGNING_KEY_FILE" in result.stderr


def test_a_first_run_generates_a_private_key_file_once(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "GRANT_SIGNING_KEY", "DATABASE_URL"))
    }
    env.update(GOVERNANCE_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="governance.settings.base")
    script = "from governance.approvals.keys import grant_public_key_published as p; print(p()['key_id'])"

    first = _manage(env, "shell", "-c", script)
    second = _manage(env, "shell", "-c", script)

    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    key_file = tmp_path / "grant_signing_key"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_an_unusable_key_fails_the_system_check(settings: Any) -> None:
    settings.GRANT_SIGNING_KEY = "short"

    problems = check_grant_signing_key()

    assert [problem.id for problem in problems] == ["approvals.E001"]
    assert problems[0].level == checks.ERROR
