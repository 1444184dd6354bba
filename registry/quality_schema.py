"""A dataset's declarations for its quality profile and bias examination (issue 20, EU AI Act Art. 10):
the declared schema, the target column and the protected attributes; how each is checked when declared,
and how a chunk's values are counted against the declared schema. Django-free.

Values outside the schema are counted with plain vectorised pandas, not pandera: pandera's lazy
validation builds a ``failure_cases`` row for every bad value (memory then grows with the number of bad
values, not with the chunk) and checks the type per column, while the profile needs a count per value
and per rule over a bounded stream.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, TypedDict

import numpy as np
import pandas as pd

from registry.fideslang import FIDESLANG_KEY

TYPES: Final = ("number", "integer", "string", "boolean", "datetime")
SCHEMA_KEYS: Final = ("name", "type", "nullable", "min", "max", "allowed")
MAX_COLUMNS: Final = 1_000
MAX_ALLOWED: Final = 1_000
MAX_NAME: Final = 200
MAX_SAFE_INTEGER: Final = 2**53 - 1
BOOLEAN_TEXT: Final = frozenset({"true", "false", "1", "0", "yes", "no", "t", "f"})


class DeclarationError(ValueError):
    """A declaration that cannot be used; the message starts with the field it names."""


class DeclaredColumn(TypedDict):
    name: str
    type: str
    nullable: bool
    min: float | None
    max: float | None
    allowed: list[Any] | None


class ProtectedAttribute(TypedDict):
    column: str
    data_categories: list[str]
    proxy: bool


def _name(value: Any, *, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise DeclarationError(f"{field}: a column name of 1 to {MAX_NAME} characters")
    return value


def _number(value: Any) -> bool:
    """A JSON number every reader takes exactly: finite, and an integer within 2**53 (RFC 8785
    §3.2.2.3, which the audit entry's canonical JSON holds to)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_SAFE_INTEGER
    return isinstance(value, float) and math.isfinite(value)


def _bound(value: Any, *, field: str) -> float | None:
    if value is None:
        return None
    if not _number(value):
        raise DeclarationError(f"{field}: a finite number or null")
    number: float = value
    return number


def _allowed(value: Any, *, field: str) -> list[Any] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or len(value) > MAX_ALLOWED:
        raise DeclarationError(f"{field}: a list of 1 to {MAX_ALLOWED} values, or null")
    for item in value:
        if not (isinstance(item, str | bool) or _number(item)):
            raise DeclarationError(f"{field}: each allowed value is a string, a number or true/false")
    return list(value)


def declared_schema_check(value: Any) -> list[DeclaredColumn]:
    """The declared schema as stored; raises DeclarationError naming ``declared_schema[i].<key>``."""
    if not isinstance(value, list) or len(value) > MAX_COLUMNS:
        raise DeclarationError(f"declared_schema: a list of at most {MAX_COLUMNS} columns")
    columns: list[DeclaredColumn] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        field = f"declared_schema[{index}]"
        if not isinstance(item, Mapping):
            raise DeclarationError(f"{field}: an object with {', '.join(SCHEMA_KEYS)}")
        unknown = sorted(set(item) - set(SCHEMA_KEYS))
        if unknown:
            raise DeclarationError(f"{field}: {', '.join(unknown)} unknown; use {', '.join(SCHEMA_KEYS)}")
        name = _name(item.get("name"), field=f"{field}.name")
        if name in seen:
            raise DeclarationError(f"{field}.name: {name!r} is declared twice")
        seen.add(name)
        kind = item.get("type", "string")
        if kind not in TYPES:
            raise DeclarationError(f"{field}.type: {kind!r} unknown; choose from {', '.join(TYPES)}")
        nullable = item.get("nullable", True)
        if not isinstance(nullable, bool):
            raise DeclarationError(f"{field}.nullable: true or false")
        low = _bound(item.get("min"), field=f"{field}.min")
        high = _bound(item.get("max"), field=f"{field}.max")
        if low is not None and high is not None and low > high:
            raise DeclarationError(f"{field}.min: {low} is above max {high}")
        if (low is not None or high is not None) and kind not in ("number", "integer"):
            raise DeclarationError(f"{field}.min: min and max apply to number and integer columns")
        allowed = _allowed(item.get("allowed"), field=f"{field}.allowed")
        columns.append(
            {"name": name, "type": kind, "nullable": nullable, "min": low, "max": high, "allowed": allowed}
        )
    return columns


def protected_attributes_check(value: Any) -> list[ProtectedAttribute]:
    """The protected and proxy attributes as stored; raises DeclarationError naming the field."""
    if not isinstance(value, list) or len(value) > MAX_COLUMNS:
        raise DeclarationError(f"protected_attributes: a list of at most {MAX_COLUMNS} columns")
    attributes: list[ProtectedAttribute] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        field = f"protected_attributes[{index}]"
        if not isinstance(item, Mapping):
            raise DeclarationError(f"{field}: an object with column, data_categories and proxy")
        unknown = sorted(set(item) - {"column", "data_categories", "proxy"})
        if unknown:
            raise DeclarationError(
                f"{field}: {', '.join(unknown)} unknown; use column, data_categories, proxy"
            )
        column = _name(item.get("column"), field=f"{field}.column")
        if column in seen:
            raise DeclarationError(f"{field}.column: {column!r} is declared twice")
        seen.add(column)
        categories = item.get("data_categories", [])
        if not isinstance(categories, list) or not categories:
            raise DeclarationError(f"{field}.data_categories: a list of at least one fideslang key")
        for key in categories:
            if not isinstance(key, str) or not FIDESLANG_KEY.match(key):
                raise DeclarationError(
                    f"{field}.data_categories: {key!r} is not a fideslang key; use lowercase words joined "
                    "by dots, e.g. user.demographic.gender"
                )
        proxy = item.get("proxy", False)
        if not isinstance(proxy, bool):
            raise DeclarationError(f"{field}.proxy: true or false")
        attributes.append(
            {"column": column, "data_categories": list(dict.fromkeys(categories)), "proxy": proxy}
        )
    return attributes


def target_column_check(value: Any) -> str:
    if value == "":
        return ""
    return _name(value, field="target_column")


def _numeric(values: pd.Series[Any]) -> pd.Series[Any]:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values
    return pd.to_numeric(values, errors="coerce")


def _type_breaks(values: pd.Series[Any], kind: str) -> pd.Series[Any]:
    """Which of the (present) ``values`` are not of the declared type."""
    none = pd.Series(False, index=values.index)
    if kind == "string":
        return none
    if kind in ("number", "integer"):
        if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_datetime64_any_dtype(values.dtype):
            return ~none
        numbers = _numeric(values)
        bad = numbers.isna()
        if kind == "integer":
            bad |= numbers.notna() & (np.floor(numbers.fillna(0)) != numbers.fillna(0))
        return bad
    if kind == "boolean":
        if pd.api.types.is_bool_dtype(values.dtype):
            return none
        return ~values.astype(str).str.strip().str.lower().isin(BOOLEAN_TEXT)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return none
    if values.dtype != object:  # numbers and flags are not dates (pandas would read them as epoch times)
        return ~none
    return pd.to_datetime(values, errors="coerce", format="ISO8601", utc=True).isna()


def schema_breaks(
    values: pd.Series[Any],
    column: DeclaredColumn,
    *,
    missing: int,
    weights: np.ndarray[Any, Any] | None = None,
) -> dict[str, int]:
    """How many values of a chunk break each rule of the declared ``column``: ``values`` are the chunk's
    present values, or its distinct values with ``weights`` their row counts (each distinct value is then
    judged once, so a column of few values costs little however many rows it has); ``missing`` is the
    chunk's count of missing values."""

    def total(mask: pd.Series[Any]) -> int:
        flags = mask.to_numpy(dtype=bool)
        return int(weights[flags].sum()) if weights is not None else int(flags.sum())

    result: dict[str, int] = {}
    if not column["nullable"]:
        result["nullable"] = missing
    result["type"] = total(_type_breaks(values, column["type"]))
    if column["min"] is not None or column["max"] is not None:
        numbers = _numeric(values) if not pd.api.types.is_datetime64_any_dtype(values.dtype) else None
        if numbers is not None and column["min"] is not None:
            result["min"] = total(numbers < column["min"])
        if numbers is not None and column["max"] is not None:
            result["max"] = total(numbers > column["max"])
    if column["allowed"] is not None:
        allowed = column["allowed"]
        ok = values.isin(allowed)
        if values.dtype == object:
            text = {str(item) for item in allowed}
            text |= {str(item).lower() for item in allowed if isinstance(item, bool)}
            ok |= values.astype(str).isin(text)
        result["allowed"] = total(~ok)
    return result
