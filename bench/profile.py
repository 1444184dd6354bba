"""Where a request's milliseconds go: each kind of request, repeated, under cProfile. A JSON line per kind.

    .venv/bin/python bench/profile.py [--requests 200] [--out var/profile] [--committer]
    make profile

PostgreSQL when ``DATABASE_URL`` is set (migrated here; names seeded with a fresh suffix, so a database
can be reused), else a fresh SQLite database in a temporary folder. The cache is the settings' own:
Redis when ``REDIS_URL`` is set, else the file cache, as a deployment without Redis runs. With
``--committer`` (PostgreSQL), ``manage.py audit_committer`` runs beside, as docker-compose.yml runs it:
then the audit entries are integrated by it, not by the request.

1. Seed (untimed): a user per role, each with a Bearer token; model ``churn-<suffix>`` with three
   versions (created through the MLflow API); three train releases; the default policies.
2. Per kind, in this process and through ``governance.wsgi.application`` called as gunicorn calls it
   (request_started / request_finished, so connection reuse or reopening is counted as in a worker):
   ten warm-up requests; five more, each inside ``CaptureQueriesContext`` (statements per request);
   ``--requests`` timed without a profiler (``ms_per_request``), then ``--requests`` under cProfile
   (``ms_per_request_profiled``; cProfile slows Python code, not the database).
3. Writes ``<out>/<kind>.txt`` (top 40 by cumulative time, with the budget by part), ``<out>/summary.json``,
   and prints ``{"bench": "profile", "kind", "ms_per_request", "statements_per_request", "top", "budget"}``.
   ``top``: the five costliest functions below the request's own plumbing (handler, middleware chain,
   DRF dispatch), cumulative ms per request under the profiler. ``budget``: cumulative ms per request of
   the parts the issue names (authentication, throttling, session/CSRF middleware, logging, serializers,
   audit, SQL execution); parts nest (SQL inside audit), so they do not add up.
"""

# ruff: noqa: E402 (the imports below come after the sys.path fix, which must precede cProfile's)
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the standard
# library's ``profile``, which cProfile imports: take the folder off (the project root goes on below).
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, audit_committer, setup_django

WARM_UP = 10
COUNTED = 5
ROLES = ("data_scientist", "compliance_officer", "auditor", "pipeline", "admin")
# Frames that enclose the whole request (or nearly): left out of ``top``, which names where time goes.
PLUMBING = (
    "django/core/handlers/",
    "django/utils/deprecation.py",
    "django/views/decorators/",
    "django/views/generic/base.py",
    "rest_framework/views.py",
    "whitenoise/middleware.py",
    "csp/middleware.py",
    "django/middleware/security.py",
    "django/middleware/clickjacking.py",
    "django/middleware/common.py",
    "django/contrib/messages/middleware.py",
    "axes/middleware.py",
    "governance/core/logs.py:61(__call__)",  # RequestIdMiddleware
    "governance/core/error_middleware.py",
    "bench/profile.py",
    "contextlib.py",
    "{built-in method builtins.exec}",
    "~:0(<method 'disable'",
)
# Parts of the budget: a label and the (file, function) pairs whose cumulative time is that part.
PARTS: dict[str, tuple[tuple[str, str], ...]] = {
    "authentication": (("rest_framework/request.py", "_authenticate"),),
    "throttling": (("rest_framework/views.py", "check_throttles"),),
    "permissions": (("rest_framework/views.py", "check_permissions"),),
    "session_csrf_auth_middleware": (
        ("django/contrib/sessions/middleware.py", "process_request"),
        ("django/contrib/sessions/middleware.py", "process_response"),
        ("django/middleware/csrf.py", "process_request"),
        ("django/middleware/csrf.py", "process_view"),
        ("django/middleware/csrf.py", "process_response"),
        ("django/contrib/auth/middleware.py", "process_request"),
        ("django/contrib/messages/middleware.py", "process_request"),
        ("django/contrib/messages/middleware.py", "process_response"),
    ),
    "logging": (("logging/__init__.py", "handle"),),
    "serializers": (
        ("rest_framework/serializers.py", "data"),
        ("rest_framework/serializers.py", "is_valid"),
    ),
    "json_render_parse": (
        ("rest_framework/renderers.py", "render"),
        ("rest_framework/request.py", "_parse"),
    ),
    "audit": (("audit/services.py", "audit_record"), ("audit/services.py", "audit_sequence")),
    "sql_execute": (
        ("django/db/backends/utils.py", "execute"),
        ("django/db/backends/utils.py", "executemany"),
    ),
    "orm_sql_compiling": (("django/db/models/sql/compiler.py", "as_sql"),),
    "connection_open_close": (
        ("django/db/backends/base/base.py", "connect"),
        ("django/db/backends/base/base.py", "close"),
    ),
    "url_resolving": (("django/urls/resolvers.py", "resolve"),),
}


# --- Set-up -------------------------------------------------------------------------------------------------


def prepare(var_dir: Path, committer: ExitStack | None = None) -> str:
    """Environment for this process (before Django starts) and a migrated database; returns its vendor.
    Given ``committer`` (PostgreSQL), the audit committer runs until it closes, and this process uses it."""
    env = dict(os.environ)
    env |= {"GOVERNANCE_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "governance.settings.base"}
    env.setdefault("LOG_LEVEL", "INFO")
    migrate = [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True)
    if committer is not None:
        env = committer.enter_context(audit_committer(env, var_dir / "committer.sock"))
    setup_django(env)
    # Log lines are formatted as in a deployment, then dropped: the formatting is the cost measured.
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (kept open for the whole run)
    from django.db import connection

    return str(connection.vendor)


def seed(suffix: str) -> dict[str, Any]:
    """A user per role (each with a token), a model with versions, releases: what the requests need."""
    from django.core.files import File

    from audit.actors import Actor
    from governance.accounts.services import token_issue, user_create
    from governance.approvals.services.policies import policy_seed_defaults
    from governance.approvals.services.releases import release_create
    from registry.services.datasets import dataset_create, dataset_version_upload

    system = Actor.system("bench")
    policy_seed_defaults(actor=system)
    tokens: dict[str, str] = {}
    users: dict[str, Any] = {}
    for role in ROLES:
        user = user_create(actor=system, username=f"{role}-{suffix}", roles=[role], full_name=role.title())
        users[role] = user
        tokens[role] = token_issue(actor=system, user=user, name="profile")[1]
    scientist = Actor.for_user(users["data_scientist"])
    dataset = dataset_create(actor=scientist, namespace=f"bench-{suffix}", name="customers")
    rows = "tenure,plan,churned\n" + "".join(f"{n % 70},basic,{n % 2}\n" for n in range(50))
    upload = File(io.BytesIO(rows.encode()), name="customers.csv")
    data = dataset_version_upload(actor=scientist, dataset=dataset, upload=upload)
    for number in range(3):
        release_create(
            actor=scientist,
            kind="train",
            model=f"trained-{suffix}-{number}",
            risk_level="limited",
            datasets=[{"namespace": f"bench-{suffix}", "name": "customers", "version": data.version}],
            parameters={"target": "churned", "n_estimators": 10},
            code_version="git:bench",
            metric_thresholds={"accuracy": 0.6},
        )
    model, mlflow = f"churn-{suffix}", "/api/2.0/mlflow"
    answers = [
        wsgi_call("POST", f"{mlflow}/registered-models/create", tokens["pipeline"], body={"name": model})
    ]
    for number in range(3):
        body = {"name": model, "source": f"s3://bench/{model}/seed-{number}"}
        answers.append(wsgi_call("POST", f"{mlflow}/model-versions/create", tokens["pipeline"], body=body))
    if any(status != 200 for status, _ in answers):
        raise SystemExit(f"seeding the model failed: {answers}")
    return {"tokens": tokens, "model": model}


# --- Requests -----------------------------------------------------------------------------------------------


def wsgi_call(
    method: str, path: str, token: str = "", query: str = "", body: Any = None
) -> tuple[int, bytes]:
    """One request through the WSGI application, as a gunicorn sync worker makes it."""
    from governance.wsgi import application

    payload = json.dumps(body).encode() if body is not None else b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_ACCEPT": "application/json",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(payload),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if payload:
        environ |= {"CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(payload))}
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    status: list[str] = []

    def start_response(line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        status.append(line)

    result = application(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        result.close()  # request_finished: closes or keeps the connection, as under gunicorn
    return int(status[0].split()[0]), content


def lineage_event(run_id: str) -> dict[str, Any]:
    producer, spec = "https://github.com/acme/bench", "https://openlineage.io/spec"
    return {
        "eventTime": "2024-06-01T08:00:00Z",
        "producer": producer,
        "schemaURL": f"{spec}/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventType": "START",
        "run": {"runId": run_id},
        "job": {"namespace": "bench-jobs", "name": "train"},
        "inputs": [
            {
                "namespace": "postgres://warehouse:5432",
                "name": "public.customers",
                "facets": {
                    "datasetVersion": {
                        "_producer": producer,
                        "_schemaURL": f"{spec}/facets/1-0-1/DatasetVersionDatasetFacet.json",
                        "datasetVersion": "v1",
                    }
                },
            }
        ],
        "outputs": [{"namespace": "s3://lake", "name": "features/churn"}],
    }


def kinds(world: dict[str, Any]) -> dict[str, tuple[str, Callable[[int], tuple[int, bytes]]]]:
    """Each kind: the role asking and one request (numbered, for bodies that must differ)."""
    from django.db import transaction

    from audit.actions import AuditAction
    from audit.actors import Actor
    from audit.services import Target, audit_record

    tokens, model = world["tokens"], world["model"]
    pipeline, officer = tokens["pipeline"], tokens["compliance_officer"]
    mlflow = "/api/2.0/mlflow/model-versions"
    actor = Actor.worker("profile")

    def audit_append(number: int) -> tuple[int, bytes]:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action=AuditAction.USER_CREATE,
                target=Target.of("user", number),
                data={"n": number},
            )
        return 200, b""

    return {
        "healthz": ("anonymous", lambda n: wsgi_call("GET", "/healthz")),
        "me": ("pipeline", lambda n: wsgi_call("GET", "/api/v1/me", pipeline)),
        "models_list": ("pipeline", lambda n: wsgi_call("GET", "/api/v1/models", pipeline)),
        "mlflow_version_get": (
            "pipeline",
            lambda n: wsgi_call("GET", f"{mlflow}/get", pipeline, query=f"name={model}&version=1"),
        ),
        "mlflow_version_create": (
            "pipeline",
            lambda n: wsgi_call(
                "POST",
                f"{mlflow}/create",
                pipeline,
                body={"name": model, "source": f"s3://bench/{model}/{n}"},
            ),
        ),
        "releases_list": ("compliance_officer", lambda n: wsgi_call("GET", "/api/v1/releases", officer)),
        "lineage_ingest": (
            "pipeline",
            lambda n: wsgi_call("POST", "/api/v1/lineage", pipeline, body=lineage_event(str(uuid.uuid4()))),
        ),
        "audit_append": ("service function", audit_append),
    }


# --- Measuring ----------------------------------------------------------------------------------------------


def _label(func: tuple[str, int, str]) -> str:
    path, line, name = func
    for marker in ("site-packages/", "lib/python3.11/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{line}({name})"


def summarise(stats: pstats.Stats, requests: int) -> tuple[list[list[Any]], dict[str, float]]:
    per_request = 1000 / requests
    cumulative = {func: row[3] for func, row in stats.stats.items()}  # type: ignore[attr-defined]
    ranked = sorted(cumulative.items(), key=lambda item: -item[1])
    top: list[list[Any]] = []
    for func, seconds in ranked:
        if len(top) == 5:
            break
        if any(part in _label(func) for part in PLUMBING):
            continue
        # A wrapper and what it wraps cost the same: name the first of such a chain only.
        if top and seconds * per_request >= 0.97 * top[-1][1]:
            continue
        top.append([_label(func), round(seconds * per_request, 3)])
    budget: dict[str, float] = {}
    for part, functions in PARTS.items():
        seconds = sum(
            value
            for func, value in cumulative.items()
            if any(func[0].endswith(path) and func[2] == name for path, name in functions)
        )
        budget[part] = round(seconds * per_request, 3)
    return top, budget


def measure(
    kind: str, role: str, call: Callable[[int], tuple[int, bytes]], n: int, out: Path
) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counter = iter(range(10**9))
    for _ in range(WARM_UP):
        status, content = call(next(counter))
        if status >= 300:
            raise SystemExit(f"{kind}: HTTP {status}: {content[:300]!r}")
    statements: list[int] = []
    for _ in range(COUNTED):
        with CaptureQueriesContext(connection) as captured:
            call(next(counter))
        statements.append(len(captured.captured_queries))
    started = time.perf_counter()
    for _ in range(n):
        call(next(counter))
    plain_ms = (time.perf_counter() - started) * 1000 / n
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(n):
        call(next(counter))
    profiler.disable()
    profiled_ms = (time.perf_counter() - started) * 1000 / n
    report = io.StringIO()
    stats = pstats.Stats(profiler, stream=report)
    top, budget = summarise(stats, n)
    stats.sort_stats("cumulative").print_stats(40)
    result = {
        "bench": "profile",
        "kind": kind,
        "role": role,
        "database": connection.vendor,
        "requests": n,
        "ms_per_request": round(plain_ms, 3),
        "ms_per_request_profiled": round(profiled_ms, 3),
        "statements_per_request": statistics.median(statements),
        "statements_seen": sorted(set(statements)),
        "top": top,
        "budget": budget,
    }
    heading = f"{kind} ({role}): {plain_ms:.2f} ms/request, {profiled_ms:.2f} under cProfile, {n} requests, "
    heading += f"{result['statements_per_request']} statements, {connection.vendor}\n"
    parts = "".join(f"  {part:32} {ms:8.3f} ms\n" for part, ms in budget.items())
    legend = "Budget (cumulative ms per request under cProfile; parts nest):"
    (out / f"{kind}.txt").write_text(f"{heading}\n{legend}\n{parts}\n{report.getvalue()}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--out", default=str(ROOT / "var" / "profile"))
    parser.add_argument("--kind", action="append", help="only this kind (repeatable)")
    parser.add_argument("--committer", action="store_true", help="with the audit committer (PostgreSQL)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as var_dir, ExitStack() as stack:
        prepare(Path(var_dir), stack if args.committer else None)
        world = seed(uuid.uuid4().hex[:8])
        results = []
        for kind, (role, call) in kinds(world).items():
            if args.kind and kind not in args.kind:
                continue
            result = measure(kind, role, call, args.requests, out)
            print(json.dumps(result), flush=True)
            results.append(result)
    (out / "summary.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
