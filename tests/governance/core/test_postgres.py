from __future__ import annotations

from pathlib import Path

import pytest

import audit
from governance.core.postgres import sql_file

AUDIT_MIGRATIONS = Path(audit.__file__).parent / "migrations" / "0007_audit_enqueue_function.py"


def test_a_migration_reads_its_apps_sql_file() -> None:
    text = sql_file(str(AUDIT_MIGRATIONS), "audit_enqueue.sql")
    assert "CREATE OR REPLACE FUNCTION audit_enqueue(" in text


def test_a_missing_sql_file_fails_loudly() -> None:
    with pytest.raises(FileNotFoundError, match=r"no sql/nothing\.sql above"):
        sql_file(str(AUDIT_MIGRATIONS), "nothing.sql")
