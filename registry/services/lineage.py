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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.jcs import canonical_json
from audit.services import Target, audit_record
from governance.accounts.models import User
from governance.errors import ApplicationError
from registry.edges import PRODUCED, RUN_OF, USED_BY, VERSION_OF, edges_add
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

    A fixed number of statements per event, whatever its number of datasets: one per table, each
    covering every row of the event (ingestion runs at pipeline speed, so this is a hot path).
    """
    kind = _validated_kind(event)
    event = cast("dict[str, Any]", event)  # validate_event accepts JSON objects only
    try:
        digest = hashlib.sha256(canonical_json(event)).hexdigest()
    except (TypeError, ValueError) as exc:
        raise InvalidLineageEvent("$", f"cannot be canonicalised (RFC 8785): {exc}") from exc
    _check_limits(kind, event)

    now = timezone.now()
    event_time = _parse_time(event["eventTime"])
    run_uuid = uuid.UUID(event["run"]["runId"]) if kind == "RunEvent" else None
    stored = LineageEvent(
        kind=kind,
        event_type=str(event.get("eventType", "")) if kind == "RunEvent" else "",
        event_time=event_time,
        run_id=run_uuid,
        body=event,
        body_sha256=digest,
        received_by=user,
        received_at=now,
    )
    # ON CONFLICT DO NOTHING waits for a concurrent identical event to commit, then skips our row:
    # both that and a replay answer with the stored row.
    if not _insert_new(LineageEvent, {(digest,): stored}, ("body_sha256",)):
        return IngestResult(LineageEvent.objects.get(body_sha256=digest), created=False)

    touched = _Touched()
    if kind == "RunEvent":
        _apply_run_event(event, event_time=event_time, user=user, now=now, touched=touched)
    elif kind == "JobEvent":
        touched.job = _jobs_upsert(event["job"], now=now).node_id
        items = [*event.get("inputs", []), *event.get("outputs", [])]
        datasets = _datasets_upsert(items, now=now)
        touched.datasets.extend(datasets[_name_key(item)].node_id for item in items)
    else:
        item = event["dataset"]
        dataset = _datasets_upsert([item], now=now)[_name_key(item)]
        touched.datasets.append(dataset.node_id)
        version = _facet_version(item)
        if version is not None:
            facets = dict(item.get("facets") or {})
            row = _versions_upsert(
                {(dataset.pk, version): facets}, {dataset.pk: dataset}, user=user, now=now
            )[(dataset.pk, version)]
            edges_add([(dataset.node_id, row.node_id, VERSION_OF)])
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
    job = _jobs_upsert(event["job"], now=now)
    touched.job = job.node_id
    run = _run_upsert(event, job=job, event_time=event_time, user=user, now=now)
    fallback = str(run.run_id)
    sides = [("inputFacets", event.get("inputs", [])), ("outputFacets", event.get("outputs", []))]
    datasets = _datasets_upsert([item for _, items in sides for item in items], now=now)
    by_id = {dataset.pk: dataset for dataset in datasets.values()}
    # Per (dataset, version): its facets as the event's items send them, later items winning, which is
    # what merging them one by one in event order would give.
    wanted: dict[tuple[int, str], dict[str, Any]] = {}
    placed: list[tuple[str, tuple[int, str]]] = []
    for extra_facets_key, items in sides:
        for item in items:
            key = (datasets[_name_key(item)].pk, _facet_version(item) or fallback)
            facets = {**(item.get("facets") or {}), **(item.get(extra_facets_key) or {})}
            wanted[key] = {**wanted.get(key, {}), **facets}
            placed.append((extra_facets_key, key))
    versions = _versions_upsert(wanted, by_id, user=user, now=now)

    edges = [(job.node_id, run.node_id, RUN_OF)]
    inputs: dict[int, None] = {}
    outputs: dict[int, None] = {}
    for extra_facets_key, key in placed:
        version = versions[key]
        edges.append((by_id[key[0]].node_id, version.node_id, VERSION_OF))
        if extra_facets_key == "inputFacets":
            edges.append((version.node_id, run.node_id, USED_BY))
            inputs[version.pk] = None
        else:
            edges.append((run.node_id, version.node_id, PRODUCED))
            outputs[version.pk] = None
        touched.datasets.append(version.node_id)
    edges_add(edges)
    _link(run, inputs=inputs, outputs=outputs)


def _link(run: TrainingRun, *, inputs: Iterable[int], outputs: Iterable[int]) -> None:
    """What ``run.inputs.add()`` and ``run.outputs.add()`` do, without first reading the pairs already
    there: one INSERT ... ON CONFLICT DO NOTHING per side, both in one statement on PostgreSQL."""
    quote = connection.ops.quote_name
    statements: list[str] = []
    params: list[int] = []
    for through, version_ids in (
        (TrainingRun.inputs.through, list(inputs)),
        (TrainingRun.outputs.through, list(outputs)),
    ):
        if version_ids:
            statements.append(
                f"INSERT INTO {quote(through._meta.db_table)} (trainingrun_id, datasetversion_id) "  # noqa: S608 - names from the model, values bound
                f"VALUES {', '.join(['(%s, %s)'] * len(version_ids))} "
                "ON CONFLICT (trainingrun_id, datasetversion_id) DO NOTHING"
            )
            params.extend(value for pk in version_ids for value in (run.pk, pk))
    if len(statements) == 2 and connection.vendor == "postgresql":
        statements = [f"WITH linked_inputs AS ({statements[0]}) {statements[1]}"]
    with connection.cursor() as cursor:
        for sql in statements:
            count = sql.count("%s") if len(statements) > 1 else len(params)
            cursor.execute(sql, params[:count])
            params = params[count:]


def _run_upsert(
    event: dict[str, Any], *, job: Job, event_time: datetime, user: User, now: datetime
) -> TrainingRun:
    """Create or advance the run. Events may arrive out of order, so a late START or RUNNING never
    overwrites a terminal state, and OTHER (spec: "not a state transition") never changes it."""
    event_type = str(event.get("eventType") or "OTHER")
    facets = dict(event["run"].get("facets") or {})
    run_uuid = uuid.UUID(event["run"]["runId"])
    run_columns = ("job_id", "state", "started_at", "ended_at", "facets")
    run: TrainingRun | None = None
    if event_type != "START":
        # A run's START usually creates it, so that event tries the INSERT first and saves a SELECT.
        run = _locked(TrainingRun, ("run_id",), [(run_uuid,)], run_columns).get((run_uuid,))
    if run is None:
        new = TrainingRun(
            run_id=run_uuid,
            job=job,
            state=event_type,
            started_at=event_time if event_type == "START" else None,
            ended_at=event_time if event_type in TERMINAL_STATES else None,
            facets=facets,
            started_by=user,
            created_at=now,
        )
        if _insert_new(TrainingRun, {(run_uuid,): new}, ("run_id",)):
            return new
        # The run exists (an earlier or concurrent event of it inserted it): advance that row instead.
        run = _locked(TrainingRun, ("run_id",), [(run_uuid,)], run_columns)[(run_uuid,)]
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
        _update(run, changed)
    return run


def _name_key(item: Mapping[str, Any]) -> tuple[str, str]:
    return (item["namespace"], item["name"])


def _jobs_upsert(job_event: Mapping[str, Any], *, now: datetime) -> Job:
    key = _name_key(job_event)
    rows = _upsert_merging_facets(
        Job,
        ("namespace", "name"),
        {key: dict(job_event.get("facets") or {})},
        lambda key, facets: Job(namespace=key[0], name=key[1], facets=facets, created_at=now),
    )
    return rows[key]


def _datasets_upsert(items: list[Mapping[str, Any]], *, now: datetime) -> dict[tuple[str, str], Dataset]:
    """The datasets these items name, by (namespace, name), their facets merged in item order."""
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for item in items:
        key = _name_key(item)
        wanted[key] = {**wanted.get(key, {}), **(item.get("facets") or {})}
    return _upsert_merging_facets(
        Dataset,
        ("namespace", "name"),
        wanted,
        lambda key, facets: Dataset(namespace=key[0], name=key[1], facets=facets, created_at=now),
    )


def _versions_upsert(
    wanted: dict[tuple[int, str], dict[str, Any]],
    datasets: Mapping[int, Dataset],
    *,
    user: User,
    now: datetime,
) -> dict[tuple[int, str], DatasetVersion]:
    """The dataset versions by (dataset id, version), created if new, with these facets merged in."""
    rows = _upsert_merging_facets(
        DatasetVersion,
        ("dataset_id", "version"),
        wanted,
        lambda key, facets: DatasetVersion(
            dataset_id=key[0], version=key[1], facets=facets, created_by=user, created_at=now
        ),
    )
    for (dataset_id, _), row in rows.items():
        row.dataset = datasets[dataset_id]  # node_id reads it; spare the query
    return rows


_Row = TypeVar("_Row", bound=Model)
_FacetRow = TypeVar("_FacetRow", Job, Dataset, DatasetVersion)


def _upsert_merging_facets(
    model: type[_FacetRow],
    unique: tuple[str, str],
    wanted: Mapping[tuple[Any, Any], dict[str, Any]],
    new: Callable[[tuple[Any, Any], dict[str, Any]], _FacetRow],
) -> dict[tuple[Any, Any], _FacetRow]:
    """The rows with these keys, created with these facets if new, else with them merged in: facets
    sent now replace those of the same name, facets not sent now are kept (as in Marquez).

    1. Lock the rows that exist, in one SELECT ... FOR UPDATE in key order (concurrent events over
       the same datasets then lock them in the same order).
    2. Insert the others in one INSERT ... ON CONFLICT DO NOTHING.
    3. A row a concurrent transaction inserted between 1 and 2 is locked now and treated as existing,
       so its facets are merged, not overwritten.
    4. Write the facets that changed, in one UPDATE.
    """
    keys = sorted(wanted)
    rows = _locked(model, unique, keys, ("facets",))
    missing = {key: new(key, wanted[key]) for key in keys if key not in rows}
    existing = dict(rows)
    if missing:
        inserted = _insert_new(model, missing, unique)
        rows.update((key, row) for key, row in missing.items() if key in inserted)
        raced = _locked(model, unique, [key for key in missing if key not in inserted], ("facets",))
        rows.update(raced)
        existing.update(raced)
    for key, row in existing.items():
        merged = {**row.facets, **wanted[key]}
        if merged != row.facets:
            row.facets = merged
            _update(row, ["facets"])
    return rows


def _locked(
    model: type[_Row], unique: tuple[str, ...], keys: list[tuple[Any, ...]], columns: tuple[str, ...]
) -> dict[tuple[Any, ...], _Row]:
    """The rows with these keys that exist, locked FOR UPDATE in key order, loading only ``columns``.

    Raw SQL (row values, on PostgreSQL and SQLite) on this hot path, through a plain cursor: compiling
    the ORM's OR of lookups, and a RawQuerySet's set-up per call, cost more CPU than the database
    spent answering. Values pass the same converters a query would apply.
    """
    if not keys:
        return {}
    meta = model._meta
    fields = {field.attname: field for field in meta.concrete_fields}
    loaded = {meta.pk.attname, *unique, *columns}
    chosen = [field for field in meta.concrete_fields if field.attname in loaded]  # from_db's order
    quote = connection.ops.quote_name
    key_columns = ", ".join(quote(str(fields[name].column)) for name in unique)
    selected = ", ".join(quote(str(field.column)) for field in chosen)
    one = "(" + ", ".join(["%s"] * len(unique)) + ")"
    params = [
        fields[name].get_db_prep_value(value, connection)
        for key in keys
        for name, value in zip(unique, key, strict=True)
    ]
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = (
        f"SELECT {selected} FROM {quote(meta.db_table)} "  # noqa: S608 - as in _insert_new
        f"WHERE ({key_columns}) IN ({', '.join([one] * len(keys))}) ORDER BY {key_columns}{lock}"
    )
    converters: list[tuple[int, Callable[..., Any], Any]] = []
    for index, chosen_field in enumerate(chosen):
        column = chosen_field.get_col(meta.db_table)
        found_in = [*connection.ops.get_db_converters(column), *chosen_field.get_db_converters(connection)]
        converters.extend((index, convert, column) for convert in found_in)
    names = [chosen_field.attname for chosen_field in chosen]
    found: dict[tuple[Any, ...], _Row] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for values in cursor.fetchall():
            values = list(values)
            for index, convert, column in converters:
                values[index] = convert(values[index], column, connection)
            row = model.from_db(connection.alias, names, values)
            found[tuple(getattr(row, name) for name in unique)] = row
    return found


def _update(row: Model, names: list[str]) -> None:
    """``row.save(update_fields=names)`` as one plain UPDATE (the row holds only the columns it loaded)."""
    meta = row._meta
    by_name = {field.name: field for field in meta.concrete_fields}
    fields = [by_name[name] for name in names]
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
    params = [field.get_db_prep_save(getattr(row, field.attname), connection) for field in fields]
    sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(str(meta.pk.column))} = %s"  # noqa: S608 - as above
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, row.pk])


def _insert_new(
    model: type[_Row], rows: Mapping[tuple[Any, ...], _Row], unique: tuple[str, ...]
) -> set[tuple[Any, ...]]:
    """Insert the rows (keyed by their ``unique`` values) in one statement, skipping any whose key is
    taken (ON CONFLICT DO NOTHING, on PostgreSQL and SQLite); returns the keys inserted and sets
    their primary keys.

    Raw SQL: ``bulk_create(ignore_conflicts=True)`` cannot say which rows it inserted nor return
    their ids, which would cost another SELECT per table and event.
    """
    meta = model._meta
    fields = {field.attname: field for field in meta.concrete_fields}
    pk_field = next(field for field in fields.values() if field.primary_key)
    del fields[pk_field.attname]
    quote = connection.ops.quote_name
    params: list[Any] = []
    prepared: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for key, row in rows.items():
        values = {
            name: field.get_db_prep_save(field.pre_save(row, True), connection)
            for name, field in fields.items()
        }
        params.extend(values.values())
        prepared[tuple(values[name] for name in unique)] = key
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(fields)) + ")"] * len(rows))
    columns = ", ".join(quote(str(field.column)) for field in fields.values())
    key_columns = ", ".join(quote(str(fields[name].column)) for name in unique)
    returning = ", ".join([quote(str(pk_field.column)), key_columns])
    # Table and column names come from the model; every value is a bound parameter.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {placeholders} "  # noqa: S608
        f"ON CONFLICT ({key_columns}) DO NOTHING RETURNING {returning}"
    )
    inserted: set[tuple[Any, ...]] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for pk, *found in cursor.fetchall():
            key = prepared[tuple(found)]
            row = rows[key]
            row.pk = pk
            row._state.adding = False
            row._state.db = connection.alias
            inserted.add(key)
    return inserted


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
