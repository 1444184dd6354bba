"""Audit appends per second on PostgreSQL with concurrent writer processes, each append committed on its
own, against PostgreSQL's own ``pgbench -N`` with 8 clients on the same server in the same run.

Three ways an append is made, all measured:
- ``alone``: ``audit_record`` outside any transaction, as the services that only record (a page of
  entries read, a refusal, a login, an export) do: one statement (``audit_append``), then a sequencing
  attempt only if no sequencer is at work. Measured with 1, 8 and 16 writers.
- ``committer``: the same calls with ``manage.py audit_committer`` running (``AUDIT_COMMITTER_SOCKET``):
  each writer hands its action over the socket and waits for the answer, which comes once the action is
  in the log; one statement writes every action waiting, and up to two such statements are in flight
  (the committer sends the next batch while the last one commits, once it carries at least as many
  actions as that one). 8 and 16 writers.
- ``in-transaction``: ``audit_record`` inside a ``transaction.atomic()`` holding nothing else, as a
  mutating service records its action: BEGIN, the queue insert, COMMIT, then the sequencing attempt.
  Here the transaction is all audit; in a real request its commit is the action's. 8 writers, and 8
  with the committer running (``in-transaction-committer``): after the commit the writer nudges it,
  and it integrates the queued rows and answers once they are in the log.

Prints one JSON line: appends/s and the p50/p99 latency of an append (from the call to its return) for
each run, pgbench's tps, and the ratios appends/s (8 writers, alone and committer) / pgbench tps.
``pgbench`` and the 8 writers through the committer run three times each, alternating (the machine's
speed drifts by the minute on a shared host), and for about as long: pgbench for ``--pgbench-seconds``,
the writers ``--committer-per-writer`` appends each, about 10 s at 5,000/s (a window of 3 s, as the
other runs take, swings with a few slow moments that pgbench's 10 s average out). Their figures are the
means; each round's is printed too.

    .venv/bin/python bench/audit_append.py [--per-writer 2000] [--committer-per-writer 6000] \
        [--pgbench-seconds 10]
"""

from __future__ import annotations

import argparse
import glob
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PG_BASE, audit_committer, fresh_postgres, setup_django, start_together, wait_for_go

PGBENCH_DATABASE = "governance_bench_pgbench"
ALONE, IN_TRANSACTION, COMMITTER = "alone", "in-transaction", "committer"
IN_TRANSACTION_COMMITTER = "in-transaction-committer"
TRANSACTIONAL = (IN_TRANSACTION, IN_TRANSACTION_COMMITTER)
ROUNDS = 3  # pgbench and 8 writers through the committer, alternating, this many times each
# (name in the JSON line, writer processes, appends each (0: --per-writer), mode), after "1_writer"
RUNS = [
    ("8_writers", 8, 0, ALONE),
    ("8_writers_in_transaction", 8, 0, IN_TRANSACTION),
    ("8_writers_in_transaction_committer", 8, 0, IN_TRANSACTION_COMMITTER),
    ("16_writers", 16, 1000, ALONE),
    ("16_writers_committer", 16, 1000, COMMITTER),
]


def writer(count: int, name: str, go: Path, mode: str) -> None:
    import django

    django.setup()
    from django.db import connection, transaction

    connection.ensure_connection()
    from audit.actions import AuditAction
    from audit.actors import Actor
    from audit.services import Target, audit_record

    actor = Actor.worker(name)
    latencies = []
    wait_for_go(go, name)
    clock = time.perf_counter
    for number in range(count):
        started = clock()
        with transaction.atomic() if mode in TRANSACTIONAL else nullcontext():
            audit_record(
                actor=actor,
                action=AuditAction.USER_CREATE,
                target=Target.of("user", number),
                data={"n": number},
            )
        latencies.append(clock() - started)
    (go.parent / f"latency-{name}.json").write_text(json.dumps(latencies))


def run(
    processes: int, each: int, env: dict[str, str], signals: Path, mode: str
) -> tuple[float, list[float]]:
    """Appends per second from the common start until every append is committed and integrated, and
    every append's latency.

    Both moments are read off the database server's clock: the start right after the writers are
    released, the end from the log head's ``updated_at``, set by the statement that integrated the last
    append. Not the moment the writer processes have exited: an interpreter with Django loaded spends
    real CPU shutting down, and eight of them on two cores added seconds to a
    run of a few seconds (``pgbench`` too reports its rate without connecting and disconnecting)."""
    import psycopg

    go = signals / "go"
    commands = [
        [sys.executable, __file__, "--writer", str(each), f"w{n}", str(go), mode] for n in range(processes)
    ]
    for stale in signals.glob("latency-*.json"):
        stale.unlink()
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn, committer(env, signals, mode) as env:
        before = conn.execute("SELECT size FROM audit_audithead").fetchone()[0]
        children, _started = start_together(commands, env, signals)
        (started_at,) = conn.execute("SELECT clock_timestamp()").fetchone()
        if any(child.wait() != 0 for child in children):
            raise SystemExit("a writer failed")
        while conn.execute("SELECT size FROM audit_audithead").fetchone()[0] < before + processes * each:
            time.sleep(0.001)
        (integrated_at,) = conn.execute("SELECT updated_at FROM audit_audithead").fetchone()
        rate = processes * each / (integrated_at - started_at).total_seconds()
    latencies = [value for path in signals.glob("latency-*.json") for value in json.loads(path.read_text())]
    return rate, latencies


@contextmanager
def committer(env: dict[str, str], signals: Path, mode: str) -> Iterator[dict[str, str]]:
    """For ``committer``, ``manage.py audit_committer`` running, and the writers' environment naming its
    socket; otherwise nothing, and the environment as it is."""
    if mode not in (COMMITTER, IN_TRANSACTION_COMMITTER):
        yield env
        return
    with audit_committer(env, signals.parent / "committer.sock") as served:  # start_together empties signals/
        yield served


def pgbench_binary() -> str:
    installed = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    found = shutil.which("pgbench") or (installed[-1] if installed else None)
    if found is None:
        raise SystemExit("pgbench not found (on PATH or in /usr/lib/postgresql/*/bin)")
    return found


def pgbench_tps(seconds: int) -> float:
    """``pgbench -N`` (the simple-update script: one commit per transaction) with 8 clients, in a
    scratch database of its own on the server the log uses."""
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PGBENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PGBENCH_DATABASE}"')
    url = f"{PG_BASE}/{PGBENCH_DATABASE}"
    binary = pgbench_binary()
    try:
        subprocess.run([binary, "-i", "-q", url], check=True, capture_output=True)
        done = subprocess.run(
            [binary, "-N", "-c", "8", "-j", "2", "-T", str(seconds), url],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PGBENCH_DATABASE}" WITH (FORCE)')
    found = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    if found is None:
        raise SystemExit(f"could not read pgbench's tps from: {done.stdout[-500:]}")
    return float(found.group(1))


def percentile_ms(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-writer", type=int, default=2000)
    parser.add_argument("--committer-per-writer", type=int, default=6000)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--writer", nargs=4)
    args = parser.parse_args()
    if args.writer:
        writer(int(args.writer[0]), args.writer[1], Path(args.writer[2]), args.writer[3])
        return
    with tempfile.TemporaryDirectory() as var_dir:
        env = fresh_postgres("governance_bench_append", Path(var_dir))
        signals = Path(var_dir) / "signals"
        signals.mkdir()
        each = args.per_writer
        runs = {"1_writer": run(1, each, env, signals, ALONE)}
        tps_rounds, committer_rounds = [], []
        for _round in range(ROUNDS):  # alternating, so that neither has the machine's quieter minutes
            tps_rounds.append(pgbench_tps(args.pgbench_seconds))
            committer_rounds.append(run(8, args.committer_per_writer, env, signals, COMMITTER))
        runs["8_writers_committer"] = (
            statistics.fmean(rate for rate, _latencies in committer_rounds),
            [value for _rate, latencies in committer_rounds for value in latencies],
        )
        tps = statistics.fmean(tps_rounds)
        for name, processes, count, mode in RUNS:
            runs[name] = run(processes, count or each, env, signals, mode)
        setup_django(env)
        from audit.checkpoints import checkpoint_create, log_verify
        from audit.models import AuditEntry

        total = AuditEntry.objects.count()
        checkpoint_create()
        verified = log_verify()
    line: dict[str, object] = {
        "bench": "audit_append",
        "database": "postgresql",
        "per_writer": each,
        "committer_per_writer": args.committer_per_writer,
    }
    for name, (rate, latencies) in runs.items():
        line[f"appends_per_second_{name}"] = round(rate, 1)
        line[f"latency_ms_{name}"] = {
            "p50": percentile_ms(latencies, 0.5),
            "p99": percentile_ms(latencies, 0.99),
        }
    line["appends_per_second_8_writers_committer_rounds"] = [round(rate, 1) for rate, _ in committer_rounds]
    line["pgbench_N_8_clients_tps"] = round(tps, 1)
    line["pgbench_N_8_clients_tps_rounds"] = [round(value, 1) for value in tps_rounds]
    line["ratio_appends_to_pgbench_tps"] = round(runs["8_writers"][0] / tps, 2)
    line["ratio_committer_appends_to_pgbench_tps"] = round(runs["8_writers_committer"][0] / tps, 2)
    line["entries"] = total
    line["gapless_and_verified"] = verified.ok and verified.verified_tree_size == total
    print(json.dumps(line))


if __name__ == "__main__":
    main()
