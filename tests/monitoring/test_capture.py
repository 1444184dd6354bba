"""Monitoring capture bins a column at a time exactly as the reference profile's ``bin_of`` does."""

from __future__ import annotations

import math
import uuid
from typing import Any

import pandas as pd

from governance.monitoring import capture, profiles


def _profile() -> profiles.Profile:
    frame = pd.DataFrame(
        {"spend": [float(n) for n in range(40)], "plan": ["basic", "plus", "pro", "basic"] * 10}
    )
    schema = [{"name": "spend", "type": "number"}, {"name": "plan", "type": "string"}]
    return profiles.profile_build(frame, schema, [0, 1] * 20, [0, 1])


def test_column_bins_match_the_profile_value_for_value() -> None:
    spend, plan = _profile()["features"]
    numbers: list[Any] = [-5, 0, 3.5, 3.9, 4, 17, 39, 1e9, math.nan, None, True, "7", math.inf]
    categories: list[Any] = ["basic", "pro", "plus", "gold", "", None, 3, True, math.nan]
    for feature, values in ((spend, numbers), (plan, categories), (spend, [1, 2.5, 30])):
        assert capture.feature_bins(feature, values) == [profiles.bin_of(feature, v) for v in values]


def test_log_ids_are_distinct_time_ordered_uuids() -> None:
    ids = capture._uuids(500)
    assert len(set(ids)) == 500
    assert all(uuid.UUID(text).version == 7 and str(uuid.UUID(text)) == text for text in ids)


def test_prediction_bins_match_the_profile_value_for_value() -> None:
    predictions = _profile()["predictions"]
    values: list[Any] = [0, 1, 1.0, True, 2, "1", None, [1]]
    assert capture.prediction_bins(predictions, values) == [
        profiles.prediction_bin(predictions, v) for v in values
    ]
