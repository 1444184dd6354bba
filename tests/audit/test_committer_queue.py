"""Actions recorded in a transaction, with the audit committer running: the writer's rows are queued
with its change, and after the commit the committer, not the writer, integrates them (the writer sends
a nudge, audit/handoff.py). When the call returns they are in the log; when the committer cannot say
so, the writer sequences as it would without one, and nothing is lost or written twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.db import transaction
from django.test import override_settings

from audit import handoff
from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEntry, AuditPending
from audit.sequencing import SEQUENCE_BATCH, SEQUENCER_LOCK_KEY
from audit.services import Target, audit_record, audit_sequence
from tests import support
from tests.audit.committer_support import fake_committer, raw_client
from tests.audit.writers import assert_gapless_and_verified

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = "queue-test"


def _record(target: str) -> None:
    audit_record(actor=Actor.worker(ACTOR), action=AuditAction.USER_CREATE, target=Target.of("user", target))


def _targets() -> list[str]:
    return list(
        AuditEntry.objects.filter(actor_id=ACTOR).order_by("index").values_list("target_id", flat=True)
    )


@pytest.fixture
def writer_never_sequences(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process may not run the sequencer itself: what it recorded must reach the log another way."""

    def refuse(**_kwargs: object) -> int:
        raise AssertionError("the writer sequenced the queue itself")

    monkeypatch.setattr("audit.services.audit_sequence", refuse)


def test_a_transactions_actions_are_in_the_log_when_its_commit_returns(
    committer: Path, writer_never_sequences: None
) -> None:
    before = AuditEntry.objects.count()
    for number in range(3):
        with transaction.atomic():
            _record(f"tx-{number}-a")
            _record(f"tx-{number}-b")
        # No waiting: the committer answered the nudge after the rows were written.
        assert _targets()[-2:] == [f"tx-{number}-a", f"tx-{number}-b"]
        assert not AuditPending.objects.exists()
    assert_gapless_and_verified(6, before)


def test_one_nudge_per_transaction_however_many_actions_it_queued(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    with fake_committer(tmp_path / "c.sock", handoff.database_identity(), answer=handoff.OK) as received:
        with transaction.atomic():
            for number in range(5):
                _record(f"five-{number}")
        with transaction.atomic():
            _record("one")
        with transaction.atomic():
            pass  # queued nothing: no nudge
        deadline = time.monotonic() + 10
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert received == [b"", b""]  # the empty frame, once per transaction
    # The stand-in integrated nothing, and said it had: the rows wait, queued, for the next sequencer.
    assert AuditPending.objects.count() == 6
    audit_sequence()
    assert _targets()[-6:] == [f"five-{n}" for n in range(5)] + ["one"]


def test_more_than_a_batch_queued_in_one_transaction_is_all_in_the_log_when_the_commit_returns(
    committer: Path, writer_never_sequences: None
) -> None:
    # The committer reads at most SEQUENCE_BATCH queued rows at a time: a full read may leave the
    # writer's last rows out, so it reads again after the batch it takes, before it answers.
    before = AuditEntry.objects.count()
    count = SEQUENCE_BATCH + 300
    with transaction.atomic():
        for number in range(count):
            _record(f"bulk-{number}")
    assert not AuditPending.objects.exists()
    assert _targets()[-1] == f"bulk-{count - 1}"
    assert_gapless_and_verified(count, before)


def test_a_nudge_from_a_raw_client_is_answered_once_the_queue_is_integrated(committer: Path) -> None:
    # Rows queued by another session's transaction (SQL from another app queues the same way).
    with psycopg.connect(support.test_database_url(), autocommit=True) as other, other.transaction():
        for number in range(3):
            other.execute(
                "SELECT audit_enqueue(now(), %s)",
                [
                    '{"action":"user.create","actor":{"id":"queue-test","type":"worker"},"data":{},'
                    f'"request_id":null,"target":{{"id":"raw-{number}","type":"user"}},'
                    '"timestamp":"2026-12-04T10:00:00.000000Z"}'
                ],
            )
    with raw_client(committer) as client:
        client.sendall(handoff.NUDGE)
        assert handoff.read_exact(client, 1) == handoff.OK
        assert _targets()[-3:] == ["raw-0", "raw-1", "raw-2"]
        client.sendall(handoff.NUDGE)  # nothing queued: answered as well
        assert handoff.read_exact(client, 1) == handoff.OK
    assert not AuditPending.objects.exists()


def test_while_another_session_sequences_the_nudge_leaves_the_rows_to_it(committer: Path) -> None:
    _record("warm")  # the committer lets the lock go after 20 ms idle
    time.sleep(0.5)
    with psycopg.connect(support.test_database_url(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [SEQUENCER_LOCK_KEY])
        with transaction.atomic():
            _record("left-to-the-holder")
        # The committer could not take the lock and said so; the writer's own try failed too.
        assert "left-to-the-holder" not in _targets()
        assert AuditPending.objects.count() == 1
        (queue_left,) = holder.execute("SELECT audit_sequencer_release(%s)", [SEQUENCER_LOCK_KEY]).fetchone()
    assert queue_left is True
    audit_sequence()
    assert _targets()[-1] == "left-to-the-holder"


def test_a_committer_that_refuses_nudges_leaves_the_writer_to_sequence(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    # A committer from before nudges refuses the empty frame as malformed: the writer sequences itself.
    refusal = handoff.ERROR + handoff.LENGTH.pack(9) + b"malformed"
    with fake_committer(tmp_path / "c.sock", handoff.database_identity(), answer=refusal) as received:
        with transaction.atomic():
            _record("sequenced-by-the-writer")
        assert _targets()[-1] == "sequenced-by-the-writer"
        with transaction.atomic():
            _record("and-again")  # the connection is still good for the next nudge
        assert _targets()[-1] == "and-again"
    assert received == [b"", b""]
    assert not AuditPending.objects.exists()


def test_a_committer_silent_after_a_nudge_costs_the_timeout_and_the_writer_sequences(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    # Unlike a handed action, a nudge that goes unanswered fails nothing: the rows were committed with
    # the change, so the call returns, and its writer integrates them.
    silent = threading.Event()
    identity = handoff.database_identity()
    with (
        override_settings(AUDIT_COMMITTER_TIMEOUT_SECONDS=1),
        fake_committer(tmp_path / "c.sock", identity, answer=None, hang=silent) as received,
    ):
        started = time.monotonic()
        with transaction.atomic():
            _record("after-the-silence")
        waited = time.monotonic() - started
        silent.set()
    assert 0.9 <= waited < 10
    assert received == [b""]
    assert _targets()[-1] == "after-the-silence"
    assert not AuditPending.objects.exists()
