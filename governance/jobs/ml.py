"""Training and serving with scikit-learn, free of Django: a frame in, a fitted pipeline and metrics out.

The pipeline is ``ColumnTransformer`` (numbers imputed with the median; categories imputed and
one-hot encoded, unknown categories ignored at prediction time) followed by the estimator,
``RandomForestClassifier`` by default. Parameters are checked against an allow-list, so a release
request names exactly what is trained and nothing arbitrary reaches the estimator.

Artifacts are joblib pickles. Unpickling runs code, so :func:`artifact_load` refuses bytes whose
SHA-256 differs from the one the registry pinned: only an artifact this service wrote, and whose
hash a signed grant or a model version names, is ever loaded.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypedDict

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

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
        return cls(
            target=str(target),
            features=tuple(features) if features else None,
            test_size=test_size,
            random_state=int(parameters.get("random_state", DEFAULTS["random_state"])),
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


def train(frame: pd.DataFrame, spec: TrainingSpec, *, exclude: Sequence[str] = ()) -> TrainedModel:
    """Fit on a stratified split of ``frame`` and evaluate on the held-out part.

    ``exclude`` names columns never used as features (the data-subject id column).
    """
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
    labelled = frame[frame[spec.target].notna()]
    if len(labelled) < 10:
        raise ParameterError(
            f"the dataset has {len(labelled)} labelled rows after filtering; at least 10 are needed"
        )
    x, y = labelled[features], labelled[spec.target]
    stratify = y if y.value_counts().min() >= 2 else None
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=spec.test_size, random_state=spec.random_state, stratify=stratify
    )
    numeric = [column for column in features if pd.api.types.is_numeric_dtype(frame[column])]
    categorical = [column for column in features if column not in numeric]
    transformers: list[tuple[str, Any, list[str]]] = []
    if numeric:
        transformers.append(("numbers", SimpleImputer(strategy="median"), numeric))
    if categorical:
        transformers.append(
            (
                "categories",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("encode", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                categorical,
            )
        )
    estimator = RandomForestClassifier(random_state=spec.random_state, n_jobs=1, **spec.estimator_parameters)
    pipeline = Pipeline([("features", ColumnTransformer(transformers)), ("estimator", estimator)])
    pipeline.fit(x_train, y_train)
    predicted = pipeline.predict(x_test)
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_macro": float(f1_score(y_test, predicted, average="macro")),
    }
    classes = list(pipeline.classes_)
    if len(classes) == 2 and len(set(y_test)) == 2:
        metrics["roc_auc"] = float(roc_auc_score(y_test, pipeline.predict_proba(x_test)[:, 1]))
    schema: list[InputSchemaField] = [
        {"name": column, "type": "number" if column in numeric else "string"} for column in features
    ]
    return TrainedModel(
        pipeline=pipeline,
        metrics={key: round(value, 6) for key, value in metrics.items()},
        input_schema=schema,
        classes=[_plain(value) for value in classes],
        rows_train=len(x_train),
        rows_test=len(x_test),
    )


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


def artifact_bytes(pipeline: Pipeline) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer, compress=3)
    return buffer.getvalue()


class ArtifactMismatch(ValueError):
    """The bytes are not the ones the registry pinned; they are never unpickled."""


def artifact_load(data: bytes, *, sha256: str) -> Pipeline:
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ArtifactMismatch(f"artifact SHA-256 is {actual}, but {sha256} was pinned")
    # Unpickling runs code: only hash-verified bytes this service wrote get here.
    pipeline = joblib.load(io.BytesIO(data))
    if not isinstance(pipeline, Pipeline):
        raise ArtifactMismatch("artifact is not a scikit-learn pipeline")
    return pipeline


def predict(
    pipeline: Pipeline, schema: Sequence[Mapping[str, str]], rows: Sequence[Mapping[str, Any]]
) -> list[Any]:
    """Predictions for JSON rows; raises ParameterError naming a missing or mistyped feature."""
    names = [item["name"] for item in schema]
    for number, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ParameterError(f"rows[{number}]: must be an object of feature values")
        missing = [name for name in names if name not in row]
        if missing:
            raise ParameterError(f"rows[{number}]: missing feature(s) {', '.join(missing)}")
        for item in schema:
            value = row[item["name"]]
            if (
                item["type"] == "number"
                and value is not None
                and (isinstance(value, bool) or not isinstance(value, int | float))
            ):
                raise ParameterError(f"rows[{number}].{item['name']}: must be a number")
    frame = pd.DataFrame([{name: row[name] for name in names} for row in rows], columns=names)
    for item in schema:
        if item["type"] == "number":
            frame[item["name"]] = pd.to_numeric(frame[item["name"]])
    return [_plain(value) for value in pipeline.predict(frame)]


def _plain(value: Any) -> Any:
    """numpy scalars as plain JSON values."""
    return value.item() if isinstance(value, np.generic) else value
