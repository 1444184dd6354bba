"""Small files that decode huge, built in the test that sends them (never checked in)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def parquet_many_rows(path: Path, *, rows_per_group: int = 1_000_000, groups: int = 100) -> Path:
    """A hundred million rows of one id (run-length encoded: a few kilobytes)."""
    ids = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(rows_per_group, dtype=np.int32)), pa.array(["CUST-00001-QX"])
    )
    table = pa.table({"customer_id": ids})
    with pq.ParquetWriter(path, table.schema, compression="zstd") as writer:
        for _ in range(groups):
            writer.write_table(table)
    return path


def parquet_long_value(path: Path, *, value_bytes: int = 8 * 1024**2, rows: int = 1_000_000) -> Path:
    """One long text value (a dictionary of one entry, compressed to almost nothing) on every row:
    a file of kilobytes whose first batch alone would decode to terabytes."""
    values = pa.array(["x" * value_bytes])
    column = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int32)), values)
    ids = pa.array(np.arange(rows) % 1000).cast(pa.string())
    table = pa.table({"customer_id": ids, "note": column})
    pq.write_table(
        table,
        path,
        compression="zstd",
        dictionary_pagesize_limit=2 * value_bytes,
        row_group_size=rows,
        store_schema=False,  # without the Arrow schema a reader decodes the text column to plain strings
    )
    return path


def csv_one_long_line(path: Path, *, line_bytes: int = 64 * 1024**2) -> Path:
    """A header, one ordinary row, then one line of ``line_bytes`` (written in pieces)."""
    piece = b"y" * (1024**2)
    with path.open("wb") as out:
        out.write(b"customer_id,note\nCUST-00001-QX,short\nCUST-00002-QX,")
        for _ in range(line_bytes // len(piece)):
            out.write(piece)
        out.write(b"\n")
    return path
