"""Migrations that create PostgreSQL functions for hot paths (SQLite keeps the Python path)."""

from __future__ import annotations

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
