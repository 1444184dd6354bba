"""The ``data_quality`` check's parameters as policy data, how strict one set is against another, and
how a dataset version's quality profile is judged against them (pure; EU AI Act Art. 10(3): training data
"as free of errors and as complete as possible").

Parameters (each optional; ``{}`` only asks that every version has a profile):

- ``max_missing_fraction``: column (or ``"*"`` for every column not named) -> the largest fraction of
  missing values allowed, 0 to 1;
- ``no_duplicate_subjects`` / ``no_duplicate_rows``: true forbids any;
- ``min_rows``: the fewest rows; ``min_rows_per_class``: the fewest rows of each class of the declared
  target column;
- ``max_outside_schema``: the most values per column outside the declared schema (a declared column
  missing from the file fails it, and so does a version profiled with no declared schema at all).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final, TypedDict

FLAGS: Final = ("no_duplicate_subjects", "no_duplicate_rows")
FLOORS: Final = ("min_rows", "min_rows_per_class")  # a larger value is stricter
CEILINGS: Final = ("max_outside_schema",)  # a smaller value is stricter
KEYS: Final = ("max_missing_fraction", *FLAGS, *FLOORS, *CEILINGS)
MAX_COLUMN: Final = 200
MAX_COUNT: Final = 2**53 - 1  # RFC 8785 §3.2.2.3: the policy is hashed as canonical JSON
ANY: Final = "*"


class ParamsError(ValueError):
    """A parameter that cannot be used; the message names it (relative to the check's ``params``)."""


class Finding(TypedDict):
    rule: str
    column: str | None  # None: a rule about the whole version
    limit: Any
    measured: Any
    passed: bool
    detail: str  # for a failed finding: what is wrong, e.g. "income missing 8.0% > 5%"


def _count(value: Any, *, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ParamsError(f"{key}: a whole number, 0 or more")
    return value


def _fractions(value: Any) -> dict[str, float]:
    key = "max_missing_fraction"
    if not isinstance(value, Mapping) or not value:
        raise ParamsError(f'{key}: an object of column (or "*") to a fraction between 0 and 1')
    checked: dict[str, float] = {}
    for column, limit in value.items():
        if not isinstance(column, str) or not column or len(column) > MAX_COLUMN:
            raise ParamsError(f"{key}: a column name is 1 to {MAX_COLUMN} characters")
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int | float)
            or not math.isfinite(limit)
            or not 0 <= limit <= 1
        ):
            raise ParamsError(f"{key}.{column}: a fraction between 0 and 1")
        checked[column] = limit
    return checked


def params_validate(params: Mapping[str, Any]) -> dict[str, Any]:
    """The checked parameters; raises ParamsError naming the key."""
    unknown = sorted(set(params) - set(KEYS))
    if unknown:
        raise ParamsError(f"{', '.join(unknown)} unknown; use {', '.join(KEYS)}")
    checked: dict[str, Any] = {}
    for key, value in params.items():
        if key == "max_missing_fraction":
            checked[key] = _fractions(value)
        elif key in FLAGS:
            if not isinstance(value, bool):
                raise ParamsError(f"{key}: true or false")
            checked[key] = value
        else:
            checked[key] = _count(value, key=key)
    return checked


def missing_limit(limits: Mapping[str, float], column: str) -> float | None:
    """The largest missing fraction allowed for ``column`` (None: no limit)."""
    return limits.get(column, limits.get(ANY))


def gaps(mine: Mapping[str, Any], other: Mapping[str, Any]) -> list[str]:
    """How ``mine`` is less strict than ``other`` (empty: at least as strict)."""
    found: list[str] = []
    my_limits: Mapping[str, float] = mine.get("max_missing_fraction") or {}
    other_limits: Mapping[str, float] = other.get("max_missing_fraction") or {}
    # Every column falls under a named key or "*": comparing the effective limit at every key either
    # names covers them all.
    for column in sorted({*my_limits, *other_limits}, key=lambda name: (name != ANY, name)):
        theirs = missing_limit(other_limits, column)
        ours = missing_limit(my_limits, column)
        if theirs is not None and (ours is None or ours > theirs):
            found.append(f"max_missing_fraction.{column} at most {theirs:g}")
    found.extend(f"{flag} true" for flag in FLAGS if other.get(flag) is True and mine.get(flag) is not True)
    found.extend(
        f"{key} at least {other[key]}" for key in FLOORS if key in other and mine.get(key, -1) < other[key]
    )
    found.extend(
        f"{key} at most {other[key]}"
        for key in CEILINGS
        if key in other and (key not in mine or mine[key] > other[key])
    )
    return found


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _finding(rule: str, column: str | None, limit: Any, measured: Any, failed: str = "") -> Finding:
    return {
        "rule": rule,
        "column": column,
        "limit": limit,
        "measured": measured,
        "passed": not failed,
        "detail": failed,
    }


def _missing_findings(profile: Mapping[str, Any], limits: Mapping[str, float]) -> list[Finding]:
    found: list[Finding] = []
    for column in profile.get("columns", []):
        name = str(column.get("name"))
        limit = missing_limit(limits, name)
        if limit is None:
            continue
        measured = float(column.get("missing_fraction") or 0.0)
        failed = f"{name} missing {_percent(measured)} > {limit * 100:g}%" if measured > limit else ""
        found.append(_finding("max_missing_fraction", name, limit, measured, failed))
    named = {str(column.get("name")) for column in profile.get("columns", [])}
    found.extend(
        _finding("max_missing_fraction", name, limits[name], None, f"{name} is not in the file")
        for name in sorted(set(limits) - named - {ANY})
    )
    return found


def _duplicate_findings(profile: Mapping[str, Any], params: Mapping[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    if params.get("no_duplicate_subjects"):
        subjects = profile.get("duplicate_subjects")
        # No subject id column: the rows name no data subject, so none is duplicated.
        failed = f"{subjects} duplicate subject ids" if subjects else ""
        found.append(_finding("no_duplicate_subjects", None, 0, subjects, failed))
    if params.get("no_duplicate_rows"):
        rows = int(profile.get("duplicate_rows") or 0)
        found.append(_finding("no_duplicate_rows", None, 0, rows, f"{rows} duplicate rows" if rows else ""))
    return found


def _size_findings(profile: Mapping[str, Any], params: Mapping[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    rows = int(profile.get("rows") or 0)
    if "min_rows" in params:
        limit = params["min_rows"]
        found.append(
            _finding("min_rows", None, limit, rows, f"{rows} rows < {limit}" if rows < limit else "")
        )
    if "min_rows_per_class" in params:
        limit = params["min_rows_per_class"]
        target = profile.get("target")
        if not target or not target.get("present", True):
            what = (
                "no target column declared"
                if not target
                else f"target column {target['column']} not in the file"
            )
            found.append(_finding("min_rows_per_class", None, limit, None, f"{what}: rows per class unknown"))
            return found
        column = str(target["column"])
        for one in target.get("classes", []):
            count = int(one.get("count") or 0)
            failed = (
                f"{column} class {one.get('value')!r} has {count} rows < {limit}" if count < limit else ""
            )
            found.append(
                _finding(
                    "min_rows_per_class", column, limit, {"class": one.get("value"), "count": count}, failed
                )
            )
        if not target.get("classes"):
            found.append(
                _finding("min_rows_per_class", column, limit, None, f"{column} has no labelled rows")
            )
    return found


def _schema_findings(profile: Mapping[str, Any], params: Mapping[str, Any]) -> list[Finding]:
    if "max_outside_schema" not in params:
        return []
    limit = params["max_outside_schema"]
    found: list[Finding] = []
    declared = {str(column.get("name")) for column in profile.get("declared_schema", [])}
    if not declared:
        # Fail closed: with nothing declared nothing is outside, and clearing a dataset's declared schema
        # before an upload must not be a way around the rule.
        return [
            _finding(
                "max_outside_schema",
                None,
                limit,
                None,
                "no declared schema to judge values by: declare the dataset's declared_schema, then register "
                "the version from its file",
            )
        ]
    for column in profile.get("columns", []):
        name = str(column.get("name"))
        if name not in declared:
            continue
        outside = int(column.get("outside_schema") or 0)
        rules = ", ".join(
            f"{rule} {count}" for rule, count in (column.get("outside_schema_rules") or {}).items()
        )
        failed = (
            f"{name} {outside} values outside the declared schema ({rules}) > {limit}"
            if outside > limit
            else ""
        )
        found.append(_finding("max_outside_schema", name, limit, outside, failed))
    found.extend(
        _finding("max_outside_schema", name, limit, None, f"{name} declared but not in the file")
        for name in profile.get("missing_declared_columns", [])
    )
    return found


def profile_findings(profile: Mapping[str, Any], params: Mapping[str, Any]) -> list[Finding]:
    """Each rule of ``params`` judged on a quality profile (``registry.quality``), per column where the
    rule is about columns; a failed finding's ``detail`` names the rule's column and figures."""
    return [
        *_size_findings(profile, params),
        *_missing_findings(profile, params.get("max_missing_fraction") or {}),
        *_duplicate_findings(profile, params),
        *_schema_findings(profile, params),
    ]
