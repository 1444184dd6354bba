"""The ``bias_within_threshold`` check's parameters as policy data, and how strict one set is against
another (pure).

A policy sets the largest difference between groups it accepts, per metric of the training job's bias
examination (``governance.jobs.bias``; EU AI Act Art. 10(2)(f)), and may name the columns that must have
been examined::

    {"demographic_parity_difference": 0.1, "equalized_odds_difference": 0.2, "attributes": ["sex"]}

Every metric is a difference of two rates, so a threshold is a number from 0 to 1. With no parameters the
check still asks that the model version was examined on at least one attribute.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

METRICS: Final = ("demographic_parity_difference", "equalized_odds_difference")
ATTRIBUTES: Final = "attributes"
MAX_ATTRIBUTES: Final = 50
MAX_COLUMN_LENGTH: Final = 200  # Dataset column names as registry.models stores them


class ParamsError(ValueError):
    """A parameter that cannot be used; the message names it (relative to the check's ``params``)."""


def params_validate(params: Mapping[str, Any]) -> dict[str, Any]:
    """The checked parameters; raises ParamsError naming the key."""
    unknown = sorted(str(key) for key in set(params) - {*METRICS, ATTRIBUTES})
    if unknown:
        raise ParamsError(
            f"{', '.join(unknown)} unknown; bias_within_threshold takes {', '.join(METRICS)} and {ATTRIBUTES}"
        )
    checked: dict[str, Any] = {}
    for metric in METRICS:
        if metric not in params:
            continue
        value = params[metric]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 <= value <= 1
        ):
            raise ParamsError(
                f"{metric}: the largest difference between groups accepted, a number from 0 to 1"
            )
        checked[metric] = float(value)
    if ATTRIBUTES in params:
        checked[ATTRIBUTES] = _attributes(params[ATTRIBUTES])
    return checked


def _attributes(value: Any) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or len(value) > MAX_ATTRIBUTES
        or not all(isinstance(item, str) and 0 < len(item.strip()) <= MAX_COLUMN_LENGTH for item in value)
    ):
        raise ParamsError(
            f"{ATTRIBUTES}: a list of 1 to {MAX_ATTRIBUTES} column names that must have been examined, "
            'e.g. ["sex"]'
        )
    return sorted({item.strip() for item in value})


def gaps(mine: Mapping[str, Any], other: Mapping[str, Any]) -> list[str]:
    """How ``mine`` is less strict than ``other`` (empty: at least as strict): a metric ``other`` bounds
    that ``mine`` leaves unbounded or bounds higher, or a column ``other`` requires that ``mine`` does not."""
    found: list[str] = []
    for metric in METRICS:
        if metric not in other:
            continue
        if metric not in mine:
            found.append(f"{metric} at most {other[metric]} (it sets no threshold)")
        elif mine[metric] > other[metric]:
            found.append(f"{metric} at most {other[metric]} (it allows {mine[metric]})")
    missing = sorted(set(other.get(ATTRIBUTES, [])) - set(mine.get(ATTRIBUTES, [])))
    found.extend(f"the attribute {column} examined" for column in missing)
    return found
