"""Handing an action recorded outside any transaction to the audit committer (audit/committer.py).

The committer is one process per database. Holding the sequencer lock, it writes every action its
clients handed it since its last statement into the log in one statement, and answers each client once
that statement has committed (when another session holds the lock, it queues them for that session
instead, in one statement too). So a call that returns has its action durably recorded, as when the
writer queues it itself (``audit.sequencing.append_postgres``), but eight writers spend one commit
between them instead of eight: the group commit that lets the log take more appends than the database
takes commits.

The wire, over a Unix socket (``AUDIT_COMMITTER_SOCKET``; the file's mode, 0600, is the access control,
as the database password is the writers' own):
- on connect the committer sends ``b"H"``, a 4-byte big-endian length and the JSON of the database it
  writes to (``database_identity``); a client whose own connection reaches another database, or another
  server, hangs up and queues its actions itself;
- a client sends one frame per action: a 4-byte big-endian length, then UTF-8 ``created_at`` (ISO 8601 with
  offset), a newline and the fields' canonical JSON (what ``audit_record`` would queue);
- the committer answers each frame, in order: ``b"\\x00"`` when it has committed, or ``b"E"``, a 4-byte
  length and a UTF-8 message when it refused or failed;
- an empty frame (the length 0, nothing after it) asks the committer to integrate the queue: the rows a
  writer's transaction queued (``audit_record`` inside a transaction), sent once that transaction has
  committed. The committer answers ``b"\\x00"`` once every row committed before it read the frame is in
  the log, or ``b"E"`` and a message when it cannot say so (another session holds the sequencer lock, a
  batch failed, it is stopping); the writer then sequences the queue itself, as it would without a
  committer. Either way the rows were durably queued with the writer's change, so nothing is lost or
  written twice. A client that sends frames without waiting for answers gets a nudge's answer when the
  queue is integrated, not in its frames' order; ``hand_queue`` always waits.

A writer falls back to queuing its action itself only when nothing was handed off (no socket configured,
nobody listening, another database, a connection that broke before the committer could read a byte).
Once a frame may have reached the committer, a missing answer raises :class:`AuditUnavailable`: the action
may or may not be in the log, so the caller fails rather than report an action it cannot vouch for, and
never appends it twice.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection

HELLO, OK, ERROR = b"H", b"\x00", b"E"
LENGTH = struct.Struct(">I")
NUDGE = LENGTH.pack(0)  # the empty frame: integrate the queue
MAX_FRAME = 1 << 20  # far above any entry's fields (a target id is at most 700 characters)
RETRY_AFTER_SECONDS = 1.0  # after finding nobody listening, queue directly for this long before looking again
IDENTITY_SQL = "SELECT current_database(), current_setting('port'), pg_postmaster_start_time()::text"


class AuditUnavailable(Exception):
    """An action was handed to the audit committer and no answer says it was recorded."""


def database_identity() -> bytes:
    """The database this process's default connection writes to: its name, the server's port and start
    time (a restarted or different server differs), as the committer's hello carries it."""
    with connection.cursor() as cursor:
        cursor.execute(IDENTITY_SQL)
        name, port, started = cursor.fetchone()
    return json.dumps({"database": name, "port": port, "started": started}, sort_keys=True).encode()


def encode_frame(created_at: datetime, fields_text: str) -> bytes:
    payload = f"{created_at.isoformat()}\n{fields_text}".encode()
    return LENGTH.pack(len(payload)) + payload


def read_exact(sock: socket.socket, count: int) -> bytes:
    """``count`` bytes from a blocking socket; ``ConnectionError`` at end of stream."""
    chunks, missing = [], count
    while missing:
        chunk = sock.recv(missing)
        if not chunk:
            raise ConnectionError("the audit committer closed the connection")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def read_message(sock: socket.socket) -> bytes:
    (length,) = LENGTH.unpack(read_exact(sock, LENGTH.size))
    if length > MAX_FRAME:
        raise ConnectionError(f"the audit committer sent a {length}-byte message")
    return read_exact(sock, length)


@dataclass
class _Link:
    sock: socket.socket
    pid: int


class _State(threading.local):
    link: _Link | None = None
    down_until: float = 0.0


_state = _State()


def _set_timeout(sock: socket.socket, seconds: float) -> None:
    """Every send and receive on ``sock`` fails (``OSError``, EAGAIN) after ``seconds`` without progress.

    The kernel's own timeouts (SO_SNDTIMEO, SO_RCVTIMEO; a Unix socket's connect honours the first) on a
    blocking socket, not ``settimeout``: with that, Python polls the socket before every call, a system
    call more per send and per receive on the path every append outside a transaction takes."""
    whole = int(seconds)
    interval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, interval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, interval)


def _open(path: str) -> _Link | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _set_timeout(sock, settings.AUDIT_COMMITTER_TIMEOUT_SECONDS)
    try:
        sock.connect(path)
        if read_exact(sock, 1) != HELLO or read_message(sock) != database_identity():
            raise ConnectionError("the audit committer writes to another database")
    except OSError:
        sock.close()
        _state.down_until = time.monotonic() + RETRY_AFTER_SECONDS
        return None
    return _Link(sock, os.getpid())


def _link() -> _Link | None:
    """This thread's connection to the committer, opened on first use; None when none is reachable."""
    path = settings.AUDIT_COMMITTER_SOCKET
    if not path:
        return None
    link = _state.link
    if link is not None and link.pid == os.getpid():
        return link
    _state.link = None  # a connection inherited through fork() belongs to the parent
    if time.monotonic() < _state.down_until:
        return None
    _state.link = _open(path)
    return _state.link


def _drop() -> None:
    if _state.link is not None:
        _state.link.sock.close()
        _state.link = None


def _sent(frame: bytes) -> _Link | None:
    """The link ``frame`` was sent on; None when no committer is reachable (nothing was sent)."""
    for _attempt in range(2):  # a connection kept from before a committer restart fails on send: reopen once
        link = _link()
        if link is None:
            return None
        try:
            link.sock.sendall(frame)
        except OSError:
            _drop()
            continue
        return link
    return None


def hand_off(created_at: datetime, fields_text: str) -> bool:
    """Hand one action to the committer and wait until it is durably recorded: True. False when no
    committer took it (the caller queues it itself); :class:`AuditUnavailable` when one may have."""
    link = _sent(encode_frame(created_at, fields_text))
    return link is not None and _answer(link)


def hand_queue() -> bool:
    """After a commit that queued actions: ask the committer to integrate the queue and wait until it
    has, True; the rows this session committed are then in the log. False when no committer is reached,
    or it answers that it cannot (the caller sequences the queue itself). Never raises: the rows are
    queued durably either way, and the sequencer takes each once."""
    link = _sent(NUDGE)
    if link is None:
        return False
    try:
        status = read_exact(link.sock, 1)
        if status == ERROR:
            read_message(link.sock)  # why not: the caller's own sequencing tells the rest
        elif status != OK:
            _drop()
    except OSError:  # no answer in time, or the committer went away: nobody can say, so sequence
        _drop()
        return False
    return status == OK


def _answer(link: _Link) -> bool:
    try:
        status = read_exact(link.sock, 1)
        if status == OK:
            return True
        message = read_message(link.sock).decode("utf-8", "replace") if status == ERROR else repr(status)
    except OSError as exc:
        _drop()
        raise AuditUnavailable(f"the audit committer did not confirm the action: {exc}") from exc
    raise AuditUnavailable(f"the audit committer did not record the action: {message}")


def close() -> None:
    """Close this thread's connection (tests; a process exiting closes it anyway)."""
    _drop()
    _state.down_until = 0.0
