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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.jcs import canonical_json
from audit.merkle import HASH_SIZE, CompactRange, leaf_hash
from audit.models import AuditNode
from governance.core.logs import current_request_id

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
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_auditpending (created_at, fields) VALUES (%s, %s)", [now, text])
        transaction.on_commit(audit_sequence, robust=True)


def audit_sequence(*, max_batches: int = 100) -> int:
    """Integrate queued actions into the log, in batches; returns how many entries were appended.

    1. Try to lock the sequencer without waiting; if another process holds it, return at once: that
       process integrates our row (step 3 guarantees it).
    2. Holding it: take the queue in id order, build each entry (RFC 8785 canonical JSON) with the next
       index and the previous entry's SHA-256, add the perfect subtrees it completes (RFC 9162
       §2.1.1), then in one transaction write the entries and nodes, move the head and delete the
       integrated queue rows.
    3. After releasing the lock, look at the queue again and go round while it has rows. A writer that
       failed to get the lock had committed its row before trying, hence before we released, so we
       see it here: no row is left behind. (Should a loop be cut at ``max_batches``, the periodic
       checkpoint task integrates what is left within seconds.)
    Writers never wait for one another, so under load one transaction integrates many actions.
    """
    appended = 0
    for _ in range(max_batches):
        with _sequencer_lock() as lock:
            if not lock.held:
                return appended
            if connection.vendor == "postgresql":
                # Inside a caller's transaction, a savepoint: a failure leaves that transaction usable,
                # so the lock can still be released.
                with transaction.atomic() if connection.in_atomic_block else nullcontext():
                    batch = _sequence_postgres()
            else:
                with transaction.atomic(), connection.cursor() as cursor:
                    # Raw SQL on this hot path: the ORM's query compilation cost more CPU than the database.
                    (size, last_hash, compact_range), batch = _take_batch(cursor)
                    if batch:
                        _write_batch(cursor, _built(int(size), str(last_hash), bytes(compact_range), batch))
        appended += len(batch)
        if not lock.queue_left:
            break
    return appended


# PostgreSQL: the sequencer lock (held) keeps every other sequencer out, so reading the head and the
# queue needs no transaction, and ``audit_integrate`` (migration 0006) writes the batch as one
# statement, its own transaction, refusing it if the head moved or a queued row is gone meanwhile.
# Four round trips a batch: lock, read, integrate, release.
_PEEK_PG = (
    "SELECT size, last_hash, compact_range, NULL::bigint, NULL::timestamptz, NULL::text"
    " FROM audit_audithead WHERE id = 1"
    " UNION ALL (SELECT NULL, NULL, NULL, id, created_at, fields FROM audit_auditpending"
    " ORDER BY id LIMIT %s)"
)
# The batch travels as one JSON document: a constant statement text (planned once), and the standard
# library's encoder is far cheaper than adapting a dozen arrays parameter by parameter.
_INTEGRATE_PG = "SELECT audit_integrate(%s::jsonb)"


def _sequence_postgres() -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(_PEEK_PG, [SEQUENCE_BATCH])
        rows = cursor.fetchall()
        size, last_hash, compact_range = next(row[:3] for row in rows if row[3] is None)
        batch = sorted((row[3:] for row in rows if row[3] is not None), key=lambda row: row[0])
        if batch:
            built = _built(int(size), str(last_hash), bytes(compact_range), batch)
            size_after, last_hash_after, compact_after, updated_at = built.head
            document = {
                "old_size": int(size),
                "size": size_after,
                "last_hash": last_hash_after,
                "compact_range": compact_after.hex(),
                "updated_at": updated_at.isoformat(),
                "entries": [[row[0], row[1].isoformat(), *row[2:]] for row in built.entries],
                "nodes": [[key, digest.hex()] for key, digest in built.nodes],
                "pending": [row[0] for row in batch],
            }
            cursor.execute(_INTEGRATE_PG, [json.dumps(document)])
    return batch


# SQLite (its IMMEDIATE transaction serialises every writer): read the head, then take and remove the
# oldest queued rows in one statement (RETURNING, SQLite 3.35+).
_HEAD_QUERY = "SELECT size, last_hash, compact_range FROM audit_audithead WHERE id = 1"
_TAKE_QUEUE = (
    "DELETE FROM audit_auditpending WHERE id IN (SELECT id FROM audit_auditpending ORDER BY id LIMIT %s)"
    " RETURNING id, created_at, fields"
)


def _take_batch(cursor: Any) -> tuple[tuple[Any, Any, Any], list[tuple[Any, ...]]]:
    """The head (size, last hash, compact range) and the queued rows taken off the queue, by id."""
    cursor.execute(_HEAD_QUERY + _lock_clause())
    head = cursor.fetchone()
    cursor.execute(_TAKE_QUEUE, [SEQUENCE_BATCH])
    return head, sorted(cursor.fetchall(), key=lambda row: row[0])


# Any fixed 64-bit number naming "the audit sequencer" among the database's advisory locks.
_SEQUENCER_LOCK_KEY = 0x61756469745F7371


def _lock_clause() -> str:
    return " FOR UPDATE" if connection.features.has_select_for_update else ""


class _SequencerLock:
    held = False
    queue_left = False


@contextmanager
def _sequencer_lock() -> Iterator[_SequencerLock]:
    """Try to become the sequencer without waiting: a busy sequencer means someone else integrates.

    PostgreSQL: a session advisory lock, one round trip whether or not it is free; releasing it and
    then looking at the queue is one more (``audit_sequencer_release``, migration 0005). SQLite has no
    such locks; its IMMEDIATE transactions already serialise every writer, so the caller goes ahead.
    On leaving, ``queue_left`` says whether rows wait in the queue, read after the release.
    """
    lock = _SequencerLock()
    postgres = connection.vendor == "postgresql"
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_SEQUENCER_LOCK_KEY])
            lock.held = bool(cursor.fetchone()[0])
    else:
        lock.held = True
    try:
        yield lock
    finally:
        if lock.held:
            with connection.cursor() as cursor:
                if postgres:
                    cursor.execute("SELECT audit_sequencer_release(%s)", [_SEQUENCER_LOCK_KEY])
                else:
                    cursor.execute("SELECT EXISTS (SELECT 1 FROM audit_auditpending)")
                lock.queue_left = bool(cursor.fetchone()[0])


@dataclass(frozen=True)
class _Batch:
    entries: list[tuple[Any, ...]]  # the audit_auditentry columns, in _ENTRY_COLUMNS order
    nodes: list[tuple[int, bytes]]  # (key, hash) of the perfect subtrees completed
    head: tuple[int, str, bytes, datetime]  # size, last hash, compact range, updated at


def _built(size: int, prev: str, compact_range: bytes, batch: list[tuple[Any, ...]]) -> _Batch:
    """The entries for queued rows ``(id, created_at, fields)`` appended after a log of ``size`` entries."""
    tree = CompactRange(size, split_hashes(compact_range))
    entries: list[tuple[Any, ...]] = []
    nodes: list[tuple[int, bytes]] = []
    for offset, (_pending_id, created_at, fields_text) in enumerate(batch):
        index = size + offset
        fields = json.loads(fields_text)
        raw = canonical_json({"v": 1, "index": index, "prev": prev, **fields})
        prev = hashlib.sha256(raw).hexdigest()
        for (level, node_index), digest in tree.append(leaf_hash(raw)):
            nodes.append((AuditNode.key_for(level, node_index), digest))
        entries.append(
            (
                index,
                created_at,
                fields["actor"]["type"],
                fields["actor"]["id"][:64],
                fields["action"],
                fields["target"]["type"][:64],
                fields["target"]["id"][:700],
                fields["request_id"] or "",
                raw.decode("utf-8"),
            )
        )
    return _Batch(entries, nodes, (size + len(batch), prev, b"".join(tree.hashes), timezone.now()))


def _write_batch(cursor: Any, built: _Batch) -> None:
    # Three statements, not one data-modifying WITH: batch sizes vary under load, and a statement whose
    # text changes with two sizes at once is parsed and planned anew far more often.
    _insert_rows(cursor, _ENTRY_TABLE, _ENTRY_COLUMNS, 9, [value for row in built.entries for value in row])
    _insert_rows(cursor, "audit_auditnode", "key, hash", 2, [value for node in built.nodes for value in node])
    cursor.execute(_HEAD_UPDATE, list(built.head))


_ENTRY_TABLE = "audit_auditentry"
_ENTRY_COLUMNS = '"index", timestamp, actor_type, actor_id, action, target_type, target_id, request_id, entry'
_HEAD_UPDATE = (
    "UPDATE audit_audithead SET size = %s, last_hash = %s, compact_range = %s, updated_at = %s WHERE id = 1"
)


def _values_insert(table: str, columns: str, width: int, values: int) -> str:
    rows = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * (values // width))
    return f"INSERT INTO {table} ({columns}) VALUES {rows}"  # noqa: S608 (fixed names; values bound)


def _insert_rows(cursor: Any, table: str, columns: str, width: int, values: list[Any]) -> None:
    """Multi-row INSERT in chunks that stay under SQLite's 32,766 bound-parameter limit."""
    step = width * 3_000
    for start in range(0, len(values), step):
        chunk = values[start : start + step]
        cursor.execute(_values_insert(table, columns, width, len(chunk)), chunk)
