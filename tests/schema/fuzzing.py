"""Schemathesis over the live OpenAPI document, in process: one run per role, every phase, our checks.

The run is the engine the ``schemathesis`` CLI drives (examples, coverage, fuzzing and stateful phases),
pointed at the WSGI application through :class:`StoreWatch`, which counts rows around every request and
notes a refused request (4xx) that changed anything: the service's rule is that a refusal stores nothing,
except the refusals it audits on purpose (``REFUSALS_AUDITED``).

``FUZZ_EXAMPLES_FACTOR`` multiplies the examples per operation and the stateful steps (``make fuzz``: 10).
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
import yaml
from django.apps import apps
from django.db import connection, connections
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema

from audit.actions import AuditAction

SEED = 20261203
EXAMPLES = 2  # per operation and phase in `make test`; `make fuzz` runs FUZZ_EXAMPLES_FACTOR times more
STATEFUL_STEPS = 6

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)

# Refusals the service records on purpose (a refused signature, job, upload...): an audit entry, and
# whatever that refusal counts (a lockout's failed attempts), may be written by a 4xx answer.
REFUSALS_AUDITED = {
    AuditAction.AUTH_LOGIN_FAILED,
    AuditAction.RELEASE_SIGN_FAILED,
    AuditAction.RELEASE_SIGNING_LOCKED,  # the fifth wrong password also locks signing
    AuditAction.AUTH_LOGIN_LOCKED_OUT,
    AuditAction.RELEASE_SIGN_REFUSE,
    AuditAction.RELEASE_REFUSE,
    AuditAction.JOB_REFUSE,
    AuditAction.MLFLOW_REFUSE,
    AuditAction.MODEL_ARTIFACT_REFUSE,
    AuditAction.MODEL_RISK_LEVEL_REFUSE,
}
_AUDIT_TABLES = {"audit_auditentry", "audit_auditnode", "audit_auditpending", "audit_audithead"}
# What a wrong signing password counts towards the lock it earns (approvals.services.signatures).
_REFUSAL_TALLIES = {"accounts_signinglockout", "approvals_signingfailure", "approvals_signinglock"}


def factor() -> int:
    return max(1, int(os.environ.get("FUZZ_EXAMPLES_FACTOR", "1")))


def _tables() -> list[str]:
    """Every table of our apps, and the users table: what a half-stored request would leave behind."""
    ours = ("governance", "registry", "audit")
    models = [
        m for m in apps.get_models() if m.__module__.split(".")[0] in ours or m._meta.label == "auth.User"
    ]
    return sorted({m._meta.db_table for m in models if m._meta.managed})


@dataclass
class StoreWatch:
    """A WSGI wrapper: row counts before and after each request; a 4xx that changed one is noted."""

    app: Callable[..., Iterable[bytes]]
    tables: list[str] = field(default_factory=_tables)
    half_stored: list[str] = field(default_factory=list)
    connections: list[Any] = field(default_factory=list)  # one per schemathesis thread, closed by close()

    def close(self) -> None:
        """Close the connections schemathesis's threads opened (PostgreSQL drops the test database only
        when no session is left on it)."""
        for opened in self.connections:
            opened.close()
        self.connections.clear()

    def _counts(self) -> dict[str, int]:
        quote = connection.ops.quote_name
        # Table names come from our own models' Meta, not from a request.
        query = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(table)})" for table in self.tables)  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(query)
            return dict(zip(self.tables, cursor.fetchone(), strict=True))

    @staticmethod
    def _audited_refusal(new_entries: int) -> bool:
        """Whether what the request appended to the audit log (sequenced or pending) is refusals only."""
        from audit.models import AuditEntry, AuditPending

        actions = list(
            AuditEntry.objects.order_by("-index").values_list("action", flat=True)[: max(new_entries, 0)]
        )
        actions += [
            json.loads(fields)["action"] for fields in AuditPending.objects.values_list("fields", flat=True)
        ]
        return bool(actions) and all(action in REFUSALS_AUDITED for action in actions)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not any(opened is connections["default"] for opened in self.connections):
            connections["default"].inc_thread_sharing()  # so that close() may close it from the test's thread
            self.connections.append(connections["default"])
        before = self._counts()
        seen: dict[str, str] = {}

        def capture(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            seen["status"] = status
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, capture))
        status = int(seen.get("status", "500").split()[0])
        if 400 <= status < 500:
            after = self._counts()
            changed = {t: (before[t], after[t]) for t in self.tables if before[t] != after[t]}
            new_entries = after["audit_auditentry"] - before["audit_auditentry"]
            if set(changed) <= _AUDIT_TABLES | _REFUSAL_TALLIES and self._audited_refusal(new_entries):
                changed = {}
            if changed:
                self.half_stored.append(
                    f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}?{environ.get('QUERY_STRING', '')} "
                    f"-> {status}, changed {changed}"
                )
        return [body]


_ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")  # Django's <int:job_id> is OpenAPI's {job_id}


# The roles in the order their runs go (the test's parametrisation).
ROLE_ORDER = ("data_scientist", "compliance_officer", "auditor", "pipeline", "admin", None)


def _without_coverage(role: str | None) -> list[str]:
    """Operations ("METHOD /path") left out of the role's coverage phase, from the role x endpoint matrix:

    - those the role may not call: they answer 401/403 to any input, so they get the fuzzing phase (is
      the refusal documented?) but not the coverage phase's thousands of boundary values, which would
      all meet the same refusal;
    - in `make test`, those an earlier role's run already covered: the boundary values test the input
      checks, which are the same for every role let in (`make fuzz` covers each for every role).
    """
    from tests.governance.test_endpoint_roles import CALLERS, TABLE

    column = list(CALLERS).index(role or "anonymous")
    earlier = [list(CALLERS).index(r or "anonymous") for r in ROLE_ORDER[: ROLE_ORDER.index(role)]]
    refused = {"401", "403"}
    left_out = []
    for key, answers in TABLE.items():
        method, _, route = key.partition(" ")
        if not route.startswith("api/v1/"):
            continue
        columns = answers.split()
        covered_before = factor() == 1 and any(columns[c] not in refused for c in earlier)
        if columns[column] in refused or covered_before:
            left_out.append(f"{method} /" + _ROUTE_PARAMETER.sub(r"{\1}", route))
    return left_out


def config(*, role: str | None, token: str | None) -> SchemathesisConfig:
    times = factor()
    left_out = _without_coverage(role)
    operations = [{"include-name": left_out, "phases": {"coverage": {"enabled": False}}}] if left_out else []
    checks: dict[str, Any] = {"enabled": False, **{name: {"enabled": True} for name in CHECKS}}
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "workers": 1,
            "headers": {"Authorization": f"Bearer {token}"} if token else {},
            "generation": {"max-examples": EXAMPLES * times, "database": "none"},
            "checks": checks,
            "phases": {
                # `make test` leaves out the coverage phase's unexpected-method requests (each a 405, some
                # 250 a role); `make fuzz` sends them.
                "coverage": {} if times > 1 else {"unexpected-methods": []},
                "stateful": {"max-steps": STATEFUL_STEPS * times},
            },
            "suppress-health-check": ["all"],
            "operations": operations,
        }
    )


@dataclass
class Outcome:
    failures: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    operations: set[str] = field(default_factory=set)
    reached: set[str] = field(default_factory=set)  # answered 2xx at least once
    seconds: dict[str, float] = field(default_factory=dict)  # per phase


def run(schema: Any) -> Outcome:
    outcome = Outcome()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            for checks in recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        outcome.failures[
                            f"{recorder.label}: {check.name}: {failure.title}: {failure.message}"
                        ] += 1
            for case_id, interaction in recorder.interactions.items():
                if interaction.response is None:
                    continue
                operation = recorder.cases[case_id].value.operation.label
                outcome.operations.add(operation)
                outcome.statuses[interaction.response.status_code] += 1
                if interaction.response.status_code < 300:
                    outcome.reached.add(operation)
        elif isinstance(event, events.PhaseStarted):
            outcome.seconds[event.phase.name.value] = -event.timestamp
        elif isinstance(event, events.PhaseFinished):
            outcome.seconds[event.phase.name.value] = round(
                outcome.seconds.get(event.phase.name.value, 0) + event.timestamp, 1
            )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            outcome.errors.append(repr(getattr(event, "value", None) or getattr(event, "exception", None)))
    return outcome


def with_examples(document: dict[str, Any], story: dict[str, str]) -> dict[str, Any]:
    """The schema with the story's rows as path parameter examples (``/models/{name}`` -> ``churn``), so
    the examples phase reaches operations on rows a random string would never name. Only the test's
    copy gets them: the rows exist in the test database, not in a deployment."""
    paths = document.get("paths", {})
    # Operations that end a row's life (archive, end, stop) go last, so that the examples before them
    # still find the story's model, dataset and deployment alive.
    document["paths"] = dict(sorted(paths.items(), key=lambda kv: kv[0].endswith(_ENDING)))
    for path, item in document["paths"].items():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            if operation.get("operationId") == "v1_deployments_labels_create":
                body = {"labels": [{"prediction_id": story["prediction_id"], "label": 1}]}
                content = operation["requestBody"]["content"]["application/json"]
                content["examples"] = {"valid": {"value": body}}
            for parameter in operation.get("parameters", []):
                if parameter.get("in") != "path":
                    continue
                value = _story_value(path, parameter["name"], story)
                if value is not None:
                    integer = parameter.get("schema", {}).get("type") == "integer"
                    parameter["example"] = int(value) if integer else value
    return document


_ENDING = ("/archive", "/end", "/stop")


def _story_value(path: str, name: str, story: dict[str, str]) -> str | None:
    if path == "/api/v1/releases/{release_id}/withdraw" and "own_release" in story:
        return story["own_release"]  # the caller's own pending release; the story's is consumed
    if path in {"/api/v1/models/{name}/archive", "/api/v1/datasets/{name}/archive"}:
        return story["archive_model" if path.startswith("/api/v1/models/") else "archive_dataset"]
    if path.startswith("/api/v1/datasets/"):
        # The story's dataset is crm/customers: the name in the path, the namespace in the query
        # (whose example, "crm", the schema gives).
        return {"name": story["dataset"].rsplit("/", 1)[-1], "version": story["dataset_version"]}.get(name)
    if path.startswith("/api/v1/policies/") and name == "name":
        return story["policy"]
    return story.get(name)


def load(app: Any, *, role: str | None, token: str | None, story: dict[str, str]) -> Any:
    from django.test import Client

    document = yaml.safe_load(Client().get("/api/schema/").content)
    schema = schemathesis.openapi.from_dict(
        with_examples(document, story), config=config(role=role, token=token)
    )
    schema.app = app  # in process, through WSGI, as schemathesis.openapi.from_wsgi does
    schema.location = "/api/schema/"
    return schema


def report(label: str, outcome: Outcome) -> None:
    """One line per run on stderr (shown with ``-s`` or on failure): what was sent and reached."""
    sent = sum(outcome.statuses.values())
    statuses = dict(sorted(outcome.statuses.items()))
    sys.stderr.write(
        f"schemathesis[{label}]: {sent} requests, {len(outcome.operations)} operations called, "
        f"{len(outcome.reached)} answered 2xx; statuses {statuses}; seconds {outcome.seconds}\n"
        f"  never 2xx: {sorted(outcome.operations - outcome.reached)}\n"
    )
