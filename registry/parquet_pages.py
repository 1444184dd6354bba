"""The page headers of a Parquet column chunk, read without decompressing anything (Django-free).

A column chunk's ``total_uncompressed_size`` in the footer is the writer's word; the reader allocates
each page by the ``uncompressed_page_size`` of its own header. ``chunk_page_sizes`` walks the headers
(Thrift compact protocol, Parquet format ``PageHeader``: field 2 uncompressed_page_size, field 3
compressed_page_size) from the chunk's first page to its end, so a footer that understates its pages
is caught before any page is decompressed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any, Final

HEADER_READ: Final = 1024
MAX_HEADER: Final = 1024**2  # a page header is a few dozen bytes; statistics may add some

# Thrift compact protocol type ids.
_BOOL_TRUE, _BOOL_FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)


class BadPageHeader(ValueError):
    pass


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise EOFError
        value = self.data[self.at]
        self.at += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            value = self.byte()
            result |= (value & 0x7F) << shift
            if not value & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise BadPageHeader("a varint longer than 64 bits")

    def zigzag(self) -> int:
        value = self.varint()
        return (value >> 1) ^ -(value & 1)

    def skip(self, count: int) -> None:
        if count < 0 or self.at + count > len(self.data):
            raise EOFError
        self.at += count


_FIXED: Final = {_BOOL_TRUE: 0, _BOOL_FALSE: 0, _BYTE: 1, _DOUBLE: 8}  # a struct field's bool is in its type
_VARINT: Final = (_I16, _I32, _I64)


def _skip(cursor: _Cursor, kind: int, depth: int) -> None:
    if depth > 32:
        raise BadPageHeader("page header nested too deep")
    if kind in _FIXED:
        cursor.skip(_FIXED[kind])
    elif kind in _VARINT:
        cursor.varint()
    elif kind == _BINARY:
        cursor.skip(cursor.varint())
    elif kind in (_LIST, _SET, _MAP):
        _skip_collection(cursor, kind, depth + 1)
    elif kind == _STRUCT:
        _struct(cursor, depth + 1)
    else:
        raise BadPageHeader(f"unknown Thrift type {kind}")


def _skip_collection(cursor: _Cursor, kind: int, depth: int) -> None:
    if kind == _MAP:
        size = cursor.varint()
        types = cursor.byte() if size else 0
        kinds: tuple[int, ...] = (types >> 4, types & 0x0F)
    else:
        head = cursor.byte()
        size = head >> 4 if head >> 4 != 15 else cursor.varint()
        kinds = (head & 0x0F,)
    if size * len(kinds) > len(cursor.data) - cursor.at:
        raise EOFError  # every element takes at least a byte: a size past the data is not believed
    for _ in range(size):
        for element in kinds:
            if element in (_BOOL_TRUE, _BOOL_FALSE):
                cursor.skip(1)  # inside a collection a bool is a byte of its own
            else:
                _skip(cursor, element, depth)


def _struct(cursor: _Cursor, depth: int, wanted: dict[int, int] | None = None) -> None:
    field = 0
    while True:
        head = cursor.byte()
        if head == 0:
            return
        kind = head & 0x0F
        field = field + (head >> 4) if head >> 4 else cursor.zigzag()
        if wanted is not None and field in (2, 3) and kind == _I32:
            wanted[field] = cursor.zigzag()
        else:
            _skip(cursor, kind, depth)


def page_header(data: bytes) -> tuple[int, int, int]:
    """(header length, uncompressed_page_size, compressed_page_size) of the header ``data`` starts with;
    EOFError when ``data`` ends before the header does."""
    cursor = _Cursor(data)
    sizes: dict[int, int] = {}
    _struct(cursor, 0, sizes)
    if 2 not in sizes or 3 not in sizes or sizes[2] < 0 or sizes[3] < 0:
        raise BadPageHeader("a page header without its sizes")
    return cursor.at, sizes[2], sizes[3]


def chunk_page_sizes(handle: IO[bytes] | Any, start: int, length: int) -> Iterator[int]:
    """The uncompressed size of each page of the column chunk at ``start`` (``length`` bytes)."""
    at, end = start, start + length
    while at < end:
        want = HEADER_READ
        while True:
            handle.seek(at)
            data = handle.read(min(want, end - at))
            try:
                header, uncompressed, compressed = page_header(data)
                break
            except EOFError:
                if want >= MAX_HEADER or len(data) < want:
                    raise BadPageHeader("a page header runs past its column chunk") from None
                want *= 4
        yield uncompressed
        at += header + compressed
