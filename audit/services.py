"""The one writer of the audit log.

Every mutating service calls :func:`audit_record` inside its own transaction: the action is queued as
an ``AuditPending`` row that commits with the change (no change without its entry, no entry without its
change). Right after the commit, :func:`audit_sequence` moves every queued row into the log in one
batch under the head lock: index, previous-entry hash, Merkle nodes (where an audit committer runs, the
writer asks it to, and waits until it has: :func:`audit_integrate_queued`). That is group commit, the
way Trillian and Tessera integrate queued leaves: concurrent writers never wait on each other's fsync,
and one sequencer transaction integrates the whole queue. An action recorded outside any transaction (a
read, a refusal) is queued on PostgreSQL by one statement that also tells whether a sequencer is at work,
so the writer tries only when none is (audit/sql/audit_append.sql); where an audit committer runs, the
writer hands the action to it instead, and one statement writes many writers' actions into the log
(audit/handoff.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.handoff import hand_off, hand_queue
from audit.jcs import canonical_json
from audit.sequencing import append_postgres, sequence_postgres, sequence_sqlite, split_hashes
from governance.core.logs import current_request_id

GENESIS_PREV = "0" * 64


@dataclass(frozen=True)
class Target:
    type: str
    id: str

    @classmethod
    def of(cls, type_: str, id_: object) -> Target:
        return cls(type_, str(id_))


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and a ``Z``: one spelling, so the bytes are reproducible
    (``%Y-%m-%dT%H:%M:%S.%fZ``; ``isoformat`` writes it in a fifth of ``strftime``'s time)."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def audit_fields(
    *,
    actor: Actor,
    action: AuditAction,
    target: Target,
    data: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The fields of one audit entry before it has an index: what ``audit_record`` queues.

    ``data`` must hold no raw personal data: pseudonymous ids or keyed hashes only (the log is never
    rewritten, so an erasure must never need to touch it).
    """
    if not isinstance(action, AuditAction):
        raise TypeError(f"action must be an AuditAction, not {action!r}")
    return {
        "timestamp": format_timestamp(now or timezone.now()),
        "actor": actor.as_dict(),
        "action": action.value,
        "target": {"type": target.type, "id": target.id},
        "data": dict(data or {}),
        "request_id": current_request_id(),
    }


def audit_record(
    *,
    actor: Actor,
    action: AuditAction,
    target: Target,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Record one action in the caller's transaction; it enters the log when that transaction commits.

    ``data`` must hold no raw personal data (see ``audit_fields``).
    """
    now = timezone.now()
    fields = audit_fields(actor=actor, action=action, target=target, data=data, now=now)
    # Serialise now: a value that is not canonical-JSON-able fails the caller's transaction, not the
    # sequencer's.
    text = canonical_json(fields).decode("utf-8")
    database = connections[DEFAULT_DB_ALIAS]  # looked up once: each ``connection.x`` looks it up again
    if database.vendor == "postgresql" and not database.in_atomic_block and database.get_autocommit():
        # An action outside any transaction (a read, a refusal): handed to the audit committer, which
        # commits it with others' (audit/handoff.py), or else its own statement, one round trip.
        if hand_off(now, text):
            return
        if append_postgres([now], [text]):
            transaction.on_commit(audit_sequence, robust=True)  # no transaction: runs now
        return
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_auditpending (created_at, fields) VALUES (%s, %s)", [now, text])
        integrate_after_commit()


def integrate_after_commit() -> None:
    """Have the queue integrated once the caller's transaction, which queued actions, commits (once
    per transaction, however many it queued)."""
    if not any(entry[1] is audit_integrate_queued for entry in connection.run_on_commit):
        transaction.on_commit(audit_integrate_queued, robust=True)


def audit_integrate_queued() -> None:
    """After a commit that queued actions: where an audit committer runs, it integrates them, and its
    answer says they are in the log (audit.handoff.hand_queue); otherwise, or when it cannot, this
    session sequences (``audit_sequence``). Inside a transaction (a test's) the committer, another
    session, would not see the rows, so this session sequences."""
    database = connections[DEFAULT_DB_ALIAS]
    if database.vendor == "postgresql" and not database.in_atomic_block and hand_queue():
        return
    audit_sequence()


def audit_sequence(*, max_batches: int = 100) -> int:
    """Integrate queued actions into the log, in batches; returns how many entries were appended.

    1. Try to lock the sequencer without waiting; if another session holds it, return at once: that
       session integrates our row (step 3 guarantees it). On PostgreSQL this try is the one round trip
       a writer in a transaction spends after its commit when another is sequencing (a writer outside
       one spends none: its statement saw the lock held). The try also fails while an ``audit_append``
       statement is looking at the lock; that appender, told no sequencer is at work, tries after its
       own commit, which comes after ours.
    2. Holding it: take the queue in id order, build each entry (RFC 8785 canonical JSON) with the next
       index and the previous entry's SHA-256, add the perfect subtrees it completes (RFC 9162
       §2.1.1), then in one transaction write the entries and nodes, move the head and delete the
       integrated queue rows; on PostgreSQL the same round trip reads the next batch, and the
       sequencer goes on while there is one.
    3. After releasing the lock, look at the queue again and go round while it has rows. A writer that
       failed to get the lock had committed its row before trying, hence before we released, so we
       see it here: no row is left behind. An appender outside a transaction that saw the lock held
       may not have committed yet; the release waits for it (audit_sequencer_release) before looking.
       (Should a loop be cut at ``max_batches``, the next writer's commit or the periodic checkpoint
       task integrates what is left.)
    Writers never wait for one another, so under load one transaction integrates many actions.
    """
    if connection.vendor == "postgresql":
        return sequence_postgres(max_batches)
    return sequence_sqlite(max_batches)


__all__ = [
    "GENESIS_PREV",
    "Target",
    "audit_fields",
    "audit_integrate_queued",
    "audit_record",
    "audit_sequence",
    "format_timestamp",
    "integrate_after_commit",
    "split_hashes",
]
