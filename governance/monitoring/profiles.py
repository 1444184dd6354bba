"""Reference profiles and binning, free of Django: what the training data looked like, per feature.

A profile keeps, per feature, the bins the training data fell into: for numbers the interior edges of
(up to) ten quantile bins, open-ended at both ends; for strings the most frequent categories. Two more
bins close every feature: "other" (a category never seen in training; never used for numbers) and
"missing". Served rows are reduced to these bin indices before they are logged, so the prediction log
holds no raw feature values (no raw personal data, GDPR Art. 5(1)(c) data minimisation).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, Final, TypedDict

import numpy as np
import pandas as pd

QUANTILE_BINS: Final = 10
MAX_CATEGORIES: Final = 50
MAX_FEATURES: Final = 32  # the prediction log has this many bin columns; later features are not monitored


class FeatureProfile(TypedDict):
    name: str
    type: str  # "number" | "string"
    edges: list[float]  # numbers: interior quantile edges, bin i is (edges[i-1], edges[i]]
    categories: list[str]  # strings: the categories seen in training, most frequent first
    labels: list[str]  # one human-readable label per bin
    counts: list[int]  # training rows per bin (labels and counts have the same length)
    mean: float | None
    std: float | None


class PredictionProfile(TypedDict):
    classes: list[Any]
    labels: list[str]
    counts: list[int]  # per class, then one "other" bin


class Profile(TypedDict):
    rows: int
    features: list[FeatureProfile]
    predictions: PredictionProfile


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number_feature(name: str, values: pd.Series) -> FeatureProfile:
    present = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    quantiles = np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1]
    edges = sorted({float(edge) for edge in np.quantile(present, quantiles)}) if present.size else []
    labels = [f"≤ {edges[0]:g}"] if edges else ["all"]
    labels += [f"({low:g}, {high:g}]" for low, high in pairwise(edges)]
    labels += [f"> {edges[-1]:g}"] if edges else []
    feature: FeatureProfile = {
        "name": name,
        "type": "number",
        "edges": edges,
        "categories": [],
        "labels": [*labels, "other", "missing"],
        "counts": [],
        "mean": float(present.mean()) if present.size else None,
        "std": float(present.std()) if present.size else None,
    }
    feature["counts"] = counts_of(feature, values.tolist())
    return feature


def _string_feature(name: str, values: pd.Series) -> FeatureProfile:
    frequencies = values.dropna().astype(str).value_counts()
    categories = [str(category) for category in frequencies.index[:MAX_CATEGORIES]]
    feature: FeatureProfile = {
        "name": name,
        "type": "string",
        "edges": [],
        "categories": categories,
        "labels": [*categories, "other", "missing"],
        "counts": [],
        "mean": None,
        "std": None,
    }
    feature["counts"] = counts_of(feature, values.tolist())
    return feature


def bin_of(feature: FeatureProfile, value: Any) -> int:
    """The bin ``value`` falls into (the last bin is "missing", the one before it "other")."""
    size = len(feature["labels"])
    if _is_missing(value):
        return size - 1
    if feature["type"] == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return size - 2
        return bisect_left(feature["edges"], float(value))
    try:
        return feature["categories"].index(str(value))
    except ValueError:
        return size - 2


def counts_of(feature: FeatureProfile, values: Sequence[Any]) -> list[int]:
    counts = [0] * len(feature["labels"])
    for value in values:
        counts[bin_of(feature, value)] += 1
    return counts


def prediction_bin(profile: PredictionProfile, value: Any) -> int:
    try:
        return profile["classes"].index(value)
    except ValueError:
        return len(profile["classes"])


def profile_build(
    frame: pd.DataFrame,
    schema: Sequence[Mapping[str, str]],
    predictions: Sequence[Any],
    classes: Sequence[Any],
) -> Profile:
    """The reference profile of ``frame`` (the rows the model was trained and evaluated on) for the
    features in ``schema`` (``[{name, type}]``) and of the model's ``predictions`` on those rows."""
    features = [
        _number_feature(item["name"], frame[item["name"]])
        if item["type"] == "number"
        else _string_feature(item["name"], frame[item["name"]])
        for item in list(schema)[:MAX_FEATURES]
    ]
    prediction: PredictionProfile = {
        "classes": list(classes),
        "labels": [*(str(value) for value in classes), "other"],
        "counts": [0] * (len(classes) + 1),
    }
    for value in predictions:
        prediction["counts"][prediction_bin(prediction, value)] += 1
    return {"rows": len(frame), "features": features, "predictions": prediction}


def rows_binned(profile: Profile, rows: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Each row reduced to its bin index per profiled feature (in the profile's feature order)."""
    features = profile["features"]
    return [[bin_of(feature, row.get(feature["name"])) for feature in features] for row in rows]
