"""Importing consent events from a consent platform's CSV export: streamed, all or nothing.

The file is read as a stream (never whole into memory) and hashed as it is read. Each line is
checked; accepted events are written in batches (COPY on PostgreSQL) inside one transaction, and
folded into the per-(subject, purpose) states in memory, which are merged into the stored states at
the end. If any line is refused, the transaction is rolled back and the caller gets a report of the
refused lines (line number and reason, never a line's values: a shifted column could hold an id).
"""

from __future__ import annotations

import csv
import operator
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Final

from django.db import connection, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.consent.eligibility import GRANT, PurposeState
from governance.consent.models import ConsentEvent, ConsentImport, ConsentNotice, LawfulBasis, Method
from governance.consent.services.ledger import (
    MAX_SOURCE,
    event_problem,
    state_row,
    states_merge,
    time_problem,
)
from governance.consent.streams import HashingReader, text_lines
from governance.consent.subjects import SUBJECT_DOMAIN, subject_id_problem
from governance.core.csv_guard import CsvLineGuard
from governance.core.errors import ValidationFailed
from governance.core.pseudonyms import keyed_hash
from governance.core.uploads import CappedReader
from registry.services.common import acting_user_id

REQUIRED: Final = ("subject_id", "purpose", "event", "jurisdiction", "occurred_at")
OPTIONAL: Final = ("lawful_basis", "method", "source", "notice_key", "notice_version")
BATCH: Final = 20_000
MAX_REPORTED: Final = 1_000
HASH_CACHE: Final = 1_000_000  # raw id → hash, cleared when full: bounded memory, fewer HMACs
EVENT_TABLE: Final = ConsentEvent._meta.db_table
EVENT_COLUMNS: Final = (
    "id",
    "subject_hash",
    "purpose",
    "kind",
    "lawful_basis",
    "jurisdiction",
    "method",
    "source",
    "notice_id",
    "occurred_at",
    "recorded_at",
    "recorded_by_id",
    "import_batch_id",
)


# PostgreSQL types of EVENT_COLUMNS, for binary COPY (varchar columns take text).
EVENT_TYPES: Final = ["int8", *["text"] * 7, "int8", "timestamptz", "timestamptz", "int8", "int8"]


class ImportRejected(ValidationFailed):
    code = "import_rejected"


@dataclass
class _Run:
    """The state of one import while it streams."""

    import_id: int
    user_id: int
    now: datetime
    rejections: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    lines: int = 0
    batch: list[tuple[Any, ...]] = field(default_factory=list)
    states: dict[tuple[str, str], PurposeState] = field(default_factory=dict)
    by_kind: Counter[str] = field(default_factory=Counter)
    by_purpose: Counter[str] = field(default_factory=Counter)
    next_id: int | None = None

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REPORTED:
            self.rejections.append({"line": line, "reason": reason})


def _rows(reader: HashingReader) -> Iterator[tuple[int, list[str]]]:
    records = csv.reader(text_lines(reader))
    try:
        for record in records:
            if any("\x00" in value for value in record):  # PostgreSQL cannot store NUL in text
                raise ValidationFailed(f"line {records.line_num}: NUL characters (\\u0000) are not accepted")
            yield records.line_num, record
    except UnicodeDecodeError as exc:
        raise ValidationFailed("the file is not UTF-8 text; export it as UTF-8 CSV") from exc
    except csv.Error as exc:
        raise ValidationFailed(f"the file is not readable CSV near line {records.line_num}: {exc}") from exc


def _columns(header: list[str]) -> dict[str, int]:
    names = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED if name not in names]
    unknown = [name for name in names if name not in REQUIRED and name not in OPTIONAL]
    if missing or unknown or len(set(names)) != len(names):
        # The header's own values are not quoted: a file without a header starts with a subject id.
        raise ValidationFailed(
            "the first line must name the columns "
            f"{', '.join(REQUIRED)} and optionally {', '.join(OPTIONAL)}, each once"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; {len(unknown)} other column name(s)" if unknown else "")
        )
    return {name: names.index(name) for name in names}


def _allocate_ids(run: _Run, count: int) -> list[int]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s::integer)",
                [EVENT_TABLE, count],
            )
            return [int(row[0]) for row in cursor.fetchall()]
        if run.next_id is None:
            # SQLite: this transaction holds the database's write lock (BEGIN IMMEDIATE), so no one
            # else takes an id meanwhile.
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {EVENT_TABLE}")  # noqa: S608 - our name
            run.next_id = int(cursor.fetchone()[0]) + 1
    first = run.next_id
    run.next_id = first + count
    return list(range(first, first + count))


def _flush(run: _Run) -> None:
    """Write the batch's events and fold them into the states (their marks need their ids)."""
    if not run.batch:
        return
    ids = _allocate_ids(run, len(run.batch))
    states = run.states
    common = (run.now, run.user_id, run.import_id)
    rows = []
    for event_id, (subject, purpose, kind, basis, jurisdiction, method, source, notice, moment) in zip(
        ids, run.batch, strict=True
    ):
        key = (subject, purpose)
        one = PurposeState.of(kind, (moment, event_id), lawful_basis=basis, jurisdiction=jurisdiction)
        known = states.get(key)
        states[key] = one if known is None else known.merge(one)
        rows.append(
            (event_id, subject, purpose, kind, basis, jurisdiction, method, source, notice, moment, *common)
        )
    run.batch = []
    columns = ", ".join(EVENT_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {EVENT_TABLE} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(EVENT_TYPES)
                for row in rows:
                    copy.write_row(row)
            return
        adapt = connection.ops.adapt_datetimefield_value
        cursor.executemany(
            f"INSERT INTO {EVENT_TABLE} ({columns}) VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))})",  # noqa: S608 - our names
            [(*row[:9], adapt(row[9]), adapt(row[10]), *row[11:]) for row in rows],
        )


class _Notices:
    def __init__(self) -> None:
        self.found: dict[tuple[str, str], int | None] = {}

    def id_for(self, key: str, version: str) -> int | str | None:
        """The notice's id, ``None`` for no notice, or a message why the reference is bad."""
        if not key and not version:
            return None
        if not key or not version.isdigit():
            return "notice_key and notice_version go together; the version is a number"
        if (key, version) not in self.found:
            row = ConsentNotice.objects.filter(key=key, version=int(version)).values_list("pk", flat=True)
            self.found[(key, version)] = next(iter(row), None)
        notice_id = self.found[(key, version)]
        return notice_id if notice_id is not None else "no such notice; publish the notice version first"


# long: the per-line loop of the bulk import (bench/consent.py); a call per line costs measurable time.
def _read(run: _Run, rows: Iterator[tuple[int, list[str]]]) -> set[str]:
    """Check every line; queue and flush the accepted ones while no line has been refused."""
    try:
        _, header = next(rows)
    except StopIteration:
        raise ValidationFailed("the file is empty; send a header line and one event per line") from None
    column = _columns(header)
    width = len(header)
    # A column the file leaves out reads the empty cell appended to each record (index ``width``).
    pick = operator.itemgetter(*(column.get(name, width) for name in (*REQUIRED, *OPTIONAL)))
    checked: dict[tuple[str, ...], str | None] = {}
    hashes: dict[str, str] = {}
    subjects: set[str] = set()
    notices = _Notices()

    for line, record in rows:
        if not record or (len(record) == 1 and not record[0].strip()):
            continue  # a blank line
        run.lines += 1
        if len(record) != width:
            run.reject(line, f"has {len(record)} fields; the header names {width}")
            continue
        record.append("")
        raw, purpose, kind, jurisdiction, occurred, basis, method, source, notice_key, notice_version = (
            value.strip() for value in pick(record)
        )
        problem = subject_id_problem(raw)
        if problem:
            run.reject(line, problem)
            continue
        fields = (purpose, kind, basis, jurisdiction, method or Method.IMPORT)
        if fields not in checked:
            checked[fields] = event_problem(
                purpose=purpose, kind=kind, lawful_basis=basis, jurisdiction=jurisdiction, method=fields[4]
            )
        problem = checked[fields] or (
            f"source is longer than {MAX_SOURCE} characters" if len(source) > MAX_SOURCE else None
        )
        if problem:
            run.reject(line, problem)
            continue
        try:
            moment: datetime | None = datetime.fromisoformat(occurred)
        except ValueError:
            moment = None
        problem = time_problem(moment, run.now)
        if problem or moment is None:
            run.reject(line, problem or "occurred_at is not a time")
            continue
        notice = notices.id_for(notice_key, notice_version)
        if isinstance(notice, str):
            run.reject(line, notice)
            continue
        if run.rejected:
            continue  # nothing will be stored: only keep checking, for the report
        subject = hashes.get(raw)
        if subject is None:
            if len(hashes) >= HASH_CACHE:
                hashes.clear()
            subject = hashes[raw] = keyed_hash(raw, domain=SUBJECT_DOMAIN)
        method = fields[4]
        if kind == GRANT and not basis:
            basis = LawfulBasis.CONSENT
        subjects.add(subject)
        run.by_kind[kind] += 1
        run.by_purpose[purpose] += 1
        run.batch.append((subject, purpose, kind, basis, jurisdiction, method, source, notice, moment))
        if len(run.batch) >= BATCH:
            _flush(run)
    return subjects


@transaction.atomic
def consent_import(*, actor: Actor, stream: IO[bytes] | Any) -> ConsentImport:
    """Import a CSV of consent events, all or nothing (see the module docstring).

    Columns: subject_id, purpose, event, jurisdiction, occurred_at; optionally lawful_basis, method
    (default import), source, notice_key and notice_version. One audit entry for the whole file, with
    its SHA-256 and counts.
    """
    now = timezone.now()
    batch = ConsentImport.objects.create(
        sha256="", size=0, events=0, subjects=0, imported_by_id=acting_user_id(actor), created_at=now
    )
    run = _Run(import_id=batch.pk, user_id=batch.imported_by_id, now=now)
    # Capped while it streams (a text/csv body has no upload handler) and each line within its limit.
    reader = HashingReader(CsvLineGuard(CappedReader(stream, setting="MAX_CONSENT_IMPORT_BYTES")))
    subjects = _read(run, _rows(reader))
    if run.rejected:
        raise ImportRejected(
            f"{run.rejected} of {run.lines} lines were refused, so nothing was imported; correct them "
            "and send the whole file again",
            extra={
                "report": {
                    "lines": run.lines,
                    "rejected": run.rejected,
                    "rejections": run.rejections,
                    "listed": len(run.rejections),
                }
            },
        )
    if not run.lines:
        raise ValidationFailed("the file has a header but no events")
    _flush(run)
    states_merge([state_row(subject, purpose, state) for (subject, purpose), state in run.states.items()])
    counts = {
        "by_event": dict(sorted(run.by_kind.items())),
        "by_purpose": dict(sorted(run.by_purpose.items())),
    }
    ConsentImport.objects.filter(pk=batch.pk).update(
        sha256=reader.sha256.hexdigest(),
        size=reader.size,
        events=run.lines,
        subjects=len(subjects),
        counts=counts,
    )
    batch.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_IMPORT,
        target=Target.of("consent_import", batch.pk),
        data={
            "sha256": batch.sha256,
            "size": batch.size,
            "events": batch.events,
            "subjects": batch.subjects,
            **counts,
        },
    )
    return batch
