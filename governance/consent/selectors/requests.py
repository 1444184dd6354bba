"""Reading privacy requests: the open ones by due date, and one request's impact report with the
response document for the data subject (what was found, what was done, when)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypedDict

from django.db.models import QuerySet
from django.utils import timezone

from governance.consent.models import (
    BINDING_STATUSES,
    ERASING_TYPES,
    OPEN_STATUSES,
    AffectedKind,
    AffectedNode,
    ConsentEvent,
    ErasureExemption,
    PrivacyRequest,
    RequestStatus,
    RowErasure,
)
from governance.consent.selectors.erasure import erasure_impact
from governance.consent.selectors.ledger import consent_states
from governance.core.errors import NotFound
from registry.models import DatasetVersion

LAW = {
    "erasure": "GDPR Art. 17 (right to erasure)",
    "deletion": "CCPA §1798.105 (right to delete)",
    "access": "GDPR Art. 15, CCPA §1798.110 (right of access, right to know)",
    "objection": "GDPR Art. 21 (right to object)",
}


class TimelineStep(TypedDict):
    at: str
    what: str


class ResponseDocument(TypedDict):
    """The answer for the data subject; it names them by nothing but the request number."""

    title: str
    law: str
    request: int
    received: str
    answer_due: str
    status: str
    found: dict[str, Any]
    done: list[TimelineStep]
    outcome: str


def _iso(moment: datetime | date | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def privacy_request_list(
    *, open_only: bool = False, status: str = "", subject_hash: str = ""
) -> QuerySet[PrivacyRequest]:
    requests = PrivacyRequest.objects.select_related("handled_by", "created_by")
    if subject_hash:
        requests = requests.filter(subject_hash=subject_hash)
    if open_only:
        requests = requests.filter(status__in=OPEN_STATUSES)
    if status:
        requests = requests.filter(status=status)
    return requests.order_by("respond_by", "pk")


def privacy_request_get(*, pk: int | str) -> PrivacyRequest:
    try:
        return PrivacyRequest.objects.select_related("handled_by", "created_by").get(pk=int(pk))
    except (ValueError, PrivacyRequest.DoesNotExist) as exc:
        raise NotFound(f"no privacy request {pk}") from exc


def _impact(request: PrivacyRequest) -> dict[str, Any] | None:
    if request.type not in ERASING_TYPES:
        return None
    nodes = list(
        AffectedNode.objects.filter(request=request).select_related(
            "dataset_version", "deployment__model_version__model"
        )
    )
    erasures = {
        row.dataset_version_id: row
        for row in RowErasure.objects.filter(request=request).select_related("replacement__dataset")
    }
    exemptions = {
        row.model_version_id: row
        for row in ErasureExemption.objects.filter(request=request).select_related("decided_by")
    }
    binding = request.status in BINDING_STATUSES
    report: dict[str, Any] = {
        "computed_at": _iso(request.impact_computed_at),
        "dataset_versions": [],
        "runs": [],
        "model_versions": [],
        "deployments": [],
    }
    for node in nodes:
        if node.kind == AffectedKind.DATASET_VERSION and node.dataset_version is not None:
            erased = erasures.get(node.dataset_version.pk)
            report["dataset_versions"].append(_dataset_version_impact(node, erased))
        elif node.kind == AffectedKind.RUN:
            report["runs"].append(node.node_id)
        elif node.kind == AffectedKind.MODEL_VERSION:
            exemption = exemptions.get(node.model_version_id) if node.model_version_id else None
            report["model_versions"].append(_model_version_impact(node, exemption, binding=binding))
        elif node.kind == AffectedKind.DEPLOYMENT and node.deployment is not None:
            report["deployments"].append(
                {
                    "node_id": node.node_id,
                    "environment": node.deployment.environment,
                    "model_version": node.deployment.model_version.node_id,
                    "serving": node.deployment.until is None,
                }
            )
    return report


def _found(request: PrivacyRequest, impact: dict[str, Any] | None) -> dict[str, Any]:
    states = consent_states(subject_hash=request.subject_hash)
    if impact is not None:
        datasets = [row["node_id"] for row in impact["dataset_versions"]]
        models = [row["node_id"] for row in impact["model_versions"]]
        deployments = [row["node_id"] for row in impact["deployments"]]
    else:  # access, objection: what holds the subject now, read live
        live = erasure_impact(subject_hash=request.subject_hash)
        datasets, models, deployments = (
            sorted(live.dataset_versions),
            sorted(live.model_versions),
            sorted(live.deployments),
        )
    return {
        "consent_records": ConsentEvent.objects.filter(subject_hash=request.subject_hash).count(),
        "consent_by_purpose": [
            {"purpose": purpose, "status": state.status, "since": _iso(state.since)}
            for purpose, state in sorted(states.items())
        ],
        "dataset_versions": datasets,
        "model_versions": models,
        "deployments": deployments,
    }


def _timeline(request: PrivacyRequest) -> list[TimelineStep]:
    steps: list[tuple[datetime, str]] = [(request.received_at, f"{request.type} request received")]
    if request.verified_at:
        steps.append((request.verified_at, "identity of the requester verified"))
    if request.impact_computed_at:
        steps.append(
            (request.impact_computed_at, "datasets, models and deployments holding the data identified")
        )
    if request.started_at:
        steps.append((request.started_at, "work on the request started"))
    for erasure in RowErasure.objects.filter(request=request).select_related(
        "dataset_version__dataset", "replacement__dataset"
    ):
        to = f", replaced by {erasure.replacement.node_id}" if erasure.replacement else ""
        what = f"{erasure.rows_removed} row(s) erased from {erasure.dataset_version.node_id}{to}"
        steps.append((erasure.created_at, what))
    exemptions = ErasureExemption.objects.filter(request=request).select_related("model_version__model")
    steps.extend(
        (one.decided_at, f"{one.model_version.node_id} kept in service: {one.get_ground_display()}")
        for one in exemptions
    )
    if request.completed_at:
        steps.append((request.completed_at, "request completed"))
    if request.denied_at:
        steps.append((request.denied_at, f"request denied: {request.denial_reason}"))
    return [
        {"at": moment.isoformat(), "what": what} for moment, what in sorted(steps, key=lambda step: step[0])
    ]


def _outcome(request: PrivacyRequest) -> str:
    if request.status == RequestStatus.DENIED:
        return f"Your request was denied: {request.denial_reason}"
    if request.status == RequestStatus.COMPLETED:
        if request.type in ERASING_TYPES:
            return (
                "Your data was erased from every stored dataset listed; models trained on it are not "
                "deployed again unless retrained without your data or exempted on the legal ground stated."
            )
        return "Your request was completed; what we hold about you is listed above."
    status = request.status.replace("_", " ")
    return f"Your request is being handled ({status}); we answer by {request.respond_by}."


class PrivacyRequestReport(TypedDict):
    request: dict[str, Any]
    impact: dict[str, Any] | None
    response_document: ResponseDocument


def privacy_request_report(*, request: PrivacyRequest) -> PrivacyRequestReport:
    """Everything about one request: its record, its impact (erasure, deletion) and the answer."""
    impact = _impact(request)
    handler = request.handled_by
    today = timezone.now().date()
    return {
        "request": {
            "id": request.pk,
            "type": request.type,
            "jurisdiction": request.jurisdiction,
            "status": request.status,
            "subject_hash": request.subject_hash,
            "purposes": request.purposes,
            "received_at": _iso(request.received_at),
            "acknowledge_by": _iso(request.acknowledge_by),
            "respond_by": _iso(request.respond_by),
            "overdue": request.status in OPEN_STATUSES and request.respond_by < today,
            "verified_at": _iso(request.verified_at),
            "started_at": _iso(request.started_at),
            "completed_at": _iso(request.completed_at),
            "denied_at": _iso(request.denied_at),
            "denial_reason": request.denial_reason,
            "created_by": request.created_by.username,
            "handled_by": None
            if handler is None
            else {"username": handler.username, "full_name": handler.full_name or handler.username},
        },
        "impact": impact,
        "response_document": {
            "title": f"Answer to your {request.type} request",
            "law": LAW[request.type],
            "request": request.pk,
            "received": request.received_at.date().isoformat(),
            "answer_due": request.respond_by.isoformat(),
            "status": request.status,
            "found": _found(request, impact),
            "done": _timeline(request),
            "outcome": _outcome(request),
        },
    }


def dataset_versions_holding(*, subject_hash: str) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(subjects__subject_hash=subject_hash).select_related("dataset")


def _dataset_version_impact(node: AffectedNode, erased: RowErasure | None) -> dict[str, Any]:
    """An affected dataset version and, once its rows are erased, the version that replaced it."""
    assert node.dataset_version is not None  # noqa: S101 - the caller picked dataset-version nodes
    return {
        "node_id": node.node_id,
        "sha256": node.dataset_version.sha256,
        "stored": bool(node.dataset_version.storage_name),
        "erased": None
        if erased is None
        else {
            "replacement": erased.replacement.node_id if erased.replacement else None,
            "rows_removed": erased.rows_removed,
            "at": _iso(erased.created_at),
        },
    }


def _model_version_impact(
    node: AffectedNode, exemption: ErasureExemption | None, *, binding: bool
) -> dict[str, Any]:
    """An affected model version: deploys are blocked while the request binds, unless exempted."""
    return {
        "node_id": node.node_id,
        "deploy_blocked": binding and exemption is None,
        "exemption": None
        if exemption is None
        else {
            "ground": exemption.ground,
            "reason": exemption.reason,
            "decided_by": exemption.decided_by.full_name or exemption.decided_by.username,
            "decided_at": _iso(exemption.decided_at),
        },
    }
