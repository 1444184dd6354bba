"""Privacy requests: received with their legal deadlines, moved through their statuses, and, for
erasure and deletion, followed through lineage to every node they affect."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from django.db import connection, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.consent.deadlines import deadlines_for
from governance.consent.models import (
    ERASING_TYPES,
    AffectedKind,
    AffectedNode,
    PrivacyRequest,
    RequestStatus,
    RequestType,
    RowErasure,
)
from governance.consent.selectors.erasure import Impact, erasure_impact
from governance.consent.services.ledger import CLOCK_SKEW
from governance.core.errors import Conflict, ValidationFailed
from registry.models import Jurisdiction
from registry.services.common import acting_user_id
from registry.services.datasets import check_fideslang_keys

# Identity is verified first (GDPR Art. 12(6); CCPA: a "verifiable consumer request"), then the request
# is worked on; it may be denied, with a reason, at any point before it is completed.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    RequestStatus.RECEIVED: frozenset({RequestStatus.VERIFIED, RequestStatus.DENIED}),
    RequestStatus.VERIFIED: frozenset(
        {RequestStatus.IN_PROGRESS, RequestStatus.COMPLETED, RequestStatus.DENIED}
    ),
    RequestStatus.IN_PROGRESS: frozenset({RequestStatus.COMPLETED, RequestStatus.DENIED}),
    RequestStatus.COMPLETED: frozenset(),
    RequestStatus.DENIED: frozenset(),
}
STAMP: Final[dict[str, str]] = {
    RequestStatus.VERIFIED: "verified_at",
    RequestStatus.IN_PROGRESS: "started_at",
    RequestStatus.COMPLETED: "completed_at",
    RequestStatus.DENIED: "denied_at",
}
LISTED_IN_AUDIT: Final = 100


def text_digest(text: str) -> str:
    """Free text (a denial's or an exemption's reason) goes into the audit log as its SHA-256: the log
    is never rewritten, and a reason typed by a person may name someone by mistake."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@transaction.atomic
def privacy_request_create(
    *,
    actor: Actor,
    subject_hash: str,
    request_type: str,
    jurisdiction: str,
    received_at: datetime | None = None,
    purposes: Sequence[str] = (),
) -> PrivacyRequest:
    """Record a data subject's request and its deadlines; for erasure and deletion, compute its
    impact at once (a second action, with its own audit entry), so affected models are blocked from
    this moment."""
    if request_type not in RequestType.values:
        raise ValidationFailed(f"type: one of {', '.join(RequestType.values)}")
    if jurisdiction not in Jurisdiction.values:
        raise ValidationFailed(f"jurisdiction: one of {', '.join(Jurisdiction.values)}")
    now = timezone.now()
    received = received_at or now
    if received.tzinfo is None or received > now + CLOCK_SKEW:
        raise ValidationFailed("received_at: a time with a UTC offset, not in the future")
    uses = check_fideslang_keys(purposes, field="purposes", example="train_ai_system")
    due = deadlines_for(jurisdiction, received.astimezone(UTC).date())
    request = PrivacyRequest.objects.create(
        subject_hash=subject_hash,
        type=request_type,
        jurisdiction=jurisdiction,
        purposes=uses,
        received_at=received,
        acknowledge_by=due.acknowledge_by,
        respond_by=due.respond_by,
        created_by_id=acting_user_id(actor),
        created_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.PRIVACY_REQUEST_CREATE,
        target=Target.of("privacy_request", request.pk),
        data={
            "type": request_type,
            "jurisdiction": jurisdiction,
            "subject_hash": subject_hash,
            "purposes": uses,
            "received_at": received.isoformat(),
            "acknowledge_by": due.acknowledge_by.isoformat() if due.acknowledge_by else None,
            "respond_by": due.respond_by.isoformat(),
        },
    )
    if request_type in ERASING_TYPES:
        privacy_request_impact_compute(actor=actor, request=request)
        request.refresh_from_db()
    return request


def _listed(nodes: Sequence[str]) -> dict[str, Any]:
    return {"count": len(nodes), "nodes": list(nodes[:LISTED_IN_AUDIT])}


_AFFECTED_TABLE: Final = AffectedNode._meta.db_table
_AFFECTED_COLUMNS: Final = "request_id, kind, node_id, dataset_version_id, model_version_id, deployment_id"
# A node once affected stays listed: computing the impact again only adds what lineage gained since.
_AFFECTED_PG: Final = (
    f"INSERT INTO {_AFFECTED_TABLE} ({_AFFECTED_COLUMNS}, created_at) "  # noqa: S608 - our names
    "SELECT %s::bigint, *, %s::timestamptz "
    "FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[]) "
    "ON CONFLICT (request_id, node_id) DO NOTHING"
)
_AFFECTED_ROW: Final = (
    f"INSERT INTO {_AFFECTED_TABLE} ({_AFFECTED_COLUMNS}, created_at) "  # noqa: S608 - our names
    "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (request_id, node_id) DO NOTHING"
)


def _affected_store(request: PrivacyRequest, impact: Impact) -> None:
    """Insert the affected nodes in one statement on PostgreSQL (arrays), row by row elsewhere:
    an erasure can reach tens of thousands of nodes, and model instances would cost far more."""
    rows: list[tuple[str, str, int | None, int | None, int | None]] = [
        *(
            (AffectedKind.DATASET_VERSION, node, pk, None, None)
            for node, pk in impact.dataset_versions.items()
        ),
        *((AffectedKind.RUN, node, None, None, None) for node in impact.runs),
        *((AffectedKind.MODEL_VERSION, node, None, pk, None) for node, pk in impact.model_versions.items()),
        *((AffectedKind.DEPLOYMENT, node, None, None, pk) for node, pk in impact.deployments.items()),
    ]
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                _AFFECTED_PG, [request.pk, now, *(list(column) for column in zip(*rows, strict=True))]
            )
        else:
            cursor.executemany(_AFFECTED_ROW, [(request.pk, *row, now) for row in rows])


@transaction.atomic
def privacy_request_impact_compute(*, actor: Actor, request: PrivacyRequest) -> Impact:
    """Mark every node an erasure or deletion reaches as affected (again after new lineage arrived:
    a node once affected stays listed). One audit entry with the counts, the model versions and
    deployments by node id, and the SHA-256 of the whole sorted node list."""
    if request.type not in ERASING_TYPES:
        raise Conflict(
            f"request {request.pk} is an {request.type} request; only erasure and deletion have an impact"
        )
    if request.status == RequestStatus.DENIED:
        raise Conflict(f"request {request.pk} was denied; it affects nothing")
    impact = erasure_impact(subject_hash=request.subject_hash)
    now = timezone.now()
    nodes = impact.node_ids()
    if nodes:
        _affected_store(request, impact)
    PrivacyRequest.objects.filter(pk=request.pk).update(impact_computed_at=now)
    audit_record(
        actor=actor,
        action=AuditAction.PRIVACY_REQUEST_IMPACT,
        target=Target.of("privacy_request", request.pk),
        data={
            "subject_hash": request.subject_hash,
            "dataset_versions": _listed(sorted(impact.dataset_versions)),
            "runs": len(impact.runs),
            "model_versions": _listed(sorted(impact.model_versions)),
            "deployments": _listed(sorted(impact.deployments)),
            "nodes_sha256": text_digest("\n".join(nodes)),
        },
    )
    return impact


def _unerased_stored_versions(request: PrivacyRequest) -> list[str]:
    erased = RowErasure.objects.filter(request=request).values("dataset_version_id")
    pending = (
        AffectedNode.objects.filter(request=request, kind=AffectedKind.DATASET_VERSION)
        .exclude(dataset_version__storage_name="")
        .exclude(dataset_version_id__in=erased)
    )
    return sorted(pending.values_list("node_id", flat=True))


@transaction.atomic
def privacy_request_status_set(
    *, actor: Actor, request: PrivacyRequest, status: str, reason: str = ""
) -> PrivacyRequest:
    """Move a request on (see ``TRANSITIONS``); the acting user becomes its handler.

    A conditional UPDATE: of two officers moving the same request at once, one wins, the other gets
    409. An erasure or deletion is completed only once no stored file holds the subject's rows.
    """
    if status not in RequestStatus.values:
        raise ValidationFailed(f"status: one of {', '.join(RequestStatus.values)}")
    if status == RequestStatus.RECEIVED:
        raise ValidationFailed("status: a request is received once, when it is created")
    if status not in TRANSITIONS[request.status]:
        raise Conflict(f"request {request.pk} is {request.status}; it cannot become {status}")
    if status == RequestStatus.DENIED and not reason.strip():
        raise ValidationFailed(
            "reason: say why the request is denied (it goes into the answer to the subject)"
        )
    if status == RequestStatus.COMPLETED and request.type in ERASING_TYPES:
        left = _unerased_stored_versions(request)
        if left:
            raise Conflict(
                f"{len(left)} stored dataset version(s) still hold the subject's rows "
                f"({', '.join(left[:5])}); erase them first: "
                f"POST /api/v1/privacy-requests/{request.pk}/erase-rows"
            )
    now = timezone.now()
    changes: dict[str, Any] = {"status": status, STAMP[status]: now, "handled_by_id": acting_user_id(actor)}
    if status == RequestStatus.DENIED:
        changes["denial_reason"] = reason.strip()
    if not PrivacyRequest.objects.filter(pk=request.pk, status=request.status).update(**changes):
        raise Conflict(f"request {request.pk} changed meanwhile; reload it and try again")
    audit_record(
        actor=actor,
        action=AuditAction.PRIVACY_REQUEST_STATUS,
        target=Target.of("privacy_request", request.pk),
        data={
            "from": request.status,
            "to": status,
            "reason_sha256": text_digest(reason.strip()) if status == RequestStatus.DENIED else None,
        },
    )
    request.refresh_from_db()
    return request
