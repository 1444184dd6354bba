"""Writing the model catalog: registered models, their versions and training runs.

Every service here is one action: the change, its lineage edges and exactly one audit entry, in one
transaction. Audit targets are lineage node ids, so a lineage report finds a node's history.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypedDict

from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts.models import User
from governance.core.errors import Conflict, PermissionRefused, ValidationFailed
from governance.core.permissions import user_roles
from governance.core.roles import Role
from registry import signing, storage
from registry.artifacts import ArtifactRefused, artifact_check
from registry.edges import PRODUCED, RUN_OF, USED_BY, edge_add, edges_add
from registry.models import (
    ArtifactFormat,
    DatasetVersion,
    Job,
    MetricsSource,
    ModelVersion,
    RegisteredModel,
    RiskClassification,
    RiskLevel,
    TrainingRun,
)
from registry.services.archiving import row_archive

SHA256_HEX: Final = re.compile(r"^[0-9a-f]{64}$")
TAG_KEY: Final = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
MAX_TAG_VALUE: Final = 500
MODEL_FIELDS: Final = ("description", "intended_use", "risk_level", "tags")


class DatasetVersionRef(TypedDict):
    namespace: str
    name: str
    version: str


def acting_user_id(actor: Actor) -> int:
    """The user behind an actor: rows record who did it (owner, created_by, deployed_by)."""
    user_id = actor.user_id
    if user_id is None:
        raise PermissionRefused("this action needs a user or a user's token")
    return user_id


def check_sha256(value: str, *, field: str) -> str:
    if not SHA256_HEX.match(value):
        raise ValidationFailed(
            f"{field}: {value!r} is not a SHA-256 digest; send 64 lowercase hexadecimal characters"
        )
    return value


def check_risk_level(value: str) -> str:
    if value not in RiskLevel.values:
        raise ValidationFailed(
            f"risk_level: {value!r} is not an EU AI Act risk level; "
            f"choose one of {', '.join(RiskLevel.values)}"
        )
    return value


def check_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not TAG_KEY.match(key):
            raise ValidationFailed(
                f"tags: {key!r} is not a tag key; use up to 100 letters, digits, '_', '.' or '-'"
            )
        if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
            raise ValidationFailed(
                f"tags.{key}: a tag value is a string of at most {MAX_TAG_VALUE} characters"
            )
        checked[key] = value
    return checked


# --- Registered models --------------------------------------------------------------------------------


@transaction.atomic
def model_create(
    *,
    actor: Actor,
    name: str,
    description: str = "",
    intended_use: str = "",
    risk_level: str = RiskLevel.MINIMAL,
    tags: Mapping[str, Any] | None = None,
) -> RegisteredModel:
    """Register a model owned by the acting user."""
    check_risk_level(risk_level)
    checked_tags = check_tags(tags or {})
    if RegisteredModel.objects.filter(name=name).exists():
        raise Conflict(f"a model named {name!r} exists; pick another name or add a version to it")
    try:
        with transaction.atomic():  # a concurrent create of the same name fails here, not with a 500
            model = RegisteredModel.objects.create(
                name=name,
                owner_id=acting_user_id(actor),
                description=description,
                intended_use=intended_use,
                risk_level=risk_level,
                tags=checked_tags,
                created_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise Conflict(f"a model named {name!r} exists; pick another name") from exc
    RiskClassification.objects.create(
        model=model, risk_level=risk_level, decided_by_id=model.owner_id, decided_at=model.created_at
    )
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_CREATE,
        target=Target.of("model", f"model:{name}"),
        data={"risk_level": risk_level, "tags": checked_tags},
    )
    return model


def risk_reclassifier_refusal(actor: Actor) -> PermissionRefused | None:
    """Why ``actor`` may not change a model's risk level, or None for a compliance officer."""
    user = User.objects.filter(pk=actor.user_id).first() if actor.user_id is not None else None
    if user is not None and Role.COMPLIANCE_OFFICER in user_roles(user):
        return None
    return PermissionRefused(
        "a model's risk level is a compliance decision (EU AI Act Art. 6): only a compliance officer "
        "changes it, with a reason; ask one to reclassify the model",
        code="risk_level_officer_only",
    )


def model_update(
    *, actor: Actor, model: RegisteredModel, changes: Mapping[str, Any], reason: str = ""
) -> RegisteredModel:
    """Change a model's description, intended use, risk level or tags; a no-op records nothing.

    The risk level changes only by a compliance officer's reclassification with a ``reason``, kept as a
    :class:`RiskClassification` row; anyone else's attempt is refused and the refusal audited.
    """
    if "risk_level" in changes and changes["risk_level"] != model.risk_level:
        refusal = risk_reclassifier_refusal(actor)
        if refusal is not None:
            model_risk_refusal_record(actor=actor, model=model, wanted=str(changes["risk_level"]))
            raise refusal
    return _model_update(actor=actor, model=model, changes=changes, reason=reason)


@transaction.atomic
def model_risk_refusal_record(*, actor: Actor, model: RegisteredModel, wanted: str) -> None:
    """One audit entry for a risk level change refused to someone who is not a compliance officer."""
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_RISK_LEVEL_REFUSE,
        target=Target.of("model", f"model:{model.name}"),
        data={"risk_level": {"current": model.risk_level, "wanted": wanted}},
    )


@transaction.atomic
def _model_update(
    *, actor: Actor, model: RegisteredModel, changes: Mapping[str, Any], reason: str
) -> RegisteredModel:
    unknown = sorted(set(changes) - set(MODEL_FIELDS))
    if unknown:
        raise ValidationFailed(f"{', '.join(unknown)}: not changeable; change only {', '.join(MODEL_FIELDS)}")
    wanted = dict(changes)
    if "risk_level" in wanted:
        check_risk_level(wanted["risk_level"])
    if "tags" in wanted:
        wanted["tags"] = check_tags(wanted["tags"])
    locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if locked.archived_at is not None:
        raise Conflict(f"model {locked.name!r} is archived; an archived model is not changed")
    changed = {field: value for field, value in wanted.items() if getattr(locked, field) != value}
    if not changed:
        return locked
    before = {field: getattr(locked, field) for field in changed}
    data: dict[str, Any] = {"fields": sorted(changed)}
    if "risk_level" in changed:
        data["risk_classification"] = _risk_reclassify(
            actor=actor, model=locked, level=changed["risk_level"], reason=reason
        )
    RegisteredModel.objects.filter(pk=locked.pk).update(**changed)
    # Free text is named, not copied, into the log; the governance-relevant values are kept whole.
    for field in ("risk_level", "tags"):
        if field in changed:
            data[field] = {"before": before[field], "after": changed[field]}
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_UPDATE,
        target=Target.of("model", f"model:{locked.name}"),
        data=data,
    )
    locked.refresh_from_db()
    return locked


def _risk_reclassify(*, actor: Actor, model: RegisteredModel, level: str, reason: str) -> dict[str, Any]:
    refusal = risk_reclassifier_refusal(actor)  # again under the lock: the level may have moved meanwhile
    if refusal is not None:
        raise refusal
    if not reason.strip():
        raise ValidationFailed(
            "reason: say why the risk level changes; it is shown on every release request of the model"
        )
    row = RiskClassification.objects.create(
        model=model,
        risk_level=level,
        previous_level=model.risk_level,
        reclassified=True,
        reason=reason.strip(),
        decided_by_id=acting_user_id(actor),
        decided_at=timezone.now(),
    )
    return {"id": row.pk, "reason": row.reason}


def model_archive(*, actor: Actor, model: RegisteredModel) -> RegisteredModel:
    """Archive a model (never delete it: approvals and lineage point to it)."""
    return row_archive(
        actor=actor,
        row=model,
        action=AuditAction.MODEL_ARCHIVE,
        target=Target.of("model", f"model:{model.name}"),
        what=f"model {model.name!r}",
    )


# --- Model versions --------------------------------------------------------------------------------------


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
) -> ModelVersion:
    """Add the next version of ``model``.

    1. The artifact is either ours (``storage_name``: stored and hashed by us, so verified, in a safe
       ``artifact_format``) or a reference (``artifact_uri`` with the caller's SHA-256 and size,
       unverified, ``reference`` format, never deployable). ``digest_unknown`` admits a reference with
       neither (the MLflow API's unreachable sources).
    2. Lock the model row, so concurrent registrations get 1, 2, 3... with no gap or duplicate.
    3. Sign ``sign_files`` (stored artifacts, by their names in the signed directory) with the service's
       key, naming this version and its run (``trained_here``) or its uploader; store bundle and provenance.
    4. Link the producing run (edge run → model version, ``produced``) and record the action.
    """
    if digest_unknown and (storage_name or artifact_sha256 or not artifact_uri):
        raise ValidationFailed("digest_unknown: only for an artifact_uri given without its SHA-256")
    if not digest_unknown:
        check_sha256(artifact_sha256, field="artifact_sha256")
        if artifact_size is None or artifact_size < 0:
            raise ValidationFailed("artifact_size: give the artifact's size in bytes (0 or more)")
    if not storage_name and not artifact_uri:
        raise ValidationFailed("send the artifact (multipart field 'artifact') or its artifact_uri")
    if storage_name and (
        artifact_format not in (ArtifactFormat.SKOPS, ArtifactFormat.ONNX) or not sign_files
    ):
        raise ValidationFailed(
            "a stored artifact is ONNX or skops, checked and signed by model_version_upload"
        )
    locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    if locked.archived_at is not None:
        raise Conflict(f"model {locked.name!r} is archived; it takes no new versions")
    latest = ModelVersion.objects.filter(model=locked).aggregate(latest=Max("version"))["latest"]
    number = (latest or 0) + 1
    user_id = acting_user_id(actor)
    signed = None
    if storage_name and sign_files:
        signed = signing.version_sign(
            node_id=f"model:{locked.name}#{number}",
            artifact_format=artifact_format,
            files=sign_files,
            run_node_id=run.node_id if run is not None else None,
            uploaded_by=None if trained_here else f"user:{user_id}",
        )
    try:
        version = ModelVersion.objects.create(
            model=locked,
            version=number,
            artifact_uri=artifact_uri,
            artifact_sha256=artifact_sha256,
            artifact_size=artifact_size,
            storage_name=storage_name,
            artifact_verified=bool(storage_name),
            artifact_format=artifact_format if storage_name else ArtifactFormat.REFERENCE,
            onnx_sha256=onnx_sha256,
            onnx_storage_name=onnx_storage_name,
            signature_storage_name=signed.signature_storage_name if signed else "",
            provenance_storage_name=signed.provenance_storage_name if signed else "",
            signing_key_id=signed.key_id if signed else "",
            metrics_source=MetricsSource.SERVICE if trained_here else MetricsSource.DECLARED,
            framework=framework,
            parameters=dict(parameters or {}),
            metrics=dict(metrics or {}),
            input_schema=list(input_schema or []),
            run=run,
            created_by_id=user_id,
            created_at=timezone.now(),
        )
    except Exception:
        for name in signed.newly_stored if signed else []:
            storage.discard(name)
        raise
    if run is not None:
        edge_add(source=run.node_id, target=version.node_id, relation=PRODUCED)
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_VERSION_CREATE,
        target=Target.of("model_version", version.node_id),
        data={
            "artifact_sha256": artifact_sha256,
            "artifact_size": artifact_size,
            "artifact_verified": version.artifact_verified,
            "artifact_format": version.artifact_format,
            "onnx_sha256": onnx_sha256 or None,
            "signing_key_id": version.signing_key_id or None,
            "metrics_source": version.metrics_source,
            "run": str(run.run_id) if run is not None else None,
        },
    )
    return version


@transaction.atomic
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
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns or raises


# --- Training runs -----------------------------------------------------------------------------------------


def _resolve_inputs(refs: Sequence[DatasetVersionRef]) -> list[DatasetVersion]:
    if not refs:
        return []
    query = Q(pk__in=[])
    for ref in refs:
        query |= Q(dataset__namespace=ref["namespace"], dataset__name=ref["name"], version=ref["version"])
    found = {
        (row.dataset.namespace, row.dataset.name, row.version): row
        for row in DatasetVersion.objects.filter(query).select_related("dataset")
    }
    missing = [ref for ref in refs if (ref["namespace"], ref["name"], ref["version"]) not in found]
    if missing:
        names = ", ".join(f"{ref['namespace']}:{ref['name']}#{ref['version']}" for ref in missing)
        raise ValidationFailed(f"inputs: no dataset version {names}; register it first")
    return list(dict.fromkeys(found[(ref["namespace"], ref["name"], ref["version"])] for ref in refs))


@transaction.atomic
def run_create(
    *,
    actor: Actor,
    run_id: uuid.UUID | None = None,
    job_namespace: str = "",
    job_name: str = "",
    inputs: Sequence[DatasetVersionRef] = (),
    parameters: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    code_version: str = "",
    environment: Mapping[str, Any] | None = None,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    facets: Mapping[str, Any] | None = None,
) -> TrainingRun:
    """Record a training run, its job (upserted) and the dataset versions it read, with their edges."""
    if bool(job_namespace) != bool(job_name):
        raise ValidationFailed("job_namespace and job_name go together: send both or neither")
    if started_at and ended_at and ended_at < started_at:
        raise ValidationFailed("ended_at: a run cannot end before it started")
    run_id = run_id or uuid.uuid4()
    if TrainingRun.objects.filter(run_id=run_id).exists():
        raise Conflict(f"run {run_id} is recorded already; a run is recorded once")
    versions = _resolve_inputs(inputs)
    now = timezone.now()
    job = None
    if job_name:
        job, _ = Job.objects.get_or_create(
            namespace=job_namespace, name=job_name, defaults={"created_at": now}
        )
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                run_id=run_id,
                job=job,
                parameters=dict(parameters or {}),
                metrics=dict(metrics or {}),
                code_version=code_version,
                environment=dict(environment or {}),
                started_at=started_at,
                ended_at=ended_at,
                facets=dict(facets or {}),
                started_by_id=acting_user_id(actor),
                created_at=now,
            )
    except IntegrityError as exc:
        raise Conflict(f"run {run_id} is recorded already; a run is recorded once") from exc
    run.inputs.set(versions)
    edges = [(version.node_id, run.node_id, USED_BY) for version in versions]
    if job is not None:
        edges.append((job.node_id, run.node_id, RUN_OF))
    edges_add(edges)
    audit_record(
        actor=actor,
        action=AuditAction.RUN_CREATE,
        target=Target.of("run", run.node_id),
        data={
            "job": job.node_id if job is not None else None,
            "inputs": [version.node_id for version in versions],
            "code_version": code_version,
        },
    )
    return run


def model_version_archive(*, actor: Actor, version: ModelVersion) -> ModelVersion:
    """Archive a model version (never delete it: a run, a deployment or an approval may point to it)."""
    return row_archive(
        actor=actor,
        row=version,
        action=AuditAction.MODEL_VERSION_ARCHIVE,
        target=Target.of("model_version", version.node_id),
        what=f"model version {version.node_id!r}",
    )
