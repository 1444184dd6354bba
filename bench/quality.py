"""The data quality profile of a 1,000,000-row x 20-column CSV: the same streamed pass an upload makes
(``registry.services.dataset_files.profile_file``: schema, row count, keyed subject hashes and the
quality profile, chunk by chunk). Prints one JSON line; target under 10 s.

    .venv/bin/python bench/quality.py [--rows 1000000] [--subjects 100000] [--upload]

With ``DATABASE_URL`` set, the run uses PostgreSQL settings (a fresh database ``--database``, migrated),
as the service does; without it, SQLite in a temporary directory. The profile is timed once, then run
again under tracemalloc for the peak memory Python and numpy allocated (not timed); ``peak_rss_mb`` is
the process's peak resident size. ``--upload`` also times the whole upload (profile, storing the file,
the version and its subjects), not part of the target.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, setup_django

BLOCK = 100_000
SCHEMA = [
    {"name": "age", "type": "integer", "nullable": False, "min": 18, "max": 100},
    {"name": "income", "type": "number", "min": 0},
    {"name": "country", "type": "string", "allowed": ["DE", "FR", "US", "NL", "ES"]},
    {"name": "sex", "type": "string", "allowed": ["F", "M"]},
    {"name": "signup_date", "type": "datetime"},
    {"name": "label", "type": "integer", "nullable": False, "allowed": [0, 1]},
]


def write_dataset(path: Path, rows: int, subjects: int) -> None:
    """20 columns: a subject id, an email, 10 numbers (some missing), 5 categories, a flag, a date and
    the label; written in blocks so the generator itself stays small."""
    rng = np.random.default_rng(20)
    first = True
    for start in range(0, rows, BLOCK):
        n = min(BLOCK, rows - start)
        index = np.arange(start, start + n)
        frame = pd.DataFrame(
            {
                "customer_id": [f"CUSTOMER-{k % subjects:08d}" for k in index],
                "email": [f"user{k % subjects}@example.org" for k in index],
                "age": rng.integers(16, 95, n),
                "income": np.where(rng.random(n) < 0.03, np.nan, rng.lognormal(10, 0.5, n).round(2)),
                **{f"x{k}": rng.normal(k, 1, n).round(4) for k in range(6)},
                "tenure": np.where(rng.random(n) < 0.01, np.nan, rng.integers(0, 240, n)),
                "visits": rng.poisson(3, n),
                "score": rng.random(n).round(5),
                "country": rng.choice(["DE", "FR", "US", "NL", "ES", "XX"], n),
                "sex": rng.choice(["F", "M"], n),
                "segment": rng.choice(["retail", "smb", "enterprise", None], n),
                "channel": rng.choice(["web", "app", "store", "phone"], n),
                "active": rng.random(n) < 0.7,
                "signup_date": pd.to_datetime(1_500_000_000 + index * 60, unit="s").strftime("%Y-%m-%d"),
                "label": rng.integers(0, 2, n),
            }
        )
        frame.to_csv(path, mode="w" if first else "a", header=first, index=False)
        first = False


def make_dataset(actor: Any) -> Any:
    from registry.services.columns import column_categories_declare
    from registry.services.datasets import dataset_create

    dataset = dataset_create(
        actor=actor,
        namespace="bench",
        name="customers",
        holds_personal_data=True,
        subject_id_column="customer_id",
        jurisdictions=["eu_eea"],
        data_categories=["user.financial"],
        purposes=["train_ai_system"],
        target_column="label",
        declared_schema=SCHEMA,
        protected_attributes=[{"column": "sex", "data_categories": ["user.demographic.gender"]}],
    )
    column_categories_declare(actor=actor, dataset=dataset, columns={"email": ["user.contact.email"]})
    return dataset


def bench_profile(dataset: Any, path: Path) -> dict[str, Any]:
    from registry.services.dataset_files import profile_file
    from registry.services.datasets import quality_spec

    spec = quality_spec(dataset, "customer_id")
    started = time.perf_counter()
    result = profile_file(path, fmt="csv", subject_id_column="customer_id", quality=spec)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    profile_file(path, fmt="csv", subject_id_column="customer_id", quality=spec)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    profile = result.quality or {}
    return {
        "rows": result.row_count,
        "columns": len(profile.get("columns", [])),
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "profile_seconds": round(seconds, 2),
        "rows_per_second": round(result.row_count / seconds),
        "peak_traced_mb": round(peak / 1e6, 1),
        "duplicate_subjects": profile.get("duplicate_subjects"),
        "distinct_exact": {c["name"]: c["distinct_exact"] for c in profile.get("columns", [])},
    }


def bench_upload(actor: Any, dataset: Any, path: Path) -> dict[str, Any]:
    from django.core.files import File

    from registry.services.datasets import dataset_version_upload

    started = time.perf_counter()
    with path.open("rb") as handle:
        version = dataset_version_upload(actor=actor, dataset=dataset, upload=File(handle, name="c.csv"))
    return {
        "upload_seconds_not_target": round(time.perf_counter() - started, 1),
        "upload_profile_sha256": version.quality_profile.sha256,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--database", default="bench_quality")
    parser.add_argument("--upload", action="store_true")
    args = parser.parse_args()
    postgres = bool(os.environ.get("DATABASE_URL"))
    with tempfile.TemporaryDirectory() as var_dir:
        if postgres:
            env = fresh_postgres(args.database, Path(var_dir))
        else:
            env = {**os.environ, "GOVERNANCE_VAR_DIR": var_dir, "LOG_LEVEL": "WARNING"}
            env.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings.base")
        setup_django(env)
        if not postgres:
            from django.core.management import call_command

            call_command("migrate", "--noinput", verbosity=0)
        from django.conf import settings

        from audit.actors import Actor
        from governance.accounts.services import user_create

        settings.MEDIA_ROOT = Path(var_dir) / "media"
        user = user_create(
            actor=Actor.system("bench"), username="bench", roles=["pipeline"], password=None, full_name="B"
        )
        actor = Actor.for_user(user)
        path = Path(var_dir) / "customers.csv"
        write_dataset(path, args.rows, args.subjects)
        dataset = make_dataset(actor)
        result: dict[str, Any] = {"bench": "quality", "database": "postgresql" if postgres else "sqlite"}
        result.update(bench_profile(dataset, path))
        if args.upload:
            result.update(bench_upload(actor, dataset, path))
        result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        result["targets"] = {"profile_seconds": 10}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
