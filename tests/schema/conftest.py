"""The role matrix's governed story (a trained and deployed model, its dataset, release, signature, job
and privacy request) gives schemathesis rows to find behind every path parameter.

The runs are transactional (schemathesis calls the app from its own thread), so pytest-django empties
the tables after each one. On SQLite that is a DELETE, which the consent ledger's append-only triggers
refuse; the test drops them when it is done and this module puts them back for whatever runs next.
PostgreSQL empties tables with TRUNCATE, which the row triggers let through.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tests.governance.test_endpoint_roles import story

__all__ = ["consent_ledger_triggers", "story"]

_LEDGER = importlib.import_module("governance.consent.migrations.0002_ledger_append_only")


def ledger_triggers(*, installed: bool) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for statement in _LEDGER.SQLITE_UP if installed else _LEDGER.SQLITE_DOWN:
            cursor.execute(statement)


@pytest.fixture(scope="module", autouse=True)
def consent_ledger_triggers(django_db_blocker: Any) -> Iterator[None]:
    yield
    with django_db_blocker.unblock():
        ledger_triggers(installed=True)
