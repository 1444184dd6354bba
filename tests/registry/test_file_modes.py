"""Stored artifacts and dataset files are mode 0600 in 0700 folders (issue 14); the SQLite database too."""

from __future__ import annotations

import io
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files import File

from registry import storage
from tests.support import ROOT


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_stored_file_is_private_in_private_folders(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "media" / "artifacts").mkdir(parents=True, mode=0o755)  # a folder left by an older version

    sha256, _, name = storage.store_stream(File(io.BytesIO(b"model bytes"), name="model.onnx"))

    path = tmp_path / "media" / name
    assert path.read_bytes() == b"model bytes" and sha256 in name
    assert _mode(path) == 0o600
    assert [_mode(folder) for folder in (path.parent, path.parent.parent, tmp_path / "media")] == [0o700] * 3


@pytest.mark.django_db
def test_an_uploaded_dataset_file_is_private(token_client: Any, settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    client, _ = token_client("loader", "pipeline")
    created = client.post(
        "/api/v1/datasets",
        {"namespace": "crm", "name": "customers", "holds_personal_data": False},
        format="json",
    )
    assert created.status_code == 201, created.json()
    upload = io.BytesIO(b"customer_id,tenure\nc-1,3\nc-2,5\n")
    upload.name = "customers.csv"

    response = client.post(
        "/api/v1/datasets/customers/versions?namespace=crm", {"file": upload}, format="multipart"
    )

    assert response.status_code == 201, response.json()
    stored = [path for path in (tmp_path / "media").rglob("*") if path.is_file()]
    assert stored and all(_mode(path) == 0o600 for path in stored)
    assert all(_mode(path.parent) == 0o700 for path in stored)


def test_the_sqlite_database_is_private(tmp_path: Path) -> None:
    from tests.support import child_env

    env = child_env()
    env.pop("DATABASE_URL", None)
    env["GOVERNANCE_VAR_DIR"] = str(tmp_path / "var")
    # While the connection is open, SQLite's write-ahead log sits beside the database: print its mode.
    script = (
        "import os, stat; from django.db import connection; "
        "connection.cursor().execute('CREATE TABLE t (x int)'); "
        "print(oct(stat.S_IMODE(os.stat(connection.settings_dict['NAME'] + '-wal').st_mode)))"
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    database = tmp_path / "var" / "db.sqlite3"
    assert _mode(database) == 0o600 and _mode(database.parent) == 0o700
    assert result.stdout.strip().splitlines()[-1] == "0o600"  # SQLite gives its files the database's mode
