"""The role matrix's governed story (a trained and deployed model, its dataset, release, signature, job
and privacy request) gives schemathesis rows to find behind every path parameter.

The runs are transactional (schemathesis calls the app from its own thread), so pytest-django empties
the tables after each one. On SQLite that is a DELETE, which the consent ledger's append-only triggers
refuse; the test drops them when it is done and this module puts them back for whatever runs next.
PostgreSQL empties tables with TRUNCATE, which the row triggers let through.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tests.governance.test_endpoint_roles import story

__all__ = ["consent_ledger_triggers", "story", "story_more"]

_LEDGER = importlib.import_module("governance.consent.migrations.0002_ledger_append_only")


def ledger_triggers(*, installed: bool) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for statement in _LEDGER.SQLITE_UP if installed else _LEDGER.SQLITE_DOWN:
            cursor.execute(statement)


@pytest.fixture(scope="module", autouse=True)
def consent_ledger_triggers(django_db_blocker: Any) -> Iterator[None]:
    yield
    with django_db_blocker.unblock():
        ledger_triggers(installed=True)


@pytest.fixture
def story_more(story: dict[str, str], make_user: Any) -> dict[str, str]:
    """The story, and what it lacks for an operation to answer 2xx: an erasure request (the story's
    privacy request is an access request, which has no impact and erases no rows), one logged
    prediction of the deployed model, to be labelled, and a model and a dataset to archive."""
    from rest_framework.test import APIClient

    from audit.actors import Actor
    from governance.consent.services.requests import privacy_request_create, privacy_request_status_set
    from governance.consent.subjects import subject_hash_of
    from registry.services.catalog import model_create
    from registry.services.datasets import dataset_create

    officer = make_user("story-officer", "compliance_officer")
    erasure = privacy_request_create(
        actor=Actor.for_user(officer),
        subject_hash=subject_hash_of("c-9000"),  # not in crm/customers, which stays trainable
        request_type="erasure",
        jurisdiction="eu_eea",
    )
    privacy_request_status_set(actor=Actor.for_user(officer), request=erasure, status="verified")
    client = APIClient()
    client.force_authenticate(make_user("story-scorer", "pipeline"))
    answer = client.post(
        f"/api/v1/deployments/{story['environment']}/{story['model']}/predict",
        {"rows": [{"tenure": 12, "plan": "basic", "monthly_spend": 42.5}]},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    (prediction_id,) = answer.json()["prediction_ids"]  # the tests' settings sample every request
    # Rows of their own to archive: schemathesis orders operations as it likes, and an archived churn
    # (or crm/customers) would take no new version for the rest of the run.
    model_create(actor=Actor.for_user(officer), name="churn-retired")
    dataset_create(actor=Actor.for_user(officer), namespace="crm", name="retired")
    return {
        **story,
        "request_id": str(erasure.pk),
        "prediction_id": prediction_id,
        "archive_model": "churn-retired",
        "archive_dataset": "retired",
    }


def own_release(user: Any) -> str:
    """A pending training release requested by ``user``: what its requester may withdraw."""
    from audit.actors import Actor
    from governance.approvals.services.releases import release_create

    release = release_create(
        actor=Actor.for_user(user),
        kind="train",
        model="churn",
        datasets=[{"namespace": "crm", "name": "customers", "version": "1"}],
        parameters={"target": "churned", "n_estimators": 20, "max_depth": 5},
        metric_thresholds={"accuracy": 0.6},
        risk_level="limited",
    )
    return str(release.pk)
