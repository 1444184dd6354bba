"""Many processes appending at once: every entry lands, gapless and ordered, and the log verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from audit.models import AuditEntry
from tests.audit.writers import assert_each_append_once, assert_gapless_and_verified, run_writers

pytestmark = pytest.mark.django_db(transaction=True)


def test_eight_processes_appending_two_thousand_each_give_sixteen_thousand_gapless_entries(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    before = AuditEntry.objects.count()
    run_writers(8, 2000, tmp_path)
    assert_gapless_and_verified(16_000, before)
    assert_each_append_once(8, 2000)


def test_appends_outside_and_inside_transactions_at_once_leave_no_row_behind(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    # Two ways in, two protocols: a statement of its own that leaves its row to a sequencer it sees at
    # work, and a transaction that tries after its commit. Mixed, every row still enters the log once.
    before = AuditEntry.objects.count()
    run_writers(8, 1000, tmp_path, alone=4)
    assert_gapless_and_verified(8_000, before)
    assert_each_append_once(8, 1000)


def test_concurrent_appends_on_sqlite_stay_gapless(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant of the concurrency test")
    before = AuditEntry.objects.count()
    run_writers(4, 150, tmp_path)
    assert_gapless_and_verified(600, before)
    assert_each_append_once(4, 150)
