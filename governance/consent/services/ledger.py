"""Consent notices and the consent ledger with its materialised state.

A withdrawal is recorded by the same call, role and effort as a grant (GDPR Art. 7(3)); every event
is a new row (Art. 7(1): consent stays demonstrable), and the state per (subject, purpose) changes in
the same transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.consent.eligibility import GRANT, KINDS, OPT_OUT, WITHDRAW, PurposeState
from governance.consent.models import (
    STATE_COLUMNS,
    ConsentEvent,
    ConsentNotice,
    ConsentState,
    LawfulBasis,
    Method,
)
from governance.core.errors import Conflict, ValidationFailed
from registry.models import Jurisdiction
from registry.services.common import acting_user_id
from registry.services.datasets import FIDESLANG_KEY

# A clock a little ahead of ours is not a reason to refuse an event; an event in the future is.
CLOCK_SKEW: Final = timedelta(minutes=5)
MAX_SOURCE: Final = 200
COPY_FROM_ROWS: Final = 1_000  # fewer state rows than this are merged by plain statements
KIND_SET: Final = frozenset(KINDS)
BASIS_SET: Final = frozenset(LawfulBasis.values)
JURISDICTION_SET: Final = frozenset(Jurisdiction.values)
METHOD_SET: Final = frozenset(Method.values)


@dataclass(frozen=True)
class EventInput:
    """A consent event before it is stored (the subject already hashed)."""

    subject_hash: str
    purpose: str
    kind: str
    jurisdiction: str
    method: str
    occurred_at: datetime
    lawful_basis: str = ""
    source: str = ""
    notice: ConsentNotice | None = None


def event_problem(
    *, purpose: str, kind: str, lawful_basis: str, jurisdiction: str, method: str, source: str = ""
) -> str | None:
    """What is wrong with an event's fields, or ``None``. Shared by the API and the import, whose
    report must not repeat a line's values (a misplaced column could hold a subject id)."""
    if kind not in KIND_SET:
        return f"event must be one of {', '.join(KINDS)}"
    if len(purpose) > 200 or not FIDESLANG_KEY.match(purpose):
        return "purpose must be a fideslang data use such as train_ai_system or personalize.profiling"
    if lawful_basis and lawful_basis not in BASIS_SET:
        return f"lawful_basis must be one of {', '.join(LawfulBasis.values)} (GDPR Art. 6(1))"
    if kind == WITHDRAW and lawful_basis not in ("", LawfulBasis.CONSENT):
        return (
            "a withdrawal ends consent (GDPR Art. 7(3)); to stop processing on another lawful basis "
            "record an objection (event object, GDPR Art. 21)"
        )
    if jurisdiction not in JURISDICTION_SET:
        return f"jurisdiction must be one of {', '.join(Jurisdiction.values)}"
    if method not in METHOD_SET:
        return f"method must be one of {', '.join(Method.values)}"
    if method == Method.GPC and kind != OPT_OUT:
        return "a Global Privacy Control signal is an opt-out: method gpc goes with event opt_out"
    if len(source) > MAX_SOURCE:
        return f"source is longer than {MAX_SOURCE} characters"
    return None


def time_problem(moment: datetime | None, now: datetime) -> str | None:
    if moment is None or moment.tzinfo is None:
        return "occurred_at must be an RFC 3339 time with a UTC offset, e.g. 2026-03-01T09:30:00Z"
    if moment > now + CLOCK_SKEW:
        return "occurred_at is in the future; record a choice once it is made"
    return None


# --- The materialised state ---------------------------------------------------------------------

STATE_TABLE: Final = ConsentState._meta.db_table


# PostgreSQL types of STATE_COLUMNS, for binary COPY (varchar columns take text).
STATE_TYPES: Final = [*["text"] * 5, "timestamptz", "int8", "timestamptz", "int8", "timestamptz", "int8"]


def _newer(dimension: str) -> str:
    """SQL: the incoming row's mark for ``dimension`` is newer than the stored one (see eligibility)."""
    new, old = f"excluded.{dimension}", f"{STATE_TABLE}.{dimension}"
    return (
        f"({new}_event IS NOT NULL AND ({old}_event IS NULL OR {new}_at > {old}_at"
        f" OR ({new}_at = {old}_at AND {new}_event > {old}_event)))"
    )


def _take_if(condition: str, columns: Iterable[str]) -> list[str]:
    return [f"{c} = CASE WHEN {condition} THEN excluded.{c} ELSE {STATE_TABLE}.{c} END" for c in columns]


# Merge, not overwrite: each dimension keeps its newest mark, exactly as PurposeState.merge does, so an
# import and a concurrent single event give the same state in either order. PostgreSQL and SQLite
# both read the old row's values in every SET expression.
UPSERT_CONFLICT: Final = "ON CONFLICT (subject_hash, purpose) DO UPDATE SET " + ", ".join(
    _take_if(_newer("choice"), ("choice", "lawful_basis", "jurisdiction", "choice_at", "choice_event"))
    + _take_if(_newer("grant"), ("grant_at", "grant_event"))
    + _take_if(_newer("limit"), ("limit_at", "limit_event"))
)
UPSERT_VALUES_SQL: Final = (
    f"INSERT INTO {STATE_TABLE} ({', '.join(STATE_COLUMNS)}) "  # noqa: S608 - our own names; values bound
    f"VALUES ({', '.join(['%s'] * len(STATE_COLUMNS))}) {UPSERT_CONFLICT}"
)


def state_row(subject_hash: str, purpose: str, state: PurposeState) -> tuple[Any, ...]:
    def split(mark: tuple[datetime, int] | None) -> tuple[Any, Any]:
        if mark is None:
            return None, None
        return connection.ops.adapt_datetimefield_value(mark[0]), mark[1]

    return (
        subject_hash,
        purpose,
        state.choice or "",
        state.lawful_basis,
        state.jurisdiction,
        *split(state.choice_mark),
        *split(state.grant_mark),
        *split(state.limit_mark),
    )


def states_merge(rows: list[tuple[Any, ...]]) -> None:
    """Merge ``state_row`` tuples (at most one per key) into the stored states.

    On PostgreSQL many rows go by COPY into a temporary table and one INSERT ... SELECT; otherwise
    by one statement executed per row.
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql" or len(rows) < COPY_FROM_ROWS:
            cursor.executemany(UPSERT_VALUES_SQL, rows)
            return
        columns = ", ".join(STATE_COLUMNS)
        cursor.execute(
            f"CREATE TEMPORARY TABLE consent_state_incoming ON COMMIT DROP AS "  # noqa: S608 - our names
            f"SELECT {columns} FROM {STATE_TABLE} WITH NO DATA"
        )
        with cursor.cursor.copy(
            f"COPY consent_state_incoming ({columns}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(STATE_TYPES)
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO {STATE_TABLE} ({columns}) SELECT {columns} "  # noqa: S608 - our names
            f"FROM consent_state_incoming {UPSERT_CONFLICT}"
        )
        cursor.execute("DROP TABLE consent_state_incoming")


# --- Services -----------------------------------------------------------------------------------


@transaction.atomic
def consent_notice_create(
    *, actor: Actor, key: str, text: str, title: str = "", language: str = "en"
) -> ConsentNotice:
    """Publish the next version of notice ``key``; its SHA-256 commits to the exact text shown."""
    if not text.strip():
        raise ValidationFailed("text: a notice needs its text, exactly as people are shown it")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    latest = ConsentNotice.objects.filter(key=key).aggregate(latest=Max("version"))["latest"] or 0
    try:
        with transaction.atomic():
            notice = ConsentNotice.objects.create(
                key=key,
                version=latest + 1,
                title=title,
                language=language,
                text=text,
                sha256=digest,
                created_by_id=acting_user_id(actor),
                created_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise Conflict(f"notice {key!r} got a new version at the same moment; send it again") from exc
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_NOTICE_CREATE,
        target=Target.of("consent_notice", notice),
        data={"sha256": digest, "language": language},
    )
    return notice


def notice_get(*, key: str, version: int) -> ConsentNotice:
    try:
        return ConsentNotice.objects.get(key=key, version=version)
    except ConsentNotice.DoesNotExist as exc:
        raise ValidationFailed(f"notice: there is no notice {key}@{version}; publish it first") from exc


@transaction.atomic
def consent_record(*, actor: Actor, event: EventInput) -> ConsentEvent:
    """Record one consent event and fold it into the subject's state for the purpose.

    1. Check the fields (a withdrawal is as easy as a grant: the same fields, the same roles).
    2. Append the event to the ledger and merge it into the state, in this transaction.
    3. One audit entry, naming the subject by keyed hash only.
    """
    problem = event_problem(
        purpose=event.purpose,
        kind=event.kind,
        lawful_basis=event.lawful_basis,
        jurisdiction=event.jurisdiction,
        method=event.method,
        source=event.source,
    ) or time_problem(event.occurred_at, timezone.now())
    if problem:
        raise ValidationFailed(problem)
    basis = (event.lawful_basis or LawfulBasis.CONSENT) if event.kind == GRANT else event.lawful_basis
    row = ConsentEvent.objects.create(
        subject_hash=event.subject_hash,
        purpose=event.purpose,
        kind=event.kind,
        lawful_basis=basis,
        jurisdiction=event.jurisdiction,
        method=event.method,
        source=event.source,
        notice=event.notice,
        occurred_at=event.occurred_at,
        recorded_at=timezone.now(),
        recorded_by_id=acting_user_id(actor),
    )
    state = PurposeState().add(
        row.kind, (row.occurred_at, row.pk), lawful_basis=basis, jurisdiction=row.jurisdiction
    )
    states_merge([state_row(row.subject_hash, row.purpose, state)])
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_RECORD,
        target=Target.of("data_subject", row.subject_hash),
        data={
            "event": row.pk,
            "purpose": row.purpose,
            "kind": row.kind,
            "lawful_basis": basis,
            "jurisdiction": row.jurisdiction,
            "method": row.method,
            "notice": str(row.notice) if row.notice is not None else None,
            "occurred_at": row.occurred_at.isoformat(),
        },
    )
    return row
