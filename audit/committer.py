"""The audit committer: group commit for audit appends (``manage.py audit_committer``; the wire and the
client are in audit/handoff.py, what it reads and answers for in audit/committer_clients.py, the check
on every frame in audit/frames.py).

One loop, one database connection. It reads every frame its clients have sent and checks each. Then,
holding the sequencer lock (audit.sequencing), it writes those that pass straight into the log, after
the rows other writers queued meanwhile, in one statement (``audit_integrate_handed``: one commit for
all of them), and answers their clients once that statement has committed. It does not wait for that
commit to send the next batch: up to ``MAX_IN_FLIGHT`` batches are in flight on the connection, in
pipeline mode (audit/pipeline.py, which holds that number and the rule below), each built on the head
the one before will leave. So the database commits one batch while the committer answers the writers of
the last and reads the frames of the next, and the busier the writers the more actions each commit
carries; each action is in the log before its writer's call returns. A batch goes behind another only
once it is at least as large (``audit.pipeline.batch_due``): it could not start before that one commits
anyway.

When a batch fails, the batches sent after it fail too (each names the head it was built on), their
writers are told so, and the next batch goes on a new connection. When the connection is lost with
batches in flight, their writers are told the action may not be recorded (``AuditUnavailable`` on their
side): committed or not, nobody can say, and the action is never appended twice.

It keeps the lock while frames keep coming, and releases it (audit_sequencer_release, which looks at
the queue once more) after ``HOLD_IDLE_SECONDS`` without any. When another session holds the lock, the
frames are queued instead in one ``audit_append`` statement, for that session to integrate, as a writer
queues its own. Its database session is named ``audit_committer`` in pg_stat_activity.

A writer whose transaction queued actions sends a nudge once it has committed. The committer takes the
queue with its next batch, or first reads it (a peek, which writes nothing) when the last read is older
than the nudge, and answers once those rows are in the log: such writers never sequence either.
"""

from __future__ import annotations

import logging
import selectors
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection
from psycopg import Error as PsycopgError

from audit.committer_clients import Batch, Client, Frame, Nudges, listen, reply
from audit.frames import check_frame
from audit.handoff import HELLO, LENGTH, MAX_FRAME, database_identity
from audit.pipeline import Pipeline, Sent, batch_due
from audit.sequencing import Held, advance, append_postgres, hold, release, write
from audit.services import audit_sequence

logger = logging.getLogger(__name__)

HOLD_IDLE_SECONDS = 0.02


class Committer:
    """Serve ``path`` until :meth:`stop`; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stopping = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._listener = listen(path)
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._held: Held | None = None
        self._pipeline: Pipeline | None = None  # only while the lock is held
        self._failed = False  # a batch in the pipeline failed: send nothing until it has drained
        self._waiting: list[Frame] = []  # read, not yet sent
        self._nudges = Nudges()
        self._last_frame = 0.0
        self._identity_cache: bytes | None = None
        self._prepared_on: object = None  # the connection the pipelined statement is prepared on
        self.committed = 0

    def stop(self) -> None:
        self._stopping.set()

    def serve(self) -> None:
        try:
            while not self._stopping.is_set():
                self._step()
        finally:
            self._drain()
            if self._waiting:  # frames read before the stop: written, and answered, before leaving
                self._commit(self._waiting)
                self._waiting = []
                self._drain()
            self._answer_all_nudges("the audit committer is stopping")
            self._stop_pipeline()
            if self._held is not None:
                self._release()
            self._close()

    def _step(self) -> None:
        sendable = (bool(self._waiting) and self._may_send()) or self._queue_due()
        busy = self._held is not None
        frames = self._gather(timeout=0 if sendable else HOLD_IDLE_SECONDS if busy else 0.2)
        if frames:
            self._last_frame = time.monotonic()
            self._waiting += frames
        if self._waiting and self._may_send():
            batch, self._waiting = self._waiting, []
            self._commit(batch)
        elif self._queue_due():
            self._serve_queue()
        elif (
            self._held is not None
            and not self._in_flight()
            and time.monotonic() - self._last_frame >= HOLD_IDLE_SECONDS
        ):
            self._idle()

    def _in_flight(self) -> int:
        return len(self._pipeline.in_flight) if self._pipeline is not None else 0

    def _may_send(self) -> bool:
        if self._failed:
            return False
        in_flight = [len(sent.tag.frames) for sent in self._pipeline.in_flight] if self._pipeline else []
        return batch_due(in_flight, len(self._waiting))

    def _queue_due(self) -> bool:
        """Nudges wait, and nothing in flight will read the queue for them."""
        return bool(self._nudges) and not self._failed and not self._in_flight()

    def _gather(self, timeout: float) -> list[Frame]:
        """Every complete frame that has arrived, waiting up to ``timeout`` for the first; batches the
        database has committed meanwhile are answered."""
        frames: list[Frame] = []
        for key, _events in self._selector.select(timeout):
            if key.fileobj is self._listener:
                self._accept()
                continue
            if key.fileobj is self._pipeline:
                self._completed()
                continue
            client: Client = key.data
            try:
                chunk = client.sock.recv(1 << 16)
            except OSError:
                chunk = b""
            if not chunk:  # the writer hung up; a partial frame it leaves is dropped, never queued
                self._forget(client)
                continue
            client.buffer += chunk
            frames += self._frames(client)
        return frames

    def _accept(self) -> None:
        try:
            sock, _address = self._listener.accept()
        except BlockingIOError:
            return
        try:
            identity = self._identity()
        except DatabaseError:
            connection.close()
            sock.close()  # the writer queues its action itself (and meets the same database error)
            return
        sock.sendall(HELLO + LENGTH.pack(len(identity)) + identity)
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, Client(sock))

    def _identity(self) -> bytes:
        """The hello's database identity, read once per connection (read before a pipeline starts:
        in pipeline mode the connection runs nothing else)."""
        if self._identity_cache is None:
            self._identity_cache = database_identity()
        return self._identity_cache

    def _frames(self, client: Client) -> list[Frame]:
        frames: list[Frame] = []
        buffer = client.buffer
        while len(buffer) >= LENGTH.size:
            (length,) = LENGTH.unpack_from(buffer)
            if length > MAX_FRAME:
                self._answer(client, f"a frame is at most {MAX_FRAME} bytes, not {length}")
                self._forget(client)
                return frames
            if len(buffer) < LENGTH.size + length:
                break
            if length == 0:  # a nudge: integrate the queue (audit/committer_clients.py)
                del buffer[: LENGTH.size]
                self._nudges.unread.append(client)
                self._last_frame = time.monotonic()
                continue
            payload = bytes(buffer[LENGTH.size : LENGTH.size + length])
            del buffer[: LENGTH.size + length]
            frames.append(Frame(client, *check_frame(payload)))
        return frames

    def _commit(self, frames: list[Frame]) -> None:
        # The frames that passed the check (exactly those it parsed): one filter, so that no frame is
        # answered as written without being in the batch.
        handed = [(frame.created_at, frame.fields) for frame in frames if frame.fields is not None]
        if not handed:
            if self._pipeline is not None and self._pipeline.in_flight:
                self._pipeline.in_flight[-1].tag.frames += frames  # answered after those sent before them
            else:
                self._answer_all(frames, "")
            return
        try:
            if self._held is None:
                with connection.cursor() as cursor:
                    self._held = hold(cursor)
            if self._held is None:  # another session sequences: queue for it
                queued = append_postgres(
                    [at for at, _fields in handed], [fields.text for _at, fields in handed]
                )
                self._answer_all(frames, "")
                self.committed += len(handed)
                if queued:
                    self._sequence()
                return
            pipeline = self._start_pipeline()
            take_queue = not pipeline.in_flight
            params, _count = advance(self._held, handed, take_queue=take_queue)
            pipeline.send(params, self._nudges.batch(list(frames), take_queue=take_queue))
        except (DatabaseError, PsycopgError) as exc:
            self._answer_all(frames, f"the database refused the batch: {exc}")
            logger.error("audit committer: the database refused a batch: %s", exc)
            self._abandon(f"the connection failed while sending the next batch: {exc}")

    def _serve_queue(self) -> None:
        """Nudges wait and nothing is in flight: take the queue as last read, or read it after them."""
        try:
            if self._held is None:
                with connection.cursor() as cursor:
                    self._held = hold(cursor)
                if self._held is None:
                    self._answer_all_nudges("another session holds the sequencer lock")
                    return
                # hold's look at the queue came after every nudge waiting, read or not.
                self._answer_clients(self._nudges.looked(self._nudges.take_all(), len(self._held.queue)), "")
                if not self._nudges:
                    return
            pipeline = self._start_pipeline()
            if self._held.queue:
                params, _count = advance(self._held, [], take_queue=True)
                pipeline.send(params, self._nudges.batch([], take_queue=True))
            else:
                pipeline.peek(self._nudges.batch([], take_queue=False))
        except (DatabaseError, PsycopgError) as exc:
            self._answer_all_nudges(f"the database refused the batch: {exc}")
            self._abandon(f"the connection failed while sending the next batch: {exc}")

    def _start_pipeline(self) -> Pipeline:
        if self._pipeline is None:
            self._identity()
            pgconn = connection.connection.pgconn
            self._pipeline = Pipeline(pgconn, prepare=pgconn is not self._prepared_on)
            self._prepared_on = pgconn  # kept, so a new connection's is never taken for it
            self._selector.register(self._pipeline, selectors.EVENT_READ)
        return self._pipeline

    def _completed(self) -> None:
        """Answer the writers of every batch the database has committed (or refused)."""
        pipeline = self._pipeline
        if pipeline is None:
            return
        try:
            done = pipeline.completed()
        except PsycopgError as exc:
            self._abandon(f"the connection to the database was lost: {exc}")
            return
        for sent in done:
            self._finish(sent)
        if self._failed and not pipeline.in_flight:
            self._failed = False
            self._lose_connection()  # a new connection, a new look at the head, for the next batch

    def _finish(self, sent: Sent) -> None:
        batch: Batch = sent.tag
        if sent.error:
            self._failed = True
            logger.error("audit committer: the database refused a batch: %s", sent.error)
            self._answer_all(batch.frames, f"the database refused the batch: {sent.error}")
            self._answer_clients(batch.reading + batch.taking, f"the database refused a batch: {sent.error}")
            return
        self.committed += sum(1 for frame in batch.frames if not frame.problem)
        if self._held is not None:
            self._held.queue = sent.rows  # the queue as of this batch, the last the database ran
        self._answer_all(batch.frames, "")
        self._answer_clients(batch.taking + self._nudges.looked(batch.reading, len(sent.rows)), "")

    def _drain(self) -> None:
        """Wait until every batch in flight is answered (the connection is given up after the timeout)."""
        deadline = time.monotonic() + settings.AUDIT_COMMITTER_TIMEOUT_SECONDS
        while self._pipeline is not None and self._pipeline.in_flight:
            if time.monotonic() > deadline:
                self._abandon("the database did not answer in time")
                return
            self._pipeline.wait(0.1)
            self._completed()

    def _abandon(self, reason: str) -> None:
        """Give the connection up with batches in flight: committed or not, nobody can say, so their
        writers are told it failed (their calls raise AuditUnavailable: never appended twice)."""
        in_flight = self._pipeline.in_flight if self._pipeline is not None else []
        for sent in in_flight:
            sent.error = reason
            self._finish(sent)
        self._failed = False
        self._lose_connection()

    def _stop_pipeline(self) -> None:
        """Leave pipeline mode (nothing in flight) so that the connection takes ordinary statements."""
        pipeline = self._drop_pipeline()
        if pipeline is None:
            return
        try:
            pipeline.close()
        except PsycopgError:
            self._lose_connection()

    def _drop_pipeline(self) -> Pipeline | None:
        """Stop watching the pipeline's socket and forget it; the pipeline, if there was one."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            self._selector.unregister(pipeline)
        return pipeline

    def _idle(self) -> None:
        """No frame for a while: integrate what others queued, or let the lock go."""
        self._stop_pipeline()
        held = self._held
        if held is None:
            return
        if not held.queue:
            self._release()
            return
        try:
            with connection.cursor() as cursor:
                write(cursor, held, [])
        except DatabaseError:
            self._lose_connection()
            logger.exception("audit committer: integrating the queue failed")

    def _release(self) -> None:
        try:
            with connection.cursor() as cursor:
                queue_left = release(cursor)
        except DatabaseError:
            self._lose_connection()
            return
        self._held = None
        if queue_left:
            self._sequence()

    def _lose_connection(self) -> None:
        """After a database error: a new connection for the next batch (closing the session also lets
        the sequencer lock go; the next writer, or the periodic checkpoint task, integrates the queue)."""
        self._drop_pipeline()
        self._held = None
        self._identity_cache = None
        connection.close()

    def _sequence(self) -> None:
        try:
            audit_sequence()
        except DatabaseError:
            # The rows are committed; the next writer's try, or the periodic checkpoint task, integrates
            # them.
            self._lose_connection()
            logger.exception("audit committer: sequencing failed")

    def _answer_all(self, frames: list[Frame], failure: str) -> None:
        for frame in frames:
            self._answer(frame.client, frame.problem or failure)

    def _answer_clients(self, clients: list[Client], problem: str) -> None:
        for client in clients:
            self._answer(client, problem)

    def _answer_all_nudges(self, problem: str) -> None:
        """Every nudge waiting is told the committer cannot vouch for its rows (its writer sequences)."""
        self._answer_clients(self._nudges.take_all(), problem)

    def _answer(self, client: Client, problem: str) -> None:
        try:  # a writer reads each answer before its next frame: never a full buffer
            client.sock.send(reply(problem))
        except OSError:
            self._forget(client)

    def _forget(self, client: Client) -> None:
        try:
            self._selector.unregister(client.sock)
        except (KeyError, ValueError):
            return
        client.sock.close()

    def _close(self) -> None:
        for key in list(self._selector.get_map().values()):
            if key.data is not None:
                self._forget(key.data)
        self._selector.unregister(self._listener)
        self._listener.close()
        self.path.unlink(missing_ok=True)
