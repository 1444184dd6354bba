"""The bias examination of a trained classifier on its held-out rows (pure: pandas, numpy, fairlearn).

EU AI Act Art. 10(2)(f) asks that training data be examined "in view of possible biases that are likely
to affect the health and safety of persons, have a negative impact on fundamental rights or lead to
discrimination". For each protected or proxy attribute a dataset declares, fairlearn's ``MetricFrame``
gives every group's size, selection rate and true and false positive rates, and ``fairlearn.metrics`` the
demographic parity difference and the equalized odds difference between groups.

Rates are about one positive class: a binary target's positive label is its larger class (as scikit-learn
orders ``classes_``, the column ``predict_proba[:, 1]`` scores) unless the training request names one; a
multiclass target is examined one class against the rest only when a positive label is named, else every
attribute is skipped with the reason. A rate a group cannot have (a true positive rate in a group with no
positive rows) is None, never a number fairlearn would fill in (its ``true_positive_rate`` answers 0.0);
so is a difference no two groups define. Every float is finite.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypedDict

import fairlearn
import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

FORMAT: Final = "bias-examination/1"
EVALUATED_ON: Final = "held-out rows"
MISSING: Final = "(missing)"
# A column with more distinct values than this is not a grouping (an exact age, a postcode): banding it
# (age_band) is the data owner's call, so it is skipped with that advice rather than split into noise.
MAX_GROUPS: Final = 50
DPD: Final = "demographic_parity_difference"
EOD: Final = "equalized_odds_difference"
DIGITS: Final = 6


class ProtectedAttribute(TypedDict):
    column: str
    data_categories: list[str]  # fideslang data categories, e.g. user.demographic.gender
    proxy: bool  # stands in for a protected characteristic (a postcode for ethnicity)


class GroupRates(TypedDict):
    value: str
    count: int
    selection_rate: float | None
    true_positive_rate: float | None
    false_positive_rate: float | None


class AttributeExamination(TypedDict):
    column: str
    data_categories: list[str]
    proxy: bool
    groups: list[GroupRates]
    demographic_parity_difference: float | None
    equalized_odds_difference: float | None


class Skipped(TypedDict):
    column: str
    reason: str


class Examination(TypedDict):
    format: str
    evaluated_on: str
    rows: int
    positive_label: str | None
    library: str
    attributes: list[AttributeExamination]
    demographic_parity_difference: float | None
    equalized_odds_difference: float | None
    skipped: list[Skipped]


def positive_label_choose(classes: Sequence[Any], named: str | None = None) -> tuple[Any, str]:
    """The class whose rates are examined and "" (or None and why none can be): ``named`` (matched as
    text) when given, else a binary target's larger class."""
    if named is not None:
        for label in classes:
            if str(label) == named:
                return label, ""
        known = ", ".join(str(label) for label in classes)
        return None, f"parameters.positive_label {named!r} is not a class of the target ({known})"
    if len(classes) == 2:
        return classes[-1], ""
    if len(classes) < 2:
        return None, "the target has a single class in the training rows; no rate can be compared"
    return None, (
        f"the target has {len(classes)} classes; name parameters.positive_label to examine one class "
        "against the rest"
    )


def examine(
    rows: pd.DataFrame,
    y_true: Sequence[Any] | pd.Series,
    y_pred: Sequence[Any] | np.ndarray,
    *,
    positive_label: Any,
    attributes: Sequence[Mapping[str, Any]],
    not_examined: str = "",
) -> Examination:
    """The examination of ``attributes`` (columns of ``rows``, aligned with the labels and predictions).

    ``positive_label`` None with ``not_examined`` (the reason) records every attribute as skipped.
    A declared column absent from ``rows`` is skipped, naming it.
    """
    examined: list[AttributeExamination] = []
    skipped: list[Skipped] = []
    truth = _binary(y_true, positive_label)
    predicted = _binary(y_pred, positive_label)
    for attribute in _unique(attributes):
        column = attribute["column"]
        reason = not_examined if positive_label is None else ""
        if not reason and column not in rows.columns:
            reason = "the column is not in the held-out rows (not in the data the model was trained on)"
        elif not reason and len(rows) == 0:
            reason = "there are no held-out rows"
        groups = _groups(rows[column]) if not reason else None
        if groups is not None and groups.nunique() > MAX_GROUPS:
            reason = f"{groups.nunique()} distinct values (more than {MAX_GROUPS}); declare a banded column"
        if reason or groups is None:
            skipped.append({"column": column, "reason": reason})
            continue
        examined.append(_attribute(attribute, groups, truth, predicted))
    return {
        "format": FORMAT,
        "evaluated_on": EVALUATED_ON,
        "rows": len(rows),
        "positive_label": None if positive_label is None else str(positive_label),
        "library": f"fairlearn {fairlearn.__version__}",
        "attributes": examined,
        DPD: _largest(item[DPD] for item in examined),
        EOD: _largest(item[EOD] for item in examined),
        "skipped": skipped,
    }


def examination_metrics(examination: Mapping[str, Any]) -> dict[str, float]:
    """The metrics a model version records: the largest differences over the attributes, and each
    attribute's as ``<metric>:<column>``; a difference that could not be computed is left out."""
    metrics: dict[str, float] = {}
    for metric in (DPD, EOD):
        if examination.get(metric) is not None:
            metrics[metric] = examination[metric]
        for attribute in examination.get("attributes", []):
            if attribute[metric] is not None:
                metrics[f"{metric}:{attribute['column']}"] = attribute[metric]
    return metrics


def examination_summary(examination: Mapping[str, Any]) -> dict[str, Any]:
    """What the training job's audit entry keeps: sizes and differences, never a group's value."""
    return {
        "rows": examination["rows"],
        "positive_label": examination["positive_label"],
        DPD: examination[DPD],
        EOD: examination[EOD],
        "attributes": [
            {
                "column": attribute["column"],
                "proxy": attribute["proxy"],
                "groups": len(attribute["groups"]),
                "smallest_group": min((group["count"] for group in attribute["groups"]), default=0),
                DPD: attribute[DPD],
                EOD: attribute[EOD],
            }
            for attribute in examination["attributes"]
        ],
        "skipped": list(examination["skipped"]),
    }


def _unique(attributes: Sequence[Mapping[str, Any]]) -> list[ProtectedAttribute]:
    """Declarations by column, first one kept (two pinned datasets may declare the same column)."""
    seen: dict[str, ProtectedAttribute] = {}
    for attribute in attributes:
        column = str(attribute["column"])
        if column not in seen:
            seen[column] = {
                "column": column,
                "data_categories": [str(item) for item in attribute.get("data_categories", [])],
                "proxy": bool(attribute.get("proxy", False)),
            }
    return list(seen.values())


def _binary(values: Sequence[Any] | pd.Series | np.ndarray, positive_label: Any) -> np.ndarray:
    """1 where the value is the positive label (compared as text, so 1 and "1" agree), else 0."""
    text = pd.Series(np.asarray(values, dtype=object)).astype(str)
    binary: np.ndarray = (text == str(positive_label)).to_numpy(dtype=np.int64)
    return binary


def _groups(column: pd.Series) -> pd.Series:
    """Each row's group as text; a missing value (null or blank) is the group "(missing)"."""
    text = column.astype(object).where(column.notna(), None)
    return pd.Series(
        [MISSING if value is None or str(value).strip() == "" else str(value) for value in text],
        dtype=object,
    )


def _attribute(
    attribute: ProtectedAttribute, groups: pd.Series, truth: np.ndarray, predicted: np.ndarray
) -> AttributeExamination:
    frame = MetricFrame(
        metrics={
            "count": count,
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
        },
        y_true=truth,
        y_pred=predicted,
        sensitive_features=groups.to_numpy(),
    )
    by_group = frame.by_group
    rates: list[GroupRates] = []
    for value in sorted(by_group.index, key=lambda group: (group == MISSING, str(group))):
        members = (groups == value).to_numpy()
        positives = int(truth[members].sum())
        negatives = int(members.sum()) - positives
        row = by_group.loc[value]
        rates.append(
            {
                "value": str(value),
                "count": int(row["count"]),
                "selection_rate": _finite(row["selection_rate"]),
                # fairlearn answers 0.0 for a rate a group cannot have; None says so instead.
                "true_positive_rate": _finite(row["true_positive_rate"]) if positives else None,
                "false_positive_rate": _finite(row["false_positive_rate"]) if negatives else None,
            }
        )
    return {
        "column": attribute["column"],
        "data_categories": attribute["data_categories"],
        "proxy": attribute["proxy"],
        "groups": rates,
        DPD: _finite(demographic_parity_difference(truth, predicted, sensitive_features=groups.to_numpy())),
        EOD: _equalized_odds(rates, truth, predicted, groups),
    }


def _equalized_odds(
    rates: list[GroupRates], truth: np.ndarray, predicted: np.ndarray, groups: pd.Series
) -> float | None:
    """fairlearn's equalized odds difference when every group has positive and negative rows; otherwise
    the larger spread of the rates the groups do define (None when no two groups define one)."""
    true_positive = [group["true_positive_rate"] for group in rates]
    false_positive = [group["false_positive_rate"] for group in rates]
    if None not in true_positive and None not in false_positive:
        return _finite(equalized_odds_difference(truth, predicted, sensitive_features=groups.to_numpy()))
    spreads = []
    for values in (true_positive, false_positive):
        defined = [value for value in values if value is not None]
        if len(defined) >= 2:
            spreads.append(max(defined) - min(defined))
    return _finite(max(spreads)) if spreads else None


def _largest(values: Any) -> float | None:
    defined = [value for value in values if value is not None]
    return max(defined) if defined else None


def _finite(value: Any) -> float | None:
    number = float(value)
    return round(number, DIGITS) if math.isfinite(number) else None
