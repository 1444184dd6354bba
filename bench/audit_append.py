"""Audit appends per second on PostgreSQL with 1 and 8 concurrent writer processes, each append its own
committed transaction. Prints one JSON line.

    .venv/bin/python bench/audit_append.py [--per-writer 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres, setup_django, start_together, wait_for_go


def writer(count: int, name: str, go: Path) -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    connection.ensure_connection()
    wait_for_go(go, name)

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


def run(processes: int, each: int, env: dict[str, str], signals: Path) -> float:
    """Appends per second from the common start until every append is committed and integrated."""
    import psycopg

    go = signals / "go"
    commands = [[sys.executable, __file__, "--writer", str(each), f"w{n}", str(go)] for n in range(processes)]
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        before = conn.execute("SELECT size FROM audit_audithead").fetchone()[0]
        children, started = start_together(commands, env, signals)
        if any(child.wait() != 0 for child in children):
            raise SystemExit("a writer failed")
        while conn.execute("SELECT size FROM audit_audithead").fetchone()[0] < before + processes * each:
            time.sleep(0.001)
        return processes * each / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-writer", type=int, default=2000)
    parser.add_argument("--writer", nargs=3)
    args = parser.parse_args()
    if args.writer:
        writer(int(args.writer[0]), args.writer[1], Path(args.writer[2]))
        return
    with tempfile.TemporaryDirectory() as var_dir:
        env = fresh_postgres("governance_bench_append", Path(var_dir))
        signals = Path(var_dir) / "signals"
        signals.mkdir()
        one = run(1, args.per_writer, env, signals)
        eight = run(8, args.per_writer, env, signals)
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
