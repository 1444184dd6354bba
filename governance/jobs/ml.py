"""Training and serving with scikit-learn, free of Django: a frame in, a fitted pipeline and metrics out.

The pipeline is ``ColumnTransformer`` (numbers imputed with the median; categories imputed and
one-hot encoded, unknown categories ignored at prediction time) followed by the estimator,
``RandomForestClassifier`` by default. Parameters are checked against an allow-list, so a release
request names exactly what is trained and nothing arbitrary reaches the estimator.

Artifacts never run code when loaded: the fitted pipeline is written with skops (loaded back only
with an allow-list of types, ``registry.artifacts.skops_load``) and converted to ONNX with skl2onnx
for serving by onnxruntime. Before a version is registered, :func:`onnx_disagreement` checks on the
held-out rows that the ONNX model answers as scikit-learn does. Missing categories are the empty
string (:func:`prepare`), in training and in prediction alike, because skl2onnx converts a string
imputer only when its ``missing_values`` is a string.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypedDict

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from registry.rows import RowsInvalid, rows_columns

ESTIMATOR: Final = "RandomForestClassifier"
# Parameter name -> the JSON types it may take (checked before anything is trained).
ESTIMATOR_PARAMETERS: Final[Mapping[str, tuple[type, ...]]] = {
    "n_estimators": (int,),
    "max_depth": (int, type(None)),
    "min_samples_split": (int, float),
    "min_samples_leaf": (int, float),
    "max_features": (str, int, float, type(None)),
    "class_weight": (str, type(None)),
    "criterion": (str,),
    "bootstrap": (bool,),
}
# Parameters of the run itself (not the estimator's).
RUN_PARAMETERS: Final[Mapping[str, tuple[type, ...]]] = {
    "target": (str,),
    "features": (list,),
    "test_size": (float,),
    "random_state": (int,),
    # The class whose rates the bias examination compares (governance.jobs.bias); a binary target's
    # larger class when left out, required to examine a multiclass target one class against the rest.
    "positive_label": (str, int),
}
DEFAULTS: Final[Mapping[str, Any]] = {"n_estimators": 100, "test_size": 0.25, "random_state": 0}


class ParameterError(ValueError):
    """A training parameter that is unknown, of the wrong type or out of range."""


class InputSchemaField(TypedDict):
    name: str
    type: str  # "number" | "string"


@dataclass(frozen=True)
class TrainingSpec:
    target: str
    features: tuple[str, ...] | None = None
    test_size: float = 0.25
    random_state: int = 0
    positive_label: str | None = None
    estimator_parameters: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any]) -> TrainingSpec:
        """The spec a release request's ``parameters`` describe; raises ParameterError naming the key."""
        allowed = {**RUN_PARAMETERS, **ESTIMATOR_PARAMETERS}
        for key, value in parameters.items():
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise ParameterError(
                    f"parameters.{key}: unknown; use {known} ({ESTIMATOR}'s and the run's own)"
                )
            types = allowed[key]
            if isinstance(value, bool) and bool not in types:
                raise ParameterError(f"parameters.{key}: must not be a boolean")
            if float in types and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, types):
                names = " or ".join(sorted("null" if t is type(None) else t.__name__ for t in types))
                raise ParameterError(f"parameters.{key}: must be {names}, not {type(value).__name__}")
        target = parameters.get("target")
        if not target:
            raise ParameterError("parameters.target: name the label column to train on")
        test_size = float(parameters.get("test_size", DEFAULTS["test_size"]))
        if not 0.05 <= test_size <= 0.5:
            raise ParameterError("parameters.test_size: must be between 0.05 and 0.5")
        features = parameters.get("features")
        if features is not None and (not features or not all(isinstance(f, str) for f in features)):
            raise ParameterError("parameters.features: a non-empty list of column names")
        n_estimators = parameters.get("n_estimators", DEFAULTS["n_estimators"])
        if not 1 <= n_estimators <= 2000:
            raise ParameterError("parameters.n_estimators: must be between 1 and 2000")
        estimator = {key: parameters[key] for key in ESTIMATOR_PARAMETERS if key in parameters}
        estimator.setdefault("n_estimators", n_estimators)
        positive_label = parameters.get("positive_label")
        if isinstance(positive_label, str) and not positive_label.strip():
            raise ParameterError("parameters.positive_label: name a class of the target, or leave it out")
        return cls(
            target=str(target),
            features=tuple(features) if features else None,
            test_size=test_size,
            random_state=int(parameters.get("random_state", DEFAULTS["random_state"])),
            positive_label=None if positive_label is None else str(positive_label),
            estimator_parameters=estimator,
        )


@dataclass(frozen=True)
class TrainedModel:
    pipeline: Pipeline
    metrics: dict[str, float]
    input_schema: list[InputSchemaField]
    classes: list[Any]
    rows_train: int
    rows_test: int
    held_out: pd.DataFrame  # the evaluation rows' features (prepared), for the ONNX agreement check
    # Their true labels; with ``held_out.index`` (the training frame's own) the bias examination finds the
    # same rows' protected columns, which need not be features.
    held_out_labels: pd.Series


def train(frame: pd.DataFrame, spec: TrainingSpec, *, exclude: Sequence[str] = ()) -> TrainedModel:
    """Fit on a stratified split of ``frame`` and evaluate on the held-out part.

    ``exclude`` names columns never used as features (the data-subject id column).
    """
    features = _features(frame, spec, exclude)
    labelled = frame[frame[spec.target].notna()]
    if len(labelled) < 10:
        raise ParameterError(
            f"the dataset has {len(labelled)} labelled rows after filtering; at least 10 are needed"
        )
    numeric = [column for column in features if pd.api.types.is_numeric_dtype(frame[column])]
    schema: list[InputSchemaField] = [
        {"name": column, "type": "number" if column in numeric else "string"} for column in features
    ]
    x, y = prepare(labelled, schema), labelled[spec.target]
    stratify = y if y.value_counts().min() >= 2 else None
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=spec.test_size, random_state=spec.random_state, stratify=stratify
    )
    categorical = [column for column in features if column not in numeric]
    estimator = RandomForestClassifier(random_state=spec.random_state, n_jobs=1, **spec.estimator_parameters)
    pipeline = Pipeline([("features", _columns(numeric, categorical)), ("estimator", estimator)])
    pipeline.fit(x_train, y_train)
    return TrainedModel(
        pipeline=pipeline,
        metrics=_metrics(pipeline, x_test, y_test),
        input_schema=schema,
        classes=[_plain(value) for value in pipeline.classes_],
        rows_train=len(x_train),
        rows_test=len(x_test),
        held_out=x_test,
        held_out_labels=y_test,
    )


def _features(frame: pd.DataFrame, spec: TrainingSpec, exclude: Sequence[str]) -> list[str]:
    """The feature columns: those named, else every column but the target and ``exclude``."""
    if spec.target not in frame.columns:
        raise ParameterError(f"parameters.target: the dataset has no column {spec.target!r}")
    features = (
        list(spec.features)
        if spec.features
        else [column for column in frame.columns if column != spec.target and column not in exclude]
    )
    missing = [column for column in features if column not in frame.columns]
    if missing:
        raise ParameterError(f"parameters.features: the dataset has no column(s) {', '.join(missing)}")
    forbidden = [column for column in features if column in exclude or column == spec.target]
    if forbidden:
        raise ParameterError(f"parameters.features: {', '.join(forbidden)} cannot be a feature")
    return features


def _columns(numeric: list[str], categorical: list[str]) -> ColumnTransformer:
    """Numbers: median-imputed. Categories: most frequent for blanks, then one-hot (unknowns ignored)."""
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numbers", SimpleImputer(strategy="median"), numeric))
    if categorical:
        encode = Pipeline(
            [
                ("impute", SimpleImputer(missing_values="", strategy="most_frequent")),
                ("encode", OneHotEncoder(handle_unknown="ignore")),
            ]
        )
        transformers.append(("categories", encode, categorical))
    return ColumnTransformer(transformers)


def _metrics(pipeline: Pipeline, x_test: pd.DataFrame, y_test: pd.Series) -> dict[str, float]:
    """Accuracy and macro F1 on the held-out rows; ROC AUC too for two classes both present there."""
    predicted = pipeline.predict(x_test)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
    }
    if len(pipeline.classes_) == 2 and len(set(y_test)) == 2:
        metrics["roc_auc"] = float(roc_auc_score(y_test, pipeline.predict_proba(x_test)[:, 1]))
    return {key: round(value, 6) for key, value in metrics.items()}


def metrics_below(metrics: Mapping[str, float], thresholds: Mapping[str, Any]) -> list[str]:
    """Which declared bounds the metrics miss. A bound is a number (a minimum) or ``{"min": x, "max": y}``;
    a metric that was not computed misses its bound."""
    misses = []
    for name, bound in sorted(thresholds.items()):
        limits = bound if isinstance(bound, Mapping) else {"min": bound}
        value = metrics.get(name)
        if value is None or math.isnan(value):
            misses.append(f"{name} not computed (bound {dict(limits)})")
            continue
        if "min" in limits and value < float(limits["min"]):
            misses.append(f"{name} {value} < {limits['min']}")
        if "max" in limits and value > float(limits["max"]):
            misses.append(f"{name} {value} > {limits['max']}")
    return misses


def prepare(frame: pd.DataFrame, schema: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The schema's columns as the pipeline takes them: numbers as floats, categories as text ("" missing)."""
    prepared = {}
    for item in schema:
        column = frame[item["name"]]
        if item["type"] == "number":
            prepared[item["name"]] = pd.to_numeric(column).astype("float64")
        else:
            prepared[item["name"]] = column.where(column.notna(), "").astype(str)
    return pd.DataFrame(prepared, index=frame.index)


def skops_bytes(pipeline: Pipeline) -> bytes:
    """The fitted pipeline as a skops file (loaded back only with ``registry.artifacts.skops_load``)."""
    # Here, not at the top (also below): every process imports this module when the jobs app starts
    # (its parameter check), and only a training worker needs these heavy converters.
    import skops.io

    return bytes(skops.io.dumps(pipeline))


def onnx_bytes(pipeline: Pipeline, schema: Sequence[Mapping[str, Any]]) -> bytes:
    """The fitted pipeline as ONNX: one ``[n, 1]`` input per feature (float or string), labels and a
    probability tensor out (no ZipMap, so onnxruntime returns plain arrays)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    initial_types = [
        (
            item["name"],
            FloatTensorType([None, 1]) if item["type"] == "number" else StringTensorType([None, 1]),
        )
        for item in schema
    ]
    estimator = pipeline.steps[-1][1]
    model = convert_sklearn(pipeline, initial_types=initial_types, options={id(estimator): {"zipmap": False}})
    return bytes(model.SerializeToString())


def onnx_disagreement(
    pipeline: Pipeline, data: bytes, schema: Sequence[Mapping[str, Any]], held_out: pd.DataFrame
) -> str:
    """How the ONNX model's answers differ from scikit-learn's on ``held_out`` ("" when labels are equal
    and probabilities within 1e-5)."""
    import onnxruntime

    if held_out.empty:
        return ""
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    inputs = {
        item["name"]: held_out[[item["name"]]].to_numpy(np.float32 if item["type"] == "number" else object)
        for item in schema
    }
    labels, probabilities = session.run(None, inputs)
    expected = pipeline.predict(held_out)
    differing = int(np.sum(np.asarray(labels).ravel() != expected))
    if differing:
        return f"ONNX and scikit-learn disagree on {differing} of {len(held_out)} held-out labels"
    gap = float(np.max(np.abs(np.asarray(probabilities) - pipeline.predict_proba(held_out))))
    if gap > 1e-5:
        return f"ONNX and scikit-learn probabilities differ by up to {gap:.2e} (more than 1e-5)"
    return ""


def predict(pipeline: Any, schema: Sequence[Mapping[str, Any]], rows: Sequence[Any]) -> list[Any]:
    """Predictions of a scikit-learn pipeline for JSON rows; raises ParameterError naming a missing or
    mistyped feature."""
    try:
        columns = rows_columns(schema, rows)
    except RowsInvalid as exc:
        raise ParameterError(str(exc)) from exc
    frame = pd.DataFrame(columns, columns=[item["name"] for item in schema])
    return [_plain(value) for value in pipeline.predict(frame)]


def _plain(value: Any) -> Any:
    """numpy scalars as plain JSON values."""
    return value.item() if isinstance(value, np.generic) else value
