"""Batches written into the log without waiting for the previous batch's commit (used by the audit
committer, audit/committer.py, while it holds the sequencer lock).

One connection in libpq's pipeline mode: each batch is one ``audit_integrate_handed`` statement
followed by a Sync, so it is a transaction of its own, and the server runs them in the order sent. The
committer builds the next batch on the head the previous one will leave, and sends it while that one
commits; while the server works, the committer answers the writers of the batch before and reads the
frames of the batch after. A batch is durable when its Sync's answer arrives (the server commits at the
Sync, after the statement's rows), so that, not the rows, completes it.

Nothing forks the log: every batch names the head size it was built on, and the statement refuses one
whose head is not there (audit_integrate_handed.sql). So when a batch fails, every batch sent after it
fails too, and the committer answers their writers with the error and starts again on a new connection.
Only the first batch sent while nothing is in flight takes rows from the queue; the others carry
handed actions only, so no queued row is ever taken twice. A peek (``QUEUE_SQL``) reads the queue and
writes nothing: the committer sends one for writers waiting on rows they queued when it has no batch
to send (audit/committer_clients.py).
"""

from __future__ import annotations

import select
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import OperationalError, pq

from audit.sequencing import INTEGRATE_SQL, SEQUENCE_BATCH

_STATEMENT = b"audit_integrate_handed_pipelined"
_PARAMETERS = INTEGRATE_SQL.count("%s")
_PEEK = b"audit_queue_peek_pipelined"
# The oldest rows queued, as audit_integrate_handed returns them after its write (by the primary key:
# the queue churns, and a sequential scan would walk its dead rows).
QUEUE_SQL = "SELECT id, created_at, fields FROM audit_auditpending ORDER BY id LIMIT $1"
MAX_IN_FLIGHT = 2  # batches sent and not yet committed


def batch_due(in_flight: list[int], waiting: int) -> bool:
    """Whether to send the ``waiting`` frames now, with batches of ``in_flight`` frames each sent and
    not yet committed (oldest first).

    With nothing in flight, at once. Behind a batch, only once at least as many frames wait as it
    carries: the database runs a batch only after the one before has committed, so a batch sent
    sooner would not start sooner, it would only be smaller. Small batches cost a commit each, and on
    two cores that commit's fixed work (the statement's set-up, the WAL write and its flush) competes
    with the writers; sent this way, a batch takes every writer that came back while the one before
    it ran. A writer never waits for more than that batch: when it commits, whatever waits is sent.
    """
    if not in_flight:
        return True
    return len(in_flight) < MAX_IN_FLIGHT and waiting >= in_flight[-1]


def _text(value: Any) -> bytes:
    """A parameter in PostgreSQL's text format (the statement casts each one)."""
    if isinstance(value, bytes):
        return b"\\x" + value.hex().encode()
    if isinstance(value, list):
        return ("{" + ",".join(_element(item) for item in value) + "}").encode()
    return str(value).encode()


def _element(value: Any) -> str:
    if isinstance(value, datetime):
        return f'"{value.isoformat()}"'
    return str(int(value))


@dataclass
class Sent:
    """One batch: what the caller attached to it, and once complete, the rows still queued or the error."""

    tag: Any
    rows: list[tuple[int, str, str]] = field(default_factory=list)
    error: str = ""


class Pipeline:
    """``audit_integrate_handed`` statements on ``pgconn`` (idle, autocommit, holding the sequencer lock)
    sent without waiting; :meth:`completed` hands them back in order."""

    def __init__(self, pgconn: pq.abc.PGconn, *, prepare: bool) -> None:
        """``prepare``: the statement is not yet prepared on this connection (once per connection)."""
        self.pgconn = pgconn
        self.in_flight: deque[Sent] = deque()
        if prepare:
            sql = INTEGRATE_SQL
            for number in range(1, _PARAMETERS + 1):
                sql = sql.replace("%s", f"${number}", 1)
            for name, text in ((_STATEMENT, sql), (_PEEK, QUEUE_SQL)):
                prepared = pgconn.prepare(name, text.encode())
                if prepared.status != pq.ExecStatus.COMMAND_OK:
                    raise OperationalError(prepared.get_error_message())
        pgconn.enter_pipeline_mode()
        self._socket = int(pgconn.socket)  # kept: a lost connection no longer tells it

    def fileno(self) -> int:
        return self._socket

    def send(self, params: list[Any], tag: Any) -> None:
        self._send(_STATEMENT, [_text(value) for value in params], tag)

    def peek(self, tag: Any) -> None:
        """Read the queue (its oldest ``SEQUENCE_BATCH`` rows), write nothing; completes like a batch."""
        self._send(_PEEK, [str(SEQUENCE_BATCH).encode()], tag)

    def _send(self, statement: bytes, params: list[bytes], tag: Any) -> None:
        self.pgconn.send_query_prepared(statement, params)
        self.pgconn.pipeline_sync()
        while self.pgconn.flush():  # non-blocking connection: wait until the server can take the rest
            select.select([], [self.fileno()], [])
        self.in_flight.append(Sent(tag))

    def completed(self) -> list[Sent]:
        """The batches whose commit has been answered since the last call, in the order sent
        (``OperationalError`` when the connection broke: nothing in flight can be vouched for)."""
        self.pgconn.consume_input()
        done: list[Sent] = []
        while self.in_flight and not self.pgconn.is_busy():
            result = self.pgconn.get_result()
            if result is None:
                continue  # the end of one statement's results
            front = self.in_flight[0]
            status = result.status
            if status == pq.ExecStatus.TUPLES_OK:
                front.rows = [
                    (int(result.get_value(row, 0) or 0), _str(result, row, 1), _str(result, row, 2))
                    for row in range(result.ntuples)
                ]
            elif status == pq.ExecStatus.PIPELINE_SYNC:
                done.append(self.in_flight.popleft())
            elif status == pq.ExecStatus.PIPELINE_ABORTED:
                front.error = front.error or "aborted after an earlier error"
            else:
                front.error = result.get_error_message() or f"unexpected result {pq.ExecStatus(status).name}"
        return done

    def wait(self, timeout: float) -> None:
        """Until the server has sent something, or ``timeout``."""
        select.select([self.fileno()], [], [], timeout)

    def close(self) -> None:
        """Leave pipeline mode (nothing may be in flight); the connection is usable as before."""
        self.pgconn.exit_pipeline_mode()


def _str(result: pq.abc.PGresult, row: int, column: int) -> str:
    value = result.get_value(row, column)
    return "" if value is None else bytes(value).decode()
