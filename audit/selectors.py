"""Reads of the audit log: entries, tree nodes and proofs. Nothing here writes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from audit.actions import AuditAction
from audit.checkpoint import NoteError, verify_checkpoint
from audit.keys import published_verifiers
from audit.merkle import (
    NodeId,
    ProofError,
    consistency_proof,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    leaf_hash,
    verify_inclusion,
)
from audit.models import AuditEntry, AuditHead, AuditNode
from audit.store import CheckpointStore
from governance.core.errors import ValidationFailed


def tree_size() -> int:
    return int(AuditHead.objects.values_list("size", flat=True).get(pk=1))


def head_get() -> AuditHead:
    return AuditHead.objects.get(pk=1)


def nodes_get(ids: Sequence[NodeId]) -> dict[NodeId, bytes]:
    """Fetch perfect-subtree hashes in one query."""
    keys = {AuditNode.key_for(level, index): (level, index) for level, index in ids}
    rows = AuditNode.objects.filter(key__in=list(keys)).values_list("key", "hash")
    found = {keys[key]: bytes(digest) for key, digest in rows}
    missing = set(keys.values()) - set(found)
    if missing:
        raise LookupError(f"audit tree nodes missing: {sorted(missing)[:5]}")
    return found


def leaf_hashes_between(start: int, end: int) -> bytes:
    """The level-0 node hashes for indices [start, end), in order, as one bytes string."""
    rows = (
        AuditNode.objects.filter(key__gte=AuditNode.key_for(0, start), key__lt=AuditNode.key_for(0, end))
        .order_by("key")
        .values_list("hash", flat=True)
    )
    return b"".join(bytes(digest) for digest in rows.iterator(chunk_size=10_000))


def _check_size(size: int, name: str) -> int:
    current = tree_size()
    if size > current:
        raise ValidationFailed(f"{name}={size} is larger than the tree ({current} entries)")
    return size


def inclusion_proof_get(*, index: int, size: int) -> list[bytes]:
    _check_size(size, "tree_size")
    if not 0 <= index < size:
        raise ValidationFailed(
            f"index must satisfy 0 <= index < tree_size; got index={index}, tree_size={size}"
        )
    return inclusion_proof(index, size, nodes_get(inclusion_proof_nodes(index, size)))


def consistency_proof_get(*, first: int, second: int) -> list[bytes]:
    _check_size(second, "second")
    if not 0 < first <= second:
        raise ValidationFailed(f"need 0 < first <= second; got first={first}, second={second}")
    return consistency_proof(first, second, nodes_get(consistency_proof_nodes(first, second)))


# One keyword per filter of the audit log API (GET /api/v1/audit/entries).
def entry_list(  # noqa: PLR0913
    *,
    start: int = 0,
    end: int | None = None,
    actor_type: str | None = None,
    actor_id: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.filter(index__gte=start).order_by("index")
    if end is not None:
        entries = entries.filter(index__lt=end)
    filters: dict[str, Any] = {
        "actor_type": actor_type,
        "actor_id": actor_id,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "timestamp__gte": since,
        "timestamp__lt": until,
    }
    return entries.filter(**{key: value for key, value in filters.items() if value is not None})


def entry_as_dict(entry: AuditEntry) -> dict[str, Any]:
    """The decoded fields plus ``leaf``: the exact bytes hashed into the tree, base64."""
    raw = entry.entry.encode("utf-8")
    decoded = json.loads(raw)
    return {"index": entry.index, "leaf": base64.b64encode(raw).decode("ascii"), **decoded}


def entry_bytes_iter(*, start: int = 0, end: int | None = None, chunk_size: int = 5_000) -> Iterator[bytes]:
    """The exact bytes of entries [start, end), in index order, streamed."""
    rows = entry_list(start=start, end=end).values_list("entry", flat=True)
    for text in rows.iterator(chunk_size=chunk_size):
        yield text.encode("utf-8")


# Refusals: every action whose code says a request or a file was refused (release, signature, job,
# artifact, risk level, MLflow call). Exports: bundles of the log and lineage reports taken away.
REFUSAL_ACTIONS: tuple[str, ...] = tuple(
    action.value for action in AuditAction if action.value.endswith("refuse")
)
EXPORT_ACTIONS: tuple[str, ...] = (
    AuditAction.AUDIT_EXPORT.value,
    AuditAction.LINEAGE_REPORT_EXPORT.value,
    AuditAction.TECHNICAL_DOCUMENTATION_EXPORT.value,
)


def entry_latest(*, actions: Sequence[str], limit: int = 10) -> list[AuditEntry]:
    """The newest entries with one of ``actions``, newest first."""
    return list(AuditEntry.objects.filter(action__in=list(actions)).order_by("-index")[:limit])


@dataclass(frozen=True)
class CheckpointStatus:
    """The latest signed checkpoint and whether it holds: its signature verifies with the published
    keys, and the newest entry it covers is included under its root (RFC 9162 §2.1.3) by the tree in the
    database; ``problem`` says why not."""

    size: int
    tree_size: int
    verified: bool
    problem: str = ""


def checkpoint_latest_status(store: CheckpointStore | None = None) -> CheckpointStatus | None:
    """None before the first checkpoint is signed. Reads only: O(log n) tree nodes, one entry."""
    store = store or CheckpointStore()
    latest = store.latest()
    if latest is None:
        return None
    size = tree_size()
    try:
        checkpoint = verify_checkpoint(
            latest.note, published_verifiers(store), origin=settings.AUDIT_LOG_ORIGIN
        )
    except NoteError as exc:
        return CheckpointStatus(latest.size, size, False, f"its signature does not verify: {exc}")
    if checkpoint.size == 0:
        return CheckpointStatus(0, size, True)
    last = AuditEntry.objects.filter(index=checkpoint.size - 1).first()
    if last is None:
        return CheckpointStatus(checkpoint.size, size, False, f"entry {checkpoint.size - 1} is missing")
    try:
        proof = inclusion_proof_get(index=last.index, size=checkpoint.size)
        verify_inclusion(
            leaf_hash(last.entry.encode("utf-8")), last.index, checkpoint.size, proof, checkpoint.root
        )
    except (ProofError, LookupError, ValueError) as exc:
        return CheckpointStatus(checkpoint.size, size, False, f"the database's tree does not match it: {exc}")
    return CheckpointStatus(checkpoint.size, size, True)
