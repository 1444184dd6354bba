"""Stopping a deployment at once (EU AI Act Art. 14(4)(e): a human can interrupt the system)."""

from __future__ import annotations

from django.db import transaction

from audit.actors import Actor
from governance.core.errors import NotFound
from registry.models import Deployment, RegisteredModel
from registry.services.deployments import deployment_end, stop_reason


@transaction.atomic
def deployment_stop(*, actor: Actor, environment: str, model_name: str, reason: str) -> Deployment:
    """Stop what serves ``model_name`` in ``environment`` now: find its open deployment and end it with
    ``reason`` (``deployment_end``, audited ``deployment.stop``). No approval is needed to stop."""
    reason = stop_reason(reason)
    # Lock the model row: a deploy of this model waits, so the deployment found is the one that serves.
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
    return deployment_end(actor=actor, deployment=deployment, reason=reason)
