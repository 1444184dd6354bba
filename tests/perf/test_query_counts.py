"""SQL statements per request on the hot paths (issue 18): each pinned exactly, per database.

More statements than pinned is a regression (an N+1, a lookup that lost its join); fewer is an
improvement. Either way the test fails, so that the pin and the README's per-request budget move with
the code: update ``PINNED`` below and the budget table together.

Counts are those of one request after a first one of the same kind (caches warm: the token verified,
the model and the job already stored; a predict request is pinned in tests/jobs/test_serving.py), as
``bench/profile.py`` counts them, audit sequencer included. Tests run inside a transaction, so on
PostgreSQL an audited request counts two more than the bench: the sequencer's own transaction is a
``SAVEPOINT`` / ``RELEASE SAVEPOINT`` pair here, unlogged BEGIN/COMMIT there.

Where the audit committer runs (PostgreSQL, as docker-compose.yml runs it), the request spends none on
sequencing: after its commit it asks the committer, over its socket, to integrate the entry, and that
answers once it is in the log. ``WITH_COMMITTER`` pins those, outside any test transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEntry, AuditPending
from audit.services import Target, audit_record
from tests.approvals.factories import dataset_version, make_policy, train_request

pytestmark = pytest.mark.django_db
MLFLOW = "/api/2.0/mlflow"

# kind: statements per request on (sqlite, postgresql).
PINNED: dict[str, tuple[int, int]] = {
    "healthz": (0, 0),
    "me": (0, 0),  # the token verified by the request before is remembered (API_TOKEN_CACHE_MILLISECONDS)
    "models_list": (1, 1),
    "mlflow_version_get": (2, 2),  # a read of registry metadata: an access-log line, no audit entry
    "mlflow_version_create": (15, 12),
    "releases_list": (5, 5),
    "lineage_ingest": (20, 7),
    "audit_append": (11, 9),
}


# kind: statements per request on PostgreSQL with the audit committer running.
WITH_COMMITTER: dict[str, int] = {"mlflow_version_create": 6, "lineage_ingest": 1, "audit_append": 3}


def lineage_event(run_id: str) -> dict[str, Any]:
    """A START RunEvent reading one dataset version and writing one dataset (as bench/profile.py sends)."""
    producer, spec = "https://github.com/acme/bench", "https://openlineage.io/spec"
    return {
        "eventTime": "2024-06-01T08:00:00Z",
        "producer": producer,
        "schemaURL": f"{spec}/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventType": "START",
        "run": {"runId": run_id},
        "job": {"namespace": "bench-jobs", "name": "train"},
        "inputs": [
            {
                "namespace": "postgres://warehouse:5432",
                "name": "public.customers",
                "facets": {
                    "datasetVersion": {
                        "_producer": producer,
                        "_schemaURL": f"{spec}/facets/1-0-1/DatasetVersionDatasetFacet.json",
                        "datasetVersion": "v1",
                    }
                },
            }
        ],
        "outputs": [{"namespace": "s3://lake", "name": "features/churn"}],
    }


@pytest.fixture(autouse=True)
def _media_and_throttles(tmp_path: Path, settings: Any) -> Iterator[None]:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()  # throttle histories are per user id, and ids repeat across tests
    yield


@pytest.fixture
def pipeline(token_client: Callable[..., tuple[APIClient, Any]]) -> APIClient:
    """The nightly pipeline's client, with model ``churn`` registered and three versions of it."""
    client, _ = token_client("nightly", "pipeline")
    assert (
        client.post(f"{MLFLOW}/registered-models/create", {"name": "churn"}, format="json").status_code == 200
    )
    for number in range(3):
        body = {"name": "churn", "source": f"s3://models/churn/{number}"}
        assert client.post(f"{MLFLOW}/model-versions/create", body, format="json").status_code == 200
    return client


def requests(kind: str, pipeline: APIClient, officer: APIClient) -> Callable[[], int]:
    """One request of ``kind``, returning its status; each call a new one (new run ids, new sources)."""
    numbers = iter(range(1_000))
    if kind == "healthz":
        return lambda: APIClient().get("/healthz").status_code
    if kind == "me":
        return lambda: pipeline.get("/api/v1/me").status_code
    if kind == "models_list":
        return lambda: pipeline.get("/api/v1/models").status_code
    if kind == "mlflow_version_get":
        return lambda: (
            pipeline.get(f"{MLFLOW}/model-versions/get", {"name": "churn", "version": 1}).status_code
        )
    if kind == "mlflow_version_create":
        return lambda: (
            pipeline.post(
                f"{MLFLOW}/model-versions/create",
                {"name": "churn", "source": f"s3://m/{next(numbers)}"},
                format="json",
            ).status_code
        )
    if kind == "releases_list":
        return lambda: officer.get("/api/v1/releases").status_code
    if kind == "lineage_ingest":
        return lambda: (
            pipeline.post("/api/v1/lineage", lineage_event(str(uuid.uuid4())), format="json").status_code
        )

    def audit_append() -> int:
        with transaction.atomic():
            number = next(numbers)
            audit_record(
                actor=Actor.worker("tests"),
                action=AuditAction.USER_CREATE,
                target=Target.of("user", number),
                data={"n": number},
            )
        return 200

    return audit_append


@pytest.mark.parametrize("kind", list(PINNED))
def test_each_hot_request_runs_exactly_its_pinned_number_of_statements(
    kind: str,
    pipeline: APIClient,
    token_client: Callable[..., tuple[APIClient, Any]],
    make_user: Callable[..., Any],
) -> None:
    officer, _ = token_client("carla", "compliance_officer")
    requester = make_user("rita", "data_scientist")
    make_policy("train-default")
    version = dataset_version(requester)
    for number in range(3):
        train_request(requester, version, model=f"churn-{number}")
    request = requests(kind, pipeline, officer)
    assert request() in (200, 201, 202)  # the first: warms what a worker keeps warm
    with CaptureQueriesContext(connection) as captured:
        status = request()
    assert status in (200, 201, 202)
    counted = len(captured.captured_queries)
    pinned = PINNED[kind][0 if connection.vendor == "sqlite" else 1]
    statements = "\n".join(f"  {query['sql'][:200]}" for query in captured.captured_queries)
    assert counted == pinned, (
        f"{kind} ran {counted} SQL statements on {connection.vendor}, pinned at {pinned}. "
        + ("More is a regression: find the new statement below. " if counted > pinned else "")
        + "If the change is intended (or an improvement), update PINNED in tests/perf/test_query_counts.py "
        + f"and the README's per-request budget.\n{statements}"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", list(WITH_COMMITTER))
def test_with_the_audit_committer_a_request_spends_no_statement_on_sequencing(
    kind: str, committer: Path, pipeline: APIClient
) -> None:
    request = requests(kind, pipeline, APIClient())
    assert request() in (200, 201, 202)
    before = AuditEntry.objects.count()
    with CaptureQueriesContext(connection) as captured:
        status = request()
    assert status in (200, 201, 202)
    statements = "\n".join(f"  {query['sql'][:200]}" for query in captured.captured_queries)
    assert len(captured.captured_queries) == WITH_COMMITTER[kind], statements
    assert "advisory_lock" not in statements and "audit_integrate" not in statements  # no sequencing
    # The entry is in the log when the request returns: the committer answered after writing it.
    assert AuditEntry.objects.count() == before + 1
    assert not AuditPending.objects.exists()
