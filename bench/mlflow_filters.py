"""MLflow search filters on SQLite (the default database): ``LIKE`` patterns with many ``%`` over
10,000 registered models with 200-character names, through the MLflow search endpoint in-process
(Django's test client: routing, token check, audit of the read, the query, the JSON). Prints one JSON
line with the median and p95 per pattern (target: under 50 ms for ``name LIKE '%a%a%a%a%b'``, which
took 22 s when patterns were translated into regular expressions).

    .venv/bin/python bench/mlflow_filters.py [--models 10000] [--repeat 20]

Names are ``<5 digits>-`` then ``a``s up to 200 characters: the worst case for a backtracking
matcher (every ``%a`` can start anywhere, and no name ends in ``b`` except one in a thousand).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, setup_django

PATTERNS = {
    "like_4": "name LIKE '%a%a%a%a%b'",
    "like_8": "name LIKE '%a%a%a%a%a%a%a%a%b'",
    "ilike_8": "name ILIKE '%A%A%A%A%A%A%A%A%B'",
}


def fresh_sqlite(var_dir: Path) -> dict[str, str]:
    """A migrated SQLite database in ``var_dir`` (the settings' default when DATABASE_URL is unset)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env |= {
        "GOVERNANCE_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "governance.settings.base",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    return env


def populate(count: int) -> str:
    """``count`` models (bulk_create) owned by a pipeline account; returns that account's token."""
    from django.utils import timezone

    from audit.actors import Actor
    from governance.accounts.services import token_issue, user_create
    from registry.models import RegisteredModel

    user = user_create(actor=Actor.system("bench"), username="bench", roles=["pipeline"])
    _, token = token_issue(actor=Actor.system("bench"), user=user, name="bench")
    now = timezone.now()
    rows = []
    for number in range(count):
        prefix = f"{number:05d}-"
        tail = "b" if number % 1000 == 0 else "a"
        rows.append(
            RegisteredModel(name=prefix + "a" * (199 - len(prefix)) + tail, owner=user, created_at=now)
        )
    RegisteredModel.objects.bulk_create(rows, batch_size=2_000)
    return str(token)


def time_searches(token: str, repeat: int) -> dict[str, Any]:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    figures: dict[str, Any] = {}
    for label, text in PATTERNS.items():
        latencies, found = [], 0
        for _ in range(repeat):
            began = time.perf_counter()
            response = client.get(
                "/api/2.0/mlflow/registered-models/search", {"filter": text, "max_results": 1000}
            )
            latencies.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{label}: {response.status_code} {response.content!r}")
            found = len(response.json().get("registered_models", []))
        latencies.sort()
        figures[f"{label}_ms_p50"] = round(statistics.median(latencies), 2)
        figures[f"{label}_ms_p95"] = round(latencies[int(0.95 * (len(latencies) - 1))], 2)
        figures[f"{label}_found"] = found
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-mlflow-filters-") as var_dir:
        setup_django(fresh_sqlite(Path(var_dir)))
        from django.db import connection

        began = time.perf_counter()
        token = populate(args.models)
        setup_s = round(time.perf_counter() - began, 1)
        figures = time_searches(token, args.repeat)
        print(
            json.dumps(
                {
                    "bench": "mlflow_like_filter",
                    "database": f"sqlite {connection.Database.sqlite_version}",
                    "models": args.models,
                    "name_chars": 200,
                    "ms_p50": figures["like_4_ms_p50"],
                    **figures,
                    "repeat": args.repeat,
                    "setup_s": setup_s,
                }
            )
        )


if __name__ == "__main__":
    main()
