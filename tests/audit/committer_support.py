"""Running the audit committer in tests, talking to it raw, and a stand-in for one that misbehaves; the
``committer`` fixture is in tests/audit/conftest.py."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection
from django.test import override_settings

from audit import handoff
from tests import support


@contextmanager
def run_committer(sock: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``manage.py audit_committer`` serving ``sock``, its output in ``log``, until the block ends."""
    command = [sys.executable, "manage.py", "audit_committer", "--socket", str(sock)]
    with support.running(command, support.child_env(), log) as process:
        deadline = time.monotonic() + 60
        while not sock.exists():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        yield process


def raw_client(sock: Path) -> socket.socket:
    """A connection to the committer on ``sock``, past its hello (which names this test's database)."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(30)
    client.connect(str(sock))
    assert handoff.read_exact(client, 1) == handoff.HELLO
    assert json.loads(handoff.read_message(client))["database"] == connection.settings_dict["NAME"]
    return client


@contextmanager
def fake_committer(
    sock: Path, hello: bytes, *, answer: bytes | None, hang: threading.Event | None = None
) -> Iterator[list[bytes]]:
    """A stand-in on ``sock`` that greets with ``hello``, then reads frames (an empty one is a nudge)
    and answers each with ``answer`` until its one client hangs up. With ``answer`` None it reads one
    frame and hangs up, or, given ``hang``, keeps the connection open without a word until it is set.
    Yields the frames' payloads as they arrive."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(sock))
    server.listen(1)
    received: list[bytes] = []

    def serve() -> None:
        client, _ = server.accept()
        with client:
            client.sendall(handoff.HELLO + handoff.LENGTH.pack(len(hello)) + hello)
            while True:
                try:
                    received.append(handoff.read_message(client))
                except OSError:
                    return
                if answer is not None:
                    client.sendall(answer)
                    continue
                if hang is not None:
                    hang.wait(timeout=30)
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with override_settings(AUDIT_COMMITTER_SOCKET=str(sock)):
            yield received
    finally:
        handoff.close()
        server.close()
        thread.join(timeout=10)
