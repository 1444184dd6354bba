"""Writing lineage from OpenLineage events: one accepted event = its raw row, the registry upserts,
the edges and one audit entry, in one transaction.

What an event writes is worked out first, without the database (``registry.openlineage.plan``). On
PostgreSQL one function call applies the plan (``registry.services.lineage_postgres``): ingestion runs
at pipeline speed and round trips were most of its cost. Elsewhere (SQLite, the embedded default) the
plan is applied here, statement by statement, with the same result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db import connection, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.jcs import canonical_json
from audit.services import Target, audit_record
from governance.accounts.models import User
from registry.edges import USED_BY, VERSION_OF, edges_add
from registry.models import Dataset, DatasetVersion, Job, LineageEvent, TrainingRun
from registry.openlineage.column_facets import column_facets
from registry.openlineage.limits import INVALID_EVENT, InvalidLineageEvent, check_limits, parse_time
from registry.openlineage.plan import (
    TERMINAL_STATES,
    UNKNOWN_VERSION,
    LineagePlan,
    NameKey,
    RunPlan,
    dataset_node,
    plan_event,
    version_node,
)
from registry.openlineage.spec import EventKind, OpenLineageError, validate_event
from registry.services.columns import columns_store
from registry.services.lineage_postgres import lineage_plan_apply
from registry.services.upserts import insert_new, locked_rows, update_columns, upsert_merging_facets

__all__ = ["INVALID_EVENT", "IngestResult", "InvalidLineageEvent", "lineage_event_ingest"]


@dataclass(frozen=True)
class IngestResult:
    event: LineageEvent
    created: bool  # False: the identical event was stored before, and nothing changed now


def lineage_event_ingest(*, actor: Actor, user: User, event: object) -> IngestResult:
    """Store one OpenLineage 2-0-2 event and the lineage it describes.

    1. Validate against the spec (the error names the JSON path) and against our column limits.
    2. Hash the RFC 8785 canonical JSON of the body; a body stored before returns that row and
       changes nothing (no second audit entry), so client retries and replays are harmless.
    3. Keep the raw event, upsert jobs and datasets by (namespace, name) merging facets (unknown
       facets are kept as sent), and for a RunEvent the run, its input and output dataset versions
       and the edges dataset → version → run → version, job → run, dataset → job → dataset. An
       input without a version binds to an existing version or the unknown marker
       (``registry.openlineage.plan``), never to a version named after the reader.
    4. Record one ``lineage.event_ingest`` audit entry naming the node ids touched.

    All or nothing: in one transaction (the caller's, if it has one).
    """
    kind = _validated_kind(event)
    event = cast("dict[str, Any]", event)  # validate_event accepts JSON objects only
    try:
        digest = hashlib.sha256(canonical_json(event)).hexdigest()
    except (TypeError, ValueError) as exc:
        raise InvalidLineageEvent("$", f"cannot be canonicalised (RFC 8785): {exc}") from exc
    check_limits(kind, event)
    columns = column_facets(kind, event)  # schema, columnLineage, fideslang tags; 400 over our limits

    event_time = parse_time(event["eventTime"])
    plan = plan_event(kind, event, event_time=event_time)
    stored = LineageEvent(
        kind=kind,
        event_type=str(event.get("eventType", "")) if kind == "RunEvent" else "",
        event_time=event_time,
        run_id=plan.run.run_id if plan.run else None,
        body=event,
        body_sha256=digest,
        received_by=user,
        received_at=timezone.now(),
    )
    audit_data = {  # node ids only: facets stay out of the log
        "kind": kind,
        "eventType": stored.event_type or None,
        "runId": str(plan.run.run_id) if plan.run else None,
        "job": plan.job_node_id,
        "datasets": sorted(set(plan.touched_datasets)),
        "bodySha256": digest,
    }
    # An event with column facets writes them in the plan's transaction (all or nothing); one without
    # keeps PostgreSQL's single-statement path, the statement its own transaction.
    with transaction.atomic() if columns else nullcontext():
        if connection.vendor == "postgresql":
            created = lineage_plan_apply(stored, plan, actor=actor, audit_data=audit_data)
        else:
            created = _ingest_rows(stored, plan, actor=actor, audit_data=audit_data)
        columns_store(columns, plan)  # fields and column edges; idempotent, so a replay completes them
    if not created:
        return IngestResult(LineageEvent.objects.get(pk=stored.pk), created=False)
    return IngestResult(stored, created=True)


def _validated_kind(event: object) -> EventKind:
    try:
        return validate_event(event)
    except OpenLineageError as exc:
        raise InvalidLineageEvent(exc.path, exc.problem) from exc
    except RecursionError as exc:
        raise InvalidLineageEvent("$", "nested too deeply") from exc


@transaction.atomic
def _ingest_rows(
    stored: LineageEvent, plan: LineagePlan, *, actor: Actor, audit_data: dict[str, Any]
) -> bool:
    """Apply the plan statement by statement; False (and nothing written) for an event stored before,
    whose id ``stored.pk`` is then set to."""
    # ON CONFLICT DO NOTHING waits for a concurrent identical event to commit, then skips our row.
    if not insert_new(LineageEvent, {(stored.body_sha256,): stored}, ("body_sha256",)):
        stored.pk = LineageEvent.objects.values_list("pk", flat=True).get(body_sha256=stored.body_sha256)
        return False
    user, now = stored.received_by, stored.received_at
    job = _job_upsert(plan.job, plan.job_facets, now=now) if plan.job else None
    run = _run_upsert(plan.run, job=job, user=user, now=now) if plan.run else None
    datasets = upsert_merging_facets(
        Dataset,
        ("namespace", "name"),
        plan.datasets,
        lambda key, facets: Dataset(namespace=key[0], name=key[1], facets=facets, created_at=now),
    )
    bound = _bind_inputs(plan, run, datasets, user=user, now=now) if run is not None and plan.bind else {}
    versions = upsert_merging_facets(
        DatasetVersion,
        ("dataset_id", "version"),
        {(datasets[key[:2]].pk, key[2]): facets for key, facets in plan.versions.items()},
        lambda key, facets: DatasetVersion(
            dataset_id=key[0],
            version=key[1],
            facets=facets,
            created_by=user,
            created_at=now,
            event_time=plan.event_time,
            unknown=False,
        ),
    )
    edges_add([*plan.edges, *_bound_edges(bound, run)])
    if run is not None:
        _link(
            run,
            inputs=[
                *(versions[(datasets[key[:2]].pk, key[2])].pk for key in plan.inputs),
                *(pk for _, pk in bound.values()),
            ],
            outputs=[versions[(datasets[key[:2]].pk, key[2])].pk for key in plan.outputs],
        )
    audit_record(
        actor=actor,
        action=AuditAction.LINEAGE_EVENT_INGEST,
        target=Target.of("lineage_event", stored.pk),
        data=audit_data,
    )
    return True


_PRIOR_INPUT_SQL = (
    "SELECT v.id, v.version FROM registry_trainingrun_inputs i "
    "JOIN registry_datasetversion v ON v.id = i.datasetversion_id "
    "WHERE i.trainingrun_id = %s AND v.dataset_id = %s ORDER BY v.id LIMIT 1"
)
# The newest version at the event's time that this run did not write; the unknown marker never binds.
_LATEST_SQL = (
    "SELECT v.id, v.version FROM registry_datasetversion v "
    "WHERE v.dataset_id = %s AND NOT v.unknown AND COALESCE(v.event_time, v.created_at) <= %s "
    "AND NOT EXISTS (SELECT 1 FROM registry_trainingrun_outputs o "
    "WHERE o.datasetversion_id = v.id AND o.trainingrun_id = %s) "
    "ORDER BY COALESCE(v.event_time, v.created_at) DESC, v.id DESC LIMIT 1"
)


def _bind_inputs(
    plan: LineagePlan, run: TrainingRun, datasets: dict[Any, Dataset], *, user: User, now: datetime
) -> dict[NameKey, tuple[str, int]]:
    """The version each input sent without one binds to: (version, row id) per dataset. As the
    PostgreSQL function does: the version this run read before, else the newest at the event's time
    that this run did not write, else the dataset's unknown marker (created if need be)."""
    assert plan.event_time is not None  # noqa: S101 - every RunEvent plan has its event's time
    at = DatasetVersion._meta.get_field("created_at").get_db_prep_value(plan.event_time, connection)
    bound: dict[NameKey, tuple[str, int]] = {}
    missing: list[NameKey] = []
    with connection.cursor() as cursor:
        for key in plan.bind:
            dataset_id = datasets[key].pk
            cursor.execute(_PRIOR_INPUT_SQL, [run.pk, dataset_id])
            found = cursor.fetchone()
            if found is None:
                cursor.execute(_LATEST_SQL, [dataset_id, at, run.pk])
                found = cursor.fetchone()
            if found is None:
                missing.append(key)
            else:
                bound[key] = (str(found[1]), int(found[0]))
    if missing:
        markers = upsert_merging_facets(
            DatasetVersion,
            ("dataset_id", "version"),
            {(datasets[key].pk, UNKNOWN_VERSION): {} for key in missing},
            lambda key, facets: DatasetVersion(
                dataset_id=key[0],
                version=key[1],
                facets=facets,
                unknown=True,
                created_by=user,
                created_at=now,
            ),
        )
        bound.update(
            (key, (UNKNOWN_VERSION, markers[(datasets[key].pk, UNKNOWN_VERSION)].pk)) for key in missing
        )
    return bound


def _bound_edges(
    bound: dict[NameKey, tuple[str, int]], run: TrainingRun | None
) -> list[tuple[str, str, str]]:
    edges: list[tuple[str, str, str]] = []
    for key, (version, _) in bound.items():
        node = version_node((*key, version))
        edges.append((dataset_node(key), node, VERSION_OF))
        if run is not None:
            edges.append((node, run.node_id, USED_BY))
    return edges


def _job_upsert(key: tuple[str, str], facets: dict[str, Any], *, now: datetime) -> Job:
    rows = upsert_merging_facets(
        Job,
        ("namespace", "name"),
        {key: facets},
        lambda key, facets: Job(namespace=key[0], name=key[1], facets=facets, created_at=now),
    )
    return rows[key]


def _link(run: TrainingRun, *, inputs: Iterable[int], outputs: Iterable[int]) -> None:
    """What ``run.inputs.add()`` and ``run.outputs.add()`` do, without first reading the pairs already
    there: one INSERT ... ON CONFLICT DO NOTHING per side."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for through, version_ids in (
            (TrainingRun.inputs.through, list(inputs)),
            (TrainingRun.outputs.through, list(outputs)),
        ):
            if version_ids:
                cursor.execute(
                    f"INSERT INTO {quote(through._meta.db_table)} (trainingrun_id, datasetversion_id) "  # noqa: S608 - names from the model, values bound
                    f"VALUES {', '.join(['(%s, %s)'] * len(version_ids))} "
                    "ON CONFLICT (trainingrun_id, datasetversion_id) DO NOTHING",
                    [value for pk in version_ids for value in (run.pk, pk)],
                )


def _run_upsert(plan: RunPlan, *, job: Job | None, user: User, now: datetime) -> TrainingRun:
    """Create or advance the run. Events may arrive out of order, so a late START or RUNNING never
    overwrites a terminal state, and OTHER (spec: "not a state transition") never changes it."""
    event_type, event_time = plan.event_type, plan.event_time
    run_columns = ("job_id", "state", "started_at", "ended_at", "facets")
    new = TrainingRun(
        run_id=plan.run_id,
        job=job,
        state=event_type,
        started_at=event_time if event_type == "START" else None,
        ended_at=event_time if event_type in TERMINAL_STATES else None,
        facets=plan.facets,
        started_by=user,
        created_at=now,
    )
    if insert_new(TrainingRun, {(plan.run_id,): new}, ("run_id",)):
        return new
    # The run exists (an earlier or concurrent event of it inserted it): advance that row instead.
    run = locked_rows(TrainingRun, ("run_id",), [(plan.run_id,)], run_columns)[(plan.run_id,)]
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
    if run.job_id is None and job is not None:
        run.job = job
        changed.append("job")
    merged = {**run.facets, **plan.facets}
    if merged != run.facets:
        run.facets = merged
        changed.append("facets")
    if changed:
        update_columns(run, changed)
    return run
