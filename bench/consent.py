"""Consent on PostgreSQL: importing consent events, filtering a dataset version for a purpose, and the
impact of one erasure request. Prints one JSON line.

    .venv/bin/python bench/consent.py [--events 1000000] [--subjects 100000] [--rows 1000000]
                                      [--versions 10000]

- Import (target 60 s): ``--events`` events for ``--subjects`` subjects (four purposes, mostly grants,
  some withdrawals and opt-outs) written to a CSV file, then ``consent_import`` reads it as a stream,
  as ``POST /api/v1/consent/import`` does: one transaction, COPY in batches, states merged, one audit
  entry. Timed once, committed.
- Filter (target 3 s): a ``--rows``-row CSV version of a personal-data dataset (``--subjects``
  subjects) is uploaded through the registry (not timed); then ``eligible_rows`` for
  ``train_ai_system`` (read the file, hash the ids, load the subjects' states, judge every row) and
  ``eligibility_manifest`` (the subject column only), median of 3.
- Erasure impact (target 200 ms): ``--versions`` dataset versions all holding one subject, read by
  ``--versions``/10 runs that produced as many model versions, each deployed. Timed: the selector
  ``erasure_impact`` (one recursive query seeded by the subject's rows, then the rows behind the node
  ids), median of 10; ``privacy_request_impact_compute`` (that, plus storing every affected node
  and the audit entry, committed), median of 5; ``erasure_block_reason`` of one model version, the
  deploy-time check, median of 10.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, setup_django

PURPOSES = ("train_ai_system", "analytics", "personalize.profiling", "third_party_sharing")


def median_ms(call: Any, repeat: int) -> tuple[float, Any]:
    result = call()  # warm the plan and the caches
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), result


def subject_id(n: int) -> str:
    return f"CUSTOMER-{n:08d}"


def write_events(path: Path, events: int, subjects: int) -> None:
    generator = random.Random(1)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    kinds = ["grant"] * 8 + ["withdraw", "opt_out"]
    with path.open("w", encoding="utf-8") as out:
        out.write("subject_id,purpose,event,lawful_basis,jurisdiction,occurred_at,source\n")
        for n in range(events):
            kind = kinds[generator.randrange(10)]
            moment = (start + timedelta(seconds=n * 7)).isoformat()
            out.write(
                f"{subject_id(n % subjects)},{PURPOSES[(n // subjects) % 4]},{kind},"
                f"{'consent' if kind == 'grant' else ''},{'california' if n % 3 else 'eu_eea'},"
                f"{moment},bench\n"
            )


def write_dataset(path: Path, rows: int, subjects: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("customer_id,age,spend,country,label\n")
        for n in range(rows):
            country = "DE" if n % 2 else "US"
            out.write(f"{subject_id(n % subjects)},{20 + n % 60},{(n % 997) * 1.25},{country},{n % 2}\n")


def bench_import(actor: Any, workdir: Path, events: int, subjects: int) -> dict[str, Any]:
    from governance.consent.models import ConsentEvent, ConsentState
    from governance.consent.services.imports import consent_import

    path = workdir / "events.csv"
    write_events(path, events, subjects)
    started = time.perf_counter()
    with path.open("rb") as stream:
        batch = consent_import(actor=actor, stream=stream)
    seconds = time.perf_counter() - started
    return {
        "import_events": batch.events,
        "import_subjects": batch.subjects,
        "import_file_mb": round(path.stat().st_size / 1e6, 1),
        "import_seconds": round(seconds, 1),
        "import_events_per_second": round(batch.events / seconds),
        "ledger_rows": ConsentEvent.objects.count(),
        "state_rows": ConsentState.objects.count(),
    }


def bench_filter(actor: Any, workdir: Path, rows: int, subjects: int) -> dict[str, Any]:
    from django.core.files import File

    from governance.consent.selectors import eligibility_manifest, eligible_rows
    from registry.services.datasets import dataset_create, dataset_version_upload

    path = workdir / "customers.csv"
    write_dataset(path, rows, subjects)
    dataset = dataset_create(
        actor=actor,
        namespace="bench",
        name="customers",
        holds_personal_data=True,
        subject_id_column="customer_id",
        jurisdictions=["eu_eea", "california"],
        data_categories=["user.financial"],
        purposes=["train_ai_system"],
    )
    started = time.perf_counter()
    with path.open("rb") as handle:
        version = dataset_version_upload(
            actor=actor, dataset=dataset, upload=File(handle, name="customers.csv")
        )
    upload_seconds = time.perf_counter() - started
    rows_ms, (frame, manifest) = median_ms(
        lambda: eligible_rows(dataset_version=version, purpose="train_ai_system"), 3
    )
    manifest_ms, _ = median_ms(
        lambda: eligibility_manifest(dataset_version=version, purpose="train_ai_system"), 3
    )
    return {
        "filter_rows": manifest["rows_total"],
        "filter_subjects": manifest["subjects_total"],
        "filter_rows_included": len(frame),
        "filter_excluded_by_reason": {k: v for k, v in manifest["rows_excluded_by_reason"].items() if v},
        "filter_upload_seconds_not_timed_target": round(upload_seconds, 1),
        "filter_eligible_rows_ms_median": round(rows_ms),
        "filter_manifest_ms_median": round(manifest_ms),
    }


def build_erasure_graph(user: Any, versions: int) -> tuple[str, Any]:
    """``versions`` dataset versions holding one subject, 10 per run, a model version and a
    deployment per run; lineage edges as the services write them."""
    from django.db import connection
    from django.utils import timezone

    from governance.consent.subjects import subject_hash_of
    from registry.models import (
        Dataset,
        DatasetSubject,
        DatasetVersion,
        Deployment,
        LineageEdge,
        ModelVersion,
        RegisteredModel,
        TrainingRun,
    )

    now = timezone.now()
    batch = 5_000
    runs_count = max(1, versions // 10)
    dataset = Dataset.objects.create(
        namespace="bench",
        name="events",
        holds_personal_data=True,
        subject_id_column="customer_id",
        created_at=now,
    )
    rows = DatasetVersion.objects.bulk_create(
        [DatasetVersion(dataset=dataset, version=str(n), sha256="", created_at=now) for n in range(versions)],
        batch_size=batch,
    )
    target = subject_hash_of("ERASE-ME")
    others = [subject_hash_of(f"OTHER-{n}") for n in range(50)]
    DatasetSubject.objects.bulk_create(
        [
            DatasetSubject(dataset_version=row, subject_hash=hash_)
            for n, row in enumerate(rows)
            for hash_ in (target, others[n % 50], others[(n + 7) % 50])
        ],
        batch_size=batch,
    )
    runs = TrainingRun.objects.bulk_create(
        [TrainingRun(run_id=uuid.uuid4(), created_at=now) for _ in range(runs_count)], batch_size=batch
    )
    models = RegisteredModel.objects.bulk_create(
        [RegisteredModel(name=f"bench-model-{n}", owner=user, created_at=now) for n in range(runs_count)],
        batch_size=batch,
    )
    model_versions = ModelVersion.objects.bulk_create(
        [
            ModelVersion(model=models[n], version=1, run=runs[n], created_by=user, created_at=now)
            for n in range(runs_count)
        ],
        batch_size=batch,
    )
    Deployment.objects.bulk_create(
        [
            Deployment(model_version=model_versions[n], environment="prod", deployed_by=user, deployed_at=now)
            for n in range(runs_count)
        ],
        batch_size=batch,
    )
    edges = []
    for n, row in enumerate(rows):
        node = f"dataset:bench:events#{row.version}"
        edges.append(
            LineageEdge(source="dataset:bench:events", target=node, relation="version_of", created_at=now)
        )
        edges.append(
            LineageEdge(
                source=node, target=f"run:{runs[n % runs_count].run_id}", relation="used_by", created_at=now
            )
        )
    for n in range(runs_count):
        model_node = f"model:bench-model-{n}#1"
        edges.append(
            LineageEdge(
                source=f"run:{runs[n].run_id}", target=model_node, relation="produced", created_at=now
            )
        )
        edges.append(
            LineageEdge(
                source=model_node,
                target=f"deployment:prod:bench-model-{n}",
                relation="deployed_as",
                created_at=now,
            )
        )
    LineageEdge.objects.bulk_create(edges, batch_size=batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return target, model_versions[0]


def bench_erasure(user: Any, actor: Any, versions: int) -> dict[str, Any]:
    from django.utils import timezone

    from governance.consent.models import AffectedNode, PrivacyRequest
    from governance.consent.selectors import erasure_block_reason
    from governance.consent.selectors.erasure import erasure_impact
    from governance.consent.services.requests import privacy_request_impact_compute

    target, model_version = build_erasure_graph(user, versions)
    impact_ms, impact = median_ms(lambda: erasure_impact(subject_hash=target), 10)
    request = PrivacyRequest.objects.create(
        subject_hash=target,
        type="erasure",
        jurisdiction="eu_eea",
        received_at=timezone.now(),
        respond_by=timezone.now().date(),
        created_by=user,
        created_at=timezone.now(),
    )
    stored_ms, _ = median_ms(lambda: privacy_request_impact_compute(actor=actor, request=request), 5)
    block_ms, reason = median_ms(lambda: erasure_block_reason(model_version=model_version), 10)
    return {
        "erasure_dataset_versions": len(impact.dataset_versions),
        "erasure_runs": len(impact.runs),
        "erasure_model_versions": len(impact.model_versions),
        "erasure_deployments": len(impact.deployments),
        "erasure_impact_ms_median": round(impact_ms, 1),
        "erasure_impact_stored_and_audited_ms_median": round(stored_ms, 1),
        "erasure_affected_rows_stored": AffectedNode.objects.filter(request=request).count(),
        "deploy_block_check_ms_median": round(block_ms, 1),
        "deploy_blocked": reason is not None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--database", default="bench_consent")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        env = fresh_postgres(args.database, Path(var_dir))
        setup_django(env)
        from django.conf import settings

        from audit.actors import Actor
        from governance.accounts.services import user_create

        settings.MEDIA_ROOT = Path(var_dir) / "media"
        user = user_create(
            actor=Actor.system("bench"),
            username="bench",
            roles=["pipeline"],
            password=None,
            full_name="Bench",
        )
        actor = Actor.for_user(user)
        workdir = Path(var_dir) / "work"
        workdir.mkdir()
        result = {"bench": "consent", "database": "postgresql"}
        result.update(bench_import(actor, workdir, args.events, args.subjects))
        result.update(bench_filter(actor, workdir, args.rows, args.subjects))
        result.update(bench_erasure(user, actor, args.versions))
        result["targets"] = {
            "import_seconds": 60,
            "filter_eligible_rows_ms_median": 3000,
            "erasure_impact_ms_median": 200,
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
