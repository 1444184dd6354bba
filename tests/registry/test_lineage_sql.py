"""Lineage ingestion's PostgreSQL function has one home (registry/sql/) and writes audit's queue only
through audit's own ``audit_enqueue``: only audit writes audit tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

import registry

pytestmark = pytest.mark.django_db

SQL = Path(registry.__file__).parent / "sql" / "registry_lineage_ingest.sql"


def test_the_ingest_function_queues_its_audit_row_through_audit_enqueue() -> None:
    text = SQL.read_text(encoding="utf-8")
    assert "audit_enqueue(" in text
    assert "INSERT INTO audit_" not in text


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the function exists on PostgreSQL only")
def test_the_installed_function_is_the_one_in_registry_sql() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'registry_lineage_ingest'")
        (installed,) = cursor.fetchone()
    assert installed.strip() in SQL.read_text(encoding="utf-8")
    assert "audit_auditpending" not in installed
