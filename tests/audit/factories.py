"""Build a real audit log in the test database, with checkpoints in the test's store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.conf import settings

from audit import selectors
from audit.actions import AuditAction
from audit.actors import Actor
from audit.checkpoints import checkpoint_create
from audit.keys import load_signer
from audit.services import Target, audit_record
from audit.store import CheckpointStore
from audit.verify import write_bundle
from tests.support import ROOT


def append_entries(count: int, *, action: AuditAction = AuditAction.USER_CREATE) -> None:
    for number in range(count):
        audit_record(
            actor=Actor.system("tests"),
            action=action,
            target=Target.of("user", 1000 + number),
            data={"n": number},
        )


def build_log(sizes: tuple[int, ...] = (10, 20, 30)) -> CheckpointStore:
    """Entries with a signed checkpoint at each of ``sizes`` (cumulative tree sizes)."""
    store = CheckpointStore()
    for size in sizes:
        append_entries(size - selectors.tree_size())
        checkpoint_create(store=store)
    return store


def trusted_vkey() -> str:
    return str(load_signer().verifier_key)  # type: ignore[attr-defined]


def bundle_from_database(path: Path, store: CheckpointStore) -> Path:
    """What an export of the (possibly tampered) database looks like, without signing anything new."""
    write_bundle(
        path,
        origin=settings.AUDIT_LOG_ORIGIN,
        kind="full",
        entries=selectors.entry_bytes_iter(),
        checkpoints=[stored.note for stored in store.checkpoints()],
        keys=store.key_lines(),
        leaf_hashes=store.leaf_hashes(),
    )
    return path


def offline_verify(bundle: Path, vkey: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "audit.verify", str(bundle), "--key", vkey],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
