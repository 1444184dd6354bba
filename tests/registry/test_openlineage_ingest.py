"""POST /api/v1/lineage: what the stock openlineage-python client sends is stored and joined into the
lineage graph; malformed events get 400 naming the path and store nothing."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.apps import apps
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import dataset_version_dataset, schema_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEntry, AuditPending
from registry.models import Dataset, DatasetVersion, LineageEdge, LineageEvent, TrainingRun
from registry.models import Job as JobRow

URL = "/api/v1/lineage"
PRODUCER = "https://github.com/acme/pipelines/tree/main/train"
SPEC = "https://openlineage.io/spec"
NAMESPACE = "ml-pipelines"
INPUT_NS = "postgres://warehouse:5432"


def _facet(schema_path: str, **fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{SPEC}/{schema_path}", **fields}


def run_event(
    event_type: str = "START",
    *,
    run_id: str = "0190a3c2-5d1e-7b8a-9c4f-2e6d8a1b3c5d",
    event_time: str = "2024-06-01T08:00:00.123456+00:00",
    input_version: str | None = "v42",
    extra_dataset_facets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A RunEvent as the python client's HTTP transport serialises it."""
    input_facets: dict[str, Any] = dict(extra_dataset_facets or {})
    if input_version is not None:
        input_facets["datasetVersion"] = _facet(
            "facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet",
            datasetVersion=input_version,
        )
    return {
        "eventTime": event_time,
        "producer": PRODUCER,
        "schemaURL": f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventType": event_type,
        "run": {"runId": run_id, "facets": {}},
        "job": {"namespace": NAMESPACE, "name": "train-readmission", "facets": {}},
        "inputs": [{"namespace": INPUT_NS, "name": "public.admissions", "facets": input_facets}],
        "outputs": [{"namespace": NAMESPACE, "name": "features.readmission", "facets": {}}],
    }


def _row_counts() -> dict[str, int]:
    """Rows in every registry table (many-to-many tables included) and in the audit log and its queue."""
    counts = {
        model._meta.db_table: model.objects.count()
        for model in apps.get_app_config("registry").get_models(include_auto_created=True)
    }
    counts["audit_entries"] = AuditEntry.objects.count()
    counts["audit_pending"] = AuditPending.objects.count()
    return counts


def _ingest_audits() -> int:
    return AuditEntry.objects.filter(action="lineage.event_ingest").count() + sum(
        1 for row in AuditPending.objects.all() if '"lineage.event_ingest"' in row.fields
    )


@pytest.fixture
def pipeline_token(make_user: Callable[..., Any]) -> str:
    """A raw Bearer token of the training pipeline's service account."""
    from governance.accounts import services

    user = make_user("train-pipeline", "pipeline")
    _, raw = services.token_issue(actor=Actor.system("tests"), user=user, name="openlineage")
    return str(raw)


@pytest.fixture
def pipeline(pipeline_token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pipeline_token}")
    return client


def _post(client: APIClient, body: bytes | dict[str, Any], **headers: str) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic("POST", URL, data, content_type="application/json", **headers)


def _graph(client: APIClient, node_id: str, depth: int = 20) -> dict[str, Any]:
    response = client.get(URL, {"nodeId": node_id, "depth": depth})
    assert response.status_code == 200, response.content
    return {node["id"]: node for node in response.json()["graph"]}


def _stock_client(url: str, token: str, *, gzip_body: bool = False) -> OpenLineageClient:
    config = HttpConfig(
        url=url,
        auth=ApiKeyTokenProvider({"api_key": token}),
        compression=HttpCompression.GZIP if gzip_body else None,
    )
    return OpenLineageClient(transport=HttpTransport(config))


def _client_run_event(state: RunState, run_id: str, when: datetime) -> RunEvent:
    version = dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="2024-06-01")
    schema = schema_dataset.SchemaDatasetFacet(
        fields=[schema_dataset.SchemaDatasetFacetFields(name="patient_ref", type="VARCHAR")]
    )
    return RunEvent(
        eventType=state,
        eventTime=when.isoformat(),
        run=Run(runId=run_id),
        job=Job(namespace=NAMESPACE, name="train-readmission"),
        producer=PRODUCER,
        inputs=[
            InputDataset(
                namespace=INPUT_NS,
                name="public.admissions",
                facets={"datasetVersion": version, "schema": schema},
            )
        ],
        outputs=[OutputDataset(namespace="s3://models", name="readmission/model.pkl")],
    )


def test_the_stock_client_run_is_stored_and_joined_into_the_graph(
    live_server: Any, pipeline_token: str, pipeline: APIClient
) -> None:
    run_id = str(uuid.uuid4())
    client = _stock_client(live_server.url, pipeline_token)
    client.emit(_client_run_event(RunState.START, run_id, datetime(2024, 6, 1, 8, tzinfo=UTC)))
    client.emit(_client_run_event(RunState.COMPLETE, run_id, datetime(2024, 6, 1, 9, tzinfo=UTC)))

    nodes = _graph(pipeline, f"run:{run_id}")

    job = "job:ml-pipelines:train-readmission"
    read = "dataset:postgres://warehouse:5432:public.admissions#2024-06-01"  # from the datasetVersion facet
    written = f"dataset:s3://models:readmission/model.pkl#{run_id}"  # no facet: named after the run
    everything = {
        f"run:{run_id}",
        job,
        read,
        "dataset:postgres://warehouse:5432:public.admissions",
        written,
        "dataset:s3://models:readmission/model.pkl",
    }
    assert set(nodes) == everything
    run = nodes[f"run:{run_id}"]
    assert run["type"] == "run"
    assert run["data"]["state"] == "COMPLETE"
    assert run["data"]["startedAt"].startswith("2024-06-01T08:00:00")
    assert run["data"]["endedAt"].startswith("2024-06-01T09:00:00")
    assert run["data"]["job"] == job
    assert {edge["origin"] for edge in run["inEdges"]} == {job, read}
    assert run["outEdges"] == [{"origin": f"run:{run_id}", "destination": written}]
    assert nodes[read]["type"] == "dataset_version"
    assert nodes[read]["data"]["version"] == "2024-06-01"
    assert [field["name"] for field in nodes[read]["data"]["facets"]["schema"]["fields"]] == ["patient_ref"]
    assert nodes[job]["type"] == "job"
    assert LineageEvent.objects.filter(run_id=run_id).count() == 2
    assert _ingest_audits() == 2

    # As in Marquez, the job's query shows what it reads and writes (issue 19), and its run.
    from_job = _graph(pipeline, job)
    assert set(from_job) == everything
    assert from_job[job]["inEdges"] == [
        {"origin": "dataset:postgres://warehouse:5432:public.admissions", "destination": job}
    ]
    assert {edge["destination"] for edge in from_job[job]["outEdges"]} == {
        f"run:{run_id}",
        "dataset:s3://models:readmission/model.pkl",
    }


def test_the_stock_client_can_send_gzip_compressed_events(
    live_server: Any, pipeline_token: str, pipeline: APIClient
) -> None:
    run_id = str(uuid.uuid4())
    client = _stock_client(live_server.url, pipeline_token, gzip_body=True)

    client.emit(_client_run_event(RunState.START, run_id, datetime(2024, 6, 1, 8, tzinfo=UTC)))

    assert TrainingRun.objects.get(run_id=run_id).state == "START"
    assert "dataset:postgres://warehouse:5432:public.admissions#2024-06-01" in _graph(
        pipeline, f"run:{run_id}"
    )


@pytest.mark.django_db
def test_a_gzip_body_posted_by_hand_is_accepted(pipeline: APIClient) -> None:
    body = gzip.compress(json.dumps(run_event()).encode())

    response = _post(pipeline, body, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 201, response.content
    assert response.json() == {"id": LineageEvent.objects.get().pk, "kind": "RunEvent"}


def _without(event: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in event.items() if name != key}


def _bad_run_id() -> dict[str, Any]:
    event = run_event()
    event["run"]["runId"] = "not-a-uuid"
    return event


MALFORMED: dict[str, tuple[bytes, dict[str, str], str]] = {
    "missing eventTime": (json.dumps(_without(run_event(), "eventTime")).encode(), {}, "eventTime: "),
    "bad runId": (json.dumps(_bad_run_id()).encode(), {}, "run.runId: "),
    "not JSON": (b"{'eventType': 'START'", {}, "$: the body is not JSON"),
    "NaN": (json.dumps(run_event()).replace('"facets": {}', '"facets": {"x": NaN}', 1).encode(), {}, "$: "),
    "bad gzip": (b"\x1f\x8b\x08\x00garbage-not-deflate", {"HTTP_CONTENT_ENCODING": "gzip"}, "$: "),
    "truncated gzip": (
        gzip.compress(json.dumps(run_event()).encode())[:40],
        {"HTTP_CONTENT_ENCODING": "gzip"},
        "$: the gzip body is truncated",
    ),
    "plain JSON labelled gzip": (json.dumps(run_event()).encode(), {"HTTP_CONTENT_ENCODING": "gzip"}, "$: "),
    "NUL in a name": (
        json.dumps(run_event()).replace("train-readmission", "train\\u0000x").encode(),
        {},
        "job.name: ",
    ),
    "dataset version not a string": (
        json.dumps(run_event()).replace('"datasetVersion": "v42"', '"datasetVersion": [1]').encode(),
        {},
        "inputs[0].facets.datasetVersion.datasetVersion: ",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_a_malformed_event_gets_400_naming_the_path_and_stores_nothing(
    pipeline: APIClient, case: str
) -> None:
    body, headers, detail = MALFORMED[case]
    before = _row_counts()

    response = _post(pipeline, body, **headers)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_openlineage_event"
    assert response.json()["detail"].startswith(detail)
    assert _row_counts() == before


@pytest.mark.django_db
def test_an_unknown_content_encoding_gets_415(pipeline: APIClient) -> None:
    response = _post(pipeline, json.dumps(run_event()).encode(), HTTP_CONTENT_ENCODING="br")

    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_content_encoding"


@pytest.mark.django_db
def test_a_gzip_bomb_is_refused_without_inflating_it(pipeline: APIClient) -> None:
    bomb = gzip.compress(b" " * (9 * 1024 * 1024))

    response = _post(pipeline, bomb, HTTP_CONTENT_ENCODING="gzip")

    assert response.status_code == 413
    assert LineageEvent.objects.count() == 0


@pytest.mark.django_db
def test_the_same_event_twice_creates_nothing_new(pipeline: APIClient) -> None:
    first = _post(pipeline, run_event())
    before = _row_counts()
    audits = _ingest_audits()

    # Key order and spacing differ; RFC 8785 canonical JSON makes it the same event.
    again = _post(pipeline, json.dumps(run_event(), indent=2, sort_keys=True).encode())

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert _row_counts() == before
    assert _ingest_audits() == audits == 1


@pytest.mark.django_db
def test_one_event_writes_one_audit_entry_with_node_ids_only(pipeline: APIClient) -> None:
    response = _post(pipeline, run_event())

    entry = AuditEntry.objects.get(action="lineage.event_ingest")
    fields = json.loads(entry.entry)
    assert fields["target"] == {"type": "lineage_event", "id": str(response.json()["id"])}
    assert fields["data"]["kind"] == "RunEvent"
    assert fields["data"]["eventType"] == "START"
    assert fields["data"]["runId"] == "0190a3c2-5d1e-7b8a-9c4f-2e6d8a1b3c5d"
    assert fields["data"]["job"] == "job:ml-pipelines:train-readmission"
    assert "dataset:postgres://warehouse:5432:public.admissions#v42" in fields["data"]["datasets"]
    assert "facets" not in json.dumps(fields["data"])


@pytest.mark.django_db
def test_start_and_complete_record_the_run_and_its_edges(pipeline: APIClient) -> None:
    run_id = "0190a3c2-5d1e-7b8a-9c4f-2e6d8a1b3c5d"
    _post(pipeline, run_event("START"))
    _post(pipeline, run_event("COMPLETE", event_time="2024-06-01T09:30:00Z"))

    run = TrainingRun.objects.get(run_id=run_id)
    assert run.state == "COMPLETE"
    assert run.started_at == datetime(2024, 6, 1, 8, 0, 0, 123456, tzinfo=UTC)
    assert run.ended_at == datetime(2024, 6, 1, 9, 30, tzinfo=UTC)
    assert run.job is not None and run.job.node_id == "job:ml-pipelines:train-readmission"
    assert [version.version for version in run.inputs.all()] == ["v42"]
    assert [version.version for version in run.outputs.all()] == [run_id]
    read = "dataset:postgres://warehouse:5432:public.admissions#v42"
    written = f"dataset:ml-pipelines:features.readmission#{run_id}"
    assert set(LineageEdge.objects.values_list("source", "target", "relation")) == {
        ("dataset:postgres://warehouse:5432:public.admissions", read, "version_of"),
        ("dataset:ml-pipelines:features.readmission", written, "version_of"),
        (read, f"run:{run_id}", "used_by"),
        ("job:ml-pipelines:train-readmission", f"run:{run_id}", "run_of"),
        (f"run:{run_id}", written, "produced"),
        (
            "dataset:postgres://warehouse:5432:public.admissions",
            "job:ml-pipelines:train-readmission",
            "job_input",
        ),
        ("job:ml-pipelines:train-readmission", "dataset:ml-pipelines:features.readmission", "job_output"),
    }


@pytest.mark.django_db
def test_a_late_start_does_not_reopen_a_completed_run(pipeline: APIClient) -> None:
    _post(pipeline, run_event("COMPLETE", event_time="2024-06-01T09:30:00Z"))
    _post(pipeline, run_event("START"))

    run = TrainingRun.objects.get()
    assert run.state == "COMPLETE"
    assert run.started_at is not None and run.ended_at is not None


@pytest.mark.django_db
def test_two_runs_reading_a_dataset_never_written_read_its_unknown_version(pipeline: APIClient) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    _post(pipeline, run_event(run_id=first, input_version=None))
    _post(pipeline, run_event(run_id=second, input_version=None))

    # Readers create no version named after themselves: both read the one "unknown version" marker.
    versions = DatasetVersion.objects.filter(dataset__name="public.admissions")
    assert [(row.version, row.unknown) for row in versions] == [("unknown", True)]
    for run_id in (first, second):
        run = TrainingRun.objects.get(run_id=run_id)
        assert [version.version for version in run.inputs.all()] == ["unknown"]


@pytest.mark.django_db
def test_unknown_facets_are_kept_as_sent(pipeline: APIClient) -> None:
    gate = _facet("https://acme.example/facets/QualityGate.json", score=0.97, checks=["nulls", "ranges"])
    event = run_event(extra_dataset_facets={"acme_qualityGate": gate})
    event["run"]["facets"]["acme_trainingCost"] = _facet("x/Cost.json", gpuHours=12.5)
    event["job"]["facets"]["acme_owner"] = _facet("x/Owner.json", team="readmission")

    assert _post(pipeline, event).status_code == 201
    later = run_event("COMPLETE", event_time="2024-06-01T09:00:00Z")
    later["job"]["facets"]["acme_sla"] = _facet("x/Sla.json", hours=4)
    assert _post(pipeline, later).status_code == 201

    assert Dataset.objects.get(name="public.admissions").facets["acme_qualityGate"] == gate
    assert DatasetVersion.objects.get(version="v42").facets["acme_qualityGate"] == gate
    assert TrainingRun.objects.get().facets["acme_trainingCost"]["gpuHours"] == 12.5
    job_facets = JobRow.objects.get().facets
    assert job_facets["acme_owner"]["team"] == "readmission"  # sent once, kept when a later event omits it
    assert job_facets["acme_sla"]["hours"] == 4
    stored = LineageEvent.objects.order_by("id").first()
    assert stored is not None
    assert stored.body["inputs"][0]["facets"]["acme_qualityGate"] == gate


def _client_json(event: Any) -> dict[str, Any]:
    from openlineage.client.serde import Serde

    body: dict[str, Any] = json.loads(Serde.to_json(event))
    return body


@pytest.mark.django_db
def test_a_dataset_event_and_a_job_event_upsert_the_dataset_and_the_job(pipeline: APIClient) -> None:
    dataset_event = DatasetEvent(
        eventTime="2024-06-02T10:00:00Z",
        producer=PRODUCER,
        dataset=StaticDataset(
            namespace=INPUT_NS,
            name="public.discharges",
            facets={"datasetVersion": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="7")},
        ),
    )
    job_event = JobEvent(
        eventTime="2024-06-02T10:00:00Z",
        producer=PRODUCER,
        job=Job(namespace=NAMESPACE, name="nightly-export"),
        inputs=[InputDataset(namespace=INPUT_NS, name="public.admissions")],
    )

    first = _post(pipeline, _client_json(dataset_event))
    second = _post(pipeline, _client_json(job_event))

    assert (first.status_code, first.json()["kind"]) == (201, "DatasetEvent")
    assert (second.status_code, second.json()["kind"]) == (201, "JobEvent")
    assert Dataset.objects.filter(namespace=INPUT_NS, name="public.discharges").exists()
    assert DatasetVersion.objects.filter(dataset__name="public.discharges", version="7").exists()
    assert JobRow.objects.filter(namespace=NAMESPACE, name="nightly-export").exists()
    assert Dataset.objects.filter(name="public.admissions").exists()
    nodes = _graph(pipeline, "job:ml-pipelines:nightly-export")
    assert nodes["job:ml-pipelines:nightly-export"]["data"]["name"] == "nightly-export"
    # The job's declared input is its neighbour, as in Marquez.
    assert nodes["job:ml-pipelines:nightly-export"]["inEdges"] == [
        {
            "origin": "dataset:postgres://warehouse:5432:public.admissions",
            "destination": "job:ml-pipelines:nightly-export",
        }
    ]
    assert set(_graph(pipeline, "dataset:postgres://warehouse:5432:public.discharges")) == {
        "dataset:postgres://warehouse:5432:public.discharges",
        "dataset:postgres://warehouse:5432:public.discharges#7",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["data_scientist", "pipeline"])
def test_data_scientists_and_pipelines_may_send_events(token_client: Any, role: str) -> None:
    client, _ = token_client(f"sender-{role}", role)

    assert _post(client, run_event()).status_code == 201


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["compliance_officer", "auditor", "admin"])
def test_other_roles_may_not_send_events(token_client: Any, role: str) -> None:
    client, _ = token_client(f"reader-{role}", role)

    response = _post(client, run_event())

    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert LineageEvent.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["data_scientist", "pipeline", "compliance_officer", "auditor"])
def test_readers_may_see_the_graph(pipeline: APIClient, token_client: Any, role: str) -> None:
    _post(pipeline, run_event())
    client, _ = token_client(f"reader-{role}", role)

    response = client.get(URL, {"nodeId": "job:ml-pipelines:train-readmission"})

    assert response.status_code == 200


@pytest.mark.django_db
def test_an_admin_may_not_see_the_graph(token_client: Any) -> None:
    client, _ = token_client("the-admin", "admin")

    response = client.get(URL, {"nodeId": "job:ml-pipelines:train-readmission"})

    assert response.status_code == 403


@pytest.mark.django_db
def test_anonymous_callers_get_401() -> None:
    client = APIClient()

    assert _post(client, run_event()).status_code == 401
    assert client.get(URL, {"nodeId": "job:a:b"}).status_code == 401


@pytest.mark.django_db
def test_ingestion_has_its_own_throttle_not_the_general_per_user_rate(
    pipeline: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle

    cache.clear()
    monkeypatch.setitem(UserRateThrottle.THROTTLE_RATES, "user", "1/minute")
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "lineage_ingest", "3/minute")
    runs = [str(uuid.uuid4()) for _ in range(4)]

    codes = [_post(pipeline, run_event(run_id=run)).status_code for run in runs]

    # Three events pass although the general rate allows one request a minute; the fourth is told to wait.
    assert codes == [201, 201, 201, 429]
    assert LineageEvent.objects.count() == 3
    cache.clear()
