"""``make demo``: migrate, create one demo user per role, start web and a worker on the embedded
default, tell the governed story over the API (``governance/demo/story.py``), print the URL, logins and
files, and serve until Ctrl-C. ``DEMO_EXIT=1`` exits 0 once the story is told and verified.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from governance.demo.story import Api, ApiError, run_story

ROOT = Path(__file__).resolve().parents[2]  # governance/demo/run.py -> the project root
PORT = int(os.environ.get("DEMO_PORT", "8000"))
VAR_DIR = Path(os.environ.get("GOVERNANCE_VAR_DIR", str(ROOT / "var")))
PERSONAS = [
    ("dana", "data_scientist", "Dana Scientist"),
    ("carla", "compliance_officer", "Carla Compliance"),
    ("colin", "compliance_officer", "Colin Compliance"),
    ("audrey", "auditor", "Audrey Auditor"),
    ("pipe", "pipeline", "Training Pipeline"),
    ("ada", "admin", "Ada Admin"),
]


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def _manage(*args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def _ensure_users() -> dict[str, str]:
    """Create the personas once; their passwords live in var/demo-logins.json (mode 0600)."""
    logins_file = VAR_DIR / "demo-logins.json"
    if logins_file.exists():
        return dict(json.loads(logins_file.read_text()))
    logins: dict[str, str] = {}
    for username, role, full_name in PERSONAS:
        password = f"demo-{secrets.token_urlsafe(9)}"
        _manage("adduser", username, "--role", role, "--password", password, "--full-name", full_name)
        logins[username] = password
    logins_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(logins_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(logins, handle)
    return logins


def _wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own localhost URL)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {seconds:.0f}s")


def _smoke(token: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return dict(json.loads(response.read()))


def _worker_ping() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings.base")
    # Imported here, not at the top: this process runs manage.py commands first, and Django is set up
    # only now (audit.tasks needs the app registry). The story's registry look-ups rely on this too.
    import django

    django.setup()
    from audit.tasks import ping

    return int(ping.delay(41).get(timeout=60))


def _tell_story(tokens: dict[str, str], logins: dict[str, str]) -> None:
    """The governed story over the API, once per var directory (a second ``make demo`` just serves)."""
    api = Api(f"http://127.0.0.1:{PORT}", tokens)
    try:
        api.call("audrey", "GET", "/api/v1/models/churn")
        _say("\nThe demo story was told before in this var/ directory; its files are in var/demo/.")
        return
    except ApiError as missing:
        if missing.status != 404:
            raise
    _manage("seed_policies")
    told = run_story(api, logins, VAR_DIR, _say)
    _say("\n== Done. What to look at:")
    _say(
        f"   the model and its lineage:  http://127.0.0.1:{PORT}/lineage/?nodeId=deployment:production:churn"
    )
    _say(f"   the approval history:       http://127.0.0.1:{PORT}/approvals/signatures/  (as carla)")
    _say(f"   drift charts:               http://127.0.0.1:{PORT}/deployments/production/churn/")
    _say(f"   the open privacy requests:  http://127.0.0.1:{PORT}/privacy/requests/")
    _say(f"   lineage report (verified):  {told['report']}")
    _say(f"   audit bundle (verified):    {told['bundle']}")


def _start() -> list[subprocess.Popen[bytes]]:
    """The web server and one worker (all queues, solo pool) on the embedded default."""
    worker = ["worker", "--queues", "default,train,deploy", "--concurrency", "1", "--pool", "solo"]
    return [
        subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{PORT}", "--noreload", "--insecure"],
            cwd=ROOT,
        ),
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "governance", *worker, "--loglevel", "WARNING"], cwd=ROOT
        ),
    ]


def _introduce(logins: dict[str, str]) -> dict[str, str]:
    """Print where the service is and the logins; issue each persona's API token and smoke-test."""
    _wait_for(f"http://127.0.0.1:{PORT}/healthz")
    _say(f"\nThe service is at http://127.0.0.1:{PORT}/  (API docs: /api/docs/, admin: /admin/)")
    _say(f"Logins (also in {VAR_DIR / 'demo-logins.json'}):")
    for username, role, _ in PERSONAS:
        _say(f"  {username:8} {role:20} {logins[username]}")
    tokens = {
        username: _manage(
            "issuetoken", username, "--name", "demo", "--expires-days", "1", capture=True
        ).splitlines()[-1]
        for username in ("dana", "pipe", "carla", "colin", "audrey", "ada")
    }
    me = _smoke(tokens["pipe"])
    _say(f"\nSmoke request GET /api/v1/me with the pipeline's token: {me}")
    _say(f"A task through the worker: ping(41) = {_worker_ping()}")
    return tokens


def _serve(processes: list[subprocess.Popen[bytes]]) -> int:
    _say("\nServing until Ctrl-C.")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(process.poll() is None for process in processes):
            time.sleep(1)
    except KeyboardInterrupt:
        return 0
    _say("a demo process stopped; shutting down")
    return 1


def main() -> int:
    os.chdir(ROOT)
    _say("== migrate")
    _manage("migrate", "--noinput", "-v", "0")
    logins = _ensure_users()
    processes = _start()
    try:
        _tell_story(_introduce(logins), logins)
        if os.environ.get("DEMO_EXIT") == "1":
            _say("DEMO_EXIT=1: done.")
            return 0
        return _serve(processes)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    raise SystemExit(main())
