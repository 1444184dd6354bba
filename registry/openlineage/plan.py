"""What one OpenLineage event asks the registry to write, worked out without touching the database.

The mapping follows Marquez (the OpenLineage reference backend), with run-level detail kept and two
deliberate differences. A dataset's version comes from the ``datasetVersion`` dataset facet when the
producer sends one (Marquez ignores it, MarquezProject/marquez#2733). Without one:

* an output gets a version named after the run that wrote it, so two runs never collapse into one;
* an input is *bound* when the plan is applied (the database knows what exists): to the version the
  run read before (a run's later events keep its first binding), else to the dataset's newest version
  at the event's time not written by that run, else to the recorded "unknown version" marker
  (``UNKNOWN_VERSION``). A reader never creates a version named after itself.

Jobs are linked to the datasets their runs read and write (``job_input``, ``job_output``), as
Marquez's lineage graph shows them, beside the run-level edges.

Both writers apply the same plan: the row-by-row one in ``registry.services.lineage`` (SQLite) and the
single PostgreSQL function call in ``registry.services.lineage_postgres``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from registry.edges import JOB_INPUT, JOB_OUTPUT, PRODUCED, RUN_OF, USED_BY, VERSION_OF
from registry.openlineage.spec import EventKind

TERMINAL_STATES = frozenset({"COMPLETE", "FAIL", "ABORT"})
# The version an input without a version facet binds to when no version of the dataset is known at
# its event's time (``DatasetVersion.unknown`` marks the row); never bound to by later readers.
UNKNOWN_VERSION = "unknown"

NameKey = tuple[str, str]  # (namespace, name)
VersionKey = tuple[str, str, str]  # (namespace, name, version)


@dataclass(frozen=True)
class RunPlan:
    run_id: uuid.UUID
    event_type: str  # START, RUNNING, COMPLETE, ABORT, FAIL or OTHER (the spec's default)
    event_time: datetime
    facets: dict[str, Any]

    @property
    def node_id(self) -> str:
        return f"run:{self.run_id}"


@dataclass
class LineagePlan:
    """Rows to upsert (facets merged in the order the event sends them), edges and run links to add,
    and the node ids the event touched (for its audit entry: ids only, facets stay out of the log)."""

    event_time: datetime | None = None  # the event's; new dataset versions take it as theirs
    job: NameKey | None = None
    job_facets: dict[str, Any] = field(default_factory=dict)
    run: RunPlan | None = None
    datasets: dict[NameKey, dict[str, Any]] = field(default_factory=dict)
    versions: dict[VersionKey, dict[str, Any]] = field(default_factory=dict)
    edges: list[tuple[str, str, str]] = field(default_factory=list)
    inputs: list[VersionKey] = field(default_factory=list)
    outputs: list[VersionKey] = field(default_factory=list)
    bind: list[NameKey] = field(default_factory=list)  # inputs without a version: bound when applied
    touched_datasets: list[str] = field(default_factory=list)

    @property
    def job_node_id(self) -> str | None:
        return job_node(self.job) if self.job else None

    def add_dataset(self, item: Mapping[str, Any]) -> NameKey:
        key = (item["namespace"], item["name"])
        self.datasets[key] = {**self.datasets.get(key, {}), **(item.get("facets") or {})}
        return key

    def add_version(self, key: VersionKey, facets: Mapping[str, Any]) -> str:
        self.versions[key] = {**self.versions.get(key, {}), **facets}
        self.edges.append((dataset_node(key[:2]), version_node(key), VERSION_OF))
        return version_node(key)

    def add_job_edge(self, dataset: NameKey, job: NameKey, side: str) -> None:
        if side == "in":
            self.edges.append((dataset_node(dataset), job_node(job), JOB_INPUT))
        else:
            self.edges.append((job_node(job), dataset_node(dataset), JOB_OUTPUT))


def job_node(key: NameKey) -> str:
    return f"job:{key[0]}:{key[1]}"


def dataset_node(key: NameKey) -> str:
    return f"dataset:{key[0]}:{key[1]}"


def version_node(key: VersionKey) -> str:
    return f"dataset:{key[0]}:{key[1]}#{key[2]}"


def plan_event(kind: EventKind, event: Mapping[str, Any], *, event_time: datetime) -> LineagePlan:
    """The writes for a valid event (``validate_event`` and ``check_limits`` passed)."""
    plan = LineagePlan(event_time=event_time)
    if kind == "DatasetEvent":
        item = event["dataset"]
        namespace, name = plan.add_dataset(item)
        plan.touched_datasets.append(dataset_node((namespace, name)))
        version = facet_version(item)
        if version is not None:
            facets = dict(item.get("facets") or {})
            plan.touched_datasets.append(plan.add_version((namespace, name, version), facets))
        return plan
    job = plan.job = (event["job"]["namespace"], event["job"]["name"])
    plan.job_facets = dict(event["job"].get("facets") or {})
    if kind == "JobEvent":  # the job's declared inputs and outputs
        for side, items in (("in", event.get("inputs", [])), ("out", event.get("outputs", []))):
            for item in items:
                key = plan.add_dataset(item)
                plan.add_job_edge(key, job, side)
                plan.touched_datasets.append(dataset_node(key))
        plan.edges = list(dict.fromkeys(plan.edges))
        return plan
    run = RunPlan(
        run_id=uuid.UUID(event["run"]["runId"]),
        event_type=str(event.get("eventType") or "OTHER"),
        event_time=event_time,
        facets=dict(event["run"].get("facets") or {}),
    )
    plan.run = run
    plan.edges.append((job_node(job), run.node_id, RUN_OF))
    _plan_run_datasets(plan, event, job, run)
    plan.edges = list(dict.fromkeys(plan.edges))
    return plan


def _plan_run_datasets(plan: LineagePlan, event: Mapping[str, Any], job: NameKey, run: RunPlan) -> None:
    inputs: dict[VersionKey, None] = {}
    outputs: dict[VersionKey, None] = {}
    bind: dict[NameKey, None] = {}
    for side_facets, items, linked in (
        ("inputFacets", event.get("inputs", []), inputs),
        ("outputFacets", event.get("outputs", []), outputs),
    ):
        for item in items:
            dataset = plan.add_dataset(item)
            plan.add_job_edge(dataset, job, "in" if linked is inputs else "out")
            version = facet_version(item)
            if version is None and linked is inputs:
                bind[dataset] = None  # the version is looked up when the plan is applied
                plan.touched_datasets.append(dataset_node(dataset))
                continue
            key = (*dataset, version or str(run.run_id))
            node = plan.add_version(key, {**(item.get("facets") or {}), **(item.get(side_facets) or {})})
            if linked is inputs:
                plan.edges.append((node, run.node_id, USED_BY))
            else:
                plan.edges.append((run.node_id, node, PRODUCED))
            linked[key] = None
            plan.touched_datasets.append(node)
    plan.inputs = list(inputs)
    plan.outputs = list(outputs)
    # A dataset read both with and without a version in one event: the named version is the binding.
    plan.bind = [key for key in bind if not any(key == named[:2] for named in inputs)]


# DatasetVersionDatasetFacet 1-0-1 is named ``version`` in a dataset's facets (the spec's facet file;
# Spark's Delta and Iceberg writes, the Java client); ``datasetVersion``, what this registry read first,
# is still read after it.
VERSION_FACET_KEYS = ("version", "datasetVersion")


def version_facet(dataset_event: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The key and value of ``facets.<version facet>.datasetVersion``, if sent."""
    facets = dataset_event.get("facets") or {}
    for key in VERSION_FACET_KEYS:
        facet = facets.get(key)
        if isinstance(facet, dict) and "datasetVersion" in facet:
            return key, facet["datasetVersion"]
    return None


def facet_version(dataset_event: Mapping[str, Any]) -> str | None:
    """The dataset version the producer names (``version_facet``), as text."""
    found = version_facet(dataset_event)
    if found is None:
        return None
    value = found[1]
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None  # check_limits refused it already; kept for type narrowing
    return str(value)
