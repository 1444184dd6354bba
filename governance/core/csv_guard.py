"""CSV read within a line-length limit, counted on the bytes before any parser buffers a line.

``CsvLineGuard`` wraps the byte stream a CSV reader (pandas or the ``csv`` module) reads from. It
counts the bytes of each record (a physical line, or several when a quoted field holds newlines)
chunk by chunk and refuses the file as soon as one passes ``MAX_CSV_LINE_BYTES``: 400
``csv_line_too_long`` naming the limit and the line the record starts on. A parser therefore never
holds more than one chunk past the limit, however long the line in the file.
"""

from __future__ import annotations

import io
from typing import IO, Any

from django.conf import settings

from governance.core.errors import ValidationFailed

QUOTE = b'"'
NEWLINE = b"\n"


class CsvLineTooLong(ValidationFailed):
    code = "csv_line_too_long"


class CsvLineGuard(io.RawIOBase):
    """A byte stream passed through unchanged while each CSV record's length is checked."""

    def __init__(self, source: IO[bytes] | Any, *, limit: int | None = None) -> None:
        self.source = source
        self.limit = int(limit if limit is not None else settings.MAX_CSV_LINE_BYTES)
        self.line = 1  # the physical line being read
        self.start = 1  # the line the current record started on
        self.record = 0  # bytes of the current record so far (newlines inside quotes count)
        self.quoted = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self.source.read(len(buffer))
        if not chunk:
            return 0
        self._scan(bytes(chunk))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def _refuse(self, line: int) -> CsvLineTooLong:
        return CsvLineTooLong(
            f"line {line} is longer than MAX_CSV_LINE_BYTES={self.limit} bytes; split the value or ask the "
            "operator to raise MAX_CSV_LINE_BYTES"
        )

    def _scan(self, chunk: bytes) -> None:
        pieces = chunk.split(NEWLINE)
        if not self.quoted and QUOTE not in chunk:
            # Fast path (no quotes): every newline ends a record.
            if self.record + len(pieces[0]) > self.limit:
                raise self._refuse(self.start)
            if len(pieces) > 2:
                longest = max(range(1, len(pieces) - 1), key=lambda index: len(pieces[index]))
                if len(pieces[longest]) > self.limit:
                    raise self._refuse(self.line + longest)
            if len(pieces) > 1:
                self.line += len(pieces) - 1
                self.start = self.line
                self.record = 0
            self.record += len(pieces[-1])
            if self.record > self.limit:
                raise self._refuse(self.start)
            return
        last = len(pieces) - 1
        for index, piece in enumerate(pieces):
            self.record += len(piece)
            if self.record > self.limit:
                raise self._refuse(self.start)
            if piece.count(QUOTE) % 2:
                self.quoted = not self.quoted
            if index < last:
                self.line += 1
                if self.quoted:
                    self.record += 1  # a newline inside a quoted field belongs to the record
                else:
                    self.start = self.line
                    self.record = 0
