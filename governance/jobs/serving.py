"""Serving predictions from the version deployed in an environment, from its ONNX form.

1. The deployment row says which version serves (a redeploy or a stop takes effect on the next request):
   each request reads the serving deployment's id and hashes (one light query); the row with its
   version and model is cached per process under that key.
2. On the first request for a version in this process, its signed files are copied out of storage
   into a private temporary directory, checked against the pinned SHA-256s and the service's signature
   (``registry.signing.version_verify``); only then does onnxruntime get the ONNX bytes. The session
   is kept per SHA-256 (least recently used evicted), so later requests only look it up.
3. A skops-only upload (no ONNX form) is loaded with the skops allow-list instead; nothing is unpickled.
4. A version whose bytes or signature do not verify is refused (409) and the refusal audited.

Per request, JSON rows become numpy input tensors directly (no data frame).
"""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, TypedDict

from django.conf import settings

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from governance.jobs import ml
from governance.monitoring.capture import predictions_log
from registry import artifacts, signing
from registry.models import Deployment, ModelVersion
from registry.rows import RowsInvalid, onnx_predict
from registry.selectors.deployments import ServingKey, deployment_serving_get, deployment_serving_key

MAX_ROWS = 1000
# skops-only uploads, loaded pipelines per SHA-256 (ONNX sessions are cached in registry.artifacts).
_pipelines: OrderedDict[str, Any] = OrderedDict()
# Versions that failed verification in this process, with the reason (a version's bytes never change, so a
# tampered version stays refused until another version is deployed).
_refused: dict[tuple[int, str, str], str] = {}
# Deployment rows (with version and model) per serving key; a row never changes version, and the key's
# hashes keep a reused id (a restored or test database) from picking up another deployment.
_deployments: OrderedDict[ServingKey, Deployment] = OrderedDict()
_DEPLOYMENTS_CACHED = 64
_lock = threading.Lock()


class Prediction(TypedDict):
    model: str
    model_version: int
    environment: str
    deployment: int
    predictions: list[Any]
    prediction_ids: list[str] | None  # ids to post labels for; None when the request was not sampled


class UnprocessableModel(ApplicationError):
    """The version is served, but its artifact cannot predict rows that match its own input schema."""

    code = "model_not_servable"
    status = 422  # RFC 9110 §15.5.21: the request is well-formed; what it names cannot process it


def _serving(*, environment: str, model_name: str) -> Deployment:
    """The deployment serving now: its key read on every request (a stop or a redeploy takes effect on
    the next one), the rest of the row, its version and model cached per key."""
    key = deployment_serving_key(environment=environment, model_name=model_name)
    with _lock:
        deployment = _deployments.get(key)
        if deployment is not None:
            _deployments.move_to_end(key)
            return deployment
    deployment = deployment_serving_get(environment=environment, model_name=model_name)
    if deployment.pk != key.deployment_id:  # redeployed in between: serve it, cache it on its own key
        return deployment
    with _lock:
        _deployments[key] = deployment
        while len(_deployments) > _DEPLOYMENTS_CACHED:
            _deployments.popitem(last=False)
    return deployment


def serving_refusal_record(*, actor: Actor, version: ModelVersion, reason: str) -> None:
    """One audit entry for a deployed version that failed its checks at load (bytes, signature)."""
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_ARTIFACT_REFUSE,
        target=Target.of("model_version", version.node_id),
        data={"where": "serving", "reason": reason},
    )


def _load(version: ModelVersion) -> tuple[str, Any]:
    """``("onnx", session)`` or ``("skops", pipeline)`` for a version, verified on first use per process."""
    key = version.onnx_sha256 or version.artifact_sha256
    if version.onnx_sha256:
        session = artifacts.onnx_session_cached(key)
        if session is not None:
            return "onnx", session
    else:
        with _lock:
            if key in _pipelines:
                _pipelines.move_to_end(key)
                return "skops", _pipelines[key]
    reason = version.undeployable_reason
    if reason:
        raise signing.SignatureInvalid(reason)
    with tempfile.TemporaryDirectory(prefix="governance-serve-") as work:
        model_dir = signing.version_verify(version, Path(work))
        if version.onnx_sha256:
            session = artifacts.onnx_session(
                model_dir / "model.onnx", version.onnx_sha256, keep=settings.SERVING_CACHE_MODELS
            )
            return "onnx", session
        pipeline = artifacts.skops_load(model_dir / "model.skops")
    with _lock:
        _pipelines[key] = pipeline
        while len(_pipelines) > settings.SERVING_CACHE_MODELS:
            _pipelines.popitem(last=False)
    return "skops", pipeline


def predict(*, environment: str, model_name: str, rows: Any, actor: Actor | None = None) -> Prediction:
    if not isinstance(rows, list) or not rows:
        raise ValidationFailed("rows: send a non-empty list of objects, one per prediction")
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(f"rows: at most {MAX_ROWS} per request")
    deployment = _serving(environment=environment, model_name=model_name)
    version = deployment.model_version
    if not version.storage_name:
        raise NotFound(f"{version.node_id} has no stored artifact to serve")
    refused_key = (version.pk, version.artifact_sha256, version.created_at.isoformat())  # ids can be reused
    with _lock:
        reason = _refused.get(refused_key, "")
    if not reason:
        try:
            kind, model = _load(version)
        except (signing.SignatureInvalid, artifacts.ArtifactRefused) as exc:
            reason = str(getattr(exc, "detail", exc))
            # Verified once per process: a caller repeating the request against a tampered version must
            # not make the server copy and hash its files on every call (each refusal is still audited).
            with _lock:
                _refused[refused_key] = reason
    if reason:
        serving_refusal_record(actor=actor or Actor.system("serving"), version=version, reason=reason)
    if reason:
        raise Conflict(
            f"{version.node_id} is not served: {reason}; redeploy a verified version",
            code="artifact_unverified",
        )
    try:
        if kind == "onnx":
            predictions = onnx_predict(model, version.input_schema, rows)
        else:
            predictions = ml.predict(model, version.input_schema, rows)
    except (RowsInvalid, ml.ParameterError) as exc:
        raise ValidationFailed(str(exc)) from exc
    # The rows fit the version's declared input schema, so a failure here is the artifact's: an estimator
    # that is not a pipeline over those features (fitted on other columns, not fitted, needing numbers
    # where the schema has text) or an ONNX graph with other inputs. Refused and audited, never a 500.
    except Exception as exc:  # any error raised inside the model's own code
        reason = f"the model cannot predict rows of its input schema ({type(exc).__name__}: {exc})"[:500]
        serving_refusal_record(actor=actor or Actor.system("serving"), version=version, reason=reason)
        raise UnprocessableModel(
            f"{version.node_id}: {reason}; register a version whose artifact is a pipeline taking the "
            "input schema's features"
        ) from exc
    prediction_ids = predictions_log(deployment=deployment, rows=rows, predictions=predictions)
    return {
        "model": model_name,
        "model_version": version.version,
        "environment": environment,
        "deployment": deployment.pk,
        "predictions": predictions,
        "prediction_ids": prediction_ids,
    }
