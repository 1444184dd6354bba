"""Writing the model catalog: registered models (register, update, reclassify risk, archive).

Every service here is one action: the change, its lineage edges and exactly one audit entry, in one
transaction. Audit targets are lineage node ids, so a lineage report finds a node's history. Model
versions are ``registry.services.model_versions``, training runs ``registry.services.runs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts.models import User
from governance.core.errors import Conflict, PermissionRefused, ValidationFailed
from governance.core.permissions import user_roles
from governance.core.roles import Role
from registry.models import (
    RegisteredModel,
    RiskClassification,
    RiskLevel,
)
from registry.services.archiving import row_archive
from registry.services.common import acting_user_id, check_sha256, check_tags
from registry.services.model_versions import (
    model_artifact_refusal_record,
    model_version_archive,
    model_version_create,
    model_version_upload,
)
from registry.services.runs import DatasetVersionRef, run_create

MODEL_FIELDS: Final = ("description", "intended_use", "risk_level", "tags")


def check_risk_level(value: str) -> str:
    if value not in RiskLevel.values:
        raise ValidationFailed(
            f"risk_level: {value!r} is not an EU AI Act risk level; "
            f"choose one of {', '.join(RiskLevel.values)}"
        )
    return value


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


# Other apps still import these from here; new code imports them from where they live.
__all__ = [
    "DatasetVersionRef",
    "acting_user_id",
    "check_risk_level",
    "check_sha256",
    "check_tags",
    "model_archive",
    "model_artifact_refusal_record",
    "model_create",
    "model_risk_refusal_record",
    "model_update",
    "model_version_archive",
    "model_version_create",
    "model_version_upload",
    "risk_reclassifier_refusal",
    "run_create",
]
