"""Audit appends per second on PostgreSQL with 1 and 8 concurrent writer processes, each append its own
committed transaction. Prints one JSON line.

    .venv/bin/python bench/audit_append.py [--per-writer 2000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, fresh_postgres, setup_django


def writer(count: int, name: str) -> None:
    import django

    django.setup()
    from django.db import transaction

    from audit.actions import AuditAction
    from audit.actors import Actor
    from audit.services import Target, audit_record

    actor = Actor.worker(name)
    for number in range(count):
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.USER_CREATE,
                target=Target.of("user", number),
                data={"n": number},
            )


def run(processes: int, each: int, env: dict[str, str]) -> float:
    started = time.perf_counter()
    children = [
        subprocess.Popen([sys.executable, __file__, "--writer", str(each), f"w{n}"], cwd=ROOT, env=env)
        for n in range(processes)
    ]
    if any(child.wait() != 0 for child in children):
        raise SystemExit("a writer failed")
    return processes * each / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-writer", type=int, default=2000)
    parser.add_argument("--writer", nargs=2)
    args = parser.parse_args()
    if args.writer:
        writer(int(args.writer[0]), args.writer[1])
        return
    with tempfile.TemporaryDirectory() as var_dir:
        env = fresh_postgres("governance_bench_append", Path(var_dir))
        one = run(1, args.per_writer, env)
        eight = run(8, args.per_writer, env)
        setup_django(env)
        from audit.checkpoints import checkpoint_create, log_verify
        from audit.models import AuditEntry

        total = AuditEntry.objects.count()
        checkpoint_create()
        verified = log_verify()
    print(
        json.dumps(
            {
                "bench": "audit_append",
                "database": "postgresql",
                "per_writer": args.per_writer,
                "appends_per_second_1_writer": round(one, 1),
                "appends_per_second_8_writers": round(eight, 1),
                "entries": total,
                "gapless_and_verified": verified.ok and verified.verified_tree_size == total,
            }
        )
    )


if __name__ == "__main__":
    main()
