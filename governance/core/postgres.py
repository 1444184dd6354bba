"""Migrations that create PostgreSQL functions for hot paths (SQLite keeps the Python path); each function
lives in one `.sql` file of the app that owns it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import migrations


def postgres_only(create: str, drop: str) -> migrations.RunPython:
    """An operation running ``create`` (``drop`` when reversed) on PostgreSQL and nothing elsewhere.

    The SQL goes without parameters, so the ``%`` of PL/pgSQL's RAISE formats stay as written.
    """

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(create, params=None)

    def backward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(drop, params=None)

    return migrations.RunPython(forward, backward)


def sql_file(module_file: str, name: str) -> str:
    """The text of ``<app>/sql/<name>``, the one home of a PostgreSQL function, for the migration that loads
    it (``sql_file(__file__, "audit_enqueue.sql")`` from ``audit/migrations/``). The nearest directory
    above ``module_file`` holding ``sql/<name>`` is the app's. A change to the file ships with a new
    migration that loads it again (the functions are ``CREATE OR REPLACE``)."""
    for directory in Path(module_file).resolve().parents:
        candidate = directory / "sql" / name
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(f"no sql/{name} above {module_file}")
