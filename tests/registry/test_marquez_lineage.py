"""GET /api/v1/lineage as a Marquez user reads it (issue 19): a job's query shows the datasets it reads and
writes, a dataset's the jobs producing and consuming it, to ``depth`` both ways; ``direction`` narrows
the walk to one way. Pinned on a small multi-job graph posted as OpenLineage events:

    job A (run rA): reads d1, writes d2
    job B (run rB): reads d2, writes d3
    job C (run rC): reads d1
    job D (run rD): reads d3, writes d4

No event carries a ``datasetVersion`` facet: d1 was never written, so its readers read its "unknown"
version; B reads the d2 that rA wrote; D the d3 that rB wrote.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

URL = "/api/v1/lineage"
PRODUCER = "https://github.com/acme/pipelines"
SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
JOB_IO = {  # job → (inputs, outputs), what the events below say
    "A": (["d1"], ["d2"]),
    "B": (["d2"], ["d3"]),
    "C": (["d1"], []),
    "D": (["d3"], ["d4"]),
}
HOURS = {"A": 10, "B": 11, "C": 12, "D": 13}


def run_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"marquez-test/{name}"))


def job(name: str) -> str:
    return f"job:ns:{name}"


def ds(name: str, version: str | None = None) -> str:
    return f"dataset:wh:{name}" + (f"#{version}" if version is not None else "")


def run(name: str) -> str:
    return f"run:{run_id(name)}"


def event(
    job_name: str, state: str, when: str, run_name: str, inputs: list[str], outputs: list[str]
) -> dict[str, Any]:
    return {
        "eventType": state,
        "eventTime": when,
        "producer": PRODUCER,
        "schemaURL": SCHEMA,
        "run": {"runId": run_id(run_name)},
        "job": {"namespace": "ns", "name": job_name},
        "inputs": [{"namespace": "wh", "name": name} for name in inputs],
        "outputs": [{"namespace": "wh", "name": name} for name in outputs],
    }


def post(client: APIClient, body: dict[str, Any]) -> None:
    response = client.post(URL, body, format="json")
    assert response.status_code == 201, response.content


@pytest.fixture
def pipeline(token_client: Callable[..., tuple[APIClient, Any]]) -> APIClient:
    client, _ = token_client("pipeline", "pipeline")
    for name, (inputs, outputs) in JOB_IO.items():
        hour = HOURS[name]
        for state, minute in (("START", "00"), ("COMPLETE", "30")):
            post(client, event(name, state, f"2024-06-01T{hour}:{minute}:00Z", f"r{name}", inputs, outputs))
    return client


def graph(client: APIClient, node_id: str, depth: int, direction: str | None = None) -> dict[str, Any]:
    query: dict[str, Any] = {"nodeId": node_id, "depth": depth}
    if direction is not None:
        query["direction"] = direction
    response = client.get(URL, query)
    assert response.status_code == 200, response.content
    return dict(response.json())


def nodes(answer: dict[str, Any]) -> set[str]:
    return {node["id"] for node in answer["graph"]}


def edges(answer: dict[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for node in answer["graph"]:
        for edge in [*node["inEdges"], *node["outEdges"]]:
            found.add((edge["origin"], edge["destination"]))
    return found


def marquez(start_job: str, depth: int) -> tuple[set[str], set[tuple[str, str]]]:
    """What Marquez's ``GET /api/v1/lineage?nodeId=job:ns:<start>&depth=<depth>`` returns for JOB_IO,
    by its algorithm (LineageDao.getLineage): jobs sharing any input or output dataset with a job
    found, ``depth`` job hops out; each found job with its input and output datasets."""
    found = {start_job}
    for _ in range(depth):
        touched = {d for name in found for d in [*JOB_IO[name][0], *JOB_IO[name][1]]}
        found |= {name for name, (ins, outs) in JOB_IO.items() if touched & {*ins, *outs}}
    node_ids = {job(name) for name in found}
    edge_set: set[tuple[str, str]] = set()
    for name in found:
        ins, outs = JOB_IO[name]
        node_ids |= {ds(d) for d in [*ins, *outs]}
        edge_set |= {(ds(d), job(name)) for d in ins} | {(job(name), ds(d)) for d in outs}
    return node_ids, edge_set


def job_level(answer: dict[str, Any]) -> tuple[set[str], set[tuple[str, str]]]:
    """Our graph seen at Marquez's level: jobs and datasets, and the edges between them."""
    kept = {node["id"] for node in answer["graph"] if node["type"] in {"job", "dataset"}}
    return kept, {edge for edge in edges(answer) if set(edge) <= kept}


def test_a_job_at_depth_one_shows_its_inputs_outputs_and_run(pipeline: APIClient) -> None:
    answer = graph(pipeline, job("A"), 1)

    assert nodes(answer) == {job("A"), run("rA"), ds("d1"), ds("d2")}
    assert edges(answer) == {(ds("d1"), job("A")), (job("A"), ds("d2")), (job("A"), run("rA"))}
    by_id = {node["id"]: node for node in answer["graph"]}
    # Marquez's shape: a job's inEdges come from the datasets it reads, its outEdges go to what it writes.
    assert by_id[job("A")]["inEdges"] == [{"origin": ds("d1"), "destination": job("A")}]
    assert {edge["destination"] for edge in by_id[job("A")]["outEdges"]} == {ds("d2"), run("rA")}


def test_a_job_at_depth_two_reaches_its_neighbours_jobs_and_the_run_level_detail(pipeline: APIClient) -> None:
    answer = graph(pipeline, job("A"), 2)

    assert nodes(answer) == {
        job("A"),
        run("rA"),
        ds("d1"),
        ds("d2"),
        job("B"),  # reads d2
        job("C"),  # reads d1 too: a neighbour both ways, as in Marquez
        ds("d1", "unknown"),  # what rA read: d1 was never written
        ds("d2", run_id("rA")),  # what rA wrote
    }
    assert edges(answer) == {
        (ds("d1"), job("A")),
        (job("A"), ds("d2")),
        (job("A"), run("rA")),
        (ds("d1"), job("C")),
        (ds("d2"), job("B")),
        (ds("d1"), ds("d1", "unknown")),
        (ds("d2"), ds("d2", run_id("rA"))),
        (ds("d1", "unknown"), run("rA")),
        (run("rA"), ds("d2", run_id("rA"))),
    }


@pytest.mark.parametrize("marquez_depth", [0, 1, 2])
def test_at_the_job_level_a_job_query_matches_marquez(pipeline: APIClient, marquez_depth: int) -> None:
    # Marquez counts job hops (dataset → job → dataset); we count edges, two per job hop.
    answer = graph(pipeline, job("A"), 2 * marquez_depth + 1)

    assert job_level(answer) == marquez("A", marquez_depth)


def test_a_dataset_both_ways_shows_who_writes_and_who_reads_it(pipeline: APIClient) -> None:
    answer = graph(pipeline, ds("d2"), 1)

    assert nodes(answer) == {ds("d2"), job("A"), job("B"), ds("d2", run_id("rA"))}
    assert edges(answer) == {
        (job("A"), ds("d2")),
        (ds("d2"), job("B")),
        (ds("d2"), ds("d2", run_id("rA"))),
    }
    assert job_level(graph(pipeline, ds("d2"), 3))[0] == {
        ds("d1"),
        job("A"),
        ds("d2"),
        job("B"),
        ds("d3"),
        job("C"),  # reads d1, A's input
        job("D"),  # reads d3, B's output
    }


def test_upstream_walks_against_the_data_flow_only(pipeline: APIClient) -> None:
    answer = graph(pipeline, ds("d2"), 20, "upstream")

    assert nodes(answer) == {ds("d2"), job("A"), ds("d1")}
    assert edges(answer) == {(job("A"), ds("d2")), (ds("d1"), job("A"))}
    # From the version rA wrote: the run, its job, what it read, and the datasets.
    version = graph(pipeline, ds("d2", run_id("rA")), 20, "upstream")
    assert nodes(version) == {
        ds("d2", run_id("rA")),
        ds("d2"),
        run("rA"),
        job("A"),
        ds("d1", "unknown"),
        ds("d1"),
    }


def test_downstream_walks_with_the_data_flow_only(pipeline: APIClient) -> None:
    answer = graph(pipeline, ds("d2"), 20, "downstream")

    assert nodes(answer) == {
        ds("d2"),
        job("B"),
        ds("d2", run_id("rA")),
        run("rB"),
        ds("d3"),
        ds("d3", run_id("rB")),
        job("D"),
        run("rD"),
        ds("d4"),
        ds("d4", run_id("rD")),
    }
    assert job("A") not in nodes(answer) and job("C") not in nodes(answer)
    assert nodes(graph(pipeline, ds("d2"), 1, "downstream")) == {ds("d2"), job("B"), ds("d2", run_id("rA"))}


@pytest.mark.parametrize("direction", ["sideways", "UP", "up"])
def test_a_bad_direction_is_refused_naming_the_parameter(pipeline: APIClient, direction: str) -> None:
    response = pipeline.get(URL, {"nodeId": job("A"), "direction": direction})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert "direction" in json.dumps(body)


def test_the_schema_documents_direction_with_its_values() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/lineage"]["get"]
    parameter = next(one for one in operation["parameters"] if one["name"] == "direction")
    assert sorted(parameter["schema"]["enum"]) == ["both", "downstream", "upstream"]
    assert parameter["schema"]["default"] == "both"
