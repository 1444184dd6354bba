"""Serving predictions from the version deployed in an environment, loaded once per process.

The artifact is loaded only if its bytes hash to the version's pinned SHA-256 (``ml.artifact_load``);
loaded pipelines are kept per SHA-256 (least recently used evicted), so a redeploy or a stop takes
effect on the next request: the deployment row, not the cache, says what serves.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, TypedDict

from django.conf import settings
from django.core.files.storage import default_storage
from sklearn.pipeline import Pipeline

from governance.errors import NotFound, ValidationFailed
from governance.jobs import ml
from governance.monitoring.capture import predictions_log
from registry.models import Deployment

MAX_ROWS = 1000
_cache: OrderedDict[str, Pipeline] = OrderedDict()
_lock = threading.Lock()


class Prediction(TypedDict):
    model: str
    model_version: int
    environment: str
    deployment: int
    predictions: list[Any]
    prediction_ids: list[str] | None  # ids to post labels for; None when the request was not sampled


def serving_deployment(*, environment: str, model_name: str) -> Deployment:
    deployment = (
        Deployment.objects.select_related("model_version__model")
        .filter(environment=environment, model_version__model__name=model_name, until__isnull=True)
        .first()
    )
    if deployment is None:
        raise NotFound(f"model {model_name!r} is not serving in {environment!r} (never deployed, or stopped)")
    return deployment


def _pipeline(storage_name: str, sha256: str) -> Pipeline:
    with _lock:
        if sha256 in _cache:
            _cache.move_to_end(sha256)
            return _cache[sha256]
    with default_storage.open(storage_name, "rb") as handle:
        pipeline = ml.artifact_load(handle.read(), sha256=sha256)
    with _lock:
        _cache[sha256] = pipeline
        while len(_cache) > settings.SERVING_CACHE_MODELS:
            _cache.popitem(last=False)
    return pipeline


def predict(*, environment: str, model_name: str, rows: Sequence[Any]) -> Prediction:
    if not isinstance(rows, list) or not rows:
        raise ValidationFailed("rows: send a non-empty list of objects, one per prediction")
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(f"rows: at most {MAX_ROWS} per request")
    deployment = serving_deployment(environment=environment, model_name=model_name)
    version = deployment.model_version
    if not version.storage_name:
        raise NotFound(f"{version.node_id} has no stored artifact to serve")
    pipeline = _pipeline(version.storage_name, version.artifact_sha256)
    try:
        predictions = ml.predict(pipeline, version.input_schema, rows)
    except ml.ParameterError as exc:
        raise ValidationFailed(str(exc)) from exc
    prediction_ids = predictions_log(deployment=deployment, rows=rows, predictions=predictions)
    return {
        "model": model_name,
        "model_version": version.version,
        "environment": environment,
        "deployment": deployment.pk,
        "predictions": predictions,
        "prediction_ids": prediction_ids,
    }
