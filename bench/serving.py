"""Serving speed: our predict endpoint beside MLflow's own scoring server, on one client. One JSON line.

    .venv/bin/python bench/serving.py [--seconds 10] [--threads 8] [--workers 4] [--no-mlflow]

1. Set-up (untimed), on a fresh PostgreSQL database: the demo's customers (``demo_story.customers_csv``),
   a training request for the demo's RandomForest (120 trees, depth 8) signed off and run by the real
   job code, then a deploy request to ``staging`` signed off and run the same way
   (``CELERY_TASK_ALWAYS_EAGER``: the task body runs in this process; grant verified and claimed, bytes
   and signature checked, as in a worker).
2. Ours: gunicorn (``--workers`` sync workers) on that database, Redis as the rate-limit cache, monitoring
   capture on for every request. ``--threads`` client threads, each with its own HTTP connection, for
   ``--seconds``: single-row ``POST /api/v1/deployments/staging/churn/predict`` (calls/s, p50, p99), then
   1,000-row batches (rows/s).
3. Monitoring capture (``predictions_log``) and the whole ``serving.predict``, timed alone in this process
   for a one-row request: what a request costs besides HTTP.
4. MLflow's scoring server: the same fitted pipeline, read from our skops file with the service's skops
   allow-list and saved with ``mlflow.sklearn``, both in a separate venv (``bench.common.mlflow_venv``;
   nothing is unpickled in this process), served by ``mlflow models serve --env-manager local --workers
   N``; the same client and rows against ``/invocations`` (``dataframe_records``). Ratios are ours/theirs.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import free_port, fresh_postgres, gunicorn, mlflow_venv, setup_django, wait_up

REDIS = "redis://127.0.0.1:6379/12"
PASSWORD = secrets.token_urlsafe(16)
FEATURES = ["tenure", "plan", "monthly_spend", "support_calls"]
# The demo's training request (governance/demo/story.py), features named since the bench's dataset
# holds no personal data (so no subject id column to leave out).
PARAMETERS = {
    "target": "churned",
    "n_estimators": 120,
    "max_depth": 8,
    "random_state": 1,
    "features": FEATURES,
}
BATCH = 1000
SAVE_FOR_MLFLOW = r"""
import json, sys
import mlflow.sklearn
import skops.io
source, target, allowed = sys.argv[1], sys.argv[2], set(json.loads(sys.argv[3]))
named = skops.io.get_untrusted_types(file=source)
outside = sorted(set(named) - allowed)
if outside:
    sys.exit(f"the skops file names types outside the service's allow-list: {outside}")
pipeline = skops.io.load(source, trusted=sorted(allowed))
# MLflow 3's sklearn flavour itself saves with skops; it is told the same reviewed types.
mlflow.sklearn.save_model(pipeline, target, skops_trusted_types=named)
"""


def _rows(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """Customers drawn as the demo draws its prediction traffic."""
    rng = np.random.default_rng(seed)
    return [
        {
            "tenure": int(rng.integers(1, 72)),
            "plan": ("basic", "plus", "pro")[int(rng.integers(0, 3))],
            "monthly_spend": round(float(rng.normal(45, 15)), 2),
            "support_calls": int(rng.poisson(2)),
        }
        for _ in range(count)
    ]


# --- Set-up: trained and deployed through approved releases ----------------------------------------------


def _deployed() -> tuple[Any, str]:
    """Train and deploy the demo's model through signed releases; returns (model version, API token)."""
    from django.core.files import File

    from audit.actors import Actor
    from governance.accounts.services import token_issue, user_create
    from governance.approvals.services.policies import policy_seed_defaults
    from governance.approvals.services.releases import release_create
    from governance.approvals.services.signatures import release_sign
    from governance.demo.story import customers_csv
    from governance.jobs.enqueue import job_enqueue
    from governance.jobs.models import ReleaseJob
    from registry.models import ModelVersion
    from registry.services.datasets import dataset_create, dataset_version_upload

    system = Actor.system("bench")
    policy_seed_defaults(actor=system)
    requester = user_create(
        actor=system, username="dana", roles=["data_scientist"], password=PASSWORD, full_name="Dana"
    )
    officers = [
        user_create(
            actor=system, username=name, roles=["compliance_officer"], password=PASSWORD, full_name=name
        )
        for name in ("carla", "colin")
    ]
    as_requester = Actor.for_user(requester)
    dataset = dataset_create(actor=as_requester, namespace="crm", name="customers")
    data = dataset_version_upload(
        actor=as_requester, dataset=dataset, upload=File(io.BytesIO(customers_csv()), name="customers.csv")
    )

    def run_approved(**fields: Any) -> ReleaseJob:
        release = release_create(actor=as_requester, risk_level="limited", **fields)
        for officer in officers:
            release.refresh_from_db()
            if release.status == "approved":
                break
            release_sign(
                actor=Actor.for_user(officer),
                release=release,
                signer=officer,
                meaning="approved",
                password=PASSWORD,
            )
        job = job_enqueue(actor=as_requester, release=release, by=requester)  # eager: runs on commit
        job.refresh_from_db()
        if job.status != "succeeded":
            raise SystemExit(f"{fields['kind']} job {job.status}: {job.error}")
        return job

    run_approved(
        kind="train",
        model="churn",
        datasets=[{"namespace": "crm", "name": "customers", "version": data.version}],
        parameters=PARAMETERS,
        code_version="bench",
        metric_thresholds={"accuracy": 0.6},
    )
    version = ModelVersion.objects.get(model__name="churn", version=1)
    run_approved(
        kind="deploy", model="churn", version=1, environment="staging", metric_thresholds={"accuracy": 0.6}
    )
    _, token = token_issue(actor=system, user=requester, name="bench")
    return version, token


# --- The client ------------------------------------------------------------------------------------------


def _load(
    url: str, headers: dict[str, str], bodies: list[bytes], threads: int, seconds: float
) -> dict[str, Any]:
    """``threads`` threads POSTing ``bodies`` in turn for ``seconds``; latencies and calls/s."""
    parts = urlsplit(url)
    latencies: list[list[float]] = [[] for _ in range(threads)]
    failures: list[str] = []
    start = threading.Barrier(threads + 1)
    deadline = [0.0]

    def work(number: int) -> None:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        mine, turn = latencies[number], number
        start.wait()
        while time.perf_counter() < deadline[0]:
            body = bodies[turn % len(bodies)]
            turn += threads
            began = time.perf_counter()
            try:
                connection.request("POST", parts.path, body, headers)
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                connection.close()
                continue
            mine.append(time.perf_counter() - began)
            if response.status != 200:
                failures.append(f"HTTP {response.status}: {answer[:300]!r}")
        connection.close()

    workers = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(threads)]
    for worker in workers:
        worker.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    start.wait()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - began
    every = sorted(value for mine in latencies for value in mine)
    if not every:
        raise SystemExit(f"no request to {url} succeeded: {failures[:3]}")
    return {
        "calls": len(every),
        "calls_per_second": round(len(every) / wall, 1),
        "p50_ms": round(every[len(every) // 2] * 1000, 2),
        "p99_ms": round(every[min(len(every) - 1, int(len(every) * 0.99))] * 1000, 2),
        "errors": len(failures),
        **({"first_error": failures[0]} if failures else {}),
    }


def _measure(url: str, headers: dict[str, str], encode: Any, args: argparse.Namespace) -> dict[str, Any]:
    singles = [encode([row]) for row in _rows(512)]
    batches = [encode(_rows(BATCH, seed=100 + n)) for n in range(4)]
    _load(url, headers, singles, args.threads, 2)  # warm-up: every worker has loaded the model
    single = _load(url, headers, singles, args.threads, args.seconds)
    batch = _load(url, headers, batches, args.threads, args.seconds)
    rows_per_second = round(batch.pop("calls_per_second") * BATCH, 1)
    return {"single_row": single, f"batches_of_{BATCH}": {"rows_per_second": rows_per_second, **batch}}


def _labels(url: str, headers: dict[str, str], body: bytes, key: str) -> list[Any]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    connection.request("POST", parts.path, body, headers)
    answer = json.loads(connection.getresponse().read())
    connection.close()
    return list(answer[key])


# --- Ours ------------------------------------------------------------------------------------------------


def _in_process(samples: int = 500) -> dict[str, Any]:
    """Median and p99 (ms) of the monitoring capture and of the whole ``serving.predict`` for one row."""
    from governance.jobs import serving
    from governance.monitoring.capture import predictions_log
    from registry.selectors.deployments import deployment_serving_get

    rows = _rows(samples, seed=3)
    deployment = deployment_serving_get(environment="staging", model_name="churn")
    serving.predict(environment="staging", model_name="churn", rows=rows[:1])  # loads the model once
    timed: dict[str, list[float]] = {"monitoring_capture_ms": [], "predict_in_process_ms": []}
    for row in rows:
        began = time.perf_counter()
        predictions_log(deployment=deployment, rows=[row], predictions=[0])
        timed["monitoring_capture_ms"].append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        serving.predict(environment="staging", model_name="churn", rows=[row])
        timed["predict_in_process_ms"].append((time.perf_counter() - began) * 1000)
    return {
        name: {
            "median": round(statistics.median(values), 3),
            "p99": round(sorted(values)[int(len(values) * 0.99)], 3),
        }
        for name, values in timed.items()
    }


def ours(args: argparse.Namespace, env: dict[str, str], token: str) -> tuple[dict[str, Any], list[Any]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def encode(rows: list[dict[str, Any]]) -> bytes:
        return json.dumps({"rows": rows}).encode()

    with gunicorn(env, args.workers) as base:
        url = f"{base}/api/v1/deployments/staging/churn/predict"
        result = _measure(url, headers, encode, args)
        labels = _labels(url, headers, encode(_rows(BATCH, seed=7)), "predictions")
    from django.conf import settings

    capture = f"monitoring capture on {settings.MONITORING_SAMPLE_RATE:.0%} of requests"
    return {"server": f"gunicorn, {args.workers} sync workers, PostgreSQL, {capture}", **result}, labels


# --- MLflow's scoring server -----------------------------------------------------------------------------


@contextmanager
def _mlflow_serving(bin_dir: Path, model_dir: Path, workers: int, log: Path) -> Iterator[str]:
    port = free_port()
    command = [str(bin_dir / "mlflow"), "models", "serve", "-m", str(model_dir), "-p", str(port)]
    command += ["--host", "127.0.0.1", "--env-manager", "local", "--workers", str(workers)]
    with log.open("wb") as out:
        # The scoring server execs `uvicorn` by name: the venv's bin goes first on PATH.
        env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
        server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, cwd=model_dir.parent, env=env
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_up(f"{url}/ping", server, timeout=180)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def theirs(args: argparse.Namespace, version: Any, work: Path) -> tuple[dict[str, Any], list[Any]]:
    import sklearn
    import skops
    from django.core.files.storage import default_storage

    from registry.artifacts import SKOPS_ALLOWED_TYPES

    if args.no_mlflow:
        return {"not_run": "--no-mlflow"}, []
    if version.artifact_format != "skops":
        return {"not_run": f"the trained version's artifact is {version.artifact_format!r}, not skops"}, []
    bin_dir = mlflow_venv(
        ["mlflow>=3,<4", f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}"]
    )
    if isinstance(bin_dir, str):
        return {"not_run": f"MLflow could not be installed in its own venv: {bin_dir}"}, []
    model_dir = work / "mlflow-model"
    saved = subprocess.run(
        [
            str(bin_dir / "python"),
            "-c",
            SAVE_FOR_MLFLOW,
            default_storage.path(version.storage_name),
            str(model_dir),
            json.dumps(SKOPS_ALLOWED_TYPES),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if saved.returncode != 0:
        return {"not_run": f"saving with mlflow.sklearn failed: {saved.stderr.strip()[-500:]}"}, []
    release = subprocess.run(
        [str(bin_dir / "mlflow"), "--version"], capture_output=True, text=True, check=False
    )
    headers = {"Content-Type": "application/json"}

    def encode(rows: list[dict[str, Any]]) -> bytes:
        return json.dumps({"dataframe_records": rows}).encode()

    with _mlflow_serving(bin_dir, model_dir, args.workers, work / "mlflow-serve.log") as base:
        url = f"{base}/invocations"
        result = _measure(url, headers, encode, args)
        labels = _labels(url, headers, encode(_rows(BATCH, seed=7)), "predictions")
    server = f"{release.stdout.strip()} models serve, {args.workers} uvicorn workers, mlflow.sklearn pyfunc"
    return {"server": server, **result}, labels


# --- Main ------------------------------------------------------------------------------------------------


def _ratio(ours_value: float, theirs_value: float | None) -> float | None:
    return round(ours_value / theirs_value, 2) if theirs_value else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    with tempfile.TemporaryDirectory() as var_dir:
        env = fresh_postgres("bench_serving", Path(var_dir))
        env.update(
            {
                "REDIS_URL": REDIS,
                "CELERY_TASK_ALWAYS_EAGER": "1",
                "THROTTLE_USER": "100000000/minute",  # measure serving, not the rate limit
                "THROTTLE_PREDICT": "100000000/minute",
            }
        )
        setup_django(env)
        version, token = _deployed()
        in_process = _in_process()
        our, our_labels = ours(args, env, token)
        their, their_labels = theirs(args, version, Path(var_dir))
    batch_key = f"batches_of_{BATCH}"
    single = our["single_row"]["calls_per_second"]
    rows = our[batch_key]["rows_per_second"]
    theirs_single = their.get("single_row", {}).get("calls_per_second")
    theirs_rows = their.get(batch_key, {}).get("rows_per_second")
    agree = (
        round(sum(a == b for a, b in zip(our_labels, their_labels, strict=True)) / len(our_labels), 4)
        if their_labels
        else None
    )
    print(
        json.dumps(
            {
                "bench": "serving",
                "model": "the demo's RandomForestClassifier (120 trees, depth 8), served "
                + ("from ONNX by onnxruntime" if version.onnx_sha256 else "from skops by scikit-learn"),
                "client_threads": args.threads,
                "seconds_per_phase": args.seconds,
                "ours": {**our, "in_process": in_process},
                "mlflow": their,
                "ratio_ours_to_mlflow": {
                    "single_row_calls": _ratio(single, theirs_single),
                    "batch_rows": _ratio(rows, theirs_rows),
                },
                "labels_agree_with_mlflow": agree,
                "targets": {
                    "single_row_500_per_s": single >= 500,
                    "batch_rows_50000_per_s": rows >= 50_000,
                    "ahead_of_mlflow": bool(
                        theirs_single and theirs_rows and single > theirs_single and rows > theirs_rows
                    ),
                    "monitoring_capture_under_1_ms": in_process["monitoring_capture_ms"]["median"] < 1,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
