"""The data quality profile of a dataset file, accumulated chunk by chunk in bounded memory (issue 20,
EU AI Act Art. 10(2)(f)-(g), 10(3): data examined for errors, gaps and completeness). Django-free.

Bounds, per column (``DISTINCT_CAP``, ``SAMPLE_SIZE``, ``TOP_CAP``):
- distinct values: the ``DISTINCT_CAP`` smallest 64-bit value hashes (a k-minimum-values sketch); exact
  while a column has at most that many, an estimate beyond it (``distinct_exact: false``, about 1 %);
- quantiles: a uniform sample of ``SAMPLE_SIZE`` values (bottom-k of random keys, seeded, so the same
  file gives the same profile and the same hash); exact while the column has at most that many values;
- top categories: counts of at most ``TOP_CAP`` values; past that the rarest half is dropped and the
  counts are lower bounds (``top_exact: false``).
Duplicate rows: one 64-bit hash per row kept for the whole file, 8 bytes a row (8 MB per million rows).

The profile never shows a value of the subject id column or of a column that holds personal data
(``hidden``); the group values of a declared protected attribute (e.g. sex) are shown, as the bias
examination needs them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from registry.quality_columns import DISTINCT_CAP, SAMPLE_SIZE, TOP_CAP, ColumnState, Counts, sorted_unique
from registry.quality_schema import DeclaredColumn

FORMAT: Final = "quality-profile/1"
ROW_HASH_PRIME: Final = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime
__all__ = ["DISTINCT_CAP", "SAMPLE_SIZE", "TOP_CAP", "ProfileAccumulator", "ProfileSpec", "hidden_columns"]
TOP_MIN_COUNT: Final = 5
TOP_SIZE: Final = 10
MAX_SAFE_INTEGER: Final = 2**53 - 1
QUANTILES: Final = (("p01", 0.01), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p99", 0.99))
# fideslang branches that identify or reach a person: never shown, not even as a protected attribute.
IDENTIFYING: Final = (
    "user.contact",
    "user.unique_id",
    "user.government_id",
    "user.name",
    "user.account",
    "user.device",
    "user.authorization",
    "user.credentials",
    "user.location.precise",
    "user.financial.bank_account",
    "user.financial.account_number",
)


@dataclass(frozen=True)
class ProfileSpec:
    """What the dataset declares for its profile."""

    subject_id_column: str | None = None
    hidden: frozenset[str] = frozenset()
    declared_schema: Sequence[DeclaredColumn] = ()
    target_column: str = ""


def hidden_columns(
    *,
    subject_id_column: str | None,
    column_categories: Mapping[str, Sequence[str]],
    protected_attributes: Iterable[Mapping[str, Any]],
) -> frozenset[str]:
    """Columns whose values the profile withholds: the subject id, and every column with a personal
    (``user.``) category unless it is a declared protected attribute with no identifying category."""
    categories: dict[str, list[str]] = {name: list(keys) for name, keys in column_categories.items()}
    protected: set[str] = set()
    for attribute in protected_attributes:
        column = str(attribute.get("column", ""))
        protected.add(column)
        categories.setdefault(column, []).extend(attribute.get("data_categories", []))
    hidden = {subject_id_column} if subject_id_column else set()
    for column, keys in categories.items():
        personal = [key for key in keys if key == "user" or key.startswith("user.")]
        identifying = [key for key in personal if any(_under(key, branch) for branch in IDENTIFYING)]
        if identifying or (personal and column not in protected):
            hidden.add(column)
    return frozenset(hidden)


def _under(key: str, branch: str) -> bool:
    return key == branch or key.startswith(branch + ".")


def _plain(value: Any) -> Any:
    """A JSON value: numpy scalars to Python, NaN and infinities to null, datetimes to ISO text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        return float(value)  # RFC 8785 §3.2.2.3: integers beyond 2**53 - 1 are not exact in JSON
    if isinstance(value, pd.Timestamp | datetime):
        return None if pd.isna(value) else value.isoformat()
    return value


class ProfileAccumulator:
    """Feed it every chunk of a file (``add``), then read the profile (``result``)."""

    def __init__(self, spec: ProfileSpec, *, seed: int = 0) -> None:
        self.spec = spec
        self.rows = 0
        self.columns: dict[str, ColumnState] = {}
        self.row_hashes: list[np.ndarray[Any, Any]] = []  # 8 bytes a row: the one per-row cost
        self.target = Counts(cap=TOP_CAP)
        self.random = np.random.default_rng(seed)
        self.declared = {column["name"]: column for column in spec.declared_schema}

    def add(self, chunk: pd.DataFrame) -> None:
        self.rows += len(chunk)
        row_hash = np.full(len(chunk), 0x345678, dtype=np.uint64)
        for name in chunk.columns:
            key = str(name)
            state = self.columns.get(key)
            if state is None:
                state = ColumnState(name=key, hidden=key in self.spec.hidden, declared=self.declared.get(key))
                self.columns[key] = state
            # Rows are equal when every column's value is: combine the columns' hashes in order.
            row_hash = row_hash * ROW_HASH_PRIME + state.add(chunk[name], self.random)
        self.row_hashes.append(row_hash)
        if self.spec.target_column and self.spec.target_column in chunk.columns:
            self.target.add(chunk[self.spec.target_column])

    def result(self, *, distinct_subjects: int | None = None) -> dict[str, Any]:
        """The profile JSON (``quality-profile/1``); ``distinct_subjects`` as the caller counted them
        exactly (keyed hashes), None when the dataset names no subject id column."""
        hashes = np.concatenate(self.row_hashes) if self.row_hashes else np.empty(0, dtype=np.uint64)
        duplicate_rows = int(len(hashes) - len(sorted_unique(hashes)))
        present = set(self.columns)
        return {
            "format": FORMAT,
            "rows": self.rows,
            "columns": [self._column_json(state) for state in self.columns.values()],
            "duplicate_rows": duplicate_rows,
            "duplicate_subjects": None if distinct_subjects is None else self.rows - distinct_subjects,
            "target": self._target_json(),
            "declared_schema": [dict(column) for column in self.spec.declared_schema],
            "missing_declared_columns": [name for name in self.declared if name not in present],
        }

    def _target_json(self) -> dict[str, Any] | None:
        column = self.spec.target_column
        if not column:
            return None
        classes = sorted(self.target.ranked(_plain), key=lambda pair: str(pair[0]))
        return {
            "column": column,
            "present": column in self.columns,
            "classes": [
                {"value": value, "count": count, "fraction": _fraction(count, self.rows)}
                for value, count in classes
            ],
        }

    def _column_json(self, state: ColumnState) -> dict[str, Any]:
        kind = _type_of(state.dtype)
        shown = not state.hidden
        numbers = kind == "number" and shown and len(state.sample.values) > 0
        quantiles = (
            dict(
                zip(
                    [name for name, _ in QUANTILES],
                    np.quantile(state.sample.values, [q for _, q in QUANTILES]),
                    strict=True,
                )
            )
            if numbers
            else None
        )
        top = [
            {"value": value, "count": count}
            for value, count in state.top.ranked(_plain)
            if count >= TOP_MIN_COUNT
        ][:TOP_SIZE]
        return {
            "name": state.name,
            "type": kind,
            "dtype": str(state.dtype),
            "missing": state.missing,
            "missing_fraction": _fraction(state.missing, self.rows),
            "distinct": state.distinct.count(),
            "distinct_exact": not state.distinct.full,
            "min": _plain(_whole(state.low, state.dtype))
            if shown and kind in ("number", "datetime")
            else None,
            "max": _plain(_whole(state.high, state.dtype))
            if shown and kind in ("number", "datetime")
            else None,
            "quantiles": {name: _plain(value) for name, value in quantiles.items()} if quantiles else None,
            "top": top if shown and kind in ("string", "boolean") else [],
            "top_exact": state.top.exact,
            "withheld": state.hidden,
            "outside_schema": sum(state.breaks.values()),
            "outside_schema_rules": {rule: count for rule, count in sorted(state.breaks.items()) if count},
        }


def _fraction(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def _whole(value: Any, dtype: Any) -> Any:
    """An integer column's bound as an integer (numbers are accumulated as floats)."""
    if value is not None and pd.api.types.is_integer_dtype(dtype):
        return int(value)
    return value


def _type_of(dtype: Any) -> str:
    if dtype is None:
        return "string"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "string"


def profile_chunks(
    chunks: Iterable[pd.DataFrame], spec: ProfileSpec, *, distinct_subjects: int | None = None
) -> dict[str, Any]:
    """The profile of ``chunks`` in one pass (for tests and callers holding no other pass)."""
    accumulator = ProfileAccumulator(spec)
    for chunk in chunks:
        accumulator.add(chunk)
    return accumulator.result(distinct_subjects=distinct_subjects)
