"""PostgreSQL's group commit: a writer that finds another sequencing leaves its row to it, a writer that
dies after its commit leaves its row to the next sequencer run, and a batch built on a stale head or a
queue row already taken is refused whole."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEntry, AuditHead, AuditPending
from audit.reads import audit_entries_read
from audit.sequencing import SEQUENCER_LOCK_KEY
from audit.services import Target, audit_record, audit_sequence
from governance.core.logs import request_id_var
from tests import support

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("needs_postgres_db")]


def _append(target_id: str) -> None:
    with transaction.atomic():
        audit_record(
            actor=Actor.worker("tests"), action=AuditAction.USER_CREATE, target=Target.of("user", target_id)
        )


def _targets() -> list[str]:
    return list(AuditEntry.objects.order_by("index").values_list("target_id", flat=True))


def test_a_writer_that_finds_the_sequencer_busy_leaves_its_row_to_the_holder() -> None:
    before = AuditEntry.objects.count()
    with psycopg.connect(support.test_database_url(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [SEQUENCER_LOCK_KEY])
        _append("while-busy")  # its sequencing attempt returns at once

        assert AuditEntry.objects.count() == before
        assert AuditPending.objects.count() == 1
        # The holder's release looks at the queue after unlocking, so it sees the row and goes round.
        (queue_left,) = holder.execute("SELECT audit_sequencer_release(%s)", [SEQUENCER_LOCK_KEY]).fetchone()
    assert queue_left is True
    assert audit_sequence() == 1
    assert _targets()[before:] == ["while-busy"]


def _append_alone(target_id: str) -> None:
    audit_record(
        actor=Actor.worker("tests"), action=AuditAction.USER_CREATE, target=Target.of("user", target_id)
    )


def test_an_action_recorded_outside_a_transaction_enters_the_log_at_once() -> None:
    before = AuditEntry.objects.count()
    _append_alone("alone")
    assert _targets()[before:] == ["alone"]
    assert not AuditPending.objects.exists()


def test_outside_a_transaction_a_busy_sequencer_costs_the_writer_one_statement() -> None:
    before = AuditEntry.objects.count()
    with psycopg.connect(support.test_database_url(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [SEQUENCER_LOCK_KEY])
        with CaptureQueriesContext(connection) as queries:
            _append_alone("while-busy")
        assert [query["sql"].split("(")[0] for query in queries.captured_queries] == ["SELECT audit_append"]
        assert AuditPending.objects.count() == 1
        (queue_left,) = holder.execute("SELECT audit_sequencer_release(%s)", [SEQUENCER_LOCK_KEY]).fetchone()
    assert queue_left is True
    assert audit_sequence() == 1
    assert _targets()[before:] == ["while-busy"]


def test_a_read_recorded_outside_a_transaction_costs_one_statement_while_another_sequences() -> None:
    # The services that only record (a page of audit entries read, a refusal, a login, an export) open
    # no transaction of their own, so outside a request's transaction they take the one-statement way.
    with psycopg.connect(support.test_database_url(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [SEQUENCER_LOCK_KEY])
        with CaptureQueriesContext(connection) as queries:
            audit_entries_read(actor=Actor.worker("tests"), indices=[0, 1], filters={}, via="api")
        assert len(queries.captured_queries) == 1
        holder.execute("SELECT audit_sequencer_release(%s)", [SEQUENCER_LOCK_KEY])
    audit_sequence()
    assert AuditEntry.objects.order_by("-index").values_list("action", flat=True)[0] == "audit.read"


def test_the_release_waits_for_an_append_in_flight_that_saw_the_lock_held() -> None:
    # Freeze the moment between an append's look at the lock and its commit (the statement is run in an
    # open transaction here only to hold that moment): the holder's release must wait for the commit
    # and then see the row, or the row would be left with no sequencer coming for it.
    url = support.test_database_url()
    with psycopg.connect(url, autocommit=True) as holder, psycopg.connect(url) as appender:
        holder.execute("SELECT pg_advisory_lock(%s)", [SEQUENCER_LOCK_KEY])
        (free,) = appender.execute(
            "SELECT audit_append(ARRAY[now()], %s, %s)", [['{"action":"user.create"}'], SEQUENCER_LOCK_KEY]
        ).fetchone()
        assert free is False
        released: list[bool] = []
        release = threading.Thread(
            target=lambda: released.append(
                holder.execute("SELECT audit_sequencer_release(%s)", [SEQUENCER_LOCK_KEY]).fetchone()[0]
            )
        )
        release.start()
        release.join(timeout=0.5)
        assert release.is_alive(), "the release did not wait for the append in flight"
        appender.commit()
        release.join(timeout=10)
    assert released == [True]
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditpending")


def test_an_append_that_finds_no_sequencer_tells_its_caller_to_try() -> None:
    url = support.test_database_url()
    with psycopg.connect(url) as appender:
        (free,) = appender.execute(
            "SELECT audit_append(ARRAY[now()], %s, %s)", [['{"action":"user.create"}'], SEQUENCER_LOCK_KEY]
        ).fetchone()
        assert free is True
        # Until it commits, its shared look at the lock makes a sequencer's try fail: the appender,
        # told to try, integrates after its own commit whatever that try left.
        with psycopg.connect(url, autocommit=True) as other:
            (got,) = other.execute("SELECT pg_try_advisory_lock(%s)", [SEQUENCER_LOCK_KEY]).fetchone()
            assert got is False
        appender.rollback()


def test_a_row_left_by_a_writer_that_died_after_its_commit_enters_the_log_with_the_next_append(
    tmp_path,
) -> None:
    before = AuditEntry.objects.count()
    subprocess.run(
        [sys.executable, "-m", "tests.audit.dying_writer", "orphan"],
        cwd=support.ROOT,
        env=support.child_env(),
        check=True,
        timeout=120,
    )
    assert AuditPending.objects.count() == 1
    assert AuditEntry.objects.count() == before

    _append("next")

    assert sorted(_targets()[before:]) == ["next", "orphan"]
    assert not AuditPending.objects.exists()
    assert list(AuditEntry.objects.values_list("index", flat=True).order_by("index")) == list(
        range(before + 2)
    )


def _integrate(old_size: int, ids: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT * FROM audit_integrate_handed(%s::bigint, %s, %s, %s::bigint[], '{}'::timestamptz[], %s,"
            " %s::bigint[], %s, 10)",
            [old_size, "f" * 64, b"", ids, '{"v":1}', [], b""],
        )


def test_a_batch_built_on_a_head_that_moved_is_refused_whole() -> None:
    _append("first")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditpending (created_at, fields) VALUES (now(), '{}') RETURNING id"
        )
        (pending_id,) = cursor.fetchone()
    size = AuditHead.objects.get().size

    with pytest.raises(DatabaseError, match="no longer at size"):
        _integrate(size - 1, [pending_id])

    assert AuditHead.objects.get().size == size
    assert AuditPending.objects.filter(id=pending_id).exists()
    assert AuditEntry.objects.count() == size


def test_a_batch_naming_a_queue_row_already_taken_is_refused_whole() -> None:
    size = AuditHead.objects.get().size

    with pytest.raises(DatabaseError, match="already taken"):
        _integrate(size, [987_654_321])

    assert AuditHead.objects.get().size == size
    assert AuditEntry.objects.count() == size


@pytest.mark.parametrize("request_id", [None, "0123456789abcdef0123456789abcdef"])
def test_the_filter_columns_say_what_the_entry_says(request_id: str | None) -> None:
    """The statement fills the columns from each entry it writes (parsed once): escapes undone,
    non-ASCII kept, an id over the column's length cut, a missing request id empty, and each column
    from its own entry in a batch of several."""
    target_ids = ['quote " backslash \\ tab \t line \n end', "é ü 日本 🙂", "x" * 800]
    token = request_id_var.set(request_id)
    try:
        with transaction.atomic():  # one batch, queued rows integrated in one statement
            for number, target_id in enumerate(target_ids):
                audit_record(
                    actor=Actor.worker(f"wörker-{number}"),
                    action=AuditAction.USER_CREATE,
                    target=Target.of("user", target_id),
                    data={"actor": {"type": "decoy"}, "target": "decoy"},
                )
    finally:
        request_id_var.reset(token)
    rows = list(AuditEntry.objects.order_by("-index")[: len(target_ids)])[::-1]  # oldest first
    for row in rows:
        entry = json.loads(row.entry)
        assert (row.actor_type, row.actor_id) == (entry["actor"]["type"], entry["actor"]["id"])
        assert row.action == entry["action"] == AuditAction.USER_CREATE.value
        assert (row.target_type, row.target_id) == (entry["target"]["type"], entry["target"]["id"][:700])
        assert row.request_id == (request_id or "")
    assert [row.target_id for row in rows] == [target_ids[0], target_ids[1], "x" * 700]
    assert [row.actor_id for row in rows] == ["wörker-0", "wörker-1", "wörker-2"]
