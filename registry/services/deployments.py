"""Writing deployments: which model version serves which environment, from when until when.

The history is never rewritten: a deployment is closed (``until`` set), never deleted, so "which
version served production at T" has one answer for every T.
"""

from __future__ import annotations

import re
from typing import Final, Protocol

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import Conflict, ValidationFailed
from registry.edges import DEPLOYED_AS, edge_add
from registry.models import Deployment, ModelAlias, ModelVersion, RegisteredModel
from registry.services.common import acting_user_id

ENVIRONMENT: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class DeploymentGate(Protocol):
    """Why ``model_version`` must not be deployed (the refusal detail); ``None`` when nothing blocks it."""

    def __call__(self, *, model_version: ModelVersion) -> str | None: ...


_gates: dict[DeploymentGate, str] = {}


def deployment_gate(gate: DeploymentGate, *, code: str) -> DeploymentGate:
    """Register a check every deployment must pass; a refusal is a 409 with error ``code``.

    The registry sits below the consent app and never imports it; consent registers its erasure check
    (``erasure_block_reason``, code ``affected_by_erasure``) when it starts. Registering twice keeps one.
    """
    _gates[gate] = code
    return gate


def deployment_gates() -> dict[DeploymentGate, str]:
    """The registered checks and their refusal codes (deployments are refused while there are none)."""
    return dict(_gates)


def _deployment_refusal(model_version: ModelVersion) -> Conflict | None:
    if not _gates:
        # Fail closed: without the consent app's erasure check a version trained on erased data could
        # be deployed unnoticed (GDPR Art. 17).
        return Conflict(
            "no deployment checks are installed (the consent app registers them at start); "
            "nothing is deployed until they are",
            code="deployment_gate_missing",
        )
    for gate, code in _gates.items():
        reason = gate(model_version=model_version)
        if reason is not None:
            return Conflict(reason, code=code)
    return None


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
    Every registered ``deployment_gate`` must let the version through (409 with the gate's code if not;
    consent's refuses, as ``affected_by_erasure``, a version trained on data of a subject whose erasure or
    deletion is pending or done, until retrained without them or exempted by a compliance officer).
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
    refusal = _deployment_refusal(model_version)
    if refusal is not None:
        raise refusal
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


def stop_reason(reason: str) -> str:
    """The reason a deployment is stopped, recorded for auditors: required, at most 2,000 characters."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("reason: say why the deployment is stopped (it is recorded for auditors)")
    return reason[:2000]


@transaction.atomic
def deployment_end(*, actor: Actor, deployment: Deployment, reason: str | None = None) -> Deployment:
    """Take a deployment out of service now (``until`` = now); it stays in the history. The one service
    that ends a deployment, whichever endpoint asks:

    - retiring it (``POST /deployments/<id>/end``, no reason): audited ``deployment.end``; the
      environment's alias goes if it named this version (it named it because it served there);
    - stopping it (``reason`` given; EU AI Act Art. 14(4)(e): a human can interrupt the system, no
      approval needed): audited ``deployment.stop`` with the reason; the environment's alias goes
      whichever version it names, so predictions stop with the commit.
    """
    if reason is not None:
        reason = stop_reason(reason)
    now = timezone.now()
    # Conditional update: a deployment ends once, whoever asks first.
    if not Deployment.objects.filter(pk=deployment.pk, until__isnull=True).update(until=now):
        raise Conflict(f"deployment {deployment.pk} has ended already")
    deployment.until = now
    aliases = ModelAlias.objects.filter(
        model_id=deployment.model_version.model_id, alias=deployment.environment
    )
    if reason is None:
        aliases = aliases.filter(version_id=deployment.model_version_id)
    alias_removed = aliases.delete()[0] > 0
    data: dict[str, object] = {
        "deployment": deployment.pk,
        "model_version": deployment.model_version.node_id,
        "alias_removed": alias_removed,
    }
    if reason is not None:
        data["reason"] = reason
    audit_record(
        actor=actor,
        action=AuditAction.DEPLOYMENT_END if reason is None else AuditAction.DEPLOYMENT_STOP,
        target=Target.of("deployment", deployment.node_id),
        data=data,
    )
    return deployment
