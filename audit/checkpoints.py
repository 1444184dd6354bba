"""Signing checkpoints and verifying the live log against them."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, transaction

from audit import selectors
from audit.actions import AuditAction
from audit.actors import Actor
from audit.checkpoint import Checkpoint, Verifier, sign_checkpoint, verifier_key, verify_checkpoint
from audit.keys import load_signer, publish_signer_key, published_verifiers
from audit.merkle import CompactRange, ProofError, leaf_hash, range_nodes, verify_consistency
from audit.services import Target, audit_record, audit_sequence, split_hashes
from audit.store import CheckpointStore, StoredCheckpoint
from audit.verify import VerifyResult, verify_log

logger = logging.getLogger(__name__)


class CheckpointRefused(Exception):
    """The database no longer extends the last signed checkpoint: someone changed the past."""


@contextmanager
def _checkpointer_lock(store: CheckpointStore) -> Iterator[None]:
    # One checkpointer at a time across processes on the shared store (beat and an on-demand export).
    store.ensure()
    with (store.root / ".checkpointer.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def checkpoint_covering(index: int) -> StoredCheckpoint:
    """The first signed checkpoint whose tree holds entry ``index`` (and so every entry before it),
    signing one only when none does: an exported report or document names the same checkpoint however
    often it is exported, and a reader proves its entries against it (``python -m audit.verify``)."""
    store = CheckpointStore()
    for size in store.checkpoint_sizes():
        if size > max(index, 0):
            return store.read_checkpoint(size)
    return checkpoint_create(store=store)


def checkpoint_create(*, store: CheckpointStore | None = None) -> StoredCheckpoint:
    """Sign a checkpoint of the current tree, after proving it extends the previous one.

    1. Read the head (size, compact range) and its root.
    2. Check RFC 9162 §2.1.4 consistency with the latest checkpoint in the store (outside the database).
    3. Recompute the new leaves' hashes from the entry bytes and fold them onto the old compact range:
       entries, tree nodes and head must agree on the new root.
    4. Append the new leaf hashes to the store's record, then write the signed note.
    """
    store = store or CheckpointStore()
    signer = load_signer()
    rotated = publish_signer_key(signer, store)
    verifiers = [*published_verifiers(store), Verifier.parse(verifier_key(signer.name, signer.public_key))]
    audit_sequence()  # integrate anything a crashed writer left queued
    with _checkpointer_lock(store):
        head = selectors.head_get()
        size = int(head.size)
        root = CompactRange(size, split_hashes(bytes(head.compact_range))).root()
        latest = store.latest()
        if latest is not None and latest.size == size and not rotated:
            return latest
        previous = verify_checkpoint(latest.note, verifiers) if latest is not None else None
        start = previous.size if previous is not None else 0
        if previous is not None and start > 0:
            try:
                proof = selectors.consistency_proof_get(first=start, second=size)
                verify_consistency(start, size, previous.root, root, proof)
            except (ProofError, LookupError, ValueError) as exc:
                raise CheckpointRefused(
                    f"tree of size {size} does not extend checkpoint {start}: {exc}"
                ) from exc
        prefix_ids = range_nodes(0, start)
        prefix = selectors.nodes_get(prefix_ids) if prefix_ids else {}
        tree = CompactRange(start, [prefix[node] for node in prefix_ids])
        new_leaves = []
        for raw in selectors.entry_bytes_iter(start=start, end=size):
            digest = leaf_hash(raw)
            new_leaves.append(digest)
            tree.append(digest)
        if tree.size != size or tree.root() != root:
            raise CheckpointRefused(f"entries [{start}, {size}) do not hash to the head's root")
        store.append_leaf_hashes(start, b"".join(new_leaves))
        note = sign_checkpoint(Checkpoint(settings.AUDIT_LOG_ORIGIN, size, root), [signer])
        store.write_checkpoint(size, note)
    if rotated and latest is not None:
        audit_record(
            actor=Actor.system("audit.checkpoint"),
            action=AuditAction.AUDIT_KEY_ROTATE,
            target=Target.of("signing_key", verifier_key(signer.name, signer.public_key).split("+")[1]),
        )
    return StoredCheckpoint(size, note)


def log_verify(*, store: CheckpointStore | None = None) -> VerifyResult:
    """Verify the live database against the store's checkpoints and leaf-hash record (read only)."""
    store = store or CheckpointStore()
    return verify_log(
        selectors.entry_bytes_iter(),
        checkpoints=[stored.note for stored in store.checkpoints()],
        verifiers=published_verifiers(store),
        leaf_hashes=store.leaf_hashes(),
        origin=settings.AUDIT_LOG_ORIGIN,
    )


def log_verify_and_alert(*, store: CheckpointStore | None = None) -> VerifyResult:
    """The periodic check: on failure an ERROR log line and an audit entry raise the alert."""
    result = log_verify(store=store)
    if not result.ok:
        logger.error(
            "audit log verification failed",
            extra={"first_bad_index": result.first_bad_index, "reason": result.reason},
        )
        try:
            # A savepoint inside a caller's transaction: should the tampered log refuse the entry, the
            # caller's transaction stays usable.
            with transaction.atomic():
                audit_record(
                    actor=Actor.system("audit.verify"),
                    action=AuditAction.AUDIT_VERIFY_FAILED,
                    target=Target.of("audit_log", settings.AUDIT_LOG_ORIGIN),
                    data={"first_bad_index": result.first_bad_index, "reason": result.reason[:500]},
                )
        except DatabaseError:
            # A tampered log may refuse even the alert (e.g. a forged row holds the next index);
            # the ERROR line above still raises it.
            logger.exception("could not record the verification failure in the audit log")
    return result
