"""Recording training runs: the run, its job (upserted), the dataset versions it read, their edges and
one audit entry, in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import Conflict, ValidationFailed
from registry.edges import JOB_INPUT, RUN_OF, USED_BY, edges_add
from registry.models import (
    DatasetVersion,
    Job,
    TrainingRun,
)
from registry.services.common import acting_user_id


class DatasetVersionRef(TypedDict):
    namespace: str
    name: str
    version: str


def _resolve_inputs(refs: Sequence[DatasetVersionRef]) -> list[DatasetVersion]:
    if not refs:
        return []
    query = Q(pk__in=[])
    for ref in refs:
        query |= Q(dataset__namespace=ref["namespace"], dataset__name=ref["name"], version=ref["version"])
    found = {
        (row.dataset.namespace, row.dataset.name, row.version): row
        for row in DatasetVersion.objects.filter(query).select_related("dataset")
    }
    missing = [ref for ref in refs if (ref["namespace"], ref["name"], ref["version"]) not in found]
    if missing:
        names = ", ".join(f"{ref['namespace']}:{ref['name']}#{ref['version']}" for ref in missing)
        raise ValidationFailed(f"inputs: no dataset version {names}; register it first")
    return list(dict.fromkeys(found[(ref["namespace"], ref["name"], ref["version"])] for ref in refs))


@transaction.atomic
def run_create(
    *,
    actor: Actor,
    run_id: uuid.UUID | None = None,
    job_namespace: str = "",
    job_name: str = "",
    inputs: Sequence[DatasetVersionRef] = (),
    parameters: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    code_version: str = "",
    environment: Mapping[str, Any] | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    facets: Mapping[str, Any] | None = None,
) -> TrainingRun:
    """Record a training run, its job (upserted) and the dataset versions it read, with their edges."""
    if bool(job_namespace) != bool(job_name):
        raise ValidationFailed("job_namespace and job_name go together: send both or neither")
    if started_at and ended_at and ended_at < started_at:
        raise ValidationFailed("ended_at: a run cannot end before it started")
    run_id = run_id or uuid.uuid4()
    if TrainingRun.objects.filter(run_id=run_id).exists():
        raise Conflict(f"run {run_id} is recorded already; a run is recorded once")
    versions = _resolve_inputs(inputs)
    now = timezone.now()
    job = None
    if job_name:
        job, _ = Job.objects.get_or_create(
            namespace=job_namespace, name=job_name, defaults={"created_at": now}
        )
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                run_id=run_id,
                job=job,
                parameters=dict(parameters or {}),
                metrics=dict(metrics or {}),
                code_version=code_version,
                environment=dict(environment or {}),
                started_at=started_at,
                ended_at=ended_at,
                facets=dict(facets or {}),
                started_by_id=acting_user_id(actor),
                created_at=now,
            )
    except IntegrityError as exc:
        raise Conflict(f"run {run_id} is recorded already; a run is recorded once") from exc
    run.inputs.set(versions)
    _link_and_record(actor, run, job, versions)
    return run


def _link_and_record(actor: Actor, run: TrainingRun, job: Job | None, versions: list[DatasetVersion]) -> None:
    """Edges dataset version → run (``used_by``), job → run (``run_of``) and dataset → job (``job_input``),
    and the one audit entry."""
    edges = [(version.node_id, run.node_id, USED_BY) for version in versions]
    if job is not None:
        edges.append((job.node_id, run.node_id, RUN_OF))
        edges.extend((version.dataset.node_id, job.node_id, JOB_INPUT) for version in versions)
    edges_add(edges)
    audit_record(
        actor=actor,
        action=AuditAction.RUN_CREATE,
        target=Target.of("run", run.node_id),
        data={
            "job": job.node_id if job is not None else None,
            "inputs": [version.node_id for version in versions],
            "code_version": run.code_version,
        },
    )
