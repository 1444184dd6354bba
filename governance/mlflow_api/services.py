"""Writes behind the MLflow-compatible API: each one change and exactly one audit entry.

Registered models, aliases and archiving reuse the registry's services (``model_create``,
``model_update``, ``alias_move``, ``alias_remove``, ``model_archive``, ``model_version_archive``);
what is MLflow's own (version tags, description, stage) is written here. Every refusal of a governed
alias or stage is audited (``mlflow.refuse``); reads are access-log lines (``apis.MlflowApi.read``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import ValidationFailed
from governance.core.raw_rows import insert_row
from governance.mlflow_api.models import MlflowVersionInfo, Stage
from governance.mlflow_api.sources import SourceRefused, source_open
from registry import signing, storage
from registry.artifacts import ArtifactRefused, artifact_check
from registry.models import ArtifactFormat, ModelVersion, RegisteredModel, TrainingRun
from registry.services.catalog import check_tags, model_artifact_refusal_record, model_version_create

MAX_DESCRIPTION = 5000


class Spooled(NamedTuple):
    """A source's bytes, spooled and hashed, and the safe format they were checked to be in."""

    file: storage.SpooledFile
    artifact_format: ArtifactFormat


def _run_for(run_id: str) -> TrainingRun | None:
    try:
        key = uuid.UUID(run_id)
    except ValueError:
        return None
    return TrainingRun.objects.filter(run_id=key).first()


def mlflow_version_create(
    *,
    actor: Actor,
    model: RegisteredModel,
    source: str,
    run_id: str = "",
    run_link: str = "",
    description: str = "",
    tags: Mapping[str, str] | None = None,
) -> ModelVersion:
    """Register a version from an MLflow ``CreateModelVersion`` call, READY at once.

    1. When the source is on the allow-list (``sources.source_open``), spool its bytes, hashed, before
       the transaction opens (no lock held while reading); they must be ONNX or skops
       (``registry.artifacts.artifact_check``: a pickle is refused, the refusal audited, nothing
       stored). Else record the URI unverified, with no digest: never deployable.
    2. Link the ``TrainingRun`` whose UUID is ``run_id``, when there is one (edge run → version).
    3. In one transaction: the registry's ``model_version_create`` (storing and signing the checked
       bytes; its one audit entry) and this app's row with the tags, description and run id as sent
       (none when none was sent: ``_info_writer``).
    """
    checked_tags = check_tags(tags or {})
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"description: at most {MAX_DESCRIPTION} characters")
    if not source:
        raise ValidationFailed("source: give the URI of the model's artifacts")
    run = _run_for(run_id) if run_id else None
    info = {"tags": checked_tags, "description": description, "run_id": run_id, "run_link": run_link}
    with _source_spooled(actor=actor, model=model, source=source) as spooled:
        if spooled is None:
            return model_version_create(
                actor=actor,
                model=model,
                artifact_uri=source,
                run=run,
                digest_unknown=True,
                with_version=_info_writer(info),
            )
        return _version_stored(actor=actor, model=model, source=source, run=run, spooled=spooled, info=info)


@contextmanager
def _source_spooled(*, actor: Actor, model: RegisteredModel, source: str) -> Iterator[Spooled | None]:
    """The source's bytes spooled and checked to be ONNX or skops; None when the source is not fetched.
    A refusal (of the source, or of its bytes) is audited before it is raised."""
    try:
        with source_open(source) as stream:
            if stream is None:
                yield None
                return
            with storage.spool(stream) as spooled:
                try:
                    artifact_format = artifact_check(spooled.path)
                except ArtifactRefused as exc:
                    _refusal_record(actor, model, source, exc, spooled)
                    raise
                yield Spooled(spooled, artifact_format)
    except SourceRefused as exc:
        _refusal_record(actor, model, source, exc, None)
        raise


def _refusal_record(
    actor: Actor,
    model: RegisteredModel,
    source: str,
    refused: ValidationFailed,
    spooled: storage.SpooledFile | None,
) -> None:
    model_artifact_refusal_record(
        actor=actor,
        model=model,
        reason=f"{refused.detail} (MLflow source {source})",
        sha256=spooled.sha256 if spooled is not None else "",
        size=spooled.size if spooled is not None else 0,
    )


def _version_stored(
    *,
    actor: Actor,
    model: RegisteredModel,
    source: str,
    run: TrainingRun | None,
    spooled: Spooled,
    info: Mapping[str, Any],
) -> ModelVersion:
    name, newly_stored = storage.save_spooled(spooled.file)
    onnx = spooled.artifact_format == ArtifactFormat.ONNX
    try:
        version = model_version_create(
            actor=actor,
            model=model,
            artifact_uri=source,
            artifact_sha256=spooled.file.sha256,
            artifact_size=spooled.file.size,
            storage_name=name,
            artifact_format=spooled.artifact_format,
            onnx_sha256=spooled.file.sha256 if onnx else "",
            onnx_storage_name=name if onnx else "",
            sign_files={signing.ARTIFACT_NAMES[spooled.artifact_format]: spooled.file.path},
            run=run,
            with_version=_info_writer(info),
        )
    except Exception:
        if newly_stored:
            storage.discard(name)
        raise
    return version


def _info_writer(info: Mapping[str, Any]) -> Callable[[ModelVersion], None]:
    """What writes this app's row for a new version, if it has anything to hold. A version sent with no
    tags, description or run gets no row: it reads exactly as one with an empty row would (stage None,
    updated when created), as a version registered through the REST API does, and its registration
    costs a statement less."""
    if not any(info.values()):
        return _no_info
    return lambda version: _info_create(version, info)


def _no_info(version: ModelVersion) -> None:
    ModelVersion.mlflow_info.related.set_cached_value(version, None)  # known absent: not read back


def _info_create(version: ModelVersion, info: Mapping[str, Any]) -> None:
    insert_row(MlflowVersionInfo(model_version=version, updated_at=version.created_at, **info))


def _info_locked(version: ModelVersion) -> MlflowVersionInfo:
    info, _ = MlflowVersionInfo.objects.select_for_update().get_or_create(
        model_version=version, defaults={"updated_at": timezone.now()}
    )
    return info


@transaction.atomic
def mlflow_version_update(
    *,
    actor: Actor,
    version: ModelVersion,
    set_tags: Mapping[str, str] | None = None,
    delete_tags: tuple[str, ...] = (),
    description: str | None = None,
    stage: str | None = None,
) -> MlflowVersionInfo:
    """Change a version's MLflow tags, description or stored stage (None or Archived only: Staging and
    Production are the governed aliases' to give); a no-op records nothing."""
    checked = check_tags(set_tags or {})
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"description: at most {MAX_DESCRIPTION} characters")
    if stage is not None and stage not in (Stage.NONE, Stage.ARCHIVED):
        raise ValidationFailed(f"stage: {stage!r} is not stored; only None or Archived")
    info = _info_locked(version)
    tags = {**info.tags, **checked}
    for key in delete_tags:
        tags.pop(key, None)
    changes: dict[str, Any] = {}
    if tags != info.tags:
        changes["tags"] = {"before": info.tags, "after": tags}
    if description is not None and description != info.description:
        changes["description"] = True  # free text is named, not copied, into the log
    if stage is not None and stage != info.stage:
        changes["stage"] = {"before": info.stage, "after": stage}
    if not changes:  # deleting a tag that is not set is no error, as in MLflow
        return info
    now = timezone.now()
    MlflowVersionInfo.objects.filter(pk=info.pk).update(
        tags=tags,
        description=description if description is not None else info.description,
        stage=stage if stage is not None else info.stage,
        updated_at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_VERSION_UPDATE,
        target=Target.of("model_version", version.node_id),
        data={"fields": sorted(changes), **{k: v for k, v in changes.items() if k != "description"}},
    )
    info.refresh_from_db()
    return info


def mlflow_refusal_record(*, actor: Actor, endpoint: str, target: str, reason: str) -> None:
    """One audit entry for a governed change refused (a governed alias, a transition to a release stage)."""
    audit_record(
        actor=actor,
        action=AuditAction.MLFLOW_REFUSE,
        target=Target.of("model_version", target),
        data={"endpoint": endpoint, "reason": reason},
    )
