"""Jobs on PostgreSQL, Redis and one real worker process. Prints one JSON line.

    .venv/bin/python bench/jobs.py [--deploys 20] [--verifications 2000] [--predictions 2000]

1. Set-up: a 2,000-row dataset, a training request signed off and trained by the worker (untimed).
2. Enqueue-to-start: ``--deploys`` deploy requests, each signed off, then queued through the service
   the API calls (``job_enqueue``, sending on commit to Redis); timed from just before the enqueue
   to the worker's claim of the job row (``started_at``), one at a time with one ``--pool solo``
   worker, as a lone pipeline would see it. Also the whole job (enqueue to succeeded).
3. Grant verification: ``grants.grant_verify`` (Ed25519 signature, canonical JSON, expiry), median of
   ``--verifications`` calls.
4. Predictions: ``serving.predict`` for one row (the deployment lookup, the cached model, the
   prediction), ``--predictions`` calls in this process; and 100-row batches.
"""

from __future__ import annotations

import argparse
import io
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, fresh_postgres, setup_django

REDIS = "redis://127.0.0.1:6379/11"
PASSWORD = secrets.token_urlsafe(16)


def _wait(job_id: int, timeout: float = 300) -> Any:
    from governance.jobs.models import ReleaseJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = ReleaseJob.objects.get(pk=job_id)
        if job.status in {"succeeded", "failed", "refused"}:
            return job
        time.sleep(0.002)
    raise SystemExit(f"job {job_id} did not finish")


def _started(job_id: int, timeout: float = 60) -> float:
    """Wall-clock seconds (epoch) when the worker claimed the job."""
    from governance.jobs.models import ReleaseJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = ReleaseJob.objects.filter(pk=job_id).values_list("started_at", flat=True).first()
        if started is not None:
            return started.astimezone(UTC).timestamp()
        time.sleep(0.001)
    raise SystemExit(f"job {job_id} did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deploys", type=int, default=20)
    parser.add_argument("--verifications", type=int, default=2000)
    parser.add_argument("--predictions", type=int, default=2000)
    args = parser.parse_args()
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    with tempfile.TemporaryDirectory() as var_dir:
        env = fresh_postgres("bench_jobs", Path(var_dir))
        env["CELERY_BROKER_URL"] = REDIS
        setup_django(env)
        from django.core.files import File

        from audit.actors import Actor
        from governance.accounts.services import user_create
        from governance.approvals import grants
        from governance.approvals.keys import grant_public_keys
        from governance.approvals.selectors import grant_for_release
        from governance.approvals.services.policies import policy_seed_defaults
        from governance.approvals.services.releases import release_create
        from governance.approvals.services.signatures import release_sign
        from governance.jobs import serving
        from governance.jobs.enqueue import job_enqueue
        from registry.services.datasets import dataset_create, dataset_version_upload
        from tests.jobs.factories import customers_csv
        from tests.support import celery_worker_command

        system = Actor.system("bench")
        policy_seed_defaults(actor=system)
        requester = user_create(
            actor=system, username="dana", roles=["data_scientist"], password=PASSWORD, full_name="Dana"
        )
        officer = user_create(
            actor=system, username="olga", roles=["compliance_officer"], password=PASSWORD, full_name="Olga"
        )
        as_requester = Actor.for_user(requester)
        dataset = dataset_create(actor=as_requester, namespace="crm", name="customers")
        version = dataset_version_upload(
            actor=as_requester, dataset=dataset, upload=File(io.BytesIO(customers_csv(2000)), name="c.csv")
        )

        def approved(**fields: Any) -> Any:
            release = release_create(actor=as_requester, metric_thresholds={"accuracy": 0.5}, **fields)
            release_sign(
                actor=Actor.for_user(officer),
                release=release,
                signer=officer,
                meaning="approved",
                password=PASSWORD,
            )
            release.refresh_from_db()
            return release

        log = Path(var_dir) / "worker.log"
        command = celery_worker_command("--loglevel", "WARNING")
        with log.open("wb") as out:
            worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            try:
                training = approved(
                    kind="train",
                    model="churn",
                    risk_level="limited",
                    datasets=[{"namespace": "crm", "name": "customers", "version": version.version}],
                    parameters={
                        "target": "churned",
                        "features": ["tenure", "plan", "monthly_spend"],
                        "n_estimators": 50,
                        "max_depth": 6,
                    },
                )
                trained = _wait(job_enqueue(actor=as_requester, release=training, by=requester).pk)
                if trained.status != "succeeded":
                    raise SystemExit(f"training {trained.status}: {trained.error}\n{log.read_text()[-3000:]}")
                latencies, totals = [], []
                for n in range(args.deploys):
                    release = approved(kind="deploy", model="churn", version=1, environment=f"env{n}")
                    sent = time.time()
                    job = job_enqueue(actor=as_requester, release=release, by=requester)
                    latencies.append((_started(job.pk) - sent) * 1000)
                    done = _wait(job.pk)
                    totals.append((done.finished_at.timestamp() - sent) * 1000)
                    if done.status != "succeeded":
                        raise SystemExit(f"deploy {done.status}: {done.error}")
            finally:
                worker.terminate()
                worker.wait(timeout=30)

        token = grant_for_release(training).token
        keys = grant_public_keys()
        timings = []
        for _ in range(args.verifications):
            started = time.perf_counter()
            grants.grant_verify(token, keys)  # signature and expiry; its single use is the DB's claim
            timings.append((time.perf_counter() - started) * 1000)
        row = {"tenure": 12, "plan": "basic", "monthly_spend": 40.0}
        serving.predict(environment="env0", model_name="churn", rows=[row])  # loads the model once
        started = time.perf_counter()
        for _ in range(args.predictions):
            serving.predict(environment="env0", model_name="churn", rows=[row])
        single = args.predictions / (time.perf_counter() - started)
        batches = max(1, args.predictions // 100)
        started = time.perf_counter()
        for _ in range(batches):
            serving.predict(environment="env0", model_name="churn", rows=[row] * 100)
        batched = batches * 100 / (time.perf_counter() - started)
    latencies.sort()
    print(
        json.dumps(
            {
                "bench": "jobs",
                "database": "postgresql",
                "broker": "redis",
                "workers": 1,
                "deploy_jobs": args.deploys,
                "enqueue_to_start_ms_median": round(statistics.median(latencies), 1),
                "enqueue_to_start_ms_p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
                "deploy_job_enqueue_to_done_ms_median": round(statistics.median(totals), 1),
                "grant_verify_ms_median": round(statistics.median(timings), 3),
                "predictions_per_second_single_row": round(single, 1),
                "predictions_per_second_100_row_batches": round(batched, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
