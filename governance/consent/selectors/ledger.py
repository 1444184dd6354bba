"""Reading the consent ledger: a subject's state per purpose now (materialised) or at any past moment
(folded from the ledger), and the states of every subject of a dataset version at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from governance.consent.eligibility import PurposeState
from governance.consent.models import (
    BINDING_STATUSES,
    ERASING_TYPES,
    STATE_COLUMNS,
    ConsentEvent,
    ConsentNotice,
    ConsentState,
    PrivacyRequest,
)
from registry.models import DatasetSubject, DatasetVersion

SubjectStates = dict[str, dict[str, PurposeState]]  # subject hash → purpose → state


def _from_row(
    choice: str,
    basis: str,
    jurisdiction: str,
    choice_at: datetime | None,
    choice_event: int | None,
    grant_at: datetime | None,
    grant_event: int | None,
    limit_at: datetime | None,
    limit_event: int | None,
) -> PurposeState:
    return PurposeState(
        choice=choice or None,
        lawful_basis=basis,
        jurisdiction=jurisdiction,
        choice_mark=(choice_at, choice_event) if choice_at is not None and choice_event is not None else None,
        grant_mark=(grant_at, grant_event) if grant_at is not None and grant_event is not None else None,
        limit_mark=(limit_at, limit_event) if limit_at is not None and limit_event is not None else None,
    )


_EVENT_FIELDS = ("subject_hash", "purpose", "kind", "lawful_basis", "jurisdiction", "occurred_at", "id")


def _fetch(rows: QuerySet[Any, Any]) -> list[tuple[Any, ...]]:
    """Every row of a ``values_list`` query at once. On PostgreSQL in binary: a filter over a large
    dataset version loads hundreds of thousands of timestamps, and text timestamps parsed in Python
    cost more than the query itself."""
    if connection.vendor != "postgresql":
        return list(rows)
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.cursor.execute(sql, params, binary=True)
        return list(cursor.cursor.fetchall())


def _states(
    subject_hashes: QuerySet[DatasetSubject, Any] | Iterable[str],
    purposes: Iterable[str] | None,
    at: datetime | None,
) -> SubjectStates:
    """Stored states (``at`` None) or the ledger folded up to ``at``, for the given subjects."""
    found: SubjectStates = defaultdict(dict)
    if at is None:
        rows = ConsentState.objects.filter(subject_hash__in=subject_hashes)
        if purposes is not None:
            rows = rows.filter(purpose__in=list(purposes))
        for subject, purpose, *stored in _fetch(rows.values_list(*STATE_COLUMNS)):
            found[subject][purpose] = _from_row(*stored)
        return found
    events = ConsentEvent.objects.filter(subject_hash__in=subject_hashes, occurred_at__lte=at)
    if purposes is not None:
        events = events.filter(purpose__in=list(purposes))
    empty = PurposeState()
    for subject, purpose, kind, basis, jurisdiction, occurred_at, event_id in _fetch(
        events.values_list(*_EVENT_FIELDS)
    ):
        by_purpose = found[subject]
        by_purpose[purpose] = by_purpose.get(purpose, empty).add(
            kind, (occurred_at, event_id), lawful_basis=basis, jurisdiction=jurisdiction
        )
    return found


def consent_states(*, subject_hash: str, at: datetime | None = None) -> dict[str, PurposeState]:
    """One subject's state per purpose it has events for, now or at ``at``."""
    return _states([subject_hash], None, at).get(subject_hash, {})


def dataset_version_states(
    *, dataset_version: DatasetVersion, purposes: Iterable[str], at: datetime | None = None
) -> SubjectStates:
    """The states for ``purposes`` of every subject a dataset version records (one query)."""
    subjects = DatasetSubject.objects.filter(dataset_version=dataset_version).values("subject_hash")
    return _states(subjects, purposes, at)


def binding_erasures(*, at: datetime | None = None) -> QuerySet[PrivacyRequest]:
    """Erasure and deletion requests that keep their subject out: pending or done, not denied. At a
    past moment: those received by then (a denial since counts, its subject was never to be left out)."""
    requests = PrivacyRequest.objects.filter(type__in=ERASING_TYPES, status__in=BINDING_STATUSES)
    if at is not None:
        requests = requests.filter(received_at__lte=at)
    return requests


def erased_subjects(*, dataset_version: DatasetVersion, at: datetime | None = None) -> set[str]:
    subjects = DatasetSubject.objects.filter(dataset_version=dataset_version).values("subject_hash")
    return set(
        binding_erasures(at=at).filter(subject_hash__in=subjects).values_list("subject_hash", flat=True)
    )


def consent_history(*, subject_hash: str) -> QuerySet[ConsentEvent]:
    return (
        ConsentEvent.objects.filter(subject_hash=subject_hash)
        .select_related("notice", "recorded_by")
        .order_by("occurred_at", "id")
    )


def notice_list() -> QuerySet[ConsentNotice]:
    return ConsentNotice.objects.select_related("created_by").order_by("key", "-version")
