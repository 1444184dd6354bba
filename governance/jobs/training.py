"""The training job: approved dataset bytes, today's consent, a scikit-learn model, one registration.

Steps (the runner has verified and claimed the grant):
1. Copy each pinned dataset version out of storage, hashing it: the bytes must be the approved ones.
2. No erasure or deletion may now affect those dataset versions.
3. Apply the consent filter for ``train_ai_system`` as of now, to exactly those bytes; keep the manifest.
4. Train and evaluate on a held-out split; when a pinned dataset declares protected attributes, examine
   bias on the same held-out rows (``bias.py``, EU AI Act Art. 10(2)(f)) and count its differences among
   the metrics; metrics must meet the thresholds declared in the request (declared before evaluation,
   pinned in the request hash).
5. Write the pipeline as skops and as ONNX; the ONNX model must answer the held-out rows as
   scikit-learn does (labels equal, probabilities within 1e-5), or the job is refused.
6. In one transaction: the model (if new), the run (inputs, parameters, code version, environment,
   metrics, consent manifests), the model version with both artifacts pinned by SHA-256 and signed
   (provenance naming the version and this run), an OpenLineage record of the run, and the job's
   ending. Killed before this commits, the worker leaves no model version behind.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import io
import platform
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sklearn
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from governance.accounts.models import User
from governance.approvals.hashing import utc_text
from governance.consent.selectors import eligible_rows, erasure_affected_nodes
from governance.jobs import bias, ml
from governance.jobs.context import Context, Refused, fetch_verified
from governance.jobs.services import job_complete_in_transaction, job_progress
from governance.monitoring.services import profile_create
from registry.models import DatasetVersion, ModelVersion, RegisteredModel, TrainingRun
from registry.services.catalog import model_create, model_version_upload, run_create
from registry.services.lineage import lineage_event_ingest

PURPOSE = "train_ai_system"
LINEAGE_NAMESPACE = "governance"
PRODUCER = "https://github.com/model-governance/service/jobs"


def train(context: Context) -> None:
    job = context.job
    try:
        spec = ml.TrainingSpec.from_parameters(context.claims["parameters"])
    except ml.ParameterError as exc:
        raise Refused("parameters", str(exc)) from exc
    versions, paths = _verified_data(context)
    job_progress(job=job, stage="consent filter", percent=20)
    started_at = timezone.now()
    frame, manifests, subject_columns = _consented_rows(versions, paths, at=started_at)

    job_progress(job=job, stage="training", percent=40)
    trained = ml.train(frame, spec, exclude=subject_columns)
    job_progress(job=job, stage="evaluating", percent=80)
    examination = _bias_examination(versions, frame, trained, spec)
    if examination:
        trained = dataclasses.replace(
            trained, metrics={**trained.metrics, **bias.examination_metrics(examination)}
        )
    artifacts = _checked_artifacts(context, trained)
    # The drift monitor's reference: the labelled rows trained and evaluated on, and the model's answers.
    labelled = frame[frame[spec.target].notna()]
    answers = trained.pipeline.predict(ml.prepare(labelled, trained.input_schema)).tolist()
    ended_at = timezone.now()

    job_progress(job=job, stage="registering", percent=90)
    with transaction.atomic():
        registered = _register(
            context,
            versions,
            trained,
            manifests,
            artifacts,
            examination=examination,
            started_at=started_at,
            ended_at=ended_at,
        )
        profile_create(
            actor=context.actor,
            model_version=registered,
            frame=labelled,
            predictions=answers,
            classes=trained.classes,
        )


def _verified_data(context: Context) -> tuple[list[DatasetVersion], list[Path]]:
    """Steps 1-2: each pinned dataset version copied out and hashed; no erasure may now affect them."""
    versions = [
        item.dataset_version
        for item in context.job.release.datasets.select_related("dataset_version__dataset").order_by(
            "node_id"
        )
    ]
    job_progress(job=context.job, stage="verifying data", percent=5)
    paths = [
        fetch_verified(context, storage_name=version.storage_name, node_id=version.node_id)
        for version in versions
    ]
    affected = erasure_affected_nodes(dataset_version_ids=[version.pk for version in versions])
    if affected:
        raise Refused("erasure", f"an erasure or deletion request now affects {', '.join(affected)}")
    return versions, paths


def _consented_rows(
    versions: list[DatasetVersion], paths: list[Path], *, at: datetime
) -> tuple[pd.DataFrame, list[Any], list[str]]:
    """Step 3: the rows with consent for ``train_ai_system`` as of ``at``, their manifests, and the
    subject id columns (never a feature)."""
    frames, manifests = [], []
    for version, path in zip(versions, paths, strict=True):
        frame, manifest = eligible_rows(dataset_version=version, purpose=PURPOSE, at=at, source=path)
        frames.append(frame)
        manifests.append(manifest)
    # One row, one index label: the bias examination finds the held-out rows' protected columns by it.
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    subject_columns = sorted({v.dataset.subject_id_column for v in versions if v.dataset.subject_id_column})
    return frame, manifests, subject_columns


def _bias_examination(
    versions: list[DatasetVersion], frame: pd.DataFrame, trained: ml.TrainedModel, spec: ml.TrainingSpec
) -> dict[str, Any]:
    """Step 4's examination of the columns the pinned datasets declare protected (or proxies), on the
    held-out rows the metrics come from; {} when none declares any. The columns come from the consented
    frame, so one the features leave out is examined all the same."""
    declared = [
        attribute
        for version in versions
        for attribute in version.dataset.protected_attributes or []
        if isinstance(attribute, dict) and attribute.get("column")
    ]
    if not declared:
        return {}
    positive, reason = bias.positive_label_choose(trained.classes, spec.positive_label)
    examination = bias.examine(
        frame.loc[trained.held_out.index],
        trained.held_out_labels,
        trained.pipeline.predict(trained.held_out),
        positive_label=positive,
        attributes=declared,
        not_examined=reason,
    )
    return dict(examination)


def _checked_artifacts(context: Context, trained: ml.TrainedModel) -> tuple[bytes, bytes]:
    """Steps 4-5: metrics meet the declared thresholds; the skops and ONNX forms, which must agree."""
    release = context.job.release
    misses = ml.metrics_below(trained.metrics, release.metric_thresholds)
    if misses:
        raise ValueError(
            f"metrics below the thresholds declared in release {release.pk}: {'; '.join(misses)}"
        )
    artifact = ml.skops_bytes(trained.pipeline)
    serving = ml.onnx_bytes(trained.pipeline, trained.input_schema)
    disagreement = ml.onnx_disagreement(trained.pipeline, serving, trained.input_schema, trained.held_out)
    if disagreement:
        raise Refused("onnx_agreement", f"{disagreement}; the model is not registered")
    return artifact, serving


def _register(
    context: Context,
    versions: list[DatasetVersion],
    trained: ml.TrainedModel,
    manifests: list[Any],
    artifacts: tuple[bytes, bytes],
    *,
    examination: dict[str, Any],
    started_at: datetime,
    ended_at: datetime,
) -> ModelVersion:
    """Step 6, inside the caller's transaction: model (if new), run, signed version (with its bias
    examination), lineage, job end."""
    job, release, actor = context.job, context.job.release, context.actor
    model = RegisteredModel.objects.filter(name=release.model_name).first()
    if model is None:
        model = model_create(
            actor=actor,
            name=release.model_name,
            risk_level=release.risk_level,
            description=release.justification[:2000],
        )
    run_id = uuid.uuid4()
    job_name = f"train/{model.name}"
    run = _run_record(
        context, run_id, job_name, versions, trained, manifests, started_at=started_at, ended_at=ended_at
    )
    version = model_version_upload(
        actor=actor,
        model=model,
        artifact=File(io.BytesIO(artifacts[0]), name="model.skops"),
        serving_onnx=File(io.BytesIO(artifacts[1]), name="model.onnx"),
        trained_here=True,
        framework=f"scikit-learn {sklearn.__version__} {ml.ESTIMATOR}",
        parameters=dict(release.parameters),
        metrics=trained.metrics,
        input_schema=list(trained.input_schema),
        run=run,
        bias_examination=examination,
    )
    user = User.objects.get(pk=job.requested_by_id)
    lineage_event_ingest(
        actor=actor, user=user, event=_openlineage_event(run_id, job_name, versions, ended_at)
    )
    job_complete_in_transaction(
        actor=actor, job=job, result=_job_result(version, run, trained, manifests, examination)
    )
    return version


def _job_result(
    version: ModelVersion,
    run: TrainingRun,
    trained: ml.TrainedModel,
    manifests: list[Any],
    examination: dict[str, Any],
) -> dict[str, Any]:
    """What the job's page and its audit entry keep: the version, its pins, metrics, consent manifests and
    a summary of the bias examination (sizes and differences, never a group's value)."""
    result: dict[str, Any] = {
        "model_version": version.node_id,
        "artifact_sha256": version.artifact_sha256,
        "onnx_sha256": version.onnx_sha256,
        "signing_key_id": version.signing_key_id,
        "run": run.node_id,
        "metrics": trained.metrics,
        "consent": [
            {key: manifest[key] for key in ("dataset_version", "rows_included", "included_subjects_sha256")}
            for manifest in manifests
        ],
    }
    if examination:
        result["bias"] = bias.examination_summary(examination)
    return result


def _run_record(
    context: Context,
    run_id: uuid.UUID,
    job_name: str,
    versions: list[DatasetVersion],
    trained: ml.TrainedModel,
    manifests: list[Any],
    *,
    started_at: datetime,
    ended_at: datetime,
) -> TrainingRun:
    """The training run: inputs, parameters, code version, the library versions that wrote the
    artifacts, metrics, and facets naming the consent manifests, the release and the job."""
    job, release = context.job, context.job.release
    environment = {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "skops": importlib.metadata.version("skops"),
        "skl2onnx": importlib.metadata.version("skl2onnx"),
        "onnxruntime": importlib.metadata.version("onnxruntime"),
        "worker": job.worker,
    }
    facets = {
        "consent": manifests,
        "release": {"id": release.pk, "request_hash": release.request_hash, "grant_id": str(job.grant_id)},
        "job": {"id": job.pk, "rows_train": trained.rows_train, "rows_test": trained.rows_test},
    }
    return run_create(
        actor=context.actor,
        run_id=run_id,
        job_namespace=LINEAGE_NAMESPACE,
        job_name=job_name,
        inputs=[
            {"namespace": v.dataset.namespace, "name": v.dataset.name, "version": v.version} for v in versions
        ],
        parameters=dict(release.parameters),
        metrics=trained.metrics,
        code_version=release.code_version,
        environment=environment,
        started_at=started_at,
        ended_at=ended_at,
        facets=facets,
    )


def _openlineage_event(
    run_id: uuid.UUID, job_name: str, versions: list[DatasetVersion], ended_at: Any
) -> dict[str, Any]:
    """The run as an OpenLineage 2-0-2 COMPLETE RunEvent, so OpenLineage consumers see it like any other."""
    spec = "https://openlineage.io/spec"
    return {
        "eventType": "COMPLETE",
        "eventTime": utc_text(ended_at),
        "producer": PRODUCER,
        "schemaURL": f"{spec}/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(run_id)},
        "job": {"namespace": LINEAGE_NAMESPACE, "name": job_name},
        "inputs": [
            {
                "namespace": version.dataset.namespace,
                "name": version.dataset.name,
                "facets": {
                    "datasetVersion": {
                        "_producer": PRODUCER,
                        "_schemaURL": f"{spec}/facets/1-0-1/DatasetVersionDatasetFacet.json",
                        "datasetVersion": version.version,
                    }
                },
            }
            for version in versions
        ],
        "outputs": [],
    }
