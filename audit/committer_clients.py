"""What the audit committer (audit/committer.py) reads from its clients, and answers for: frames that
carry an action each (checked by audit/frames.py), and nudges, the empty frames a writer sends after a
transaction of its that queued actions has committed (the wire is in audit/handoff.py).

A nudge is answered once its writer's rows are in the log. The committer reads it after that writer's
commit, so every statement it sends afterwards sees those rows, and every statement it sends reads the
queue: ``audit_integrate_handed`` returns the oldest rows still queued after its write, a peek returns
them and writes nothing. A nudge waits in two steps:
- unread: no statement sent since it was read has answered. The next statement sent reads for it.
- read: that statement's answer is the queue as it then was. Empty, the writer's rows were integrated
  before: the nudge is answered. Shorter than ``SEQUENCE_BATCH`` rows, it is the whole queue, and holds
  them: the nudge waits for the next batch that takes the queue, which takes it all, and is answered
  when that batch commits. A full answer may have left the writer's rows out: the nudge reads again,
  after that batch.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from audit.handoff import ERROR, LENGTH, OK
from audit.sequencing import SEQUENCE_BATCH, Fields


def listen(path: Path) -> socket.socket:
    """The committer's listening socket at ``path``, mode 0600 (a live committer's is refused, a dead
    one's replaced)."""
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


def reply(problem: str) -> bytes:
    """The answer to a frame or a nudge: OK, or ERROR with why not."""
    if not problem:
        return OK
    message = problem.encode()
    return ERROR + LENGTH.pack(len(message)) + message


@dataclass
class Client:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)


@dataclass(frozen=True)
class Frame:
    client: Client
    created_at: datetime | None
    fields: Fields | None  # parsed once, for the sequencer
    problem: str  # empty when the frame may be queued (then neither is None)


@dataclass
class Batch:
    """What one statement in the committer's pipeline answers for."""

    frames: list[Frame]  # the actions it writes, and refused frames answered after it
    reading: list[Client] = field(default_factory=list)  # nudges its read of the queue is for
    taking: list[Client] = field(default_factory=list)  # nudges answered when it commits: it takes the queue


class Nudges:
    """The nudges not yet answered (see the module docstring)."""

    def __init__(self) -> None:
        self.unread: list[Client] = []
        self.read: list[Client] = []

    def __bool__(self) -> bool:
        return bool(self.unread or self.read)

    def batch(self, frames: list[Frame], *, take_queue: bool) -> Batch:
        """What the next statement sent answers for: it reads the queue for every unread nudge, and when
        it takes the queue (``take_queue``), every read one is answered with it."""
        reading, self.unread = self.unread, []
        taking: list[Client] = []
        if take_queue:
            taking, self.read = self.read, []
        return Batch(frames, reading, taking)

    def looked(self, reading: list[Client], queued: int) -> list[Client]:
        """A statement sent after the nudges ``reading`` found ``queued`` rows in the queue; the nudges
        that may be answered now."""
        if queued == 0:  # an empty queue: every nudge read before it is done too
            done, self.read = reading + self.read, []
            return done
        if queued < SEQUENCE_BATCH:
            self.read += reading
        else:
            self.unread += reading
        return []

    def take_all(self) -> list[Client]:
        """Every nudge not yet answered, forgotten here."""
        every = self.unread + self.read
        self.unread, self.read = [], []
        return every
