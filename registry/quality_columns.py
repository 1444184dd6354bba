"""One column's share of the quality profile, accumulated chunk by chunk in bounded memory (see
``registry.quality`` for the bounds). Django-free.

Each chunk of a column is hashed once, one 64-bit hash per row (``pandas.util.hash_array``; text columns
through ``factorize``, so each distinct value is hashed and judged once): the hashes feed the distinct
sketch and the file's row hashes, the factorized counts feed the top categories and the declared-schema
rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from registry.quality_schema import DeclaredColumn, schema_breaks

DISTINCT_CAP: Final = 10_000
SAMPLE_SIZE: Final = 20_000
TOP_CAP: Final = 20_000
NA_HASH: Final = np.uint64(0x9E3779B97F4A7C15)  # the row hash of a missing value, in every column


def _empty(dtype: Any = np.uint64) -> np.ndarray[Any, Any]:
    return np.empty(0, dtype=dtype)


class Counts:
    """Value counts, at most ``cap`` values (past it the rarest half is dropped: counts become lower
    bounds, ``exact`` false)."""

    def __init__(self, cap: int = TOP_CAP) -> None:
        self.cap = cap
        self.counts: pd.Series[Any] = pd.Series(dtype="int64")
        self.exact = True

    def add(self, values: pd.Series[Any]) -> None:
        self.add_counts(values.value_counts(dropna=True, sort=False))

    def add_counts(self, chunk: pd.Series[Any]) -> None:
        if chunk.empty:
            return
        if self.counts.empty:
            self.counts = chunk.astype("int64")
        else:
            self.counts = self.counts.add(chunk, fill_value=0).astype("int64")
        if len(self.counts) > self.cap:
            self.counts = self.counts.nlargest(self.cap // 2)
            self.exact = False

    def ranked(self, plain: Any) -> list[tuple[Any, int]]:
        """(value, count), most frequent first, ties by the value's text (stable across runs)."""
        pairs = [(plain(value), int(count)) for value, count in self.counts.items()]
        return sorted(pairs, key=lambda pair: (-pair[1], str(pair[0])))


@dataclass
class DistinctSketch:
    """k-minimum values over 64-bit hashes: the ``DISTINCT_CAP`` smallest distinct hashes seen. Exact
    while there are at most that many; past it, the k-th smallest estimates the count. New hashes are
    buffered and merged in batches; once full, only hashes below the k-th smallest are kept."""

    kmv: np.ndarray[Any, Any] = field(default_factory=_empty)
    pending: list[np.ndarray[Any, Any]] = field(default_factory=list)
    pending_size: int = 0
    full: bool = False

    def add(self, hashes: np.ndarray[Any, Any]) -> None:
        if self.full:
            hashes = hashes[hashes < self.kmv[-1]]
        if not len(hashes):
            return
        self.pending.append(hashes)
        self.pending_size += len(hashes)
        if self.pending_size > 4 * DISTINCT_CAP:
            self.merge()

    def merge(self) -> None:
        if not self.pending:
            return
        merged = sorted_unique(np.concatenate([self.kmv, *self.pending]))
        self.pending, self.pending_size = [], 0
        if len(merged) > DISTINCT_CAP:
            merged = merged[:DISTINCT_CAP]
            self.full = True
        self.kmv = merged

    def count(self) -> int:
        self.merge()
        if not self.full:
            return len(self.kmv)
        # The k-th smallest of n uniform hashes sits near k / (n + 1) of the range.
        kth = float(self.kmv[-1]) / float(2**64)
        return round((DISTINCT_CAP - 1) / kth) if kth > 0 else len(self.kmv)


def sorted_unique(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``np.unique`` by an in-place sort (a third of its time for 64-bit hashes)."""
    values.sort()
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


@dataclass
class Sample:
    """A uniform sample without replacement of at most ``SAMPLE_SIZE`` numbers: those with the smallest
    random keys (seeded, so a file always gives the same sample). Once full, only keys below the largest
    kept can enter."""

    keys: np.ndarray[Any, Any] = field(default_factory=lambda: _empty(float))
    values: np.ndarray[Any, Any] = field(default_factory=lambda: _empty(float))

    def add(self, numbers: np.ndarray[Any, Any], random: np.random.Generator) -> None:
        keys = random.random(len(numbers))
        if len(self.keys) >= SAMPLE_SIZE:
            keep = keys < self.keys.max()
            keys, numbers = keys[keep], numbers[keep]
        keys = np.concatenate([self.keys, keys])
        values = np.concatenate([self.values, numbers])
        if len(keys) > SAMPLE_SIZE:
            chosen = np.argpartition(keys, SAMPLE_SIZE)[:SAMPLE_SIZE]
            keys, values = keys[chosen], values[chosen]
        self.keys, self.values = keys, values


@dataclass
class ColumnState:
    name: str
    hidden: bool
    declared: DeclaredColumn | None
    dtype: Any = None
    missing: int = 0
    distinct: DistinctSketch = field(default_factory=DistinctSketch)
    low: Any = None
    high: Any = None
    sample: Sample = field(default_factory=Sample)
    top: Counts = field(default_factory=Counts)
    breaks: dict[str, int] = field(default_factory=dict)

    def add(self, values: pd.Series[Any], random: np.random.Generator) -> np.ndarray[Any, Any]:
        """Take in one chunk of the column; returns its per-row hashes (for duplicate rows)."""
        self.dtype = _common_dtype(self.dtype, values.dtype)
        kind = values.dtype
        if pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind):
            return self._numbers(values, random)
        return self._categories(values)

    def _numbers(self, values: pd.Series[Any], random: np.random.Generator) -> np.ndarray[Any, Any]:
        numbers = values.to_numpy(dtype=float)  # ints as floats: 1 and 1.0 are one value across chunks
        present = ~np.isnan(numbers)
        missing = len(numbers) - int(present.sum())
        self.missing += missing
        hashes: np.ndarray[Any, Any] = pd.util.hash_array(numbers)
        hashes[~present] = NA_HASH
        kept = numbers[present]
        if self.declared is not None:
            self._breaks(schema_breaks(values[present], self.declared, missing=missing))
        if not len(kept):
            return hashes
        self.distinct.add(hashes[present])
        low, high = kept.min(), kept.max()
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        self.sample.add(kept[np.isfinite(kept)], random)
        return hashes

    def _categories(self, values: pd.Series[Any]) -> np.ndarray[Any, Any]:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        present = codes >= 0
        missing = len(codes) - int(present.sum())
        self.missing += missing
        # The values are distinct already: hashing them one by one skips hash_array's own factorize.
        unique_hashes = pd.util.hash_array(np.asarray(uniques), categorize=False)
        hashes = unique_hashes[codes] if len(uniques) else np.full(len(codes), NA_HASH)
        hashes[~present] = NA_HASH  # codes of -1 picked the last value's hash above
        counts = np.bincount(codes[present], minlength=len(uniques))
        distinct_values = pd.Series(uniques)
        if self.declared is not None:
            self._breaks(schema_breaks(distinct_values, self.declared, missing=missing, weights=counts))
        if not len(uniques):
            return hashes
        self.distinct.add(unique_hashes)
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            low, high = distinct_values.min(), distinct_values.max()
            self.low = low if self.low is None else min(self.low, low)
            self.high = high if self.high is None else max(self.high, high)
        elif not self.hidden:
            self.top.add_counts(pd.Series(counts, index=pd.Index(uniques)))
        return hashes

    def _breaks(self, found: dict[str, int]) -> None:
        for rule, count in found.items():
            self.breaks[rule] = self.breaks.get(rule, 0) + count


def _common_dtype(seen: Any, new: Any) -> Any:
    """One type per column across chunks (ints with a blank in a later chunk are floats)."""
    if seen is None or seen == new:
        return new
    try:
        return np.result_type(seen, new)
    except TypeError:
        return np.dtype(object)
