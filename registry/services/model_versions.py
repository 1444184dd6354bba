"""Writing model versions: add one (uploaded and checked, or referenced), record a refused file, archive.

Every service here is one action with exactly one audit entry, in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.jcs import canonical_json
from audit.services import Target, audit_record
from governance.core.errors import Conflict, ValidationFailed
from governance.core.raw_rows import insert_row
from registry import signing, storage
from registry.artifacts import ArtifactRefused, artifact_check
from registry.edges import PRODUCED, edge_add
from registry.models import (
    ArtifactFormat,
    MetricsSource,
    ModelVersion,
    RegisteredModel,
    TrainingRun,
)
from registry.services.archiving import row_archive
from registry.services.common import acting_user_id, check_sha256


# long: twenty lines of keyword parameters (the version's columns); each step is a helper below.
@transaction.atomic
def model_version_create(
    *,
    actor: Actor,
    model: RegisteredModel,
    artifact_uri: str = "",
    artifact_sha256: str = "",
    artifact_size: int | None = None,
    storage_name: str = "",
    framework: str = "",
    parameters: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    input_schema: Sequence[Any] | None = None,
    run: TrainingRun | None = None,
    digest_unknown: bool = False,
    artifact_format: str = "",
    onnx_sha256: str = "",
    onnx_storage_name: str = "",
    sign_files: Mapping[str, Path] | None = None,
    trained_here: bool = False,
    bias_examination: Mapping[str, Any] | None = None,
    with_version: Callable[[ModelVersion], None] | None = None,
) -> ModelVersion:
    """Add the next version of ``model`` (``bias_examination``: the training job's, ``trained_here`` only).

    1. The artifact is either ours (``storage_name``: stored and hashed by us, so verified, in a safe
       ``artifact_format``) or a reference (``artifact_uri`` with the caller's SHA-256 and size,
       unverified, ``reference`` format, never deployable). ``digest_unknown`` admits a reference with
       neither (the MLflow API's unreachable sources).
    2. Lock the model row, so concurrent registrations get 1, 2, 3... with no gap or duplicate.
    3. Sign ``sign_files`` (stored artifacts, by their names in the signed directory) with the service's
       key, naming this version and its run (``trained_here``) or its uploader; store bundle and provenance.
    4. Link the producing run (edge run → model version, ``produced``), write the caller's own rows
       for the version (``with_version``, the MLflow API's), and record the action: all in this one
       transaction (the caller need not open another around it, which would cost a savepoint).
    """
    _check_artifact_fields(
        digest_unknown=digest_unknown,
        storage_name=storage_name,
        artifact_uri=artifact_uri,
        artifact_sha256=artifact_sha256,
        artifact_size=artifact_size,
        artifact_format=artifact_format,
        signed=bool(sign_files),
    )
    version = _version_insert(
        model=model,
        user_id=acting_user_id(actor),
        sign_files=sign_files if storage_name else None,
        trained_here=trained_here,
        artifact_uri=artifact_uri,
        artifact_sha256=artifact_sha256,
        artifact_size=artifact_size,
        storage_name=storage_name,
        artifact_verified=bool(storage_name),
        artifact_format=artifact_format if storage_name else ArtifactFormat.REFERENCE,
        onnx_sha256=onnx_sha256,
        onnx_storage_name=onnx_storage_name,
        metrics_source=MetricsSource.SERVICE if trained_here else MetricsSource.DECLARED,
        framework=framework,
        parameters=dict(parameters or {}),
        metrics=dict(metrics or {}),
        input_schema=list(input_schema or []),
        run=run,
        bias_examination=dict(bias_examination or {}) if trained_here else {},
    )
    if run is not None:
        edge_add(source=run.node_id, target=version.node_id, relation=PRODUCED)
    if with_version is not None:
        with_version(version)
    _record_created(actor, version)
    return version


def _version_insert(
    *,
    model: RegisteredModel,
    user_id: int,
    sign_files: Mapping[str, Path] | None,
    trained_here: bool,
    **columns: Any,
) -> ModelVersion:
    """Number the version under the model's row lock (1, 2, 3... with no gap or duplicate), sign the
    stored files naming it, and insert it; if the insert fails, the signature files stored are removed."""
    model_name, number = _number_locked(model)
    signed = None
    if sign_files:
        run = columns["run"]
        signed = signing.version_sign(
            node_id=f"model:{model_name}#{number}",
            artifact_format=columns["artifact_format"],
            files=sign_files,
            run_node_id=run.node_id if run is not None else None,
            uploaded_by=None if trained_here else f"user:{user_id}",
        )
    try:
        version = ModelVersion(
            model=model,
            version=number,
            signature_storage_name=signed.signature_storage_name if signed else "",
            provenance_storage_name=signed.provenance_storage_name if signed else "",
            signing_key_id=signed.key_id if signed else "",
            created_by_id=user_id,
            created_at=timezone.now(),
            **columns,
        )
        insert_row(version)  # one fixed statement: compiling the ORM's INSERT cost more
        return version
    except Exception:
        for name in signed.newly_stored if signed else []:
            storage.discard(name)
        raise


# Plain statements on this hot path (every registration): the ORM's compiling cost more than running them.
# On PostgreSQL one function call does both (registry/sql/registry_model_version_next.sql).
_NEXT_POSTGRES = "SELECT o_name, o_archived_at, o_next FROM registry_model_version_next(%s)"
_MODEL_STATE = "SELECT name, archived_at FROM registry_registeredmodel WHERE id = %s"
_NEXT_NUMBER = "SELECT COALESCE(MAX(version), 0) + 1 FROM registry_modelversion WHERE model_id = %s"


def _number_locked(model: RegisteredModel) -> tuple[str, int]:
    """Lock the model's row (until the transaction ends) and return its name and next version number;
    ``Conflict`` when it is archived. The maximum is read after the lock is held, so in a fresh
    snapshot: two concurrent registrations get consecutive numbers."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_NEXT_POSTGRES, [model.pk])
            name, archived_at, number = cursor.fetchone()
        else:  # SQLite: its IMMEDIATE transaction already serialises writers; no row lock to take
            cursor.execute(_MODEL_STATE, [model.pk])
            name, archived_at = cursor.fetchone() or (None, None)
            cursor.execute(_NEXT_NUMBER, [model.pk])
            (number,) = cursor.fetchone()
    if name is None:
        raise RegisteredModel.DoesNotExist(f"model {model.pk} is gone")
    if archived_at is not None:
        raise Conflict(f"model {name!r} is archived; it takes no new versions")
    return str(name), int(number)


def _check_artifact_fields(
    *,
    digest_unknown: bool,
    storage_name: str,
    artifact_uri: str,
    artifact_sha256: str,
    artifact_size: int | None,
    artifact_format: str,
    signed: bool,
) -> None:
    """The artifact is ours (stored, checked and signed) or a reference with its digest and size."""
    if digest_unknown and (storage_name or artifact_sha256 or not artifact_uri):
        raise ValidationFailed("digest_unknown: only for an artifact_uri given without its SHA-256")
    if not digest_unknown:
        check_sha256(artifact_sha256, field="artifact_sha256")
        if artifact_size is None or artifact_size < 0:
            raise ValidationFailed("artifact_size: give the artifact's size in bytes (0 or more)")
    if not storage_name and not artifact_uri:
        raise ValidationFailed("send the artifact (multipart field 'artifact') or its artifact_uri")
    if storage_name and (artifact_format not in (ArtifactFormat.SKOPS, ArtifactFormat.ONNX) or not signed):
        raise ValidationFailed(
            "a stored artifact is ONNX or skops, checked and signed by model_version_upload"
        )


def _record_created(actor: Actor, version: ModelVersion) -> None:
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_VERSION_CREATE,
        target=Target.of("model_version", version.node_id),
        data={
            "artifact_sha256": version.artifact_sha256,
            "artifact_size": version.artifact_size,
            "artifact_verified": version.artifact_verified,
            "artifact_format": version.artifact_format,
            "onnx_sha256": version.onnx_sha256 or None,
            "signing_key_id": version.signing_key_id or None,
            "metrics_source": version.metrics_source,
            "run": str(version.run.run_id) if version.run is not None else None,
            # The training job's bias examination, pinned by its hash in the signed log.
            "bias_examination_sha256": (
                hashlib.sha256(canonical_json(version.bias_examination)).hexdigest()
                if version.bias_examination
                else None
            ),
        },
    )


def model_artifact_refusal_record(
    *, actor: Actor, model: RegisteredModel, reason: str, sha256: str, size: int
) -> None:
    """One audit entry for a model file refused at the door (a pickle, unknown bytes, untrusted types)."""
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_ARTIFACT_REFUSE,
        target=Target.of("model", f"model:{model.name}"),
        data={"where": "upload", "reason": reason, "sha256": sha256, "size": size},
    )


def _checked(actor: Actor, model: RegisteredModel, spooled: storage.SpooledFile) -> ArtifactFormat:
    try:
        return artifact_check(spooled.path)
    except ArtifactRefused as exc:
        model_artifact_refusal_record(
            actor=actor, model=model, reason=exc.detail, sha256=spooled.sha256, size=spooled.size
        )
        raise


def model_version_upload(
    *,
    actor: Actor,
    model: RegisteredModel,
    artifact: File,
    expected_sha256: str = "",
    serving_onnx: File | None = None,
    **fields: Any,
) -> ModelVersion:
    """Store an uploaded artifact (hashed while written, checked, deduplicated, signed), then add the version.

    1. ``expected_sha256``, when sent, must match the bytes received (a truncated upload is refused).
    2. The spooled bytes must be ONNX or skops (``registry.artifacts.artifact_check``): a pickle, an
       unknown file, a skops file naming types outside the allow-list or an ONNX model with custom ops
       is refused and the refusal audited; nothing is stored.
    3. ``serving_onnx`` (the training job's ONNX form of a skops pipeline) is checked the same way; an
       ONNX upload is its own serving form.
    4. The bytes are stored before the transaction opens (no lock is held during a long upload); if the
       version is then refused, files this call stored are removed again so nothing is left dangling.
    """
    if fields.get("artifact_uri"):
        raise ValidationFailed("send either the artifact file or its artifact_uri, not both")
    if expected_sha256:
        check_sha256(expected_sha256, field="artifact_sha256")
    fields.pop("artifact_uri", None)
    with ExitStack() as stack:
        spooled = stack.enter_context(storage.spool(artifact))
        if expected_sha256 and expected_sha256 != spooled.sha256:
            raise ValidationFailed(
                f"artifact_sha256: the uploaded bytes hash to {spooled.sha256}, not {expected_sha256}; "
                "the upload may be incomplete"
            )
        artifact_format = _checked(actor, model, spooled)
        onnx = spooled if artifact_format == ArtifactFormat.ONNX else None
        if serving_onnx is not None:
            onnx = stack.enter_context(storage.spool(serving_onnx))
            if _checked(actor, model, onnx) != ArtifactFormat.ONNX:
                raise ArtifactRefused("serving_onnx: not an ONNX model")
        return _stored_version_create(actor, model, spooled, onnx, artifact_format, fields)
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns or raises


def _stored_version_create(
    actor: Actor,
    model: RegisteredModel,
    spooled: storage.SpooledFile,
    onnx: storage.SpooledFile | None,
    artifact_format: ArtifactFormat,
    fields: dict[str, Any],
) -> ModelVersion:
    """Store the checked bytes (and the serving ONNX form), then add the version signing them; if that
    is refused, the files this call stored are removed again so nothing is left dangling."""
    newly: list[str] = []
    try:
        name, new = storage.save_spooled(spooled)
        newly += [name] if new else []
        onnx_name = ""
        if onnx is not None:
            onnx_name, new = storage.save_spooled(onnx)
            newly += [onnx_name] if new and onnx_name not in newly else []
        files = {signing.ARTIFACT_NAMES[artifact_format]: spooled.path}
        if onnx is not None:
            files["model.onnx"] = onnx.path
        return model_version_create(
            actor=actor,
            model=model,
            artifact_sha256=spooled.sha256,
            artifact_size=spooled.size,
            storage_name=name,
            artifact_format=artifact_format,
            onnx_sha256=onnx.sha256 if onnx is not None else "",
            onnx_storage_name=onnx_name,
            sign_files=files,
            **fields,
        )
    except Exception:
        for stored in newly:
            storage.discard(stored)
        raise


def model_version_archive(*, actor: Actor, version: ModelVersion) -> ModelVersion:
    """Archive a model version (never delete it: a run, a deployment or an approval may point to it)."""
    return row_archive(
        actor=actor,
        row=version,
        action=AuditAction.MODEL_VERSION_ARCHIVE,
        target=Target.of("model_version", version.node_id),
        what=f"model version {version.node_id!r}",
    )
