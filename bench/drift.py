"""Drift monitoring on PostgreSQL: a drift check over 1,000,000 logged predictions with 20 features,
and what logging adds to a prediction. Prints one JSON line.

    .venv/bin/python bench/drift.py [--predictions 1000000] [--features 20] [--log-calls 2000]

Set-up: a fresh database ``bench_drift``; a model version whose input schema has ``--features``
features (three in four numbers, the rest strings) and its reference profile, built by
``profile_create`` from 5,000 synthetic rows; a deployment. ``--predictions`` prediction-log rows
(bin indices, as the predict endpoint writes them; one feature shifted) are inserted by one
``INSERT ... SELECT generate_series`` and the table analysed.
Timed: ``drift_check_run`` (the service the API and beat call: the SQL GROUP BY per feature, the
statistics, the stored and audited check, the alarm), median of 3; its SQL part alone is printed too.
Logging: ``capture.predictions_log`` for a one-row request, each call committed on its own as a
request's would be, median over ``--log-calls`` calls (target 1 ms); and per prediction within
100-row requests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, setup_django


def build(features: int, predictions: int) -> Any:
    import numpy as np
    import pandas as pd
    from django.db import connection

    from audit.actors import Actor
    from governance.accounts.services import user_create
    from governance.monitoring.services import profile_create
    from registry.services import catalog, deployments

    user = user_create(
        actor=Actor.system("bench"), username="bench", roles=["data_scientist"], password=None, full_name="B"
    )
    actor = Actor.for_user(user)
    rng = np.random.default_rng(0)
    schema = [
        {"name": f"n{i}", "type": "number"} if i % 4 else {"name": f"s{i}", "type": "string"}
        for i in range(features)
    ]
    frame = pd.DataFrame(
        {
            item["name"]: rng.normal(0, 1, 5000)
            if item["type"] == "number"
            else rng.choice(["a", "b", "c", "d", "e"], 5000)
            for item in schema
        }
    )
    model = catalog.model_create(actor=actor, name="bench-drift", risk_level="limited")
    version = catalog.model_version_create(
        actor=actor,
        model=model,
        artifact_uri="s3://bench/model",
        artifact_sha256="b" * 64,
        artifact_size=1,
        input_schema=schema,
        metrics={"accuracy": 0.9},
    )
    profile_create(actor=actor, model_version=version, frame=frame, predictions=[0, 1] * 2500, classes=[0, 1])
    deployment = deployments.deployment_create(
        actor=actor, model_version=version, environment="bench", endpoint="/predict"
    )
    uniform = {"number": "floor(random() * 10)::smallint", "string": "floor(random() * 5)::smallint"}
    # Feature 1 drifts (skewed to the upper bins); the others are uniform over the training bins.
    bins = ", ".join(
        "floor(power(random(), 0.5) * 10)::smallint" if i == 1 else uniform[schema[i]["type"]]
        for i in range(features)
    )
    columns = ", ".join(f"f{i}" for i in range(features))
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO monitoring_predictionlog (id, deployment_id, model_version_id, served_at, "  # noqa: S608
            f"prediction, prediction_bin, {columns}) SELECT gen_random_uuid(), %s, %s, "
            f"now() - random() * interval '50 minutes', '0'::jsonb, floor(random() * 2)::smallint, {bins} "
            f"FROM generate_series(1, %s)",
            [deployment.pk, version.pk, predictions],
        )
    with connection.cursor() as cursor:  # settle the bulk load (VACUUM cannot run in a transaction block)
        cursor.execute("VACUUM ANALYZE monitoring_predictionlog")
        cursor.execute("CHECKPOINT")
    return deployment, schema, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--predictions", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--log-calls", type=int, default=2000)
    args = parser.parse_args()
    var_dir = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    setup_django(fresh_postgres("bench_drift", var_dir))

    from django.utils import timezone

    from audit.actors import Actor
    from governance.monitoring import selectors
    from governance.monitoring.capture import predictions_log
    from governance.monitoring.models import DriftCheck, PredictionLog, ReferenceProfile
    from governance.monitoring.services import drift_check_run

    deployment, schema, insert_s = build(args.features, args.predictions)
    profile = ReferenceProfile.objects.get(model_version=deployment.model_version).profile
    start = deployment.deployed_at.replace(year=2000)
    # The log was filled as if served over the last hour: let the deployment date from before (bench only).
    type(deployment).objects.filter(pk=deployment.pk).update(deployed_at=start)

    sql_s = []
    for _ in range(3):
        began = time.perf_counter()
        selectors.bin_counts(deployment=deployment, profile=profile, start=start, end=timezone.now())
        sql_s.append(time.perf_counter() - began)
    check_s, checks = [], []
    for _ in range(3):
        # Each run judges the whole log: forget the previous run's window (bench only).
        DriftCheck.objects.filter(deployment=deployment).update(conclusive=False)
        began = time.perf_counter()
        checks.append(drift_check_run(deployment=deployment, actor=Actor.system("bench")))
        check_s.append(time.perf_counter() - began)
    last = checks[-1]

    rng_rows = [
        {item["name"]: (0.3 * (n % 7) if item["type"] == "number" else "abcde"[n % 5]) for item in schema}
        for n in range(100)
    ]
    before = PredictionLog.objects.count()
    one_row_ms = []
    for n in range(args.log_calls):
        began = time.perf_counter()
        predictions_log(deployment=deployment, rows=[rng_rows[n % 100]], predictions=[n % 2])
        one_row_ms.append((time.perf_counter() - began) * 1000)
    batch_ms = []
    for _ in range(50):
        began = time.perf_counter()
        predictions_log(deployment=deployment, rows=rng_rows, predictions=[0] * 100)
        batch_ms.append((time.perf_counter() - began) * 1000 / 100)
    assert PredictionLog.objects.count() == before + args.log_calls + 5000  # noqa: S101

    print(
        json.dumps(
            {
                "bench": "drift",
                "predictions": args.predictions,
                "features": args.features,
                "insert_s": round(insert_s, 2),
                "drift_check_s_median": round(statistics.median(check_s), 3),
                "drift_check_sql_s_median": round(statistics.median(sql_s), 3),
                "drift_check_target_s": 5,
                "check_samples": last.samples,
                "check_alarm": last.alarm,
                "breached_features": [f["name"] for f in last.result["features"] if f["breached"]],
                "log_ms_per_prediction_median_1_row": round(statistics.median(one_row_ms), 3),
                "log_ms_per_prediction_p95_1_row": round(sorted(one_row_ms)[int(len(one_row_ms) * 0.95)], 3),
                "log_ms_per_prediction_median_100_rows": round(statistics.median(batch_ms), 4),
                "log_target_ms": 1,
            }
        )
    )


if __name__ == "__main__":
    main()
