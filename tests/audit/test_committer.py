"""The audit committer (``manage.py audit_committer``): group commit for actions recorded outside any
transaction. A call that returns has its action in the log; one the committer may have taken and did not
confirm fails; nothing is appended twice, nothing is left behind, and a frame that could stall the log is
refused."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import override_settings

from audit import handoff
from audit.actions import AuditAction
from audit.actors import Actor
from audit.management.commands.audit_committer import APPLICATION_NAME
from audit.models import AuditEntry, AuditPending
from audit.sequencing import SEQUENCER_LOCK_KEY
from audit.services import Target, audit_record, audit_sequence
from tests import support
from tests.audit.committer_support import fake_committer, raw_client, run_committer
from tests.audit.writers import assert_each_append_once, assert_gapless_and_verified, run_writers

pytestmark = pytest.mark.django_db(transaction=True)


def _record(target: str, actor: str = "committer-test") -> None:
    audit_record(actor=Actor.worker(actor), action=AuditAction.USER_CREATE, target=Target.of("user", target))


def _targets(actor: str = "committer-test") -> list[str]:
    return list(
        AuditEntry.objects.filter(actor_id=actor).order_by("index").values_list("target_id", flat=True)
    )


def _payload(fields: object, created_at: str = "2026-12-03T10:00:00+00:00") -> bytes:
    text = fields if isinstance(fields, str) else json.dumps(fields)
    return f"{created_at}\n{text}".encode()


def _frame(payload: bytes) -> bytes:
    return handoff.LENGTH.pack(len(payload)) + payload


def _fields(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "timestamp": "2026-12-03T10:00:00.000000Z",
        "actor": {"type": "worker", "id": "raw-client"},
        "action": "user.create",
        "target": {"type": "user", "id": "raw"},
        "data": {},
        "request_id": None,
    }
    fields.update(changes)
    return fields


def test_an_action_handed_to_the_committer_is_in_the_log_when_the_call_returns(committer: Path) -> None:
    before = AuditEntry.objects.count()
    for number in range(5):
        _record(f"handed-{number}")
        # No waiting: the committer answered after the entry was written.
        assert _targets()[-1] == f"handed-{number}"
    assert AuditEntry.objects.count() == before + 5
    assert not AuditPending.objects.exists()


def test_the_socket_is_for_the_service_user_only(committer: Path) -> None:
    assert stat.S_ISSOCK(committer.stat().st_mode)
    assert stat.S_IMODE(committer.stat().st_mode) == 0o600


def test_eight_processes_through_the_committer_and_in_transactions_leave_a_gapless_log(
    committer: Path, tmp_path: Path
) -> None:
    # Four writers hand their actions to the committer, four record theirs in transactions of their own
    # and queue them: after each commit the writer nudges the committer, which integrates the queue
    # between its batches and answers once the rows are in the log. So when the last writer returns,
    # nothing is left queued.
    before = AuditEntry.objects.count()
    each = 400
    run_writers(8, each, tmp_path, alone=4, env=support.child_env(AUDIT_COMMITTER_SOCKET=str(committer)))
    assert not AuditPending.objects.exists()
    assert_gapless_and_verified(8 * each, before)
    assert_each_append_once(8, each)


def test_while_another_session_sequences_the_committer_queues_for_it(committer: Path) -> None:
    _record("warm")  # the committer holds the lock while busy and lets go after 20 ms idle
    time.sleep(0.5)
    with psycopg.connect(support.test_database_url(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [SEQUENCER_LOCK_KEY])
        _record("queued-for-the-holder")
        assert "queued-for-the-holder" not in _targets()
        assert AuditPending.objects.count() == 1  # durably queued before the call returned
        (queue_left,) = holder.execute("SELECT audit_sequencer_release(%s)", [SEQUENCER_LOCK_KEY]).fetchone()
    assert queue_left is True
    audit_sequence()
    assert _targets()[-1] == "queued-for-the-holder"


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b"not a frame", "created_at"),
        (b"\xff\xfe", "created_at"),
        (_payload(_fields(), created_at="2026-12-03T10:00:00"), "UTC offset"),
        (_payload("[1, 2]"), "one JSON object"),
        (_payload("{not json"), "cannot become an entry"),
        (_payload(_fields(actor="someone")), "lack actor"),
        (_payload(_fields(action=None)), "lack action"),
        (_payload(_fields(request_id=7)), "lack request_id"),
        (
            _payload(json.dumps(_fields()).replace('"data": {}', '"data": {"x": NaN}')),
            "cannot become an entry",
        ),
        (  # an integer beyond I-JSON's range, which only canonical_json would write: it refuses it
            _payload(json.dumps(_fields()).replace('"data": {}', '"data": {"x": 9007199254740993}')),
            "cannot become an entry",
        ),
        # Longer than their columns: the statement would fail, and with it every action in the batch.
        (_payload(_fields(actor={"type": "w" * 17, "id": "raw-client"})), "actor.type (17 > 16)"),
        (_payload(_fields(action="a" * 65)), "action (65 > 64)"),
        (_payload(_fields(request_id="r" * 65)), "request_id (65 > 64)"),
        # Members the log sets itself: the frame's would replace them in the entry, which then claims an
        # index or a previous hash it does not have.
        (_payload(_fields(index=0)), "members the log sets itself: index"),
        (_payload(_fields(prev="0" * 64, v=2)), "members the log sets itself: prev, v"),
    ],
)
def test_a_frame_that_could_stall_the_log_is_refused_and_written_nowhere(
    committer: Path, payload: bytes, problem: str
) -> None:
    before = AuditEntry.objects.count()
    with raw_client(committer) as client:
        client.sendall(_frame(payload))
        assert handoff.read_exact(client, 1) == handoff.ERROR
        assert problem in handoff.read_message(client).decode()
        # The connection stays usable: a good frame after it is written.
        client.sendall(_frame(_payload(_fields())))
        assert handoff.read_exact(client, 1) == handoff.OK
    assert AuditEntry.objects.count() == before + 1
    assert AuditEntry.objects.order_by("-index").values_list("actor_id", flat=True)[0] == "raw-client"
    assert not AuditPending.objects.exists()


def test_frames_sent_without_waiting_are_answered_in_order(committer: Path) -> None:
    # A client may send frames before reading answers; a refused one between two written ones is
    # answered between them, though the written ones may go in batches still committing.
    good = _frame(_payload(_fields()))
    bad = _frame(_payload("[1, 2]"))
    before = AuditEntry.objects.count()
    with raw_client(committer) as client:
        client.sendall(good + bad + good + good + bad)
        answers = []
        for _ in range(5):
            status = handoff.read_exact(client, 1)
            answers.append(status)
            if status == handoff.ERROR:
                handoff.read_message(client)
    assert answers == [handoff.OK, handoff.ERROR, handoff.OK, handoff.OK, handoff.ERROR]
    assert AuditEntry.objects.count() == before + 3


def _committer_backend() -> int | None:
    """The committer's database session, named in pg_stat_activity."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
            [APPLICATION_NAME],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def test_losing_the_database_with_batches_in_flight_fails_only_their_calls(committer: Path) -> None:
    # Writers keep the committer busy, so batches are in flight, committing, when its database session
    # is killed. A call either returns, and its action is in the log, or raises AuditUnavailable (its
    # action may be in the log): nothing is appended twice, the log stays gapless and verified, and the
    # committer serves the next call on a new connection. Two more writers record in transactions and
    # nudge the committer: a nudge lost with the connection fails nothing (the row committed with the
    # change; its writer sequences), and each of their actions ends in the log once.
    before = AuditEntry.objects.count()
    stop = threading.Event()
    outcomes: dict[str, list[str]] = {"returned": [], "unavailable": []}
    in_transactions: list[str] = []

    def keep_committing(name: str) -> None:
        number = 0
        while not stop.is_set():
            with transaction.atomic():
                _record(f"{name}-{number}", actor="under-fire-tx")
            in_transactions.append(f"{name}-{number}")
            number += 1
        handoff.close()
        connection.close()

    def keep_writing(name: str) -> None:
        number = 0
        while not stop.is_set():
            target = f"{name}-{number}"
            try:
                _record(target, actor="under-fire")
            except handoff.AuditUnavailable:
                outcomes["unavailable"].append(target)
            else:
                outcomes["returned"].append(target)
            number += 1
        handoff.close()
        connection.close()

    threads = [threading.Thread(target=keep_writing, args=(f"t{n}",)) for n in range(4)]
    threads += [threading.Thread(target=keep_committing, args=(f"x{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    try:
        killed = 0
        deadline = time.monotonic() + 30
        while killed < 3 and time.monotonic() < deadline:
            time.sleep(0.3)
            pid = _committer_backend()
            if pid is not None:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                killed += 1
        time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert killed == 3
    with raw_client(committer) as client:  # the committer lives on, on a new connection
        client.sendall(_frame(_payload(_fields())))
        assert handoff.read_exact(client, 1) == handoff.OK
    _record("after-the-losses")
    logged = _targets("under-fire")
    assert len(logged) == len(set(logged))  # never twice
    assert set(outcomes["returned"]) <= set(logged)
    assert set(logged) <= set(outcomes["returned"]) | set(outcomes["unavailable"])
    assert len(outcomes["returned"]) > 100
    assert _targets()[-1] == "after-the-losses"
    deadline = time.monotonic() + 30
    while AuditPending.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # rows a writer left to the lock's holder: the committer, idle, lets go and looks
    assert sorted(_targets("under-fire-tx")) == sorted(in_transactions)  # each once
    assert len(in_transactions) > 50
    assert_gapless_and_verified(AuditEntry.objects.count() - before, before)


def test_an_oversized_frame_is_refused_and_the_connection_closed(committer: Path) -> None:
    with raw_client(committer) as client:
        client.sendall(handoff.LENGTH.pack(handoff.MAX_FRAME + 1))
        assert handoff.read_exact(client, 1) == handoff.ERROR
        assert "at most" in handoff.read_message(client).decode()
        assert client.recv(1) == b""


def test_a_second_committer_refuses_the_socket_of_a_live_one(committer: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "audit_committer", "--socket", str(committer)],
        cwd=support.ROOT,
        env=support.child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "another audit committer is serving" in done.stderr
    _record("still-served")
    assert _targets()[-1] == "still-served"


def test_a_restarted_committer_is_reached_again_and_a_stopped_one_leaves_no_socket(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    sock = tmp_path / "committer.sock"
    with override_settings(AUDIT_COMMITTER_SOCKET=str(sock)):
        try:
            with run_committer(sock, tmp_path / "first.log") as first:
                _record("first")
                first.send_signal(signal.SIGTERM)
                assert first.wait(timeout=30) == 0
            assert not sock.exists()
            _record("no-committer")  # nobody listening: queued by the writer itself
            handoff.close()  # forget the one-second pause before looking for a committer again
            with run_committer(sock, tmp_path / "second.log"):
                _record("second")  # the link kept from the first committer is reopened, not an error
        finally:
            handoff.close()
    assert _targets()[-3:] == ["first", "no-committer", "second"]
    assert "stopped after 1 actions" in (tmp_path / "first.log").read_text()
    assert "stopped after 1 actions" in (tmp_path / "second.log").read_text()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
        assert cursor.fetchone()[0] == 0


def test_a_committer_writing_to_another_database_is_not_used(needs_postgres_db: None, tmp_path: Path) -> None:
    other = json.dumps({"database": "someone_elses", "port": "5432", "started": "2026-01-01"}).encode()
    with fake_committer(tmp_path / "c.sock", other, answer=handoff.OK) as received:
        _record("kept-home")
    assert received == []
    assert _targets()[-1] == "kept-home"


def test_a_committer_that_took_the_action_and_did_not_answer_fails_the_call(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    before = AuditEntry.objects.count()
    with fake_committer(tmp_path / "c.sock", handoff.database_identity(), answer=None) as received:
        with pytest.raises(handoff.AuditUnavailable, match="did not confirm"):
            _record("maybe-taken")
        assert len(received) == 1 and b"maybe-taken" in received[0]
    # The writer did not append it itself: it may be in the log already, and never twice.
    assert AuditEntry.objects.count() == before
    assert not AuditPending.objects.exists()


def test_a_committer_that_took_the_action_and_went_silent_fails_the_call_after_the_timeout(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    # The socket's timeouts are the kernel's (SO_RCVTIMEO): a committer that hangs costs the writer
    # AUDIT_COMMITTER_TIMEOUT_SECONDS, never a hang of its own, and the action is not appended by it.
    before = AuditEntry.objects.count()
    silent = threading.Event()
    with (
        override_settings(AUDIT_COMMITTER_TIMEOUT_SECONDS=1),
        fake_committer(
            tmp_path / "c.sock", handoff.database_identity(), answer=None, hang=silent
        ) as received,
    ):
        started = time.monotonic()
        with pytest.raises(handoff.AuditUnavailable, match="did not confirm"):
            _record("in-limbo")
        waited = time.monotonic() - started
        silent.set()
    assert 0.9 <= waited < 10
    assert len(received) == 1 and b"in-limbo" in received[0]
    assert AuditEntry.objects.count() == before
    assert not AuditPending.objects.exists()


def test_a_frame_carries_the_fields_the_writer_would_have_queued(
    needs_postgres_db: None, tmp_path: Path
) -> None:
    with fake_committer(tmp_path / "c.sock", handoff.database_identity(), answer=handoff.OK) as received:
        _record("looked-at")
    created_at, fields = received[0].decode().split("\n", 1)
    assert datetime.fromisoformat(created_at).tzinfo is not None
    assert datetime.fromisoformat(created_at) <= datetime.now(UTC)
    assert json.loads(fields)["target"] == {"type": "user", "id": "looked-at"}


def test_the_committer_needs_a_socket_and_postgresql(db: None) -> None:
    with override_settings(AUDIT_COMMITTER_SOCKET=""), pytest.raises(CommandError, match="no socket"):
        call_command("audit_committer")
    if connection.vendor == "sqlite":
        with pytest.raises(CommandError, match="needs PostgreSQL"):
            call_command("audit_committer", "--socket", os.devnull)
