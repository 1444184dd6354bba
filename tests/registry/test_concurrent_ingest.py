"""Several processes ingesting overlapping OpenLineage events at once: nothing is lost or doubled."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from audit.checkpoints import checkpoint_create, log_verify
from audit.models import AuditEntry, AuditPending
from audit.store import CheckpointStore
from registry.models import Dataset, LineageEdge, LineageEvent, TrainingRun
from tests.registry.ingest_worker import run_id
from tests.support import run_together

pytestmark = pytest.mark.django_db(transaction=True)


def test_overlapping_events_from_four_processes_are_each_stored_once_and_merged(
    make_user: Any, tmp_path: Path
) -> None:
    workers, count = 4, (40 if connection.vendor == "postgresql" else 10)
    make_user("ingest-pipeline", "pipeline")
    run_together(
        [[sys.executable, "-m", "tests.registry.ingest_worker", str(n), str(count)] for n in range(workers)],
        tmp_path,
        timeout=600,
    )

    # Every worker sent the same START per run (stored once) and its own COMPLETE (stored each).
    assert LineageEvent.objects.filter(event_type="START").count() == count
    assert LineageEvent.objects.filter(event_type="COMPLETE").count() == count * workers
    assert not AuditPending.objects.exists()
    assert AuditEntry.objects.filter(action="lineage.event_ingest").count() == count * (workers + 1)
    # Facets merged from every worker into the one shared dataset: none overwritten by a race.
    shared = Dataset.objects.get(namespace="warehouse", name="shared.customers")
    assert {f"seenBy{n}" for n in range(workers)} <= set(shared.facets)
    runs = TrainingRun.objects.filter(run_id__in=[run_id(n) for n in range(count)])
    assert runs.count() == count
    assert {run.state for run in runs} == {"COMPLETE"}
    assert all(run.job_id is not None and run.started_at for run in runs)
    assert {run.ended_at.second for run in runs if run.ended_at} == {workers - 1}  # the latest end wins
    for run in runs:
        assert run.inputs.count() == 1
        assert LineageEdge.objects.filter(source=f"run:{run.run_id}", relation="produced").count() == 1
    store = CheckpointStore()
    checkpoint_create(store=store)
    result = log_verify(store=store)
    assert result.ok, result.reason
