"""Writing deployments: which model version serves which environment, from when until when.

The history is never rewritten: a deployment is closed (``until`` set), never deleted, so "which
version served production at T" has one answer for every T.
"""

from __future__ import annotations

import re
from typing import Final

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.consent.selectors import erasure_block_reason
from governance.core.errors import Conflict, ValidationFailed
from registry.edges import DEPLOYED_AS, edge_add
from registry.models import Deployment, ModelAlias, ModelVersion, RegisteredModel
from registry.services.catalog import acting_user_id

ENVIRONMENT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


@transaction.atomic
def deployment_create(
    *, actor: Actor, model_version: ModelVersion, environment: str, endpoint: str, job_reference: str = ""
) -> Deployment:
    """Deploy ``model_version`` to ``environment``, closing that model's open deployment there.

    1. Lock the model row: concurrent deploys of one model queue here, so at most one of its
       deployments per environment is open at any time.
    2. Close the open one (``until`` = now) and open the new one from the same instant, so the
       intervals ``[deployed_at, until)`` touch without overlapping.
    3. Edge model version → deployment (``deployed_as``) and one audit entry naming what it closed.
    A version trained on data of a subject whose erasure or deletion is pending or done is refused
    (409 ``affected_by_erasure``) until retrained without them or exempted by a compliance officer.
    (Production deploys will require an approved ``job_reference``: that check belongs here.)
    """
    if not ENVIRONMENT.match(environment):
        raise ValidationFailed(
            f"environment: {environment!r} is not an environment name; use up to 100 letters, digits, "
            "'_', '.' or '-'"
        )
    model = RegisteredModel.objects.select_for_update().get(pk=model_version.model_id)
    if model.archived_at is not None or model_version.archived_at is not None:
        raise Conflict(f"{model_version.node_id} is archived; an archived model is not deployed")
    blocked = erasure_block_reason(model_version=model_version)
    if blocked is not None:
        raise Conflict(blocked, code="affected_by_erasure")
    now = timezone.now()
    open_now = Deployment.objects.filter(
        model_version__model=model, environment=environment, until__isnull=True
    )
    closed = sorted(open_now.values_list("pk", flat=True))
    Deployment.objects.filter(pk__in=closed).update(until=now)
    deployment = Deployment.objects.create(
        model_version=model_version,
        environment=environment,
        endpoint=endpoint,
        deployed_by_id=acting_user_id(actor),
        deployed_at=now,
        job_reference=job_reference,
    )
    node = f"deployment:{environment}:{model.name}"
    edge_add(source=model_version.node_id, target=node, relation=DEPLOYED_AS)
    audit_record(
        actor=actor,
        action=AuditAction.DEPLOYMENT_CREATE,
        target=Target.of("deployment", node),
        data={
            "deployment": deployment.pk,
            "model_version": model_version.node_id,
            "endpoint": endpoint,
            "job_reference": job_reference,
            "closed": closed,
        },
    )
    return deployment


@transaction.atomic
def deployment_end(*, actor: Actor, deployment: Deployment) -> Deployment:
    """Take a deployment out of service (``until`` = now); it stays in the history."""
    now = timezone.now()
    # Conditional update: a deployment ends once, whoever asks first.
    if not Deployment.objects.filter(pk=deployment.pk, until__isnull=True).update(until=now):
        raise Conflict(f"deployment {deployment.pk} has ended already")
    deployment.until = now
    # The environment's alias named this version because it served there; it serves no more.
    alias_removed = (
        ModelAlias.objects.filter(
            model_id=deployment.model_version.model_id,
            alias=deployment.environment,
            version_id=deployment.model_version_id,
        ).delete()[0]
        > 0
    )
    audit_record(
        actor=actor,
        action=AuditAction.DEPLOYMENT_END,
        target=Target.of("deployment", deployment.node_id),
        data={
            "deployment": deployment.pk,
            "model_version": deployment.model_version.node_id,
            "alias_removed": alias_removed,
        },
    )
    return deployment
