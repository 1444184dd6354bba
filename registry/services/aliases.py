"""Moving a model's aliases (``production``, ``staging``...): the pointer a deploy moves.

A governed name (``registry.selectors.aliases.name_governed``) moves or goes only with the reference of
the approved release's job that moves it; without one this service refuses (403 ``governed_alias``)
whoever calls it, so no new way in can skip the release. Callers that answer in their own error shape
(the MLflow API) ask ``name_governed`` first and record their refusal. Each move is recorded with its
previous target and the job behind it, in one audited action.
"""

from __future__ import annotations

import re
from typing import Final

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import Conflict, PermissionRefused, ValidationFailed
from registry.models import ModelAlias, ModelVersion, RegisteredModel
from registry.selectors.aliases import name_governed
from registry.services.common import acting_user_id

ALIAS: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")


def _release_required(*, model: RegisteredModel, alias: str, job_reference: str) -> None:
    if not job_reference and name_governed(model=model, name=alias):
        raise PermissionRefused(
            f"alias {alias!r} of model {model.name!r} is governed: it moves only with the deploy job of an "
            "approved release (POST /api/v1/releases with kind=deploy), and goes only when that deployment "
            "ends",
            code="governed_alias",
        )


@transaction.atomic
def alias_move(
    *, actor: Actor, model_version: ModelVersion, alias: str, job_reference: str = ""
) -> ModelAlias:
    """Point ``alias`` of the version's model at ``model_version`` (creating the alias if new).

    The model row is locked first, so two moves of one alias apply one after the other and the audit
    entry of each names the version it replaced.
    """
    if not ALIAS.match(alias):
        raise ValidationFailed(
            f"alias: {alias!r} is not an alias name; start with a letter, then up to 99 letters, digits, "
            "'_', '.' or '-'"
        )
    model = RegisteredModel.objects.select_for_update().get(pk=model_version.model_id)
    _release_required(model=model, alias=alias, job_reference=job_reference)
    if model_version.archived_at is not None:
        raise Conflict(f"{model_version.node_id} is archived; no alias may point at it")
    current = ModelAlias.objects.filter(model=model, alias=alias).select_related("version").first()
    previous = current.version.version if current is not None else None
    now = timezone.now()
    if current is None:
        current = ModelAlias.objects.create(
            model=model,
            alias=alias,
            version=model_version,
            moved_by_id=acting_user_id(actor),
            moved_at=now,
            job_reference=job_reference,
        )
    else:
        ModelAlias.objects.filter(pk=current.pk).update(
            version=model_version,
            moved_by_id=acting_user_id(actor),
            moved_at=now,
            job_reference=job_reference,
        )
        current.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_ALIAS_MOVE,
        target=Target.of("model_version", model_version.node_id),
        data={
            "alias": alias,
            "from_version": previous,
            "to_version": model_version.version,
            "job": job_reference,
        },
    )
    return current


@transaction.atomic
def alias_remove(*, actor: Actor, model: RegisteredModel, alias: str, job_reference: str = "") -> bool:
    """Remove an alias (a stopped deployment no longer names a serving version); False if it was absent."""
    locked = RegisteredModel.objects.select_for_update().get(pk=model.pk)
    _release_required(model=locked, alias=alias, job_reference=job_reference)
    current = ModelAlias.objects.filter(model=locked, alias=alias).select_related("version").first()
    if current is None:
        return False
    node = current.version.node_id
    previous = current.version.version
    current.delete()
    audit_record(
        actor=actor,
        action=AuditAction.MODEL_ALIAS_MOVE,
        target=Target.of("model_version", node),
        data={"alias": alias, "from_version": previous, "to_version": None, "job": job_reference},
    )
    return True
