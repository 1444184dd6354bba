"""Reading an upload or a stored file as a stream of text lines, hashing its bytes on the way."""

from __future__ import annotations

import hashlib
import io
from typing import IO, Any


class HashingReader(io.RawIOBase):
    """A byte stream passed through unchanged while its SHA-256 and size are taken; wraps anything
    with ``read(n)`` (a Django ``File``, an upload, a request body, a storage backend's file)."""

    def __init__(self, source: IO[bytes] | Any) -> None:
        self.source = source
        self.sha256 = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self.source.read(len(buffer))
        if not chunk:
            return 0
        self.sha256.update(chunk)
        self.size += len(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)


def text_lines(reader: HashingReader) -> io.TextIOWrapper:
    """UTF-8 text (a byte-order mark dropped), newlines untranslated as the ``csv`` module wants."""
    return io.TextIOWrapper(io.BufferedReader(reader, 1 << 20), encoding="utf-8-sig", newline="")
