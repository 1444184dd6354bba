"""The one writer of the audit log.

Every mutating service calls :func:`audit_record` inside its own transaction, so a change and its entry
commit together or not at all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.jcs import canonical_json
from audit.merkle import HASH_SIZE, CompactRange, leaf_hash
from audit.models import AuditEntry, AuditHead, AuditNode
from governance.logs import current_request_id

GENESIS_PREV = "0" * 64


@dataclass(frozen=True)
class Target:
    type: str
    id: str

    @classmethod
    def of(cls, type_: str, id_: object) -> Target:
        return cls(type_, str(id_))


def format_timestamp(moment: Any) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``: one spelling, so the bytes are reproducible."""
    return str(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def split_hashes(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]


def audit_record(
    *,
    actor: Actor,
    action: AuditAction,
    target: Target,
    data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry, in the caller's transaction.

    1. Lock the head row: this is the sequencer, so indexes are gapless and ordered across processes.
    2. Build the entry (RFC 8785 canonical JSON) with the next index and the previous entry's SHA-256.
    3. Insert the entry and the perfect subtrees it completes (RFC 9162 §2.1.1), O(log n) rows.
    4. Move the head. The lock is held until the caller commits, so call this last in a service.
    """
    if not isinstance(action, AuditAction):
        raise TypeError(f"action must be an AuditAction, not {action!r}")
    with transaction.atomic(savepoint=False):
        head = AuditHead.objects.select_for_update().get(pk=1)
        now = timezone.now()
        request_id = current_request_id()
        body = {
            "v": 1,
            "index": head.size,
            "timestamp": format_timestamp(now),
            "actor": actor.as_dict(),
            "action": action.value,
            "target": {"type": target.type, "id": target.id},
            "data": dict(data or {}),
            "request_id": request_id,
            "prev": head.last_hash,
        }
        raw = canonical_json(body)
        tree = CompactRange(head.size, split_hashes(bytes(head.compact_range)))
        new_nodes = tree.append(leaf_hash(raw))
        entry = AuditEntry(
            index=head.size,
            timestamp=now,
            actor_type=actor.type,
            actor_id=actor.id[:64],
            action=action.value,
            target_type=target.type,
            target_id=target.id[:200],
            request_id=request_id or "",
            entry=raw.decode("utf-8"),
        )
        AuditEntry.objects.bulk_create([entry])
        AuditNode.objects.bulk_create(
            [
                AuditNode(key=AuditNode.key_for(level, index), hash=digest)
                for (level, index), digest in new_nodes
            ]
        )
        AuditHead.objects.filter(pk=1).update(
            size=head.size + 1,
            last_hash=hashlib.sha256(raw).hexdigest(),
            compact_range=b"".join(tree.hashes),
            updated_at=now,
        )
    return entry
