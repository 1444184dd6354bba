"""The Django-free training core: parameters checked, a real model trained and evaluated, artifacts pinned."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from governance.jobs import ml
from registry import artifacts
from registry.rows import onnx_predict


def _frame(rows: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.normal(50, 10, rows)
    region = rng.choice(["north", "south"], rows)
    label = ((income > 50) ^ (region == "south")).astype(int)
    return pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(rows)], "income": income, "region": region, "label": label}
    )


def test_it_trains_a_random_forest_that_learns_the_signal_and_reports_held_out_metrics() -> None:
    spec = ml.TrainingSpec.from_parameters({"target": "label", "n_estimators": 50, "max_depth": 6})
    trained = ml.train(_frame(), spec, exclude=["customer_id"])
    assert trained.metrics["accuracy"] > 0.85
    assert set(trained.metrics) == {"accuracy", "f1_macro", "roc_auc"}
    assert trained.rows_train == 300 and trained.rows_test == 100
    assert trained.input_schema == [
        {"name": "income", "type": "number"},
        {"name": "region", "type": "string"},
    ]
    assert trained.classes == [0, 1]


def test_the_subject_id_column_is_never_a_feature() -> None:
    spec = ml.TrainingSpec.from_parameters({"target": "label", "features": ["customer_id", "income"]})
    with pytest.raises(ml.ParameterError, match="customer_id cannot be a feature"):
        ml.train(_frame(), spec, exclude=["customer_id"])


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"n_estimators": 10}, "parameters.target"),
        ({"target": "label", "kernel": "rbf"}, "parameters.kernel: unknown"),
        ({"target": "label", "n_estimators": "many"}, "parameters.n_estimators: must be int"),
        ({"target": "label", "n_estimators": True}, "must not be a boolean"),
        ({"target": "label", "test_size": 0.9}, "between 0.05 and 0.5"),
        ({"target": "label", "n_estimators": 0}, "between 1 and 2000"),
    ],
)
def test_it_refuses_parameters_it_does_not_know_or_that_are_out_of_range(
    parameters: dict, message: str
) -> None:
    with pytest.raises(ml.ParameterError, match=message):
        ml.TrainingSpec.from_parameters(parameters)


def test_the_same_parameters_and_data_give_the_same_metrics() -> None:
    spec = ml.TrainingSpec.from_parameters({"target": "label", "n_estimators": 20, "random_state": 7})
    assert ml.train(_frame(), spec).metrics == ml.train(_frame(), spec).metrics


def test_the_pipeline_is_written_as_skops_and_onnx_that_answer_like_scikit_learn(tmp_path) -> None:
    frame = _frame()
    frame.loc[::9, "region"] = None  # missing categories are "" for the pipeline, ONNX and scikit-learn alike
    trained = ml.train(
        frame,
        ml.TrainingSpec.from_parameters({"target": "label", "n_estimators": 20}),
        exclude=["customer_id"],
    )
    skops_file, onnx_file = tmp_path / "model.skops", tmp_path / "model.onnx"
    skops_file.write_bytes(ml.skops_bytes(trained.pipeline))
    onnx_file.write_bytes(ml.onnx_bytes(trained.pipeline, trained.input_schema))

    assert artifacts.artifact_check(skops_file) == "skops" and artifacts.artifact_check(onnx_file) == "onnx"
    data = onnx_file.read_bytes()
    assert ml.onnx_disagreement(trained.pipeline, data, trained.input_schema, trained.held_out) == ""
    rows = [{"income": 70.0, "region": "north"}, {"income": 30, "region": None}]
    session = artifacts.onnx_session(data, hashlib.sha256(data).hexdigest())
    loaded = artifacts.skops_load(skops_file)
    expected = ml.predict(trained.pipeline, trained.input_schema, rows)
    assert onnx_predict(session, trained.input_schema, rows) == expected
    assert ml.predict(loaded, trained.input_schema, rows) == expected
    with pytest.raises(artifacts.ArtifactRefused, match="was pinned"):
        artifacts.onnx_session(data + b"x", "0" * 64)


def test_a_model_whose_onnx_form_answers_differently_is_reported() -> None:
    trained = ml.train(
        _frame(),
        ml.TrainingSpec.from_parameters({"target": "label", "n_estimators": 5}),
        exclude=["customer_id"],
    )
    other = ml.train(
        _frame(seed=2).assign(label=lambda f: 1 - f["label"]),
        ml.TrainingSpec.from_parameters({"target": "label", "n_estimators": 5}),
        exclude=["customer_id"],
    )
    data = ml.onnx_bytes(other.pipeline, other.input_schema)

    assert "disagree" in ml.onnx_disagreement(trained.pipeline, data, trained.input_schema, trained.held_out)


def test_prediction_rows_must_carry_every_feature_with_its_type() -> None:
    trained = ml.train(
        _frame(),
        ml.TrainingSpec.from_parameters({"target": "label", "n_estimators": 5}),
        exclude=["customer_id"],
    )
    with pytest.raises(ml.ParameterError, match=r"rows\[0\]: missing feature\(s\) region"):
        ml.predict(trained.pipeline, trained.input_schema, [{"income": 1.0}])
    with pytest.raises(ml.ParameterError, match=r"rows\[0\].income: must be a number"):
        ml.predict(trained.pipeline, trained.input_schema, [{"income": "high", "region": "north"}])


def test_metrics_below_names_each_missed_threshold() -> None:
    assert ml.metrics_below({"accuracy": 0.8, "roc_auc": 0.9}, {"accuracy": 0.85, "roc_auc": 0.5}) == [
        "accuracy 0.8 < 0.85"
    ]
    assert ml.metrics_below({"accuracy": 0.8}, {"accuracy": {"min": 0.5, "max": 0.7}}) == [
        "accuracy 0.8 > 0.7"
    ]
    assert ml.metrics_below({}, {"f1_macro": 0.5}) == ["f1_macro not computed (bound {'min': 0.5})"]
