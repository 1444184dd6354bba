"""Many writer processes appending at once (tests.audit.append_worker), and what the log must be after:
gapless, verified, each append exactly once, nothing left queued."""

from __future__ import annotations

import sys
from pathlib import Path

from audit.checkpoints import checkpoint_create, log_verify
from audit.models import AuditEntry, AuditPending
from audit.store import CheckpointStore
from tests.support import run_together


def run_writers(
    processes: int, each: int, tmp_path: Path, alone: int = 0, env: dict[str, str] | None = None
) -> None:
    """``processes`` writers at once; the first ``alone`` of them append outside any transaction."""
    run_together(
        [
            [sys.executable, "-m", "tests.audit.append_worker", str(each), f"writer-{n}"]
            + (["alone"] if n < alone else [])
            for n in range(processes)
        ],
        tmp_path,
        env=env,
    )


def assert_gapless_and_verified(expected_new: int, before: int) -> None:
    indexes = list(AuditEntry.objects.order_by("index").values_list("index", flat=True))
    assert len(indexes) == before + expected_new
    assert indexes == list(range(len(indexes)))
    store = CheckpointStore()
    checkpoint_create(store=store)
    result = log_verify(store=store)
    assert result.ok, result.reason
    assert result.verified_tree_size == len(indexes)


def assert_each_append_once(processes: int, each: int) -> None:
    appended = list(
        AuditEntry.objects.filter(actor_id__startswith="writer-").values_list("actor_id", "target_id")
    )
    expected = {(f"writer-{n}", str(number)) for n in range(processes) for number in range(each)}
    assert len(appended) == len(expected)
    assert set(appended) == expected
    assert not AuditPending.objects.exists()
