"""The one writer of the audit log.

Every mutating service calls :func:`audit_record` inside its own transaction: the action is queued as
an ``AuditPending`` row that commits with the change (no change without its entry, no entry without its
change). Right after the commit, :func:`audit_sequence` moves every queued row into the log in one
batch under the head lock: index, previous-entry hash, Merkle nodes. That is group commit, the way
Trillian and Tessera integrate queued leaves: concurrent writers never wait on each other's fsync,
and one sequencer transaction integrates the whole queue.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.jcs import canonical_json
from audit.merkle import HASH_SIZE, CompactRange, leaf_hash
from audit.models import AuditEntry, AuditHead, AuditNode, AuditPending
from governance.logs import current_request_id

GENESIS_PREV = "0" * 64
SEQUENCE_BATCH = 2_000


@dataclass(frozen=True)
class Target:
    type: str
    id: str

    @classmethod
    def of(cls, type_: str, id_: object) -> Target:
        return cls(type_, str(id_))


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``: one spelling, so the bytes are reproducible."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def split_hashes(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]


def audit_record(
    *,
    actor: Actor,
    action: AuditAction,
    target: Target,
    data: Mapping[str, Any] | None = None,
) -> AuditPending:
    """Record one action in the caller's transaction; it enters the log when that transaction commits.

    ``data`` must hold no raw personal data: pseudonymous ids or keyed hashes only (the log is never
    rewritten, so an erasure must never need to touch it).
    """
    if not isinstance(action, AuditAction):
        raise TypeError(f"action must be an AuditAction, not {action!r}")
    now = timezone.now()
    fields = {
        "timestamp": format_timestamp(now),
        "actor": actor.as_dict(),
        "action": action.value,
        "target": {"type": target.type, "id": target.id},
        "data": dict(data or {}),
        "request_id": current_request_id(),
    }
    # Serialise now: a value that is not canonical-JSON-able fails the caller's transaction, not the
    # sequencer's.
    pending = AuditPending(created_at=now, fields=canonical_json(fields).decode("utf-8"))
    with transaction.atomic(savepoint=False):
        pending.save()
        transaction.on_commit(audit_sequence, robust=True)
    return pending


def audit_sequence(*, max_batches: int = 100) -> int:
    """Integrate queued actions into the log, in batches; returns how many entries were appended.

    1. Try to lock the head row (the single sequencer) without waiting; if another process holds it,
       return at once: that process integrates our row (step 3 guarantees it).
    2. Holding it: take the queue in id order, build each entry (RFC 8785 canonical JSON) with the next
       index and the previous entry's SHA-256, add the perfect subtrees it completes (RFC 9162
       §2.1.1), delete the integrated queue rows and move the head; commit once for the whole batch.
    3. After releasing the lock, look at the queue again and go round while it has rows. A writer that
       failed to get the lock had committed its row before trying, hence before we released, so we
       see it here: no row is left behind. (Should a loop be cut at ``max_batches``, the periodic
       checkpoint task integrates what is left within seconds.)
    Writers never wait for one another, so under load one transaction integrates many actions.
    """
    appended = 0
    for _ in range(max_batches):
        with transaction.atomic():
            head = AuditHead.objects.select_for_update(skip_locked=True).filter(pk=1).first()
            if head is None:
                return appended
            batch = list(AuditPending.objects.order_by("id")[:SEQUENCE_BATCH])
            if batch:
                _integrate(head, batch)
        appended += len(batch)
        if not AuditPending.objects.exists():
            break
    return appended


def _integrate(head: AuditHead, batch: list[AuditPending]) -> None:
    tree = CompactRange(head.size, split_hashes(bytes(head.compact_range)))
    prev = head.last_hash
    entries: list[AuditEntry] = []
    nodes: list[AuditNode] = []
    for offset, pending in enumerate(batch):
        index = head.size + offset
        fields = json.loads(pending.fields)
        body = {"v": 1, "index": index, "prev": prev, **fields}
        raw = canonical_json(body)
        prev = hashlib.sha256(raw).hexdigest()
        nodes.extend(
            AuditNode(key=AuditNode.key_for(level, node_index), hash=digest)
            for (level, node_index), digest in tree.append(leaf_hash(raw))
        )
        entries.append(
            AuditEntry(
                index=index,
                timestamp=pending.created_at,
                actor_type=fields["actor"]["type"],
                actor_id=fields["actor"]["id"][:64],
                action=fields["action"],
                target_type=fields["target"]["type"][:64],
                target_id=fields["target"]["id"][:200],
                request_id=fields["request_id"] or "",
                entry=raw.decode("utf-8"),
            )
        )
    AuditEntry.objects.bulk_create(entries, batch_size=1_000)
    AuditNode.objects.bulk_create(nodes, batch_size=2_000)
    AuditPending.objects.filter(id__in=[pending.id for pending in batch]).delete()
    AuditHead.objects.filter(pk=1).update(
        size=head.size + len(batch),
        last_hash=prev,
        compact_range=b"".join(tree.hashes),
        updated_at=timezone.now(),
    )
