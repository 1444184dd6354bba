"""Reading an uploaded dataset file in chunks: its schema, row count and data subjects.

Subject ids are turned into keyed hashes (HMAC-SHA256, GDPR Art. 4(5) pseudonymisation) chunk by
chunk; the raw ids never leave this module and are never stored or logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from governance.core.csv_guard import CsvLineGuard
from governance.core.errors import ValidationFailed
from governance.core.pseudonyms import keyed_hash
from registry.parquet_guard import parquet_batches, parquet_schema

CHUNK_ROWS: Final = 50_000
FORMATS: Final = ("csv", "parquet")


@dataclass
class FileProfile:
    schema: list[dict[str, str]] = field(default_factory=list)
    row_count: int = 0
    subject_hashes: set[str] | None = None  # None: the dataset holds no personal data


def detect_format(filename: str, requested: str = "") -> str:
    fmt = (requested or Path(filename).suffix.lstrip(".") or "csv").lower()
    if fmt not in FORMATS:
        raise ValidationFailed(f"file_format: {fmt!r} is not supported; upload one of {', '.join(FORMATS)}")
    return fmt


def profile_file(path: Path, *, fmt: str, subject_id_column: str | None) -> FileProfile:
    """Read ``path`` in chunks; ``subject_id_column`` set means: collect its values as keyed hashes."""
    chunks = (
        _parquet_chunks(path, subject_id_column) if fmt == "parquet" else _csv_chunks(path, subject_id_column)
    )
    return _profile(chunks, subject_id_column)


def _profile(chunks: Iterable[pd.DataFrame], subject_id_column: str | None) -> FileProfile:
    profile = FileProfile(subject_hashes=set() if subject_id_column else None)
    dtypes: dict[str, Any] = {}
    first_row = 1
    for chunk in chunks:
        for column, dtype in chunk.dtypes.items():
            dtypes[str(column)] = _common_dtype(dtypes.get(str(column)), dtype)
        if subject_id_column and profile.subject_hashes is not None:
            ids = chunk[subject_id_column]
            blank = ids.isna() | (ids.astype(str).str.strip() == "")
            if blank.any():
                row = first_row + int(np.flatnonzero(blank.to_numpy())[0])
                raise ValidationFailed(
                    f"row {row} has no value in the subject id column {subject_id_column!r}; every row of a "
                    "dataset holding personal data must name its data subject"
                )
            profile.subject_hashes.update(
                keyed_hash(value, domain="subject") for value in set(ids.astype(str).str.strip())
            )
        profile.row_count += len(chunk)
        first_row += len(chunk)
    profile.schema = [{"name": name, "type": str(dtype)} for name, dtype in dtypes.items()]
    return profile


def _common_dtype(seen: Any, new: Any) -> Any:
    """One type per column across chunks (a column of ints with a blank in a later chunk is float)."""
    if seen is None or seen == new:
        return new
    try:
        return np.result_type(seen, new)
    except TypeError:
        return np.dtype(object)


def _missing_column(subject_id_column: str, columns: Iterable[str]) -> ValidationFailed:
    return ValidationFailed(
        f"the file has no subject id column {subject_id_column!r} (its columns: {', '.join(columns)}); "
        "upload a file with that column or change the dataset's subject_id_column"
    )


def _csv_chunks(path: Path, subject_id_column: str | None) -> Iterator[pd.DataFrame]:
    # Read through CsvLineGuard: a line over MAX_CSV_LINE_BYTES is refused before pandas buffers it.
    try:
        with path.open("rb") as handle:
            columns = [str(name) for name in pd.read_csv(CsvLineGuard(handle), nrows=0).columns]
        if subject_id_column and subject_id_column not in columns:
            raise _missing_column(subject_id_column, columns)
        # The subject id is read as text: "00123" and "123" are different people.
        dtype = {subject_id_column: str} if subject_id_column else None
        with (
            path.open("rb") as handle,
            pd.read_csv(CsvLineGuard(handle), chunksize=CHUNK_ROWS, dtype=dtype) as reader,
        ):
            yield from reader
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"the file is not a readable CSV: {exc}") from exc


def _parquet_chunks(path: Path, subject_id_column: str | None) -> Iterator[pd.DataFrame]:
    # Through the guarded reader: a file that decodes over the MAX_PARQUET_* limits is refused.
    columns = list(parquet_schema(path).names)
    if subject_id_column and subject_id_column not in columns:
        raise _missing_column(subject_id_column, columns)
    for batch in parquet_batches(path):
        yield batch.to_pandas()
