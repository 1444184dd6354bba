"""Synthetic traffic for demos and drills, drawn from a reference profile (no training rows needed).

``rows_like(profile, 300, seed=1)`` gives rows distributed as the training data was (bin by bin);
``shift={"monthly_spend": 1.0}`` moves a number feature by that many training standard deviations,
which is what a drift drill posts to the predict endpoint before calling ``drift_check_run``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from governance.monitoring.profiles import FeatureProfile, Profile


def _number(feature: FeatureProfile, bin_: int, rng: np.random.Generator) -> float:
    edges, spread = feature["edges"], feature["std"] or 1.0
    if not edges:
        return float(feature["mean"] or 0.0)
    low = edges[bin_ - 1] if bin_ > 0 else edges[0] - spread
    high = edges[bin_] if bin_ < len(edges) else edges[-1] + spread
    return float(rng.uniform(low, high))


def rows_like(
    profile: Profile, count: int, *, seed: int = 0, shift: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    shift = shift or {}
    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    for feature in profile["features"]:
        usable = feature["counts"][:-2]  # not "other" nor "missing"
        weights = np.array(usable, dtype=float)
        if not weights.sum():
            continue
        bins = rng.choice(len(usable), size=count, p=weights / weights.sum())
        for row, bin_ in zip(rows, bins, strict=True):
            if feature["type"] == "number":
                moved = _number(feature, int(bin_), rng) + shift.get(feature["name"], 0.0) * (
                    feature["std"] or 0.0
                )
                row[feature["name"]] = round(moved, 4)
            else:
                row[feature["name"]] = feature["categories"][int(bin_)]
    return rows
