"""The MLflow-compatible API under load: MLflow's stock client, 8 concurrent client processes, each
creating model versions then reading them back. Prints one JSON line: create-version and get-version
latency (median, p95, ms) and throughput (calls/s) against our server (gunicorn, a fresh PostgreSQL
database) and, when an ``mlflow`` command with its server is at hand, the same against ``mlflow server``
(SQLite backend) on another port.

    .venv/bin/python bench/mlflow_api.py [--per-client 50] [--clients 8] [--workers 8]
        [--mlflow /path/to/venv/bin/mlflow]   # default: $MLFLOW_SERVER_BIN, else `mlflow` on PATH
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, free_port, fresh_postgres, gunicorn

MODEL = "bench-model"


def client_process(url: str, token: str, name: str, count: int, barrier: Any, results: Any) -> None:
    """One client: wait for all, create ``count`` versions (timed each), wait, read each back (timed)."""
    os.environ["MLFLOW_TRACKING_URI"] = url
    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    os.environ["MLFLOW_LOGGING_LEVEL"] = "WARNING"  # not a line per version created
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=url, registry_uri=url)
    created: list[str] = []
    phases: dict[str, Any] = {}
    barrier.wait()
    start, latencies = time.time(), []
    for number in range(count):
        began = time.perf_counter()
        version = client.create_model_version(MODEL, f"s3://bench/{name}/{number}")
        latencies.append(time.perf_counter() - began)
        created.append(version.version)
    phases["create"] = (start, time.time(), latencies)
    barrier.wait()
    start, latencies = time.time(), []
    for version in created:
        began = time.perf_counter()
        client.get_model_version(MODEL, version)
        latencies.append(time.perf_counter() - began)
    phases["get"] = (start, time.time(), latencies)
    results.put(phases)


def measure(url: str, token: str, clients: int, per_client: int) -> dict[str, Any]:
    os.environ["MLFLOW_TRACKING_URI"] = url
    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    from mlflow import MlflowClient

    MlflowClient(tracking_uri=url, registry_uri=url).create_registered_model(MODEL)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(clients), context.Queue()
    children = [
        context.Process(target=client_process, args=(url, token, f"c{n}", per_client, barrier, results))
        for n in range(clients)
    ]
    for child in children:
        child.start()
    collected = [results.get(timeout=900) for _ in children]
    for child in children:
        child.join()
    summary: dict[str, Any] = {}
    for phase in ("create", "get"):
        latencies = sorted(value for one in collected for value in one[phase][2])
        wall = max(one[phase][1] for one in collected) - min(one[phase][0] for one in collected)
        summary[f"{phase}_version"] = {
            "median_ms": round(statistics.median(latencies) * 1000, 2),
            "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 2),
            "per_second": round(len(latencies) / wall, 1),
            "calls": len(latencies),
        }
    return summary


def ours(args: argparse.Namespace, var_dir: Path) -> dict[str, Any]:
    env = fresh_postgres("bench_mlflow_api", var_dir)
    env["THROTTLE_USER"] = "1000000/minute"  # measure the API, not the rate limit
    manage = [sys.executable, "manage.py"]
    subprocess.run(
        [*manage, "adduser", "bench-robot", "--role", "pipeline"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    issued = subprocess.run(
        [*manage, "issuetoken", "bench-robot", "--name", "bench"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    token = issued.stdout.strip().splitlines()[-1]
    with gunicorn(env, args.workers) as url:
        result = measure(url, token, args.clients, args.per_client)
    return {"server": f"gunicorn, {args.workers} workers, PostgreSQL", **result}


def theirs(args: argparse.Namespace, var_dir: Path) -> dict[str, Any]:
    binary = args.mlflow or os.environ.get("MLFLOW_SERVER_BIN") or shutil.which("mlflow")
    if not binary:
        return {"not_run": "no `mlflow` command with its server (pip install mlflow, or --mlflow PATH)"}
    try:
        probe = subprocess.run([binary, "server", "--help"], capture_output=True, text=True, check=False)
    except OSError as exc:
        return {"not_run": f"{binary}: {exc.strerror}"}
    if probe.returncode != 0:
        return {"not_run": f"{binary} has no working `server` command (mlflow-skinny lacks it)"}
    version = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    port = free_port()
    command = [
        binary,
        "server",
        "--backend-store-uri",
        f"sqlite:///{var_dir / 'mlflow.sqlite'}",
        "--default-artifact-root",
        str(var_dir / "mlflow-artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
    ]
    server = subprocess.Popen(command, cwd=var_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1)  # noqa: S310 (a local server we started)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    return {"not_run": f"`{binary} server` did not come up"}
                time.sleep(0.3)
        result = measure(url, "", args.clients, args.per_client)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"server": f"{version}, {args.workers} workers, SQLite", **result}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-client", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--mlflow", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir, tempfile.TemporaryDirectory() as mlflow_dir:
        result = {
            "benchmark": "mlflow_api",
            "clients": args.clients,
            "per_client": args.per_client,
            "ours": ours(args, Path(var_dir)),
            "mlflow_server": theirs(args, Path(mlflow_dir)),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
