"""Lineage on PostgreSQL: the upstream walk over a 100,000-node graph, and OpenLineage ingestion.
Prints one JSON line.

    .venv/bin/python bench/lineage.py [--chains 5000] [--stages 9] [--events 2000]

The graph is ``--chains`` chains of ``--stages`` dataset-version/run pairs ending in a model version
deployed to prod (with its dataset: 21 nodes, 20 edges deep with the defaults), plus a second model
version trained by each chain's middle run and deployed to staging; every dataset version also hangs
off one of ``--stages`` shared datasets (``version_of``). With the defaults: 45,000 dataset versions,
45,000 runs, 10,000 model versions, 10,000 deployments and 9 datasets = 110,009 nodes, 150,000
edges, inserted with ``bulk_create``. Timed: ``lineage_walk`` (the one recursive CTE) and
``lineage_graph`` (the CTE plus one query per node type) for the prod deployment at the end of a chain,
median of 20; ``full_json_report_ms``: ``lineage_report_build`` for that deployment then
``json.dumps``, median of 10 (target 1,000 ms); the walk and the report again for the deepest model
version (the one that deployment serves; targets 100 ms and 1,000 ms).
Ingestion: ``--events`` START/COMPLETE RunEvents (one input with a ``datasetVersion`` facet, one
output) through the service function ``lineage_event_ingest`` directly (not over HTTP), each in its
own committed transaction (on PostgreSQL one ``registry_lineage_ingest`` call) with its audit entry
sequenced after the commit, as the API does: first
from this one process, then ``--events`` more split over ``--processes`` processes (each its own
Django set-up and connection, started together once all are ready), as gunicorn's workers would send
them. The 500 events/s target is judged on the concurrent figure, how the service runs. Then the
same over HTTP: gunicorn with ``--processes`` sync workers and as many client processes posting one
event per request, all on this machine's cores (the clients' CPU counts against the server's). Also
printed: the statements one START and one COMPLETE event cost (the audit sequencing included), this
process's CPU per event (``client_cpu_ms_per_event``), and what one durable commit costs on this
machine at the time (``commit_ms_median``): every event commits twice (its rows, then its audit entry's
sequencing), so on a slow disk the commit, not the CPU, bounds the rate.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, gunicorn, setup_django, start_together, wait_for_go


def build_graph(chains: int, stages: int) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from audit.actors import Actor
    from governance.accounts.services import user_create
    from registry.models import (
        Dataset,
        DatasetVersion,
        Deployment,
        LineageEdge,
        ModelVersion,
        RegisteredModel,
        TrainingRun,
    )

    now = timezone.now()
    user = user_create(
        actor=Actor.system("bench"), username="bench", roles=["pipeline"], password=None, full_name="Bench"
    )
    batch = 5_000
    datasets = Dataset.objects.bulk_create(
        [Dataset(namespace="bench", name=f"stage-{s}", created_at=now) for s in range(stages)]
    )
    versions = DatasetVersion.objects.bulk_create(
        [
            DatasetVersion(dataset=datasets[s], version=str(c), created_at=now)
            for c in range(chains)
            for s in range(stages)
        ],
        batch_size=batch,
    )
    runs = TrainingRun.objects.bulk_create(
        [TrainingRun(run_id=uuid.uuid4(), created_at=now) for _ in range(chains * stages)], batch_size=batch
    )
    # Two models per chain: one trained by the chain's last run and deployed to prod, one by its
    # middle run and deployed to staging, so there are as many model versions and deployments as chains x 2.
    middle = stages // 2
    models = RegisteredModel.objects.bulk_create(
        [
            RegisteredModel(name=f"model-{c}{suffix}", owner=user, created_at=now)
            for c in range(chains)
            for suffix in ("", "-early")
        ],
        batch_size=batch,
    )
    model_versions = ModelVersion.objects.bulk_create(
        [
            ModelVersion(
                model=models[2 * c + early],
                version=1,
                run=runs[c * stages + (middle if early else stages - 1)],
                created_by=user,
                created_at=now,
            )
            for c in range(chains)
            for early in (0, 1)
        ],
        batch_size=batch,
    )
    deployments = Deployment.objects.bulk_create(
        [
            Deployment(
                model_version=model_versions[2 * c + early],
                environment="staging" if early else "prod",
                deployed_by=user,
                deployed_at=now,
            )
            for c in range(chains)
            for early in (0, 1)
        ],
        batch_size=batch,
    )

    def edge(source: str, target: str, relation: str) -> LineageEdge:
        return LineageEdge(source=source, target=target, relation=relation, created_at=now)

    edges: list[LineageEdge] = []
    for c in range(chains):
        model_node = f"model:model-{c}#1"
        for s in range(stages):
            version_node = f"dataset:bench:stage-{s}#{c}"
            run_node = f"run:{runs[c * stages + s].run_id}"
            edges.append(edge(f"dataset:bench:stage-{s}", version_node, "version_of"))
            edges.append(edge(version_node, run_node, "used_by"))
            following = f"dataset:bench:stage-{s + 1}#{c}" if s + 1 < stages else model_node
            edges.append(edge(run_node, following, "produced"))
        edges.append(edge(model_node, f"deployment:prod:model-{c}", "deployed_as"))
        early_node = f"model:model-{c}-early#1"
        edges.append(edge(f"run:{runs[c * stages + middle].run_id}", early_node, "produced"))
        edges.append(edge(early_node, f"deployment:staging:model-{c}-early", "deployed_as"))
    LineageEdge.objects.bulk_create(edges, batch_size=batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    nodes = len(datasets) + len(versions) + len(runs) + len(model_versions) + len(deployments)
    counts = {
        "dataset_versions": len(versions),
        "runs": len(runs),
        "model_versions": len(model_versions),
        "deployments": len(deployments),
    }
    # The deepest node: the prod deployment at the end of a chain, 20 nodes from its first dataset.
    return {
        "nodes": nodes,
        "edges": len(edges),
        "deepest": f"deployment:prod:model-{chains - 1}",
        "deepest_model_version": f"model:model-{chains - 1}#1",
        **counts,
    }


def median_ms(call: Any, repeat: int) -> tuple[float, Any]:
    result = call()  # warm the plan and the buffer cache
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), result


def run_event(event_type: str, run_id: str, n: int) -> dict[str, Any]:
    producer = "https://github.com/acme/bench"
    spec = "https://openlineage.io/spec"
    return {
        "eventTime": f"2024-06-01T{'09' if event_type == 'COMPLETE' else '08'}:00:00Z",
        "producer": producer,
        "schemaURL": f"{spec}/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventType": event_type,
        "run": {"runId": run_id},
        "job": {"namespace": "bench-jobs", "name": f"job-{n % 50}"},
        "inputs": [
            {
                "namespace": "postgres://warehouse:5432",
                "name": f"public.table_{n % 200}",
                "facets": {
                    "datasetVersion": {
                        "_producer": producer,
                        "_schemaURL": f"{spec}/facets/1-0-1/DatasetVersionDatasetFacet.json",
                        "datasetVersion": f"v{n % 7}",
                    }
                },
            }
        ],
        "outputs": [{"namespace": "s3://lake", "name": f"features/{n % 200}"}],
    }


def _bodies(events: int, salt: str) -> list[dict[str, Any]]:
    bodies = []
    for n in range(events // 2):
        run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{salt}/{n}"))
        bodies.extend([run_event("START", run_id, n), run_event("COMPLETE", run_id, n)])
    return bodies


def commit_ms() -> float:
    """What one durable commit costs on this machine now (a one-row INSERT in autocommit, median of
    50): each event commits, and its audit entry is sequenced in a second transaction, so this bounds
    the events per second one process can send whatever the CPU."""
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe_wal (x integer)")
        for _ in range(50):
            started = time.perf_counter()
            cursor.execute("INSERT INTO bench_commit_probe_wal VALUES (1)")
            timings.append((time.perf_counter() - started) * 1000)
        cursor.execute("DROP TABLE bench_commit_probe_wal")
    return statistics.median(timings)


def ingest_cpu_ms(bodies: list[dict[str, Any]]) -> float:
    """This process's CPU per event (client side: parsing aside, validation, hashing, plan, the calls)."""
    started = time.process_time()
    ingest(bodies)
    return (time.process_time() - started) * 1000 / len(bodies)


def ingest(bodies: list[dict[str, Any]]) -> float:
    """Events per second through ``lineage_event_ingest``, each in its own committed transaction."""
    from audit.actors import Actor
    from governance.accounts.models import User
    from registry.services.lineage import lineage_event_ingest

    user = User.objects.get(username="bench")
    actor = Actor.for_user(user)
    started = time.perf_counter()
    for body in bodies:
        if not lineage_event_ingest(actor=actor, user=user, event=body).created:
            raise SystemExit("an event was taken for a duplicate")
    return len(bodies) / (time.perf_counter() - started)


def queries_per_event() -> dict[str, int]:
    """Statements (BEGIN/COMMIT and the audit sequencing after the commit included) for the START and
    the COMPLETE event of a new run whose job and datasets exist."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = {}
    for body in _bodies(2, "query-count"):
        with CaptureQueriesContext(connection) as captured:
            ingest([body])
        counts[f"queries_per_{body['eventType'].lower()}_event"] = len(captured.captured_queries)
    return counts


def ingester(events: int, name: str, go: Path) -> None:
    import django

    django.setup()
    from django.db import connection

    connection.ensure_connection()
    bodies = _bodies(events, name)
    ingest(bodies[:0])  # import the service before the start
    wait_for_go(go, name)
    ingest(bodies)


def http_client(url: str, events: int, name: str, token: str, go: Path) -> None:
    """A pipeline posting events one request each, as the OpenLineage client's HTTP transport does."""
    import requests

    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    bodies = [json.dumps(body) for body in _bodies(events, name)]
    wait_for_go(go, name)
    for body in bodies:
        response = session.post(f"{url}/api/v1/lineage", data=body, timeout=30)
        if response.status_code != 201:
            raise SystemExit(f"{response.status_code}: {response.text[:200]}")


def ingest_over_http(processes: int, each: int, env: dict[str, str], signals: Path) -> float:
    """Events per second through gunicorn (``processes`` sync workers) from ``processes`` client
    processes, all on this machine's cores."""
    from audit.actors import Actor
    from governance.accounts.models import User
    from governance.accounts.services import token_issue

    _, token = token_issue(actor=Actor.system("bench"), user=User.objects.get(username="bench"), name="http")
    with gunicorn(env, processes) as url:
        go = signals / "go"
        commands = [
            [sys.executable, __file__, "--http-client", url, str(each), f"h{n}", token, str(go)]
            for n in range(processes)
        ]
        children, started = start_together(commands, env, signals)
        if any(child.wait() != 0 for child in children):
            raise SystemExit("an HTTP client failed")
        return processes * each / (time.perf_counter() - started)


def ingest_concurrently(processes: int, each: int, env: dict[str, str], signals: Path) -> float:
    """Events per second from the common start until every process has committed all its events."""
    go = signals / "go"
    commands = [
        [sys.executable, __file__, "--ingester", str(each), f"w{n}", str(go)] for n in range(processes)
    ]
    children, started = start_together(commands, env, signals)
    if any(child.wait() != 0 for child in children):
        raise SystemExit("an ingester failed")
    return processes * each / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chains", type=int, default=5000)
    parser.add_argument("--stages", type=int, default=9)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--report-repeat", type=int, default=10)
    parser.add_argument(
        "--database", default="governance_bench_lineage", help="PostgreSQL database, made anew"
    )
    parser.add_argument("--ingester", nargs=3)
    parser.add_argument("--http-client", nargs=5)
    args = parser.parse_args()
    if args.http_client:
        url, count, name, token, go = args.http_client
        http_client(url, int(count), name, token, Path(go))
        return
    if args.ingester:
        ingester(int(args.ingester[0]), args.ingester[1], Path(args.ingester[2]))
        return
    with tempfile.TemporaryDirectory() as var_dir:
        env = fresh_postgres(args.database, Path(var_dir))
        setup_django(env)
        from registry.selectors.lineage import lineage_graph, lineage_walk

        started = time.perf_counter()
        built = build_graph(args.chains, args.stages)
        build_seconds = time.perf_counter() - started
        node = built["deepest"]
        walk_ms, edges = median_ms(lambda: lineage_walk(node_id=node, depth=20), args.repeat)
        graph_ms, graph = median_ms(
            lambda: lineage_graph(node_id=node, depth=20, direction="upstream"), args.repeat
        )
        loaded = sum(1 for item in graph["graph"] if item["data"] is not None)
        from registry.reports.assemble import lineage_report_build

        report_ms, report_text = median_ms(
            lambda: json.dumps(lineage_report_build(subject=node)), args.report_repeat
        )
        model_node = built["deepest_model_version"]
        model_walk_ms, model_edges = median_ms(
            lambda: lineage_walk(node_id=model_node, depth=20), args.repeat
        )
        model_report_ms, model_report = median_ms(
            lambda: json.dumps(lineage_report_build(subject=model_node)), args.report_repeat
        )
        queries = queries_per_event()
        rate = ingest(_bodies(args.events, "single"))
        cpu_ms = ingest_cpu_ms(_bodies(min(args.events, 1000), "cpu"))
        probe_ms = commit_ms()
        signals = Path(var_dir) / "signals"
        signals.mkdir()
        concurrent_rate = ingest_concurrently(args.processes, args.events // args.processes, env, signals)
        http_rate = ingest_over_http(args.processes, args.events // args.processes, env, signals)
        from audit.models import AuditEntry
        from registry.models import LineageEvent

        ingested = LineageEvent.objects.count()  # the four rounds
        audited = AuditEntry.objects.filter(action="lineage.event_ingest").count()
    print(
        json.dumps(
            {
                "bench": "lineage",
                "database": "postgresql",
                "nodes": built["nodes"],
                "edges": built["edges"],
                **{
                    kind: built[kind]
                    for kind in ("dataset_versions", "runs", "model_versions", "deployments")
                },
                "build_seconds": round(build_seconds, 1),
                "upstream_node": node,
                "upstream_walk_ms_median": round(walk_ms, 2),
                "upstream_graph_ms_median": round(graph_ms, 2),
                "graph_nodes": len(graph["graph"]),
                "graph_nodes_with_data": loaded,
                "walk_edges": len(edges),
                "full_json_report_ms_median": round(report_ms, 1),
                "full_json_report_bytes": len(report_text),
                "model_version_node": model_node,
                "model_version_upstream_walk_ms_median": round(model_walk_ms, 2),
                "model_version_walk_edges": len(model_edges),
                "model_version_full_json_report_ms_median": round(model_report_ms, 1),
                "model_version_full_json_report_bytes": len(model_report),
                "ingest_path": "registry.services.lineage.lineage_event_ingest, one transaction per event",
                **queries,
                "events": ingested,
                "events_audited": audited,
                "events_per_second_1_process": round(rate, 1),
                "client_cpu_ms_per_event": round(cpu_ms, 3),
                "commit_ms_median": round(probe_ms, 2),
                "ingest_processes": args.processes,
                f"events_per_second_{args.processes}_processes": round(concurrent_rate, 1),
                "target_500_per_second_judged_on": f"events_per_second_{args.processes}_processes",
                f"events_per_second_http_{args.processes}_gunicorn_workers_{args.processes}_clients": round(
                    http_rate, 1
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
