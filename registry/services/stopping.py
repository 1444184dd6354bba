"""Stopping a deployment at once (EU AI Act Art. 14(4)(e): a human can interrupt the system)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import NotFound, ValidationFailed
from registry.models import Deployment, ModelAlias, RegisteredModel


@transaction.atomic
def deployment_stop(*, actor: Actor, environment: str, model_name: str, reason: str) -> Deployment:
    """Take the model's deployment in ``environment`` out of service now, and drop the environment's alias,
    so predictions stop with the commit. No approval is needed to stop; the reason is recorded.

    One action, one audit entry (``deployment.stop``) naming the deployment, the version it served and
    why; the deployment stays in the history with ``until`` set.
    """
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("reason: say why the deployment is stopped (it is recorded for auditors)")
    model = RegisteredModel.objects.select_for_update().filter(name=model_name).first()
    if model is None:
        raise NotFound(f"no model named {model_name!r}")
    deployment = (
        Deployment.objects.select_related("model_version__model")
        .filter(model_version__model=model, environment=environment, until__isnull=True)
        .first()
    )
    if deployment is None:
        raise NotFound(f"model {model_name!r} is not deployed in {environment!r}")
    now = timezone.now()
    Deployment.objects.filter(pk=deployment.pk, until__isnull=True).update(until=now)
    deployment.until = now
    alias_removed = ModelAlias.objects.filter(model=model, alias=environment).delete()[0] > 0
    audit_record(
        actor=actor,
        action=AuditAction.DEPLOYMENT_STOP,
        target=Target.of("deployment", deployment.node_id),
        data={
            "deployment": deployment.pk,
            "model_version": deployment.model_version.node_id,
            "reason": reason[:2000],
            "alias_removed": alias_removed,
        },
    )
    return deployment
