"""Reading personal data: each read is one action with its audit entry, like a change (issue 18).

A subject's consent state or ledger (``consent.read``), a subject found by the console search
(``subject.lookup``), a privacy request's detail, its answer or a page of the list of them
(``privacy_request.read``). Each service reads, then records the read in its own transaction; the
entry names the subject by keyed hash only (the raw id was hashed at the door, and is never passed in).

Which refusals are entries: a lookup by a subject id is one whatever it finds, since "no record" is an
answer too (``found`` says which); a privacy request number that does not exist is a 404 and no entry
(the number names no one); 401 and 403 are refused before any read, and are access-log lines only.
Reads of registry metadata (models, datasets, lineage) are access-log lines, not audit entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypedDict

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.reads import filters_for_audit
from audit.services import Target, audit_record, format_timestamp
from governance.consent.eligibility import PurposeState, effective_state, subject_reason
from governance.consent.models import ConsentEvent, PrivacyRequest
from governance.consent.selectors.ledger import binding_erasures, consent_history, consent_states
from governance.consent.selectors.requests import (
    PrivacyRequestReport,
    dataset_versions_holding,
    privacy_request_get,
    privacy_request_list,
    privacy_request_report,
)
from registry.models import DatasetVersion


class ConsentStateRead(TypedDict):
    subject_hash: str
    as_of: datetime
    erasure_requested: bool
    states: dict[str, PurposeState]
    purpose: str | None
    usable_for_purpose: bool | None


class SubjectHistory(TypedDict):
    subject_hash: str
    events: list[ConsentEvent]
    states: list[tuple[str, PurposeState]]
    requests: list[PrivacyRequest]
    dataset_versions: list[DatasetVersion]


class SubjectFound(TypedDict):
    hash: str
    requests: list[PrivacyRequest]
    dataset_versions: list[DatasetVersion]
    consent_events: int


def _subject(subject_hash: str) -> Target:
    return Target.of("data_subject", subject_hash)


@transaction.atomic
def consent_state_read(
    *, actor: Actor, subject_hash: str, at: datetime | None = None, purpose: str | None = None
) -> ConsentStateRead:
    """A subject's consent state per purpose now or at ``at`` (``purpose``: that one only, its
    fideslang parents included, and whether the subject's data may be used for it); audited."""
    states = consent_states(subject_hash=subject_hash, at=at)
    erased = binding_erasures(at=at).filter(subject_hash=subject_hash).exists()
    usable = None
    if purpose is not None:
        state = effective_state(states, purpose)
        states = {purpose: state} if state is not None else {}
        usable = subject_reason(state, erased=erased, sensitive=False) is None
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_READ,
        target=_subject(subject_hash),
        data={
            "via": "api",
            "as_of": format_timestamp(at) if at is not None else None,
            "purpose": purpose,
            "found": bool(states),
        },
    )
    return {
        "subject_hash": subject_hash,
        "as_of": at or timezone.now(),
        "erasure_requested": erased,
        "states": states,
        "purpose": purpose,
        "usable_for_purpose": usable,
    }


@transaction.atomic
def consent_history_read(*, actor: Actor, subject_hash: str) -> SubjectHistory:
    """A subject's consent ledger, state, privacy requests and the dataset versions holding them (the
    subject page); audited."""
    history: SubjectHistory = {
        "subject_hash": subject_hash,
        "events": list(consent_history(subject_hash=subject_hash)),
        "states": sorted(consent_states(subject_hash=subject_hash).items()),
        "requests": list(privacy_request_list(subject_hash=subject_hash)),
        "dataset_versions": list(dataset_versions_holding(subject_hash=subject_hash)),
    }
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_READ,
        target=_subject(subject_hash),
        data={
            "via": "page",
            "events": len(history["events"]),
            "requests": len(history["requests"]),
            "dataset_versions": len(history["dataset_versions"]),
        },
    )
    return history


@transaction.atomic
def subject_lookup(*, actor: Actor, subject_hash: str) -> SubjectFound | None:
    """What the service holds about a subject, for the console search (None: nothing). Audited when it
    finds the subject: the search box takes model and dataset names too, so a text that matches no
    subject is a catalogue search, shows nothing about anyone, and is an access-log line only."""
    requests = list(privacy_request_list(subject_hash=subject_hash))
    versions = list(dataset_versions_holding(subject_hash=subject_hash))
    events = ConsentEvent.objects.filter(subject_hash=subject_hash).count()
    if not (requests or versions or events):
        return None
    audit_record(
        actor=actor,
        action=AuditAction.SUBJECT_LOOKUP,
        target=_subject(subject_hash),
        data={
            "via": "search",
            "requests": len(requests),
            "dataset_versions": len(versions),
            "consent_events": events,
        },
    )
    return {
        "hash": subject_hash,
        "requests": requests,
        "dataset_versions": versions,
        "consent_events": events,
    }


@transaction.atomic
def privacy_request_read(
    *, actor: Actor, pk: int | str, via: str
) -> tuple[PrivacyRequest, PrivacyRequestReport]:
    """One request and its report (record, impact, the answer to the subject); audited. ``via`` says
    what was shown: ``api``, ``page``, or ``response`` (the answer; ``response.json``/``.html`` when
    downloaded). An unknown number raises ``NotFound`` and records nothing."""
    row = privacy_request_get(pk=pk)
    report = privacy_request_report(request=row)
    audit_record(
        actor=actor,
        action=AuditAction.PRIVACY_REQUEST_READ,
        target=Target.of("privacy_request", row.pk),
        data={"via": via, "subject_hash": row.subject_hash},
    )
    return row, report


def privacy_request_list_read(
    *, actor: Actor, shown: Iterable[int], filters: Mapping[str, Any], via: str
) -> bool:
    """Record that ``actor`` saw the requests ``shown`` (numbers) in a list that names their subjects
    by keyed hash (the console's list page), chosen by ``filters``. Pseudonymous data is personal data
    (GDPR Recital 26), so such a page is a read. Nothing shown, nothing recorded: returns whether it
    recorded."""
    ids = sorted(set(shown))
    if not ids:
        return False
    audit_record(
        actor=actor,
        action=AuditAction.PRIVACY_REQUEST_READ,
        target=Target.of("privacy_request", "list"),
        data={"via": via, "ids": ids, "filters": filters_for_audit(filters)},
    )
    return True


def consent_events_read(*, actor: Actor, events: Iterable[ConsentEvent], via: str) -> bool:
    """Record that ``actor`` saw these consent events (the admin site's detail, or its list searched by a
    subject's keyed hash): one ``consent.read`` naming the subject, or each subject when several.
    Nothing shown, nothing recorded: returns whether it recorded."""
    rows = list(events)
    if not rows:
        return False
    subjects = sorted({row.subject_hash for row in rows})
    target = _subject(subjects[0]) if len(subjects) == 1 else Target.of("data_subject", "several")
    audit_record(
        actor=actor,
        action=AuditAction.CONSENT_READ,
        target=target,
        data={"via": via, "events": sorted(row.pk for row in rows), "subjects": subjects},
    )
    return True
