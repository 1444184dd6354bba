"""Reading a Parquet file within limits, so a small file that decodes to gigabytes is refused.

Parquet compresses and run-length encodes: a few kilobytes can declare a hundred million rows, or a
dictionary of one long string repeated on every row. ``parquet_batches`` therefore

1. reads only the footer and the page headers first and refuses the file from them, before any page
   is decompressed: more rows than ``MAX_PARQUET_ROWS``, a row group whose uncompressed size (the
   largest of its own total, its column chunks' totals and the sum of its page headers' sizes, which
   is what the reader allocates: a footer may understate it) is over ``MAX_PARQUET_ROW_GROUP_BYTES``,
   or a file whose row groups add up to more than ``MAX_PARQUET_DECODED_BYTES``;
2. reads one row group at a time in batches of at most ``BATCH_ROWS`` rows, text and binary columns kept
   dictionary-encoded, and computes each batch's size as it would be decoded (a dictionary value counts
   once per row that uses it) BEFORE decoding it: the metadata sizes are the writer's word and count
   the encoded pages, not the values;
3. adds those sizes up per row group and per file against the same limits (and counts the rows again),
   refusing as soon as one passes;
4. hands out the batch decoded, in slices of at most ``SLICE_BYTES``, so a caller's memory stays bounded.

Every refusal is 400 ``parquet_too_large`` naming the limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings

from governance.core.errors import ValidationFailed
from registry.parquet_pages import BadPageHeader, chunk_page_sizes

BATCH_ROWS: Final = 50_000
SLICE_BYTES: Final = 16 * 1024**2


class ParquetTooLarge(ValidationFailed):
    code = "parquet_too_large"


@dataclass(frozen=True)
class ParquetLimits:
    rows: int
    row_group_bytes: int
    file_bytes: int

    @classmethod
    def from_settings(cls) -> ParquetLimits:
        return cls(
            rows=settings.MAX_PARQUET_ROWS,
            row_group_bytes=settings.MAX_PARQUET_ROW_GROUP_BYTES,
            file_bytes=settings.MAX_PARQUET_DECODED_BYTES,
        )


def _over(what: str, amount: int, setting: str, limit: int) -> ParquetTooLarge:
    return ParquetTooLarge(
        f"{what} decodes to {amount} {'rows' if setting == 'MAX_PARQUET_ROWS' else 'bytes'}, over "
        f"{setting}={limit}; split the file or ask the operator to raise {setting}"
    )


def parquet_open(source: str | Any | IO[bytes], *, limits: ParquetLimits | None = None) -> pq.ParquetFile:
    """The file with its metadata checked (step 1); nothing is decompressed."""
    limits = limits or ParquetLimits.from_settings()
    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ValidationFailed(f"the file is not a readable Parquet file: {exc}") from exc
    meta = parquet.metadata
    if meta.num_rows > limits.rows:
        raise _over("the file", meta.num_rows, "MAX_PARQUET_ROWS", limits.rows)
    rows = total = 0
    for index in range(meta.num_row_groups):
        group = meta.row_group(index)
        chunks = sum(group.column(column).total_uncompressed_size for column in range(group.num_columns))
        size = max(group.total_byte_size, chunks, _pages_size(source, group))
        if size > limits.row_group_bytes:
            raise _over(f"row group {index}", size, "MAX_PARQUET_ROW_GROUP_BYTES", limits.row_group_bytes)
        rows += group.num_rows
        total += size
    if rows > limits.rows:
        raise _over("the file", rows, "MAX_PARQUET_ROWS", limits.rows)
    if total > limits.file_bytes:
        raise _over("the file", total, "MAX_PARQUET_DECODED_BYTES", limits.file_bytes)
    return parquet


def _pages_size(source: str | Any | IO[bytes], group: pq.RowGroupMetaData) -> int:
    """The uncompressed bytes the row group's page headers declare (what the reader will allocate)."""
    with ExitStack() as stack:
        handle: Any = source if hasattr(source, "read") else stack.enter_context(Path(source).open("rb"))
        total = 0
        try:
            for index in range(group.num_columns):
                chunk = group.column(index)
                start = chunk.data_page_offset
                if chunk.has_dictionary_page and 0 < (chunk.dictionary_page_offset or 0) < start:
                    start = chunk.dictionary_page_offset
                total += sum(chunk_page_sizes(handle, start, chunk.total_compressed_size))
        except BadPageHeader as exc:
            raise ValidationFailed(f"the file is not a readable Parquet file: {exc}") from exc
        finally:
            if hasattr(source, "read"):
                handle.seek(0)
        return total


def _is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
    )


def decoded_size(batch: pa.RecordBatch) -> int:
    """Bytes ``batch`` takes once its dictionary columns are decoded (offsets and values)."""
    size = 0
    for column in batch.columns:
        if isinstance(column, pa.DictionaryArray) and _is_text(column.type.value_type):
            lengths = pc.binary_length(column.dictionary)
            used = pc.sum(pc.take(lengths, column.indices)).as_py() or 0
            size += int(used) + 8 * len(column)
        else:
            size += column.get_total_buffer_size()
    return size


def _decoded(batch: pa.RecordBatch, text: set[str]) -> pa.RecordBatch:
    """Text columns read as dictionaries only for counting come back as the file has them."""
    columns = [
        column.dictionary_decode() if name in text and isinstance(column, pa.DictionaryArray) else column
        for name, column in zip(batch.schema.names, batch.columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


# long: the numbered steps 2-4 of the module docstring, kept in one loop so the counts stay together.
def parquet_batches(
    source: str | Any | IO[bytes],
    *,
    columns: list[str] | None = None,
    limits: ParquetLimits | None = None,
) -> Iterator[pa.RecordBatch]:
    """The rows of ``source`` as decoded record batches, within ``limits`` (see the module docstring)."""
    limits = limits or ParquetLimits.from_settings()
    parquet = parquet_open(source, limits=limits)
    names = columns if columns is not None else list(parquet.schema_arrow.names)
    text = [field.name for field in parquet.schema_arrow if field.name in names and _is_text(field.type)]
    if text:
        # Reopened so text columns come back as dictionaries: their decoded size is known before
        # they are decoded. The handle is rewound (pyarrow reads the footer from the end anyway).
        if hasattr(source, "seek"):
            source.seek(0)
        parquet = pq.ParquetFile(source, read_dictionary=text)
    rows = total = 0
    for index in range(parquet.metadata.num_row_groups):
        group = 0
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS, row_groups=[index], columns=columns):
            size = decoded_size(batch)
            rows += batch.num_rows
            group += size
            total += size
            if rows > limits.rows:
                raise _over("the file", rows, "MAX_PARQUET_ROWS", limits.rows)
            if group > limits.row_group_bytes:
                raise _over(
                    f"row group {index}", group, "MAX_PARQUET_ROW_GROUP_BYTES", limits.row_group_bytes
                )
            if total > limits.file_bytes:
                raise _over("the file", total, "MAX_PARQUET_DECODED_BYTES", limits.file_bytes)
            step = max(1, batch.num_rows * SLICE_BYTES // max(size, 1))
            for offset in range(0, batch.num_rows, step):
                yield _decoded(batch.slice(offset, step), set(text))


def parquet_schema(source: str | Any | IO[bytes]) -> pa.Schema:
    """The Arrow schema of a checked file (text columns as written, not as dictionaries)."""
    return parquet_open(source).schema_arrow
