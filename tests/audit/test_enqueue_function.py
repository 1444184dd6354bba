"""audit_enqueue: the PostgreSQL door through which another app's SQL adds an action to the audit log."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.jcs import canonical_json
from audit.models import AuditEntry, AuditPending
from audit.services import Target, audit_fields, audit_sequence

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("needs_postgres_db")]


def _enqueue(target_id: str) -> None:
    now = timezone.now()
    fields = audit_fields(
        actor=Actor.system("tests"),
        action=AuditAction.USER_CREATE,
        target=Target.of("user", target_id),
        data={},
        now=now,
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT audit_enqueue(%s, %s)", [now, canonical_json(fields).decode("utf-8")])


def test_an_action_queued_through_audit_enqueue_enters_the_log_after_its_commit() -> None:
    before = AuditEntry.objects.count()
    with transaction.atomic():
        _enqueue("enqueued-1")
        assert AuditPending.objects.count() == 1
    audit_sequence()

    assert AuditEntry.objects.count() == before + 1
    assert AuditEntry.objects.order_by("-index").first().target_id == "enqueued-1"
    assert not AuditPending.objects.exists()


def test_an_action_queued_in_a_rolled_back_transaction_leaves_nothing() -> None:
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        _enqueue("rolled-back")
        raise RuntimeError("the caller's change failed")
    audit_sequence()

    assert AuditEntry.objects.count() == before
    assert not AuditPending.objects.exists()
