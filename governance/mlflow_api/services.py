"""Writes behind the MLflow-compatible API: each one change and exactly one audit entry.

Registered models, aliases and archiving reuse the registry's services (``model_create``,
``model_update``, ``alias_move``, ``alias_remove``, ``model_archive``, ``model_version_archive``);
what is MLflow's own (version tags, description, stage) is written here. Reads are audited too
(``mlflow.read``), and so is every refusal of a governed alias or stage (``mlflow.refuse``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.errors import ValidationFailed
from governance.mlflow_api.models import MlflowVersionInfo, Stage
from governance.mlflow_api.sources import source_open
from registry import storage
from registry.models import ModelVersion, RegisteredModel, TrainingRun
from registry.services.catalog import check_tags, model_version_create

MAX_DESCRIPTION = 5000


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

    1. When the source is reachable (``sources.source_open``), copy its bytes into our content-addressed
       storage, hashed, before the transaction opens (no lock held while reading); else record the URI
       unverified, with no digest.
    2. Link the ``TrainingRun`` whose UUID is ``run_id``, when there is one (edge run → version).
    3. In one transaction: the registry's ``model_version_create`` (its one audit entry) and this
       app's row with the tags, description and run id as sent.
    """
    checked_tags = check_tags(tags or {})
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(f"description: at most {MAX_DESCRIPTION} characters")
    if not source:
        raise ValidationFailed("source: give the URI of the model's artifacts")
    stored: tuple[str, int, str] | None = None
    newly_stored = False
    with source_open(source) as stream:
        if stream is not None:
            try:
                with storage.spool(stream) as spooled:
                    name, newly_stored = storage.save_spooled(spooled)
                    stored = (spooled.sha256, spooled.size, name)
            except OSError:
                stored = None  # the source went away while being read: record it unverified
    run = _run_for(run_id) if run_id else None
    try:
        with transaction.atomic():
            if stored is not None:
                sha256, size, name = stored
                version = model_version_create(
                    actor=actor,
                    model=model,
                    artifact_uri=source,
                    artifact_sha256=sha256,
                    artifact_size=size,
                    storage_name=name,
                    run=run,
                )
            else:
                version = model_version_create(
                    actor=actor, model=model, artifact_uri=source, run=run, digest_unknown=True
                )
            MlflowVersionInfo.objects.create(
                model_version=version,
                tags=checked_tags,
                description=description,
                run_id=run_id,
                run_link=run_link,
                updated_at=version.created_at,
            )
    except Exception:
        if stored is not None and newly_stored:
            storage.discard(stored[2])
        raise
    return version


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


@transaction.atomic
def mlflow_read_record(*, actor: Actor, endpoint: str, target: str, params: Mapping[str, Any]) -> None:
    """One audit entry for one read call through the MLflow API (what was asked, not what was answered)."""
    audit_record(
        actor=actor,
        action=AuditAction.MLFLOW_READ,
        target=Target.of("mlflow", target),
        data={"endpoint": endpoint, "params": dict(params)},
    )


@transaction.atomic
def mlflow_refusal_record(*, actor: Actor, endpoint: str, target: str, reason: str) -> None:
    """One audit entry for a governed change refused (a governed alias, a transition to a release stage)."""
    audit_record(
        actor=actor,
        action=AuditAction.MLFLOW_REFUSE,
        target=Target.of("model_version", target),
        data={"endpoint": endpoint, "reason": reason},
    )
