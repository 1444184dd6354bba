"""Writing lineage from OpenLineage events: one accepted event = its raw row, the registry upserts,
the edges and one audit entry, in one transaction.

The mapping follows Marquez (the OpenLineage reference backend), with one deliberate difference: a
dataset's version comes from the ``datasetVersion`` dataset facet when the producer sends one (Marquez
ignores it, MarquezProject/marquez#2733); otherwise the version is named after the run, so two runs
never collapse into one version.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.jcs import canonical_json
from audit.services import Target, audit_record
from governance.accounts.models import User
from governance.errors import ApplicationError
from registry.edges import PRODUCED, RUN_OF, USED_BY, VERSION_OF, edge_add
from registry.models import Dataset, DatasetVersion, Job, LineageEvent, TrainingRun
from registry.openlineage.spec import EventKind, OpenLineageError, validate_event

INVALID_EVENT = "invalid_openlineage_event"
TERMINAL_STATES = frozenset({"COMPLETE", "FAIL", "ABORT"})
# Model column limits, checked up front: PostgreSQL refuses an over-long value with an error (a 500,
# which the OpenLineage client would retry forever) where SQLite silently stores it.
_MAX_NAMESPACE = 200
_MAX_NAME = 300
_MAX_VERSION = 200
_MAX_NODE_ID = 700


class InvalidLineageEvent(ApplicationError):
    """The body is not an OpenLineage event we can store; ``detail`` is ``<path>: <problem>``."""

    code = INVALID_EVENT
    status = 400

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class IngestResult:
    event: LineageEvent
    created: bool  # False: the identical event was stored before, and nothing changed now


@dataclass
class _Touched:
    """Node ids an event touched, for the audit entry (ids only; facets stay out of the log)."""

    job: str | None = None
    datasets: list[str] = field(default_factory=list)


@transaction.atomic
def lineage_event_ingest(*, actor: Actor, user: User, event: object) -> IngestResult:
    """Store one OpenLineage 2-0-2 event and the lineage it describes.

    1. Validate against the spec (the error names the JSON path) and against our column limits.
    2. Hash the RFC 8785 canonical JSON of the body; a body stored before returns that row and
       changes nothing (no second audit entry), so client retries and replays are harmless.
    3. Keep the raw event, upsert jobs and datasets by (namespace, name) merging facets (unknown
       facets are kept as sent), and for a RunEvent the run, its input and output dataset versions
       and the edges dataset → version → run → version, job → run.
    4. Record one ``lineage.event_ingest`` audit entry naming the node ids touched.
    """
    kind = _validated_kind(event)
    event = cast("dict[str, Any]", event)  # validate_event accepts JSON objects only
    try:
        digest = hashlib.sha256(canonical_json(event)).hexdigest()
    except (TypeError, ValueError) as exc:
        raise InvalidLineageEvent("$", f"cannot be canonicalised (RFC 8785): {exc}") from exc
    _check_limits(kind, event)

    existing = LineageEvent.objects.filter(body_sha256=digest).first()
    if existing is not None:
        return IngestResult(existing, created=False)

    now = timezone.now()
    event_time = _parse_time(event["eventTime"])
    run_uuid = uuid.UUID(event["run"]["runId"]) if kind == "RunEvent" else None
    try:
        # A savepoint: a concurrent identical event commits first and we answer as for a replay.
        with transaction.atomic():
            stored = LineageEvent.objects.create(
                kind=kind,
                event_type=str(event.get("eventType", "")) if kind == "RunEvent" else "",
                event_time=event_time,
                run_id=run_uuid,
                body=event,
                body_sha256=digest,
                received_by=user,
                received_at=now,
            )
    except IntegrityError:
        return IngestResult(LineageEvent.objects.get(body_sha256=digest), created=False)

    touched = _Touched()
    if kind == "RunEvent":
        _apply_run_event(event, event_time=event_time, user=user, now=now, touched=touched)
    elif kind == "JobEvent":
        touched.job = _job_upsert(event["job"], now=now).node_id
        for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
            touched.datasets.append(_dataset_upsert(dataset, now=now).node_id)
    else:
        dataset = _dataset_upsert(event["dataset"], now=now)
        touched.datasets.append(dataset.node_id)
        version = _facet_version(event["dataset"])
        if version is not None:
            row = _version_get(dataset, version, event["dataset"], None, user=user, now=now)
            touched.datasets.append(row.node_id)

    audit_record(
        actor=actor,
        action=AuditAction.LINEAGE_EVENT_INGEST,
        target=Target.of("lineage_event", stored.pk),
        data={
            "kind": kind,
            "eventType": stored.event_type or None,
            "runId": str(run_uuid) if run_uuid else None,
            "job": touched.job,
            "datasets": sorted(set(touched.datasets)),
            "bodySha256": digest,
        },
    )
    return IngestResult(stored, created=True)


def _validated_kind(event: object) -> EventKind:
    try:
        return validate_event(event)
    except OpenLineageError as exc:
        raise InvalidLineageEvent(exc.path, exc.problem) from exc
    except RecursionError as exc:
        raise InvalidLineageEvent("$", "nested too deeply") from exc


def _apply_run_event(
    event: dict[str, Any], *, event_time: datetime, user: User, now: datetime, touched: _Touched
) -> None:
    job = _job_upsert(event["job"], now=now)
    touched.job = job.node_id
    run = _run_upsert(event, job=job, event_time=event_time, user=user, now=now)
    edge_add(source=job.node_id, target=run.node_id, relation=RUN_OF)
    fallback = str(run.run_id)
    inputs: list[DatasetVersion] = []
    for dataset_event in event.get("inputs", []):
        dataset = _dataset_upsert(dataset_event, now=now)
        version_name = _facet_version(dataset_event) or fallback
        version = _version_get(dataset, version_name, dataset_event, "inputFacets", user=user, now=now)
        edge_add(source=version.node_id, target=run.node_id, relation=USED_BY)
        inputs.append(version)
        touched.datasets.append(version.node_id)
    outputs: list[DatasetVersion] = []
    for dataset_event in event.get("outputs", []):
        dataset = _dataset_upsert(dataset_event, now=now)
        version_name = _facet_version(dataset_event) or fallback
        version = _version_get(dataset, version_name, dataset_event, "outputFacets", user=user, now=now)
        edge_add(source=run.node_id, target=version.node_id, relation=PRODUCED)
        outputs.append(version)
        touched.datasets.append(version.node_id)
    if inputs:
        run.inputs.add(*inputs)
    if outputs:
        run.outputs.add(*outputs)


def _run_upsert(
    event: dict[str, Any], *, job: Job, event_time: datetime, user: User, now: datetime
) -> TrainingRun:
    """Create or advance the run. Events may arrive out of order, so a late START or RUNNING never
    overwrites a terminal state, and OTHER (spec: "not a state transition") never changes it."""
    event_type = str(event.get("eventType") or "OTHER")
    facets = dict(event["run"].get("facets") or {})
    run, created = TrainingRun.objects.select_for_update().get_or_create(
        run_id=uuid.UUID(event["run"]["runId"]),
        defaults={
            "job": job,
            "state": event_type,
            "started_at": event_time if event_type == "START" else None,
            "ended_at": event_time if event_type in TERMINAL_STATES else None,
            "facets": facets,
            "started_by": user,
            "created_at": now,
        },
    )
    if created:
        return run
    changed: list[str] = []
    advances = event_type != "OTHER" and (run.state not in TERMINAL_STATES or event_type in TERMINAL_STATES)
    if advances and run.state != event_type:
        run.state = event_type
        changed.append("state")
    if event_type == "START" and (run.started_at is None or event_time < run.started_at):
        run.started_at = event_time
        changed.append("started_at")
    if event_type in TERMINAL_STATES and (run.ended_at is None or event_time > run.ended_at):
        run.ended_at = event_time
        changed.append("ended_at")
    if run.job_id is None:
        run.job = job
        changed.append("job")
    merged = {**run.facets, **facets}
    if merged != run.facets:
        run.facets = merged
        changed.append("facets")
    if changed:
        run.save(update_fields=changed)
    return run


def _job_upsert(job_event: Mapping[str, Any], *, now: datetime) -> Job:
    facets = dict(job_event.get("facets") or {})
    job, created = Job.objects.select_for_update().get_or_create(
        namespace=job_event["namespace"],
        name=job_event["name"],
        defaults={"facets": facets, "created_at": now},
    )
    if not created:
        _merge_facets(job, facets)
    return job


def _dataset_upsert(dataset_event: Mapping[str, Any], *, now: datetime) -> Dataset:
    facets = dict(dataset_event.get("facets") or {})
    dataset, created = Dataset.objects.select_for_update().get_or_create(
        namespace=dataset_event["namespace"],
        name=dataset_event["name"],
        defaults={"facets": facets, "created_at": now},
    )
    if not created:
        _merge_facets(dataset, facets)
    return dataset


def _version_get(
    dataset: Dataset,
    version: str,
    dataset_event: Mapping[str, Any],
    extra_facets_key: str | None,
    *,
    user: User,
    now: datetime,
) -> DatasetVersion:
    """The dataset version (created if new) with this event's dataset facets, and its input or output
    facets, merged in; plus the dataset → version edge."""
    facets = dict(dataset_event.get("facets") or {})
    if extra_facets_key:
        facets.update(dataset_event.get(extra_facets_key) or {})
    row, created = DatasetVersion.objects.select_for_update().get_or_create(
        dataset=dataset,
        version=version,
        defaults={"facets": facets, "created_by": user, "created_at": now},
    )
    if not created:
        _merge_facets(row, facets)
    row.dataset = dataset  # node_id reads it; spare the query
    edge_add(source=dataset.node_id, target=row.node_id, relation=VERSION_OF)
    return row


def _merge_facets(row: Job | Dataset | DatasetVersion, facets: Mapping[str, Any]) -> None:
    """Facets sent now replace those of the same name; facets not sent now are kept (as in Marquez)."""
    merged = {**row.facets, **facets}
    if merged != row.facets:
        row.facets = merged
        row.save(update_fields=["facets"])


def _facet_version(dataset_event: Mapping[str, Any]) -> str | None:
    """``facets.datasetVersion.datasetVersion`` (DatasetVersionDatasetFacet 1-0-1), if sent."""
    facet = (dataset_event.get("facets") or {}).get("datasetVersion")
    if not isinstance(facet, dict) or "datasetVersion" not in facet:
        return None
    value = facet["datasetVersion"]
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None  # _check_limits refused it already; kept for type narrowing
    return str(value)


def _parse_time(text: str) -> datetime:
    # validate_event checked RFC 3339 §5.6; Python wants an upper-case T/Z and has no leap second.
    normalised = text.upper()
    if normalised[17:19] == "60":
        normalised = normalised[:17] + "59" + normalised[19:]
    try:
        return datetime.fromisoformat(normalised)
    except ValueError as exc:  # pragma: no cover - the spec check accepts only parseable forms
        raise InvalidLineageEvent("eventTime", f"{text!r} is not an RFC 3339 date-time") from exc


def _check_limits(kind: EventKind, event: dict[str, Any]) -> None:
    """Refuse what the spec allows but our tables cannot hold, naming the path."""
    _check_no_nul(event, "")
    if kind != "DatasetEvent":
        _check_name(event["job"], "job", "job")
    datasets: list[tuple[str, Mapping[str, Any]]] = []
    if kind == "DatasetEvent":
        datasets.append(("dataset", event["dataset"]))
    for side in ("inputs", "outputs"):
        datasets.extend((f"{side}[{n}]", item) for n, item in enumerate(event.get(side, [])))
    for path, dataset in datasets:
        _check_name(dataset, path, "dataset")
        facet = (dataset.get("facets") or {}).get("datasetVersion")
        if isinstance(facet, dict) and "datasetVersion" in facet:
            value = facet["datasetVersion"]
            where = f"{path}.facets.datasetVersion.datasetVersion"
            if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
                raise InvalidLineageEvent(where, "must be a non-empty string")
            version = str(value)
            if len(version) > _MAX_VERSION:
                raise InvalidLineageEvent(where, f"longer than {_MAX_VERSION} characters")
            node_id = f"dataset:{dataset['namespace']}:{dataset['name']}#{version}"
            if len(node_id) > _MAX_NODE_ID:
                raise InvalidLineageEvent(
                    where, f"namespace, name and version together exceed {_MAX_NODE_ID} characters"
                )


def _check_name(item: Mapping[str, Any], path: str, prefix: str) -> None:
    if len(item["namespace"]) > _MAX_NAMESPACE:
        raise InvalidLineageEvent(f"{path}.namespace", f"longer than {_MAX_NAMESPACE} characters")
    if len(item["name"]) > _MAX_NAME:
        raise InvalidLineageEvent(f"{path}.name", f"longer than {_MAX_NAME} characters")
    # Room for "#<run id>" after a dataset's node id, the version named after the run.
    if len(f"{prefix}:{item['namespace']}:{item['name']}#") + 36 > _MAX_NODE_ID:
        raise InvalidLineageEvent(path, "namespace and name together are too long for a node id")


def _check_no_nul(value: object, path: str) -> None:
    """PostgreSQL's jsonb cannot store U+0000 in a string; refuse it rather than fail with a 500."""
    stack: list[tuple[object, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise InvalidLineageEvent(where or "$", "strings must not contain U+0000")
        elif isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    raise InvalidLineageEvent(where or "$", "member names must not contain U+0000")
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{n}]") for n, child in enumerate(item))
