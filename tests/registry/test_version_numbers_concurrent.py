"""Eight registrations of one model at once, each in its own transaction and connection: numbers 1 to 8,
no gap and no duplicate, on SQLite (its IMMEDIATE transactions queue) and on PostgreSQL (the model's row
lock, then the highest number read after it: ``registry_model_version_next``)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from audit.actors import Actor
from audit.models import AuditEntry
from governance.core.errors import Conflict
from registry.models import ModelVersion, RegisteredModel
from registry.services.catalog import model_archive, model_create, model_version_create

pytestmark = pytest.mark.django_db(transaction=True)
WRITERS = 8


def test_concurrent_registrations_get_consecutive_numbers(make_user: Any) -> None:
    actor = Actor.for_user(make_user("dana"))
    model = model_create(actor=actor, name="churn")
    start = threading.Barrier(WRITERS)

    def register(number: int) -> int:
        try:
            start.wait(timeout=30)
            version = model_version_create(
                actor=actor, model=model, artifact_uri=f"s3://b/{number}", digest_unknown=True
            )
            return int(version.version)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(WRITERS) as pool:
        numbers = list(pool.map(register, range(WRITERS)))
    assert sorted(numbers) == list(range(1, WRITERS + 1))
    stored = ModelVersion.objects.filter(model=model).values_list("version", flat=True)
    assert sorted(stored) == list(range(1, WRITERS + 1))
    assert AuditEntry.objects.filter(action="model_version.create").count() == WRITERS


def test_an_archived_or_vanished_model_takes_no_version(make_user: Any) -> None:
    actor = Actor.for_user(make_user("dana"))
    model = model_create(actor=actor, name="churn")
    model_archive(actor=actor, model=model)
    with pytest.raises(Conflict, match="archived"):
        model_version_create(actor=actor, model=model, artifact_uri="s3://b/1", digest_unknown=True)
    ghost = RegisteredModel(pk=10_000_000, name="ghost")
    with pytest.raises(RegisteredModel.DoesNotExist):
        model_version_create(actor=actor, model=ghost, artifact_uri="s3://b/1", digest_unknown=True)
    assert not ModelVersion.objects.exists()
