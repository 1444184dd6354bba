"""Issue 19's scenario, as a data engineer who runs Marquez tries it with the stock openlineage-python
client, and the version an input sent without a ``datasetVersion`` facet is bound to ("honest
versions"): the dataset's newest version at the event's time, or its recorded "unknown" version, never
a new version named after the reading run."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport
from rest_framework.test import APIClient

from audit.actors import Actor
from registry.models import DatasetVersion, TrainingRun
from registry.reports.assemble import lineage_report_build

URL = "/api/v1/lineage"
PRODUCER = "https://github.com/acme/pipelines"
CRM = ("postgres://crm:5432", "crm.public.customers")
MODEL = ("s3://models", "churn/v9/model.pkl")
CUSTOMERS = "dataset:postgres://crm:5432:crm.public.customers"
MODEL_FILE = "dataset:s3://models:churn/v9/model.pkl"
TRAIN = "job:ns:train_churn"


@pytest.fixture
def token(make_user: Callable[..., Any]) -> str:
    from governance.accounts import services

    user = make_user("churn-pipeline", "pipeline")
    _, raw = services.token_issue(actor=Actor.system("tests"), user=user, name="openlineage")
    return str(raw)


@pytest.fixture
def api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def at(hour: int, minute: int = 0) -> str:
    return datetime(2024, 6, 1, hour, minute, tzinfo=UTC).isoformat()


def body(
    job: str,
    state: str,
    when: str,
    run_id: str,
    inputs: list[tuple[str, str]],
    outputs: list[tuple[str, str]],
    output_version: str | None = None,
) -> dict[str, Any]:
    facets = (
        {
            "datasetVersion": {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json",
                "datasetVersion": output_version,
            }
        }
        if output_version
        else {}
    )
    return {
        "eventType": state,
        "eventTime": when,
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id},
        "job": {"namespace": "ns", "name": job},
        "inputs": [{"namespace": ns, "name": name} for ns, name in inputs],
        "outputs": [{"namespace": ns, "name": name, "facets": facets} for ns, name in outputs],
    }


def send(api: APIClient, payload: dict[str, Any]) -> None:
    response = api.post(URL, payload, format="json")
    assert response.status_code == 201, response.content


def run_both(
    api: APIClient,
    job: str,
    hour: int,
    inputs: list[tuple[str, str]],
    outputs: list[tuple[str, str]],
    **kw: Any,
) -> str:
    run_id = str(uuid.uuid4())
    send(api, body(job, "START", at(hour), run_id, inputs, outputs, **kw))
    send(api, body(job, "COMPLETE", at(hour, 30), run_id, inputs, outputs, **kw))
    return run_id


def read_versions(run_id: str) -> list[tuple[str, str, bool]]:
    run = TrainingRun.objects.get(run_id=run_id)
    return sorted(
        (row.dataset.name, row.version, row.unknown) for row in run.inputs.select_related("dataset")
    )


@pytest.mark.django_db(transaction=True)
def test_the_issue_scenario_with_the_stock_client(live_server: Any, token: str, api: APIClient) -> None:
    client = OpenLineageClient(
        transport=HttpTransport(HttpConfig(url=live_server.url, auth=ApiKeyTokenProvider({"api_key": token})))
    )
    run_id = str(uuid.uuid4())
    for state, when in ((RunState.START, at(8)), (RunState.COMPLETE, at(9))):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=when,
                run=Run(runId=run_id),
                job=Job(namespace="ns", name="train_churn"),
                producer=PRODUCER,
                inputs=[InputDataset(namespace=CRM[0], name=CRM[1])],
                outputs=[OutputDataset(namespace=MODEL[0], name=MODEL[1])],
            )
        )

    response = api.get(URL, {"nodeId": TRAIN, "depth": 5})

    assert response.status_code == 200
    graph = {node["id"]: node for node in response.json()["graph"]}
    # The job's query returns its input and its output, as Marquez's does, and its run.
    assert {CUSTOMERS, MODEL_FILE, f"run:{run_id}"} <= set(graph)
    assert graph[TRAIN]["inEdges"] == [{"origin": CUSTOMERS, "destination": TRAIN}]
    assert {"origin": TRAIN, "destination": MODEL_FILE} in graph[TRAIN]["outEdges"]
    # The input, sent without a version and never written, is read as its "unknown" version; the run
    # made no version of it. The output is the version the run wrote.
    assert f"{CUSTOMERS}#unknown" in graph
    assert graph[f"{CUSTOMERS}#unknown"]["data"]["unknown"] is True
    assert f"{CUSTOMERS}#{run_id}" not in graph
    assert f"{MODEL_FILE}#{run_id}" in graph
    assert not DatasetVersion.objects.filter(dataset__name=CRM[1], version=run_id).exists()
    assert read_versions(run_id) == [(CRM[1], "unknown", True)]
    # The lineage report names no version nobody wrote.
    report = lineage_report_build(subject=f"run:{run_id}")
    assert [(entry["name"], entry["version"]) for entry in report["datasets"] if entry["name"] == CRM[1]] == [
        (CRM[1], "unknown")
    ]


@pytest.mark.django_db
def test_an_input_binds_to_the_newest_version_at_its_event_time(api: APIClient) -> None:
    first_load = run_both(api, "load_crm", 7, [], [CRM])  # writes customers#<first_load> at 07:00
    train = run_both(api, TRAIN.split(":")[-1], 8, [CRM], [MODEL])
    second_load = run_both(api, "load_crm", 10, [], [CRM])
    retrain = run_both(api, TRAIN.split(":")[-1], 11, [CRM], [MODEL])
    late = run_both(api, "audit_export", 9, [CRM], [])  # its events arrive last, dated 09:00

    assert read_versions(train) == [(CRM[1], first_load, False)]
    assert read_versions(retrain) == [(CRM[1], second_load, False)]
    assert read_versions(late) == [(CRM[1], first_load, False)]  # the newest at 09:00, not now
    assert DatasetVersion.objects.filter(dataset__name=CRM[1]).count() == 2  # readers made none


@pytest.mark.django_db
def test_a_named_version_is_bound_to_and_the_unknown_marker_never_is(api: APIClient) -> None:
    early = run_both(api, "report", 5, [CRM], [])  # before any version: the unknown marker
    run_both(api, "load_crm", 6, [], [CRM], output_version="snap-1")
    later = run_both(api, "report", 7, [CRM], [])

    assert read_versions(early) == [(CRM[1], "unknown", True)]
    assert read_versions(later) == [(CRM[1], "snap-1", False)]


@pytest.mark.django_db
def test_a_run_keeps_its_binding_across_its_events(api: APIClient) -> None:
    run_both(api, "load_crm", 6, [], [CRM], output_version="snap-1")
    run_id = str(uuid.uuid4())
    send(api, body("train_churn", "START", at(8), run_id, [CRM], [MODEL]))
    run_both(api, "load_crm", 9, [], [CRM], output_version="snap-2")  # written while the run ran
    send(api, body("train_churn", "COMPLETE", at(10), run_id, [CRM], [MODEL]))

    assert read_versions(run_id) == [(CRM[1], "snap-1", False)]


@pytest.mark.django_db
def test_a_run_updating_a_dataset_reads_the_version_before_its_own(api: APIClient) -> None:
    run_both(api, "load_crm", 6, [], [CRM], output_version="snap-1")
    merge = run_both(api, "merge_crm", 8, [CRM], [CRM])  # reads and writes customers

    assert read_versions(merge) == [(CRM[1], "snap-1", False)]
    assert TrainingRun.objects.get(run_id=merge).outputs.get().version == merge
