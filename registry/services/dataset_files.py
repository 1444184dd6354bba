"""Reading an uploaded dataset file in chunks: its schema, row count, data subjects and data quality
profile (``registry.quality``), all in the one pass.

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
from registry.quality import ProfileAccumulator, ProfileSpec

CHUNK_ROWS: Final = 50_000
FORMATS: Final = ("csv", "parquet")


@dataclass
class FileProfile:
    schema: list[dict[str, str]] = field(default_factory=list)
    row_count: int = 0
    subject_hashes: set[str] | None = None  # None: the dataset holds no personal data
    quality: dict[str, Any] | None = None  # the quality profile JSON (registry.quality); None: not asked


def detect_format(filename: str, requested: str = "") -> str:
    fmt = (requested or Path(filename).suffix.lstrip(".") or "csv").lower()
    if fmt not in FORMATS:
        raise ValidationFailed(f"file_format: {fmt!r} is not supported; upload one of {', '.join(FORMATS)}")
    return fmt


def profile_file(
    path: Path, *, fmt: str, subject_id_column: str | None, quality: ProfileSpec | None = None
) -> FileProfile:
    """Read ``path`` in chunks; ``subject_id_column`` set means: collect its values as keyed hashes;
    ``quality`` set means: accumulate the data quality profile in the same pass."""
    chunks = (
        _parquet_chunks(path, subject_id_column) if fmt == "parquet" else _csv_chunks(path, subject_id_column)
    )
    return _profile(chunks, subject_id_column, quality)


def _profile(
    chunks: Iterable[pd.DataFrame], subject_id_column: str | None, quality: ProfileSpec | None = None
) -> FileProfile:
    profile = FileProfile(subject_hashes=set() if subject_id_column else None)
    accumulator = ProfileAccumulator(quality) if quality is not None else None
    dtypes: dict[str, Any] = {}
    seen: set[str] = set()
    first_row = 1
    for chunk in chunks:
        for column, dtype in chunk.dtypes.items():
            dtypes[str(column)] = _common_dtype(dtypes.get(str(column)), dtype)
        if subject_id_column and profile.subject_hashes is not None:
            ids = chunk[subject_id_column]
            text = ids.astype(str).str.strip()
            blank = ids.isna() | (text == "")
            if blank.any():
                row = first_row + int(np.flatnonzero(blank.to_numpy())[0])
                raise ValidationFailed(
                    f"row {row} has no value in the subject id column {subject_id_column!r}; every row of a "
                    "dataset holding personal data must name its data subject"
                )
            # Each id is hashed once per file, not once per chunk (HMAC is the pass's dearest step); the
            # raw ids seen stay in this function's memory only, as many as the hashes kept anyway.
            new = set(text.unique()) - seen
            seen |= new
            profile.subject_hashes.update(keyed_hash(value, domain="subject") for value in new)
        if accumulator is not None:
            accumulator.add(chunk)
        profile.row_count += len(chunk)
        first_row += len(chunk)
    profile.schema = [{"name": name, "type": str(dtype)} for name, dtype in dtypes.items()]
    if accumulator is not None:
        subjects = len(profile.subject_hashes) if profile.subject_hashes is not None else None
        profile.quality = accumulator.result(distinct_subjects=subjects)
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
