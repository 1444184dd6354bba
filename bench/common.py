"""Shared set-up for benchmarks: a fresh PostgreSQL database, migrated, in a child environment."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_BASE = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


def fresh_postgres(name: str, var_dir: Path) -> dict[str, str]:
    """Create database ``name`` anew, migrate it, and return the environment for processes using it."""
    import psycopg

    with psycopg.connect(f"{PG_BASE}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG_BASE}/{name}",
        "GOVERNANCE_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "governance.settings.base",
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    return env


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def wait_for_go(go: Path, name: str) -> None:
    """In a child: say "ready" and wait, so that every child starts its timed work at once, after
    the interpreter, Django and the database connection are up."""
    import time

    (go.parent / f"ready-{name}").touch()
    while not go.exists():
        time.sleep(0.005)


def start_together(commands: list[list[str]], env: dict[str, str], signals: Path) -> tuple[list[Any], float]:
    """Start the children, wait until each called ``wait_for_go``, then release them all.

    Returns the running children and the ``time.perf_counter()`` at the release.
    """
    import time

    for old in signals.glob("*"):
        old.unlink()
    children = [subprocess.Popen(command, cwd=ROOT, env=env) for command in commands]
    while len(list(signals.glob("ready-*"))) < len(children):
        if any(child.poll() not in (None, 0) for child in children):
            raise SystemExit("a benchmark process failed before the start")
        time.sleep(0.01)
    started = time.perf_counter()
    (signals / "go").touch()
    return children, started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until ``url`` answers (any status) or fail, naming why."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server at {url} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 (a local server we started)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not come up")


@contextmanager
def gunicorn(
    env: dict[str, str], workers: int, worker_class: str = "sync", threads: int = 1, keep_alive: int = 5
) -> Iterator[str]:
    """Our service under gunicorn on a free local port; yields its base URL.

    ``worker_class="sync"`` (the default) closes the connection after every response; ``"gthread"``
    with ``threads`` per worker keeps connections alive for ``keep_alive`` seconds between requests.
    """
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "governance.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    command += gunicorn_worker_opts(worker_class, threads, keep_alive)
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{url}/healthz", server)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def audit_committer(env: dict[str, str], sock: Path) -> Iterator[dict[str, str]]:
    """``manage.py audit_committer`` serving ``sock`` (as docker-compose.yml runs it beside the app);
    yields ``env`` with ``AUDIT_COMMITTER_SOCKET`` naming it, for the processes that write."""
    served = subprocess.Popen(  # its lines to stderr: a bench's stdout is its one JSON line
        [sys.executable, str(ROOT / "manage.py"), "audit_committer", "--socket", str(sock)],
        env=env,
        stdout=sys.stderr,
    )
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            if served.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the audit committer did not start")
            time.sleep(0.05)
        yield {**env, "AUDIT_COMMITTER_SOCKET": str(sock)}
    finally:
        served.terminate()
        served.wait(timeout=30)


def gunicorn_worker_opts(worker_class: str, threads: int = 1, keep_alive: int = 5) -> list[str]:
    """Gunicorn's options for a worker class (nothing for the default sync worker)."""
    if worker_class == "sync":
        return []
    return ["--worker-class", worker_class, "--threads", str(threads), "--keep-alive", str(keep_alive)]


MLFLOW_VENV = ROOT / "var" / "bench" / "mlflow-venv"


def mlflow_venv(packages: list[str], venv: Path = MLFLOW_VENV) -> Path | str:
    """A virtualenv of its own holding ``packages`` (MLflow and what it needs), made once and reused.

    Never the project's ``.venv``: the full ``mlflow`` package pins versions our tests rely on. Returns
    the venv's ``bin`` directory, or a sentence saying why it could not be made.
    """
    stamp = venv / ".bench-packages"
    wanted = "\n".join(sorted(packages))
    if (venv / "bin" / "mlflow").exists() and stamp.exists() and stamp.read_text() == wanted:
        return venv / "bin"
    minor = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = shutil.which(minor) or str(getattr(sys, "_base_executable", sys.executable))
    steps = [[base, "-m", "venv", str(venv)], [str(venv / "bin" / "pip"), "install", "-q", *packages]]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, check=False, timeout=1800)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(step[:3])} failed: {exc}"
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            return f"{' '.join(step[:3])} failed: {last[0]}"
    stamp.write_text(wanted)
    return venv / "bin"
