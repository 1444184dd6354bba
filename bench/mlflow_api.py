"""The MLflow-compatible API side by side with MLflow's own server, both on PostgreSQL under gunicorn.

One process drives both servers with the same client (``bench/http_load.py``: plain ``requests``, a
keep-alive session per thread, 8 threads, timed windows after an uncounted warm-up), alternating
ours, theirs, ours, theirs. Three calls, in this order: create_model_version on a model per thread,
create_model_version on one shared model, get_model_version on the versions created. Prints one JSON
line: per server, round and call {per_second, p50_ms, p99_ms, calls, errors}, the medians over rounds
and ``ratio`` = ours/theirs calls per second; for ours, ``audit_log`` after the rounds (entries, and
actions still queued). A figure is valid only with 0 errors.

Ours: gunicorn, a fresh PostgreSQL database, the Redis cache, the audit committer (docker-compose.yml's
``audit-committer`` service: it integrates the audit rows each create queues, ``--no-committer`` leaves
that to each request), a pipeline user's bearer token, the per-user rate limit raised out of the way.
Theirs: ``mlflow server --gunicorn-opts`` (its fastest setup here) on its own fresh database, without
auth (its default), from a venv of its own that is built once under var/bench/ (never the project's .venv).

    .venv/bin/python bench/mlflow_api.py [--seconds 20] [--rounds 2] [--threads 8] [--workers 4]
        [--ours-worker-class gthread|sync] [--theirs-gunicorn-opts same|sync|gthread|'<options>']
        [--mlflow-bin /path/to/bin/mlflow | --no-mlflow] [--no-committer]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PG_BASE,
    ROOT,
    audit_committer,
    free_port,
    fresh_postgres,
    gunicorn,
    gunicorn_worker_opts,
    mlflow_venv,
    wait_up,
)
from bench.http_load import run_window

PACKAGES = ["mlflow==3.17.2", "psycopg2-binary", "gunicorn", "requests"]
VENV = ROOT / "var" / "bench" / "mlflow-api-venv"
OURS_DB, THEIRS_DB = "bench_mlflow_api", "bench_mlflow_theirs"
REDIS_URL = "redis://127.0.0.1:6379/5"
THROTTLE = "1000000/minute"
API = "/api/2.0/mlflow/"
CALLS = ("create_version_model_per_thread", "create_version_shared_model", "get_version")


@dataclass
class Server:
    name: str
    url: str
    headers: dict[str, str]
    config: str
    database_url: str = ""  # ours: where its audit log is, looked at after the rounds


def _manage(env: dict[str, str], *command: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


@contextmanager
def ours(args: argparse.Namespace, var_dir: Path) -> Iterator[Server]:
    env = fresh_postgres(OURS_DB, var_dir)
    env.update(REDIS_URL=REDIS_URL, THROTTLE_USER=THROTTLE, LOG_LEVEL="WARNING")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # nothing cached from an earlier run's database
    _manage(env, "adduser", "bench-robot", "--role", "pipeline")
    token = _manage(env, "issuetoken", "bench-robot", "--name", "bench").strip().splitlines()[-1]
    worker = args.ours_worker_class
    threads = f", {args.server_threads} threads, keep-alive 5 s" if worker != "sync" else ""
    config = (
        f"gunicorn, {args.workers} workers ({worker}{threads}), PostgreSQL, Redis cache, "
        f"bearer token of a pipeline user, THROTTLE_USER={THROTTLE} (measures the API, not the rate limit)"
    )
    with ExitStack() as stack:
        if not args.no_committer:
            env = stack.enter_context(audit_committer(env, var_dir / "committer.sock"))
            config += ", the audit committer (manage.py audit_committer, as docker-compose.yml runs it)"
        url = stack.enter_context(gunicorn(env, args.workers, worker, args.server_threads))
        yield Server("ours", url, {"Authorization": f"Bearer {token}"}, config, env["DATABASE_URL"])


def find_mlflow(args: argparse.Namespace) -> Path | str:
    """The ``mlflow`` command to run, or why there is none."""
    if args.mlflow_bin:
        binary = Path(args.mlflow_bin)
    else:
        built = mlflow_venv(PACKAGES, venv=VENV)
        if isinstance(built, str):
            return built
        binary = built / "mlflow"
    try:
        probe = subprocess.run([binary, "server", "--help"], capture_output=True, text=True, check=False)
    except OSError as exc:
        return f"{binary}: {exc.strerror}"
    if probe.returncode != 0:
        return f"{binary} has no working `server` command (mlflow-skinny lacks it)"
    return binary


def _recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _session_processes(session: int) -> list[str]:
    listed = subprocess.run(
        ["ps", "-o", "args=", "-s", str(session)], capture_output=True, text=True, check=False
    )
    return [line for line in listed.stdout.splitlines() if line.strip()]


def theirs_opts(args: argparse.Namespace) -> str:
    """MLflow's ``--gunicorn-opts``: by default the worker class ours runs, so only the application differs.

    ``sync`` is gunicorn's default worker (one request per connection); any other value is passed as is.
    """
    chosen = str(args.theirs_gunicorn_opts)
    worker = args.ours_worker_class if chosen == "same" else chosen
    if worker in ("sync", "gthread"):
        return " ".join(gunicorn_worker_opts(worker, args.server_threads)) or "--timeout 60"
    return chosen


@contextmanager
def theirs(args: argparse.Namespace, binary: Path, var_dir: Path) -> Iterator[Server]:
    _recreate_database(THEIRS_DB)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    port, opts = free_port(), theirs_opts(args)
    command = [str(binary), "server", "--host", "127.0.0.1", "--port", str(port)]
    command += [
        "--backend-store-uri",
        f"{PG_BASE.replace('postgres:', 'postgresql+psycopg2:', 1)}/{THEIRS_DB}",
    ]
    command += ["--default-artifact-root", str(var_dir / "artifacts"), "--workers", str(args.workers)]
    command += ["--gunicorn-opts", opts]
    log = (var_dir / "mlflow-server.log").open("wb")
    # A session of its own: the mlflow command starts gunicorn as a child, and we stop them together.
    # Its job runner (huey consumers for GenAI jobs) has nothing to do with the registry: 8 idle
    # processes on a 2-core machine, off so that neither server is measured beside them.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(command, cwd=var_dir, env=env, stdout=log, stderr=log, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_up(f"{url}/health", server, timeout=240)  # it migrates its database first
        except SystemExit as exc:
            tail = (var_dir / "mlflow-server.log").read_text(errors="replace")[-800:]
            raise SystemExit(f"{exc}: {tail}") from exc
        processes = [line for line in _session_processes(server.pid) if "-m gunicorn" in line]
        config = (
            f"{version.stdout.strip()} server --workers {args.workers} --gunicorn-opts '{opts}', "
            f"PostgreSQL, no auth, MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false; "
            f"{len(processes)} gunicorn processes seen (master + workers)"
        )
        yield Server("theirs", url, {}, config)
    finally:
        with suppress(ProcessLookupError):  # already gone
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def _create_models(server: Server, names: list[str]) -> None:
    for name in names:
        response = requests.post(
            f"{server.url}{API}registered-models/create",
            json={"name": name},
            headers=server.headers,
            timeout=30,
        )
        if not response.ok:
            raise SystemExit(f"{server.name}: creating model {name}: {response.status_code} {response.text}")


def measure(server: Server, args: argparse.Namespace, number: int) -> dict[str, Any]:
    """The three calls against ``server``, each for a timed window; models named for the round."""
    prefix, threads = f"bench-{server.name}-r{number}", args.threads
    own = [f"{prefix}-t{thread}" for thread in range(threads)]
    shared = f"{prefix}-shared"
    _create_models(server, [*own, shared])
    create, get = f"{server.url}{API}model-versions/create", f"{server.url}{API}model-versions/get"
    created: list[tuple[str, str]] = []

    def keep(thread: int, response: requests.Response) -> None:
        version = response.json()["model_version"]
        created.append((version["name"], version["version"]))  # list.append is atomic under the GIL

    def create_own(session: requests.Session, thread: int, n: int) -> requests.Response:
        body = {"name": own[thread], "source": f"s3://bench/{own[thread]}/{n}"}
        return session.post(create, json=body, headers=server.headers, timeout=60)

    def create_shared(session: requests.Session, thread: int, n: int) -> requests.Response:
        body = {"name": shared, "source": f"s3://bench/{shared}/{thread}-{n}"}
        return session.post(create, json=body, headers=server.headers, timeout=60)

    def get_version(session: requests.Session, thread: int, n: int) -> requests.Response:
        name, version = created[(thread * len(created) // threads + n) % len(created)]
        query = {"name": name, "version": version}
        return session.get(get, params=query, headers=server.headers, timeout=60)

    window = {"seconds": args.seconds, "warmup": args.warmup, "threads": threads}
    results = {
        CALLS[0]: run_window(create_own, keep=keep, **window).summary(),
        CALLS[1]: run_window(create_shared, keep=keep, **window).summary(),
    }
    results[CALLS[2]] = (
        run_window(get_version, **window).summary() if created else {"not_run": "none created"}
    )
    if len(set(created)) != len(created):  # two creates given one number: a race in the server
        results["duplicate_versions"] = len(created) - len(set(created))
    return results


def audit_log(database_url: str) -> dict[str, int]:
    """Ours after the rounds: the log's entries (one per create, and per model created) and the actions
    still queued, not yet in it (0: each create's entry was in the log when its call returned)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        (entries,) = conn.execute("SELECT size FROM audit_audithead WHERE id = 1").fetchone() or (0,)
        (queued,) = conn.execute("SELECT count(*) FROM audit_auditpending").fetchone() or (0,)
    return {"entries": int(entries), "queued": int(queued)}


def medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for call in CALLS:
        measured = [one[call] for one in rounds if "per_second" in one[call]]
        summary[call] = {
            key: round(statistics.median(one[key] for one in measured), 2) if measured else None
            for key in ("per_second", "p50_ms", "p99_ms")
        }
        summary[call]["errors"] = sum(one.get("errors", 0) for one in measured)
    return summary


def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    mine, theirs_ = result["ours"]["median"], result["theirs"]["median"]
    return {
        call: round(mine[call]["per_second"] / theirs_[call]["per_second"], 2)
        if mine[call]["per_second"] and theirs_[call]["per_second"]
        else None
        for call in CALLS
    }


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="counted window per call")
    parser.add_argument("--warmup", type=float, default=2.0, help="uncounted seconds before each window")
    parser.add_argument("--rounds", type=int, default=2, help="ours then theirs, this many times")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers, each server")
    # gthread: keep-alive, as the client; it led sync for ours in 2 of 3 runs on this (busy) machine
    parser.add_argument("--ours-worker-class", choices=("gthread", "sync"), default="gthread")
    parser.add_argument("--server-threads", type=int, default=2, help="threads per gthread worker")
    parser.add_argument("--theirs-gunicorn-opts", default="same", help="'same': our worker class")
    parser.add_argument("--mlflow-bin", default="", help="an `mlflow` with its server (default: built)")
    parser.add_argument("--no-mlflow", action="store_true", help="measure ours only")
    parser.add_argument(
        "--no-committer", action="store_true", help="ours without the audit committer (requests sequence)"
    )
    return parser.parse_args()


def run(args: argparse.Namespace, binary: Path | str) -> dict[str, Any]:
    result: dict[str, Any] = {"ours": {"rounds": []}}
    if isinstance(binary, Path):
        result["theirs"] = {"rounds": []}
    with ExitStack() as stack:
        ours_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        servers = [stack.enter_context(ours(args, ours_dir))]
        if isinstance(binary, Path):
            theirs_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            servers.append(stack.enter_context(theirs(args, binary, theirs_dir)))
        for number in range(args.rounds):
            for server in servers:
                result[server.name]["config"] = server.config
                result[server.name]["rounds"].append(measure(server, args, number))
        result["ours"]["audit_log"] = audit_log(servers[0].database_url)
    for name in ("ours", "theirs"):
        if name in result:
            result[name]["median"] = medians(result[name]["rounds"])
    return result


def main() -> None:
    args = parse()
    load_start = os.getloadavg()
    binary: Path | str = "--no-mlflow" if args.no_mlflow else find_mlflow(args)
    result = run(args, binary)
    output: dict[str, Any] = {"benchmark": "mlflow_api"}
    if isinstance(binary, Path):
        output["ratio"] = ratios(result)
    else:
        output["theirs"] = {"not_run": binary}
    output.update(result)
    output["client"] = (
        f"requests {requests.__version__}, a keep-alive session per thread, {args.threads} threads, "
        f"{args.seconds:g} s windows after {args.warmup:g} s warm-up, {args.rounds} rounds alternating"
    )
    output["machine"] = {
        "cores": os.cpu_count(),
        "load_average_start": [round(value, 2) for value in load_start],
        "load_average_end": [round(value, 2) for value in os.getloadavg()],
    }
    print(json.dumps(output))


if __name__ == "__main__":
    main()
