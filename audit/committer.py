"""The audit committer: group commit for actions recorded outside any transaction (``manage.py
audit_committer``; the wire and the client are in audit/handoff.py).

One loop, one database connection. It reads every frame its clients have sent and checks each. Then,
holding the sequencer lock (audit.sequencing), it writes those that pass straight into the log, after
the rows other writers queued meanwhile, in one statement (``audit_integrate_handed``: one commit for
all of them), and answers every client. While it writes, the next frames gather, so the busier the
writers the more actions each commit carries; each action is in the log before its writer's call
returns. It keeps the lock while frames keep coming, and releases it (audit_sequencer_release, which
looks at the queue once more) after ``HOLD_IDLE_SECONDS`` without any. When another session holds the
lock, the frames are queued instead in one ``audit_append`` statement, for that session to integrate,
as a writer queues its own.

A frame that could stall the log is refused with a message, never written: fields that are not one JSON
object with the members every entry has, or that the sequencer could not turn into an entry.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import DatabaseError, connection

from audit.handoff import ERROR, HELLO, LENGTH, MAX_FRAME, OK, database_identity
from audit.sequencing import Held, append_postgres, entry_bytes, hold, release, write
from audit.services import audit_sequence

logger = logging.getLogger(__name__)

HOLD_IDLE_SECONDS = 0.02
_TEXT_MEMBERS = ("timestamp", "action")
_REFERENCES = ("actor", "target")


@dataclass
class _Client:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)


@dataclass(frozen=True)
class _Frame:
    client: _Client
    created_at: datetime | None
    fields_text: str
    problem: str  # empty when the frame may be queued


def check_frame(payload: bytes) -> tuple[datetime | None, str, str]:
    """``(created_at, fields_text, problem)`` for one frame's payload; ``problem`` is empty when it may
    be queued."""
    try:
        stamp, fields_text = payload.decode("utf-8").split("\n", 1)
        created_at = datetime.fromisoformat(stamp)
    except ValueError:
        return None, "", "a frame is 'created_at (ISO 8601) newline fields (JSON)' in UTF-8"
    if created_at.tzinfo is None:
        return None, "", "created_at needs a UTC offset"
    try:
        _entry, fields = entry_bytes(0, "0" * 64, fields_text)  # what the sequencer will do with them
    except (ValueError, TypeError, RecursionError) as exc:
        if not fields_text.lstrip().startswith("{"):
            return None, "", "the fields must be one JSON object"
        return None, "", f"the fields cannot become an entry: {exc}"
    missing = [name for name in _TEXT_MEMBERS if not isinstance(fields.get(name), str)]
    missing += [] if isinstance(fields.get("request_id", ""), str | None) else ["request_id"]
    missing += [
        name
        for name in _REFERENCES
        if not (
            isinstance(fields.get(name), dict)
            and isinstance(fields[name].get("type"), str)
            and isinstance(fields[name].get("id"), str)
        )
    ]
    if missing:
        return None, "", f"the fields lack {', '.join(missing)} (or have them of the wrong type)"
    return created_at, fields_text, ""


class Committer:
    """Serve ``path`` until :meth:`stop`; see the module docstring."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stopping = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._listener = self._listen(path)
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._held: Held | None = None
        self.committed = 0

    @staticmethod
    def _listen(path: Path) -> socket.socket:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(path))
            except OSError:
                path.unlink()  # left by a committer that died
            else:
                raise RuntimeError(f"another audit committer is serving {path}")
            finally:
                probe.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # the socket file is created 0600: only this service's user connects
        try:
            listener.bind(str(path))
        finally:
            os.umask(old_umask)
        listener.listen(128)
        listener.setblocking(False)
        return listener

    def stop(self) -> None:
        self._stopping.set()

    def serve(self) -> None:
        try:
            while not self._stopping.is_set():
                frames = self._gather(timeout=HOLD_IDLE_SECONDS if self._held else 0.2)
                if frames:
                    self._commit(frames)
                elif self._held is not None:
                    self._idle()
        finally:
            if self._held is not None:
                self._release()
            self._close()

    def _gather(self, timeout: float) -> list[_Frame]:
        """Every complete frame that has arrived, waiting up to ``timeout`` for the first."""
        frames: list[_Frame] = []
        for key, _events in self._selector.select(timeout):
            if key.fileobj is self._listener:
                self._accept()
                continue
            client: _Client = key.data
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
            identity = database_identity()
        except DatabaseError:
            connection.close()
            sock.close()  # the writer queues its action itself (and meets the same database error)
            return
        sock.sendall(HELLO + LENGTH.pack(len(identity)) + identity)
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, _Client(sock))

    def _frames(self, client: _Client) -> list[_Frame]:
        frames: list[_Frame] = []
        buffer = client.buffer
        while len(buffer) >= LENGTH.size:
            (length,) = LENGTH.unpack_from(buffer)
            if length > MAX_FRAME:
                self._answer(client, f"a frame is at most {MAX_FRAME} bytes, not {length}")
                self._forget(client)
                return frames
            if len(buffer) < LENGTH.size + length:
                break
            payload = bytes(buffer[LENGTH.size : LENGTH.size + length])
            del buffer[: LENGTH.size + length]
            frames.append(_Frame(client, *check_frame(payload)))
        return frames

    def _commit(self, frames: list[_Frame]) -> None:
        good = [frame for frame in frames if not frame.problem]
        failure = ""
        queued = False
        if good:
            try:
                queued = self._write(good)
            except DatabaseError as exc:
                self._lose_connection()
                failure = f"the database refused the batch: {exc}"
                logger.error("audit committer: %s", failure)
            else:
                self.committed += len(good)
        for frame in frames:
            self._answer(frame.client, frame.problem or failure)
        if queued:
            self._sequence()

    def _write(self, frames: list[_Frame]) -> bool:
        """Write ``frames`` into the log holding the lock: False. When another session holds it, queue
        them for that session: True when it let go meanwhile, and ours to sequence after answering."""
        with connection.cursor() as cursor:
            if self._held is None:
                self._held = hold(cursor)
            if self._held is None:
                return append_postgres(
                    [frame.created_at for frame in frames], [frame.fields_text for frame in frames]
                )
            write(cursor, self._held, [(frame.created_at, frame.fields_text) for frame in frames])
            return False

    def _idle(self) -> None:
        """No frame for a while: integrate what others queued, or let the lock go."""
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
        self._held = None
        connection.close()

    def _sequence(self) -> None:
        try:
            audit_sequence()
        except DatabaseError:
            # The rows are committed; the next writer's try, or the periodic checkpoint task, integrates
            # them.
            self._lose_connection()
            logger.exception("audit committer: sequencing failed")

    def _answer(self, client: _Client, problem: str) -> None:
        if problem:
            message = problem.encode()
            reply = ERROR + LENGTH.pack(len(message)) + message
        else:
            reply = OK
        try:
            client.sock.send(reply)  # a writer reads each answer before its next frame: never a full buffer
        except OSError:
            self._forget(client)

    def _forget(self, client: _Client) -> None:
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
