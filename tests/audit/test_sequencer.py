"""Queued actions reach the log even when the process that queued them died right after its commit."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from audit import tasks
from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEntry, AuditPending
from audit.services import Target, audit_record
from audit.store import CheckpointStore

pytestmark = pytest.mark.django_db(transaction=True)


def _queue_without_sequencing(count: int) -> None:
    # What a writer leaves behind when it is killed between its commit and its sequencing attempt.
    with transaction.atomic(), connection.cursor() as cursor:
        for number in range(count):
            cursor.execute(
                "INSERT INTO audit_auditpending (created_at, fields) VALUES (CURRENT_TIMESTAMP, %s)",
                [
                    '{"action":"user.create","actor":{"id":"crashed","type":"worker"},"data":{},'
                    f'"request_id":null,"target":{{"id":"{number}","type":"user"}},'
                    '"timestamp":"2026-01-01T00:00:00.000000Z"}'
                ],
            )


def test_a_committed_action_is_in_the_log_when_the_transaction_returns() -> None:
    before = AuditEntry.objects.count()
    with transaction.atomic():
        audit_record(actor=Actor.system("tests"), action=AuditAction.USER_CREATE, target=Target.of("user", 1))
        assert AuditEntry.objects.count() == before  # not before the commit

    assert AuditEntry.objects.count() == before + 1
    assert not AuditPending.objects.exists()


def test_a_rolled_back_transaction_leaves_no_entry() -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=Actor.system("tests"), action=AuditAction.USER_CREATE, target=Target.of("user", 1))
        raise RuntimeError("the change failed halfway")

    assert AuditEntry.objects.count() == before
    assert not AuditPending.objects.exists()


def test_the_periodic_checkpoint_task_integrates_what_a_crashed_writer_left(settings, tmp_path) -> None:
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = 1
    before = AuditEntry.objects.count()
    _queue_without_sequencing(3)

    size = tasks.audit_checkpoint()

    assert AuditEntry.objects.count() == before + 3
    assert size == before + 3
    assert CheckpointStore().latest().size == size
    assert list(AuditEntry.objects.values_list("index", flat=True).order_by("index")) == list(range(size))


def test_the_checkpoint_task_integrates_leftovers_even_when_no_checkpoint_is_due(settings) -> None:
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = 1
    tasks.audit_checkpoint()  # the latest checkpoint now covers the whole log
    before = AuditEntry.objects.count()
    _queue_without_sequencing(2)

    tasks.audit_checkpoint()

    assert AuditEntry.objects.count() == before + 2
    assert not AuditPending.objects.exists()


def test_the_checkpoint_task_does_nothing_when_nothing_is_due(settings) -> None:
    settings.AUDIT_CHECKPOINT_EVERY_ENTRIES = 1000
    settings.AUDIT_CHECKPOINT_EVERY_SECONDS = 3600
    audit_record(actor=Actor.system("tests"), action=AuditAction.USER_CREATE, target=Target.of("user", 1))
    first = tasks.audit_checkpoint()
    audit_record(actor=Actor.system("tests"), action=AuditAction.USER_CREATE, target=Target.of("user", 2))

    second = tasks.audit_checkpoint()

    assert first is not None and second is None
