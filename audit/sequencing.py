"""The sequencer: turns queued actions into log entries (used by :func:`audit.services.audit_sequence`).

Per batch: each queued row's entry (RFC 8785 canonical JSON with the next index and the previous
entry's SHA-256), the perfect subtrees it completes (RFC 9162 §2.1.1), then one write of entries, nodes
and head that also removes the integrated queue rows. On PostgreSQL a writer that finds another
sequencing spends one round trip (the try); the sequencer spends one per batch (``audit_integrate_handed``
writes one batch and reads the next) plus the try, one read of head and queue, and the release. The
per-entry work is C (the standard library's JSON codec and SHA-256, PostgreSQL's set-based inserts) but
for a few lines of Merkle bookkeeping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from audit.jcs import canonical_json
from audit.merkle import HASH_SIZE
from audit.models import AuditNode

SEQUENCE_BATCH = 2_000
# Any fixed 64-bit number naming "the audit sequencer" among the database's advisory locks.
SEQUENCER_LOCK_KEY = 0x61756469745F7371


def split_hashes(blob: bytes) -> list[bytes]:
    return [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)]


# --- entries ---------------------------------------------------------------------------------------
# ``canonical_json`` serialises a value with the standard library's sorted, compact encoder whenever its
# scan finds nothing that encoder would print differently from RFC 8785 (a float, an integer beyond
# ±(2**53 - 1), a non-ASCII member name, nesting past its depth limit). For queued text, those cases can
# be ruled out before parsing, in C: ASCII text without \u escapes has ASCII member names, no run of 16
# digits means no such integer, few brackets mean shallow nesting, and the parser reports any float or
# NaN/Infinity through its hooks. What passes is encoded exactly as ``canonical_json`` would; the rest
# takes ``canonical_json`` itself. tests/audit/test_sequencing.py holds the two paths to the same bytes.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
_LONG_DIGITS = re.compile(r"\d{16}")
_MAX_BRACKETS = 400  # below canonical_json's depth limit of 500, whatever the nesting


class _NotPlain(Exception):
    pass


def _not_plain(_text: str) -> Any:
    raise _NotPlain


_DECODER = json.JSONDecoder(parse_float=_not_plain, parse_constant=_not_plain)


@dataclass(frozen=True, slots=True)
class Fields:
    """A queued action's fields, parsed once: the text, its value, and whether the plain encoder writes
    its entry (``plain``) or ``canonical_json`` must."""

    text: str
    value: dict[str, Any]
    plain: bool


def parse_fields(fields_text: str) -> Fields:
    """``fields_text`` parsed (``ValueError`` when it is not JSON, ``TypeError`` when not an object)."""
    if (
        fields_text.isascii()
        and "\\u" not in fields_text
        and _LONG_DIGITS.search(fields_text) is None
        and fields_text.count("{") + fields_text.count("[") < _MAX_BRACKETS
    ):
        try:
            value = _DECODER.decode(fields_text)
        except _NotPlain:
            pass
        else:
            if type(value) is dict:
                return Fields(fields_text, value, True)
    value = json.loads(fields_text)
    if not isinstance(value, dict):
        raise TypeError(f"the fields are a JSON {type(value).__name__}, not an object")
    return Fields(fields_text, value, False)


def entry_of(index: int, prev: str, fields: Fields) -> bytes:
    """Entry ``index`` for parsed fields: the bytes hashed into the log (``canonical_json``'s errors
    when they hold what RFC 8785 cannot write)."""
    entry = {"v": 1, "index": index, "prev": prev, **fields.value}
    return _ENCODER.encode(entry).encode() if fields.plain else canonical_json(entry)


def entry_bytes(index: int, prev: str, fields_text: str) -> tuple[bytes, dict[str, Any]]:
    """Entry ``index`` for a queued row's fields (the bytes hashed into the log), and those fields."""
    fields = parse_fields(fields_text)
    return entry_of(index, prev, fields), fields.value


@dataclass(frozen=True)
class Built:
    """A batch ready to write: entries in index order, the perfect subtrees completed, the new head."""

    start: int  # index of the first entry
    entries: list[bytes]
    fields: list[dict[str, Any]]
    node_keys: list[int]  # AuditNode.key_for(level, index)
    node_hashes: list[bytes]
    last_hash: str
    compact_range: bytes


def build(size: int, prev: str, compact_range: bytes, texts: Sequence[str | Fields]) -> Built:
    """The entries for queued fields ``texts`` (text, or parsed already) appended, in order, after a log
    of ``size`` entries."""
    hashes = split_hashes(compact_range)
    entries: list[bytes] = []
    all_fields: list[dict[str, Any]] = []
    keys: list[int] = []
    digests: list[bytes] = []
    shift = AuditNode.LEVEL_SHIFT
    for index, text in enumerate(texts, start=size):
        fields = text if isinstance(text, Fields) else parse_fields(text)
        raw = entry_of(index, prev, fields)
        entries.append(raw)
        all_fields.append(fields.value)
        prev = sha256(raw).hexdigest()
        # CompactRange.append, inlined: the leaf, then each parent its trailing one bits complete.
        value = sha256(b"\x00" + raw).digest()
        keys.append(index)
        digests.append(value)
        node, level = index, 0
        while node & 1:
            value = sha256(b"\x01" + hashes.pop() + value).digest()
            node >>= 1
            level += 1
            keys.append((level << shift) | node)
            digests.append(value)
        hashes.append(value)
    return Built(size, entries, all_fields, keys, digests, prev, b"".join(hashes))


# --- PostgreSQL --------------------------------------------------------------------------------------
# The try alone, so that a writer finding another sequencing spends the least; the winner then reads
# the head and the queue in a statement of its own (a snapshot taken after the lock was).
_TRY = "SELECT pg_try_advisory_lock(%s::bigint)"
_PEEK = (
    "SELECT size, last_hash, compact_range, NULL::bigint, NULL::timestamptz, NULL::text"
    " FROM audit_audithead WHERE id = 1"
    " UNION ALL (SELECT NULL, NULL, NULL, id, created_at, fields FROM audit_auditpending"
    " ORDER BY id LIMIT %s)"
)
INTEGRATE_SQL = (
    "SELECT * FROM audit_integrate_handed(%s::bigint, %s::text, %s::bytea, %s::bigint[], %s::timestamptz[],"
    " %s::text, %s::bigint[], %s::bytea, %s::integer)"
)
_RELEASE = "SELECT audit_sequencer_release(%s::bigint)"
_APPEND = "SELECT audit_append(%s::timestamptz[], %s::text[], %s::bigint)"


def append_postgres(created_at: list[Any], fields_texts: list[str]) -> bool:
    """Queue rows, in order, as a statement of its own (the connection in autocommit): one round trip.
    True when no sequencer is at work and the caller should try; see audit/sql/audit_append.sql."""
    with connection.cursor() as cursor:
        cursor.execute(_APPEND, [created_at, fields_texts, SEQUENCER_LOCK_KEY])
        return bool(cursor.fetchone()[0])


@dataclass
class Held:
    """The sequencer lock, held by this session: the head as this session last wrote it, and the oldest
    rows queued as of its last statement."""

    size: int
    last_hash: str
    compact_range: bytes
    queue: list[tuple[Any, ...]]  # (id, created_at, fields)


def hold(cursor: Any) -> Held | None:
    """Try the sequencer lock without waiting; holding it, read the head and the queue (a snapshot taken
    after the lock was). None when another session holds it."""
    cursor.execute(_TRY, [SEQUENCER_LOCK_KEY])
    if not cursor.fetchone()[0]:
        return None
    cursor.execute(_PEEK, [SEQUENCE_BATCH])
    rows = cursor.fetchall()
    size, last_hash, compact_range = next(row[:3] for row in rows if row[3] is None)
    return Held(
        int(size), str(last_hash), bytes(compact_range), [row[3:] for row in rows if row[3] is not None]
    )


def write(cursor: Any, held: Held, handed: list[tuple[Any, Fields]]) -> int:
    """Integrate the queue rows ``held`` saw, then the actions ``handed`` straight to the sequencer
    (``(created_at, fields)``, the committer's), in one statement; ``held`` moves on. How many entries."""
    params, count = advance(held, handed, take_queue=True)
    held.queue = integrate(cursor, params)
    return count


def advance(held: Held, handed: list[tuple[Any, Fields]], *, take_queue: bool) -> tuple[list[Any], int]:
    """``INTEGRATE_SQL``'s parameters for the next batch on ``held``: the queue rows it saw (when
    ``take_queue``; then its queue is empty until the statement's answer refills it), then ``handed``.
    ``held`` moves on to the head that batch leaves. Also how many entries the batch holds."""
    queue = held.queue if take_queue else []
    texts: list[str | Fields] = [row[2] for row in queue]
    texts += [fields for _created_at, fields in handed]
    built = build(held.size, held.last_hash, held.compact_range, texts)
    params = [
        built.start,
        built.last_hash,
        built.compact_range,
        [row[0] for row in queue],
        [created_at for created_at, _fields in handed],
        b"\n".join(built.entries).decode("utf-8"),
        built.node_keys,
        b"".join(built.node_hashes),
        SEQUENCE_BATCH,
    ]
    held.size += len(texts)
    held.last_hash, held.compact_range = built.last_hash, built.compact_range
    if take_queue:
        held.queue = []
    return params, len(texts)


def release(cursor: Any) -> bool:
    """Release the sequencer lock; whether rows are queued (audit_sequencer_release.sql)."""
    cursor.execute(_RELEASE, [SEQUENCER_LOCK_KEY])
    return bool(cursor.fetchone()[0])


def sequence_postgres(max_batches: int) -> int:
    """Integrate the queue on PostgreSQL; how many entries were appended (0 if another session holds
    the lock: it integrates what we committed, see ``audit.services.audit_sequence``)."""
    appended = batches = 0
    while batches < max_batches:
        with connection.cursor() as cursor:
            held = hold(cursor)
            if held is None:
                return appended
            try:
                while held.queue and batches < max_batches:
                    appended += write(cursor, held, [])
                    batches += 1
            finally:
                queue_left = release(cursor)
        if not queue_left:
            break
    return appended


def integrate(cursor: Any, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run ``INTEGRATE_SQL`` (parameters from ``advance``); returns the oldest rows still queued
    (audit_integrate_handed.sql)."""
    # Inside a caller's transaction, a savepoint: a failure leaves that transaction usable, so the lock
    # can still be released.
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        cursor.execute(INTEGRATE_SQL, params)
        return list(cursor.fetchall())


# --- SQLite ----------------------------------------------------------------------------------------
# Its IMMEDIATE transaction serialises every writer, so no lock is needed: read the head, then take and
# remove the oldest queued rows in one statement (RETURNING, SQLite 3.35+).
_HEAD_QUERY = "SELECT size, last_hash, compact_range FROM audit_audithead WHERE id = 1"
_TAKE_QUEUE = (
    "DELETE FROM audit_auditpending WHERE id IN (SELECT id FROM audit_auditpending ORDER BY id LIMIT %s)"
    " RETURNING id, created_at, fields"
)
_QUEUE_LEFT = "SELECT EXISTS (SELECT 1 FROM audit_auditpending)"


def sequence_sqlite(max_batches: int) -> int:
    appended = 0
    for _ in range(max_batches):
        with transaction.atomic(), connection.cursor() as cursor:
            # Raw SQL on this hot path: the ORM's query compilation cost more CPU than the database.
            cursor.execute(_HEAD_QUERY)
            size, last_hash, compact_range = cursor.fetchone()
            cursor.execute(_TAKE_QUEUE, [SEQUENCE_BATCH])
            batch = sorted(cursor.fetchall(), key=lambda row: row[0])
            if batch:
                built = build(int(size), str(last_hash), bytes(compact_range), [row[2] for row in batch])
                _write_batch(cursor, built, [row[1] for row in batch])
        appended += len(batch)
        with connection.cursor() as cursor:
            cursor.execute(_QUEUE_LEFT)
            if not cursor.fetchone()[0]:
                break
    return appended


_ENTRY_COLUMNS = '"index", timestamp, actor_type, actor_id, action, target_type, target_id, request_id, entry'
_HEAD_UPDATE = (
    "UPDATE audit_audithead SET size = %s, last_hash = %s, compact_range = %s, updated_at = %s WHERE id = 1"
)


def _write_batch(cursor: Any, built: Built, created: list[Any]) -> None:
    rows: list[Any] = []
    for offset, (raw, fields) in enumerate(zip(built.entries, built.fields, strict=True)):
        rows += [
            built.start + offset,
            created[offset],
            fields["actor"]["type"],
            fields["actor"]["id"][:64],
            fields["action"],
            fields["target"]["type"][:64],
            fields["target"]["id"][:700],
            fields["request_id"] or "",
            raw.decode("utf-8"),
        ]
    # Three statements, not one data-modifying WITH: batch sizes vary under load, and a statement whose
    # text changes with two sizes at once is parsed and planned anew far more often.
    _insert_rows(cursor, "audit_auditentry", _ENTRY_COLUMNS, 9, rows)
    nodes = [value for pair in zip(built.node_keys, built.node_hashes, strict=True) for value in pair]
    _insert_rows(cursor, "audit_auditnode", "key, hash", 2, nodes)
    size = built.start + len(built.entries)
    cursor.execute(_HEAD_UPDATE, [size, built.last_hash, built.compact_range, timezone.now()])


def _values_insert(table: str, columns: str, width: int, values: int) -> str:
    rows = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * (values // width))
    return f"INSERT INTO {table} ({columns}) VALUES {rows}"  # noqa: S608 (fixed names; values bound)


def _insert_rows(cursor: Any, table: str, columns: str, width: int, values: list[Any]) -> None:
    """Multi-row INSERT in chunks that stay under SQLite's 32,766 bound-parameter limit."""
    step = width * 3_000
    for start in range(0, len(values), step):
        chunk = values[start : start + step]
        cursor.execute(_values_insert(table, columns, width, len(chunk)), chunk)
