"""The Django-free cores: profiles and binning, PSI/KS/chi-squared, the SVG chart, HMAC and backoff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from governance.approvals import rules
from governance.monitoring import charts, drift, notify, profiles


def _profile(seed: int = 0) -> profiles.Profile:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 2000), "colour": rng.choice(["red", "blue"], 2000)})
    schema = [{"name": "x", "type": "number"}, {"name": "colour", "type": "string"}]
    return profiles.profile_build(frame, schema, [0, 1] * 1000, [0, 1])


def test_number_bins_are_training_deciles_open_at_both_ends_with_other_and_missing() -> None:
    feature = _profile()["features"][0]
    assert len(feature["edges"]) == 9 and len(feature["counts"]) == 12
    assert feature["counts"][:10] == [200] * 10 and feature["counts"][10:] == [0, 0]
    assert profiles.bin_of(feature, -1e9) == 0 and profiles.bin_of(feature, 1e9) == 9
    assert profiles.bin_of(feature, None) == 11 and profiles.bin_of(feature, "text") == 10


def test_an_unseen_category_falls_into_other() -> None:
    feature = _profile()["features"][1]
    assert sorted(feature["categories"]) == ["blue", "red"]
    assert profiles.bin_of(feature, "green") == 2 and profiles.bin_of(feature, None) == 3


def test_the_same_distribution_scores_near_zero_and_a_shift_scores_high() -> None:
    reference = [100] * 10
    assert drift.psi(reference, [100] * 10) == pytest.approx(0.0)
    assert drift.ks(reference, [100] * 10) == pytest.approx(0.0)
    shifted = [0, 0, 0, 0, 0, 200, 200, 200, 200, 200]
    assert drift.psi(reference, shifted) > 2 and drift.ks(reference, shifted) == pytest.approx(0.5)
    statistic, p_value = drift.chi_squared([500, 500], [900, 100])
    assert statistic > 100 and p_value < 1e-6


def test_evaluate_names_the_shifted_feature_and_judges_nothing_below_min_samples() -> None:
    profile = _profile()
    rng = np.random.default_rng(1)
    shifted = profiles.counts_of(profile["features"][0], list(rng.normal(1, 1, 1000)))
    colours = profiles.counts_of(profile["features"][1], list(rng.choice(["red", "blue"], 1000)))
    result = drift.evaluate(profile, feature_counts=[shifted, colours], prediction_counts=[500, 500, 0])
    assert result["alarm"] and [f["name"] for f in result["features"] if f["breached"]] == ["x"]
    few = drift.evaluate(
        profile, feature_counts=[[5] * 10 + [0, 0], [25, 25, 0, 0]], prediction_counts=[25, 25, 0]
    )
    assert not few["enough"] and not few["alarm"]


def test_policies_may_set_monitoring_thresholds_and_refuse_unknown_ones() -> None:
    base = {
        "kind": "deploy",
        "required_approvals": [{"role": "compliance_officer", "count": 1}],
        "approval_validity_seconds": 3600,
    }
    assert rules.policy_spec_validate({**base, "monitoring": {"psi": 0.1}})["monitoring"] == {"psi": 0.1}
    assert rules.policy_spec_validate(base)["monitoring"] == {}
    with pytest.raises(rules.PolicyError, match="monitoring: drift unknown"):
        rules.policy_spec_validate({**base, "monitoring": {"drift": 1}})
    assert drift.thresholds_with_defaults({"psi": 0.1})["psi"] == 0.1


def test_the_chart_draws_a_line_per_feature_and_the_threshold_and_escapes_names() -> None:
    from datetime import UTC, datetime, timedelta

    times = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=n) for n in range(3)]
    svg = charts.line_chart(times, {"<script>": [0.1, 0.2, 0.5], "age": [0.0, None, 0.1]}, threshold=0.2)
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and 'class="threshold"' in svg
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    from xml.etree import ElementTree

    assert ElementTree.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"  # noqa: S314 (our own SVG)


def test_hmac_signatures_verify_and_backoff_doubles() -> None:
    signature = notify.sign('{"a":1}', "k")
    assert notify.signature_valid(b'{"a":1}', signature, "k")
    assert not notify.signature_valid(b'{"a":2}', signature, "k")
    assert [notify.backoff_seconds(n, base=30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]


def test_traffic_drawn_from_a_profile_matches_it_and_a_shift_breaches_only_that_feature() -> None:
    from governance.monitoring import traffic

    profile = _profile()

    def judged(rows: list) -> drift.CheckResult:
        counts = [profiles.counts_of(f, [row[f["name"]] for row in rows]) for f in profile["features"]]
        return drift.evaluate(profile, feature_counts=counts, prediction_counts=[len(rows) // 2] * 2 + [0])

    assert not judged(traffic.rows_like(profile, 1000, seed=3))["alarm"]
    shifted = judged(traffic.rows_like(profile, 1000, seed=3, shift={"x": 1.0}))
    assert [f["name"] for f in shifted["features"] if f["breached"]] == ["x"]
