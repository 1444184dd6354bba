"""Many processes appending at once: every entry lands, gapless and ordered, and the log verifies."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from django.db import connection

from audit.checkpoints import checkpoint_create, log_verify
from audit.models import AuditEntry, AuditPending
from audit.store import CheckpointStore
from tests.support import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def _run_writers(processes: int, each: int, tmp_path: Path, alone: int = 0) -> None:
    """``processes`` writers at once; the first ``alone`` of them append outside any transaction."""
    run_together(
        [
            [sys.executable, "-m", "tests.audit.append_worker", str(each), f"writer-{n}"]
            + (["alone"] if n < alone else [])
            for n in range(processes)
        ],
        tmp_path,
    )


def _assert_gapless_and_verified(expected_new: int, before: int) -> None:
    indexes = list(AuditEntry.objects.order_by("index").values_list("index", flat=True))
    assert len(indexes) == before + expected_new
    assert indexes == list(range(len(indexes)))
    store = CheckpointStore()
    checkpoint_create(store=store)
    result = log_verify(store=store)
    assert result.ok, result.reason
    assert result.verified_tree_size == len(indexes)


def _assert_each_append_once(processes: int, each: int) -> None:
    appended = list(
        AuditEntry.objects.filter(actor_id__startswith="writer-").values_list("actor_id", "target_id")
    )
    expected = {(f"writer-{n}", str(number)) for n in range(processes) for number in range(each)}
    assert len(appended) == len(expected)
    assert set(appended) == expected
    assert not AuditPending.objects.exists()


def test_eight_processes_appending_two_thousand_each_give_sixteen_thousand_gapless_entries(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    before = AuditEntry.objects.count()
    _run_writers(8, 2000, tmp_path)
    _assert_gapless_and_verified(16_000, before)
    _assert_each_append_once(8, 2000)


def test_appends_outside_and_inside_transactions_at_once_leave_no_row_behind(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    # Two ways in, two protocols: a statement of its own that leaves its row to a sequencer it sees at
    # work, and a transaction that tries after its commit. Mixed, every row still enters the log once.
    before = AuditEntry.objects.count()
    _run_writers(8, 1000, tmp_path, alone=4)
    _assert_gapless_and_verified(8_000, before)
    _assert_each_append_once(8, 1000)


def test_concurrent_appends_on_sqlite_stay_gapless(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant of the concurrency test")
    before = AuditEntry.objects.count()
    _run_writers(4, 150, tmp_path)
    _assert_gapless_and_verified(600, before)
    _assert_each_append_once(4, 150)
