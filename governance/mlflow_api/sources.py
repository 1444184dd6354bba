"""Fetching a model version's source bytes, when the source is one we can reach, to hash and keep them.

Reachable means a regular file on this host (a path or ``file://`` URI) or an ``http(s)`` URL on the
loopback address (``127.0.0.1``, ``localhost``, ``[::1]``): an artifact server beside us. Anything else
(``s3://``, ``runs:/``, a directory, a remote host, a file that is gone) is recorded as the client sent
it, unverified: the server never reaches out to arbitrary hosts on a client's say-so (SSRF), and
never reads its own files (the code, ``VAR_DIR`` with its keys, the audit store) or the kernel's.
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Final
from urllib.parse import unquote, urlparse

from django.conf import settings

SYSTEM_DIRS: Final = ("/etc", "/proc", "/sys", "/dev", "/root", "/var/run", "/run")
LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})
FETCH_TIMEOUT_SECONDS: Final = 10


def _local_path(source: str) -> Path | None:
    parsed = urlparse(source)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and source.startswith("/"):
        return Path(source)
    return None


def _readable(path: Path) -> bool:
    resolved = path.resolve()
    own = [Path(settings.BASE_DIR), Path(settings.VAR_DIR), Path(settings.AUDIT_STORE_DIR)]
    forbidden = [*(directory.resolve() for directory in own), *(Path(name) for name in SYSTEM_DIRS)]
    return resolved.is_file() and not any(resolved.is_relative_to(directory) for directory in forbidden)


def _loopback_url(source: str) -> bool:
    parsed = urlparse(source)
    return parsed.scheme in ("http", "https") and (parsed.hostname or "") in LOOPBACK


@contextmanager
def source_open(source: str) -> Iterator[IO[bytes] | None]:
    """The source's bytes as a stream, or None when the source is not one we fetch (or not there)."""
    path = _local_path(source)
    if path is not None:
        if not _readable(path):
            yield None
            return
        with path.open("rb") as handle:
            yield handle
        return
    if _loopback_url(source):
        try:
            response = urllib.request.urlopen(source, timeout=FETCH_TIMEOUT_SECONDS)  # noqa: S310 (loopback http(s) only)
        except (OSError, ValueError):
            yield None
            return
        with contextlib.closing(response):
            yield response
        return
    yield None
