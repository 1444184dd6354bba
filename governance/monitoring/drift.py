"""Drift statistics on binned counts, free of Django: reference counts against live counts.

Every statistic works on the bins of the reference profile, so a check over a million logged
predictions needs only their bin counts (aggregated in SQL), never the rows.

- Population Stability Index, PSI = Σ (a - e) · ln(a / e) over bins, with a half-count added to every
  bin that is non-empty on either side so an empty bin does not make it infinite (Siddiqi, *Credit
  Risk Scorecards*, 2006: < 0.1 stable, 0.1 to 0.25 some shift, > 0.25 large shift).
- Kolmogorov-Smirnov statistic, the largest gap between the two cumulative distributions, over the
  ordered bins of a number (binning can only lower it, so a breach on bins is a breach).
- Pearson's chi-squared test of homogeneity for categories (reported with its p-value; the alarm for
  categories is the PSI, because with large samples any difference is "significant").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypedDict

from scipy.stats import chi2_contingency

from governance.monitoring.profiles import FeatureProfile, Profile

DEFAULT_THRESHOLDS: Final[Mapping[str, float]] = {
    "psi": 0.2,
    "ks": 0.2,
    "prediction_psi": 0.2,
    "accuracy_drop": 0.05,
    "min_samples": 100,
    "min_labels": 30,
}


class FeatureResult(TypedDict):
    name: str
    type: str
    psi: float
    ks: float | None
    chi2: float | None
    p_value: float | None
    breached: list[str]
    counts: list[int]


class PredictionResult(TypedDict):
    psi: float
    breached: list[str]
    counts: list[int]


class AccuracyResult(TypedDict):
    labelled: int
    accuracy: float | None
    baseline: float | None
    breached: list[str]


class CheckResult(TypedDict):
    samples: int
    enough: bool
    thresholds: dict[str, float]
    features: list[FeatureResult]
    prediction: PredictionResult
    accuracy: AccuracyResult
    breaches: list[str]
    alarm: bool


def _proportions(reference: Sequence[int], live: Sequence[int]) -> tuple[list[float], list[float]]:
    used = [index for index in range(len(reference)) if reference[index] or live[index]]
    ref_total = sum(reference[index] + 0.5 for index in used)
    live_total = sum(live[index] + 0.5 for index in used)
    return (
        [(reference[index] + 0.5) / ref_total for index in used],
        [(live[index] + 0.5) / live_total for index in used],
    )


def psi(reference: Sequence[int], live: Sequence[int]) -> float:
    if not sum(reference) or not sum(live):
        return 0.0
    expected, actual = _proportions(reference, live)
    return float(sum((a - e) * math.log(a / e) for e, a in zip(expected, actual, strict=True)))


def ks(reference: Sequence[int], live: Sequence[int]) -> float:
    ref_total, live_total = sum(reference), sum(live)
    if not ref_total or not live_total:
        return 0.0
    gap = ref_cdf = live_cdf = 0.0
    for ref_count, live_count in zip(reference, live, strict=True):
        ref_cdf += ref_count / ref_total
        live_cdf += live_count / live_total
        gap = max(gap, abs(ref_cdf - live_cdf))
    return gap


def chi_squared(reference: Sequence[int], live: Sequence[int]) -> tuple[float, float]:
    columns = [index for index in range(len(reference)) if reference[index] or live[index]]
    if len(columns) < 2 or not sum(live) or not sum(reference):
        return 0.0, 1.0
    table = [[reference[index] for index in columns], [live[index] for index in columns]]
    statistic, p_value, _, _ = chi2_contingency(table)
    return float(statistic), float(p_value)


def thresholds_with_defaults(declared: Mapping[str, Any] | None) -> dict[str, float]:
    return {**DEFAULT_THRESHOLDS, **{key: float(value) for key, value in (declared or {}).items()}}


def evaluate(
    profile: Profile,
    *,
    feature_counts: Sequence[Sequence[int]],
    prediction_counts: Sequence[int],
    labelled: int = 0,
    correct: int = 0,
    baseline_accuracy: float | None = None,
    thresholds: Mapping[str, float] = DEFAULT_THRESHOLDS,
) -> CheckResult:
    """Judge live bin counts (one list per profiled feature, in profile order) against the profile.

    Nothing breaches below ``min_samples`` predictions (or ``min_labels`` labels for accuracy): a
    handful of requests says nothing about a distribution.
    """
    samples = sum(prediction_counts)
    enough = samples >= thresholds["min_samples"]
    features = [
        _feature_result(feature, live, thresholds, enough=enough)
        for feature, live in zip(profile["features"], feature_counts, strict=True)
    ]
    breaches = [f"feature {result['name']}: {reason}" for result in features for reason in result["breached"]]
    prediction = _prediction_result(profile, prediction_counts, thresholds, enough=enough)
    breaches += [f"predictions: {reason}" for reason in prediction["breached"]]
    accuracy = _accuracy_result(labelled, correct, baseline_accuracy, thresholds)
    breaches += [f"accuracy: {reason}" for reason in accuracy["breached"]]
    return {
        "samples": samples,
        "enough": enough,
        "thresholds": dict(thresholds),
        "features": features,
        "prediction": prediction,
        "accuracy": accuracy,
        "breaches": breaches,
        "alarm": bool(breaches),
    }


def _feature_result(
    feature: FeatureProfile, live: Sequence[int], thresholds: Mapping[str, float], *, enough: bool
) -> FeatureResult:
    """PSI, and KS (numbers) or chi-squared (categories), of one feature's live bins."""
    reference = feature["counts"]
    result: FeatureResult = {
        "name": feature["name"],
        "type": feature["type"],
        "psi": round(psi(reference, live), 6),
        "ks": None,
        "chi2": None,
        "p_value": None,
        "breached": [],
        "counts": list(live),
    }
    if feature["type"] == "number":
        result["ks"] = round(ks(reference, live), 6)
    else:
        statistic, p_value = chi_squared(reference, live)
        result["chi2"], result["p_value"] = round(statistic, 6), p_value
    if enough and result["psi"] > thresholds["psi"]:
        result["breached"].append(f"psi {result['psi']:.3f} > {thresholds['psi']}")
    if enough and result["ks"] is not None and result["ks"] > thresholds["ks"]:
        result["breached"].append(f"ks {result['ks']:.3f} > {thresholds['ks']}")
    return result


def _prediction_result(
    profile: Profile, prediction_counts: Sequence[int], thresholds: Mapping[str, float], *, enough: bool
) -> PredictionResult:
    prediction_psi = round(psi(profile["predictions"]["counts"], prediction_counts), 6)
    prediction: PredictionResult = {"psi": prediction_psi, "breached": [], "counts": list(prediction_counts)}
    if enough and prediction_psi > thresholds["prediction_psi"]:
        prediction["breached"].append(f"psi {prediction_psi:.3f} > {thresholds['prediction_psi']}")
    return prediction


def _accuracy_result(
    labelled: int, correct: int, baseline_accuracy: float | None, thresholds: Mapping[str, float]
) -> AccuracyResult:
    """Accuracy on the labels that arrived, against the version's own; judged from ``min_labels``."""
    accuracy: AccuracyResult = {
        "labelled": labelled,
        "accuracy": round(correct / labelled, 6) if labelled else None,
        "baseline": baseline_accuracy,
        "breached": [],
    }
    if (
        labelled >= thresholds["min_labels"]
        and baseline_accuracy is not None
        and accuracy["accuracy"] is not None
        and baseline_accuracy - accuracy["accuracy"] > thresholds["accuracy_drop"]
    ):
        drop = baseline_accuracy - accuracy["accuracy"]
        accuracy["breached"].append(f"accuracy dropped by {drop:.3f} > {thresholds['accuracy_drop']}")
    return accuracy
