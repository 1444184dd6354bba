"""Rewriting a stored dataset file without one data subject's rows, streamed (CSV or Parquet).

Subject ids are read as ``registry.services.dataset_files`` reads them when profiling (text, stripped)
and compared by keyed hash, so the rows removed are exactly the rows the dataset version recorded for
the subject. Every other value is copied as text (CSV) or as typed data (Parquet), unchanged.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from governance.consent.streams import HashingReader, text_lines
from governance.consent.subjects import SUBJECT_DOMAIN
from governance.core.csv_guard import CsvLineGuard
from governance.core.errors import Conflict
from governance.core.pseudonyms import keyed_hash
from registry.parquet_guard import parquet_batches, parquet_schema


def _csv_without(source: IO[bytes], target: Path, column: str, subject_hash: str) -> tuple[int, int]:
    reader = csv.reader(text_lines(HashingReader(CsvLineGuard(source))))
    kept = removed = 0
    with target.open("w", encoding="utf-8", newline="") as out:
        # Not governance.core.csv_out: this is training data, not a report for people; neutralising
        # cells would change the dataset (and its digest), so every kept value is copied byte for byte.
        writer = csv.writer(out, lineterminator="\n")
        header = next(reader, None)
        if header is None:
            return 0, 0
        if column not in header:
            raise Conflict(f"the stored file has no subject id column {column!r}; it cannot be rewritten")
        index = header.index(column)
        writer.writerow(header)
        matches: dict[str, bool] = {}
        for record in reader:
            value = record[index].strip() if index < len(record) else ""
            if value:
                hit = matches.get(value)
                if hit is None:
                    hit = matches[value] = keyed_hash(value, domain=SUBJECT_DOMAIN) == subject_hash
                if hit:
                    removed += 1
                    continue
            writer.writerow(record)
            kept += 1
    return kept, removed


def _parquet_without(source: IO[bytes], target: Path, column: str, subject_hash: str) -> tuple[int, int]:
    # Only a file within the MAX_PARQUET_* limits is read (the guarded reader refuses any other).
    schema = parquet_schema(source)
    if column not in schema.names:
        raise Conflict(f"the stored file has no subject id column {column!r}; it cannot be rewritten")
    source.seek(0)
    kept = removed = 0
    with pq.ParquetWriter(target, schema) as writer:
        for batch in parquet_batches(source):
            ids = pc.utf8_trim_whitespace(pc.cast(batch.column(column), pa.string()))
            hits = [
                value
                for value in pc.unique(ids).to_pylist()
                if value and keyed_hash(value, domain=SUBJECT_DOMAIN) == subject_hash
            ]
            keep = pc.invert(pc.fill_null(pc.is_in(ids, value_set=pa.array(hits, pa.string())), False))
            table = pa.Table.from_batches([batch]).filter(keep)
            writer.write_table(table)
            kept += table.num_rows
            removed += batch.num_rows - table.num_rows
    return kept, removed


def rewrite_without_subject(
    source: IO[bytes], target: Path, *, fmt: str, column: str, subject_hash: str
) -> tuple[int, int]:
    """Write ``source`` to ``target`` without the rows of ``subject_hash``; returns (kept, removed)."""
    if fmt == "parquet":
        return _parquet_without(source, target, column, subject_hash)
    return _csv_without(source, target, column, subject_hash)
