"""GET /api/v1/lineage and ``lineage_graph``: the walk up and down from a node, bounded by depth."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.utils import timezone

from governance.core.errors import NotFound
from registry.edges import DEPLOYED_AS, PRODUCED, RUN_OF, USED_BY, VERSION_OF, edge_add
from registry.models import (
    Dataset,
    DatasetVersion,
    Deployment,
    Job,
    ModelVersion,
    RegisteredModel,
    TrainingRun,
)
from registry.selectors.lineage import lineage_graph, lineage_walk

pytestmark = pytest.mark.django_db

URL = "/api/v1/lineage"
WAREHOUSE = "postgres://warehouse:5432"  # a namespace with colons in it, as OpenLineage producers send


def _dataset_version(namespace: str, name: str, version: str) -> DatasetVersion:
    now = timezone.now()
    dataset, _ = Dataset.objects.get_or_create(namespace=namespace, name=name, defaults={"created_at": now})
    row = DatasetVersion.objects.create(dataset=dataset, version=version, created_at=now)
    edge_add(source=dataset.node_id, target=row.node_id, relation=VERSION_OF)
    return row


def _run(job: Job | None = None) -> TrainingRun:
    run = TrainingRun.objects.create(
        run_id=uuid.uuid4(), job=job, state="COMPLETE", created_at=timezone.now()
    )
    if job is not None:
        edge_add(source=job.node_id, target=run.node_id, relation=RUN_OF)
    return run


def _chain(owner: Any, suffix: str) -> dict[str, str]:
    """raw → raw#1 → prepare run → features#1 (of features) → train run (of job train) → model#1 →
    prod deployment."""
    now = timezone.now()
    raw = _dataset_version(WAREHOUSE, f"public.admissions{suffix}", "1")
    prepare = _run()
    features = _dataset_version("lake", f"features{suffix}", "1")
    job = Job.objects.create(namespace="ml", name=f"train{suffix}", created_at=now)
    train = _run(job)
    model = RegisteredModel.objects.create(name=f"readmission{suffix}", owner=owner, created_at=now)
    version = ModelVersion.objects.create(model=model, version=1, run=train, created_by=owner, created_at=now)
    deployment = Deployment.objects.create(
        model_version=version, environment="prod", deployed_by=owner, deployed_at=now
    )
    edge_add(source=raw.node_id, target=prepare.node_id, relation=USED_BY)
    edge_add(source=prepare.node_id, target=features.node_id, relation=PRODUCED)
    edge_add(source=features.node_id, target=train.node_id, relation=USED_BY)
    edge_add(source=train.node_id, target=version.node_id, relation=PRODUCED)
    edge_add(source=version.node_id, target=deployment.node_id, relation=DEPLOYED_AS)
    return {
        "raw": raw.dataset.node_id,
        "raw#1": raw.node_id,
        "prepare": prepare.node_id,
        "features": features.dataset.node_id,
        "features#1": features.node_id,
        "job": job.node_id,
        "train": train.node_id,
        "model": version.node_id,
        "deployment": deployment.node_id,
    }


@pytest.fixture
def owner(make_user: Any) -> Any:
    return make_user("model-owner", "data_scientist")


@pytest.fixture
def chain(owner: Any) -> dict[str, str]:
    nodes = _chain(owner, "")
    _chain(owner, "-other")  # an unrelated chain that must never show up
    return nodes


def _ids(graph: Any) -> set[str]:
    return {node["id"] for node in graph["graph"]}


def test_the_walk_from_a_model_version_goes_all_the_way_up_and_down(chain: dict[str, str]) -> None:
    graph = lineage_graph(node_id=chain["model"], depth=20)

    assert _ids(graph) == set(chain.values())


def test_both_ways_reaches_the_neighbourhood_and_one_way_walks_do_not_go_sideways(
    chain: dict[str, str],
) -> None:
    # Both ways (the default): the train run's job is a neighbour of the train run, so it is found.
    assert _ids(lineage_graph(node_id=chain["features#1"], depth=20)) == set(chain.values())
    # Upstream: its dataset, prepare, raw#1, raw; downstream: train, model, deployment. The train run's
    # job is another input of the train run: neither up nor down from features#1.
    upstream = _ids(lineage_graph(node_id=chain["features#1"], depth=20, direction="upstream"))
    downstream = _ids(lineage_graph(node_id=chain["features#1"], depth=20, direction="downstream"))
    assert upstream == {
        chain["features#1"],
        chain["features"],
        chain["prepare"],
        chain["raw#1"],
        chain["raw"],
    }
    assert downstream == {chain["features#1"], chain["train"], chain["model"], chain["deployment"]}


def test_reports_walk_up_and_down_as_before(chain: dict[str, str]) -> None:
    ends = {end for edge in lineage_walk(node_id=chain["features#1"], depth=20) for end in edge}

    assert ends == set(chain.values()) - {chain["job"]}


def test_depth_limits_how_far_the_walk_goes(chain: dict[str, str]) -> None:
    assert _ids(lineage_graph(node_id=chain["train"], depth=0)) == {chain["train"]}
    assert _ids(lineage_graph(node_id=chain["train"], depth=1)) == {
        chain["train"],
        chain["job"],
        chain["features#1"],
        chain["model"],
    }
    assert chain["raw"] not in _ids(lineage_graph(node_id=chain["train"], depth=3))
    assert chain["raw"] in _ids(lineage_graph(node_id=chain["train"], depth=4))


def test_edges_are_listed_on_both_of_their_nodes(chain: dict[str, str]) -> None:
    nodes = {node["id"]: node for node in lineage_graph(node_id=chain["train"], depth=1)["graph"]}

    edge = {"origin": chain["train"], "destination": chain["model"]}
    assert edge in nodes[chain["train"]]["outEdges"]
    assert nodes[chain["model"]]["inEdges"] == [edge]
    assert nodes[chain["model"]]["outEdges"] == []  # the deployment is two steps away


def test_a_cycle_terminates(owner: Any) -> None:
    a = _dataset_version("lake", "a", "1")
    run = _run()
    b = _dataset_version("lake", "b", "1")
    edge_add(source=a.node_id, target=run.node_id, relation=USED_BY)
    edge_add(source=run.node_id, target=b.node_id, relation=PRODUCED)
    edge_add(source=b.node_id, target=a.node_id, relation=USED_BY)  # a bad producer made a loop

    graph = lineage_graph(node_id=a.node_id, depth=100)

    assert _ids(graph) == {a.node_id, run.node_id, b.node_id, "dataset:lake:a", "dataset:lake:b"}
    assert len(lineage_walk(node_id=a.node_id, depth=100)) == 5


def test_every_node_type_carries_its_data(chain: dict[str, str]) -> None:
    nodes = {node["id"]: node for node in lineage_graph(node_id=chain["model"], depth=20)["graph"]}

    assert nodes[chain["raw"]]["type"] == "dataset"
    assert nodes[chain["raw"]]["data"]["namespace"] == WAREHOUSE
    assert nodes[chain["raw#1"]]["type"] == "dataset_version"
    assert nodes[chain["raw#1"]]["data"]["name"] == "public.admissions"
    assert nodes[chain["raw#1"]]["data"]["version"] == "1"
    assert nodes[chain["job"]]["type"] == "job"
    assert nodes[chain["job"]]["data"]["name"] == "train"
    assert nodes[chain["train"]]["type"] == "run"
    assert nodes[chain["train"]]["data"]["job"] == chain["job"]
    assert nodes[chain["model"]]["type"] == "model"
    assert (nodes[chain["model"]]["data"]["model"], nodes[chain["model"]]["data"]["version"]) == (
        "readmission",
        1,
    )
    assert nodes[chain["deployment"]]["type"] == "deployment"
    assert nodes[chain["deployment"]]["data"]["environment"] == "prod"
    assert nodes[chain["deployment"]]["data"]["version"] == 1


def test_an_unknown_node_is_not_found(chain: dict[str, str]) -> None:
    with pytest.raises(NotFound):
        lineage_graph(node_id="dataset:lake:never-seen", depth=5)
    with pytest.raises(NotFound):
        lineage_graph(node_id="not a node id", depth=5)


def test_a_stored_node_without_edges_is_a_graph_of_one(owner: Any) -> None:
    Job.objects.create(namespace="ml", name="lonely", created_at=timezone.now())

    graph = lineage_graph(node_id="job:ml:lonely", depth=5)

    assert graph == {
        "graph": [
            {
                "id": "job:ml:lonely",
                "type": "job",
                "data": graph["graph"][0]["data"],
                "inEdges": [],
                "outEdges": [],
            }
        ]
    }


def test_the_query_count_does_not_grow_with_the_graph(
    owner: Any, chain: dict[str, str], django_assert_max_num_queries: Any
) -> None:
    # One walk + one query per node type (6), whatever the number of nodes.
    with django_assert_max_num_queries(7):
        small = lineage_graph(node_id=chain["model"], depth=20)
    wide = _chain(owner, "-wide")
    for n in range(15):  # fifteen more runs read the wide chain's features and are found downstream of it
        run = _run()
        edge_add(source=wide["features#1"], target=run.node_id, relation=USED_BY)
        out = _dataset_version("lake", f"scores-{n}", "1")
        edge_add(source=run.node_id, target=out.node_id, relation=PRODUCED)
    with django_assert_max_num_queries(7):
        big = lineage_graph(node_id=wide["features#1"], depth=20)
    assert len(big["graph"]) > 3 * len(small["graph"])


def test_the_api_answers_in_marquez_shape(chain: dict[str, str], token_client: Any) -> None:
    client, _ = token_client("an-auditor", "auditor")

    response = client.get(URL, {"nodeId": chain["train"], "depth": 1})

    assert response.status_code == 200
    node = next(node for node in response.json()["graph"] if node["id"] == chain["train"])
    assert set(node) == {"id", "type", "data", "inEdges", "outEdges"}
    assert {"origin": chain["job"], "destination": chain["train"]} in node["inEdges"]


def test_the_api_answers_404_json_for_an_unknown_node(chain: dict[str, str], token_client: Any) -> None:
    client, _ = token_client("a-scientist", "data_scientist")

    response = client.get(URL, {"nodeId": "run:" + str(uuid.uuid4())})

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("query", [{"nodeId": "job:ml:train", "depth": 101}, {"depth": 3}])
def test_the_api_refuses_a_bad_query(chain: dict[str, str], token_client: Any, query: dict[str, Any]) -> None:
    client, _ = token_client("a-scientist", "data_scientist")

    response = client.get(URL, query)

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


def test_a_run_id_in_upper_case_finds_the_run(chain: dict[str, str]) -> None:
    graph = lineage_graph(node_id=chain["train"].upper().replace("RUN:", "run:"), depth=1)

    assert chain["train"] in _ids(graph)
