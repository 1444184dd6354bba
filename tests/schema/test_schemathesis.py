"""Schemathesis finds nothing for any role: no 5xx, no answer the schema does not describe (status,
content type, body, headers), and no refused request that stored anything.

One run per role over the live ``/api/schema/``, in process, with a fixed seed: the examples, coverage,
fuzzing and stateful phases. ``make fuzz`` runs ten times the examples (``FUZZ_EXAMPLES_FACTOR``).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from tests.schema import fuzzing
from tests.schema.conftest import ledger_triggers

# Every role, and nobody: a caller without a token must meet documented 401s, never a 5xx.
ROLES = ["data_scientist", "compliance_officer", "auditor", "pipeline", "admin", None]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES, ids=[role or "anonymous" for role in ROLES])
def test_schemathesis_finds_nothing_for(role: str | None, make_user: Any, story: dict[str, str]) -> None:
    from audit.actors import Actor
    from governance.accounts import services
    from governance.wsgi import application

    token = None
    if role is not None:
        user = make_user(f"fuzz-{role}", role)
        _, token = services.token_issue(actor=Actor.system("tests"), user=user, name="fuzz")
    cache.clear()  # throttle counts from an earlier role's run
    watch = fuzzing.StoreWatch(application)

    ledger_triggers(installed=True)  # dropped by the previous run, for its flush
    try:
        outcome = fuzzing.run(fuzzing.load(watch, role=role, token=token, story=story))
    finally:
        watch.close()
        ledger_triggers(installed=False)  # so that pytest-django can empty the ledger on SQLite
    fuzzing.report(role or "anonymous", outcome)

    assert outcome.operations, "schemathesis sent no request"
    assert not outcome.errors, outcome.errors
    assert not outcome.failures, "\n".join(
        f"{n}x {failure}" for failure, n in sorted(outcome.failures.items())
    )
    assert not watch.half_stored, "\n".join(watch.half_stored)
