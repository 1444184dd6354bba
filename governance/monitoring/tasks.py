"""Celery tasks for monitoring: thin, take ids, safe to receive twice."""

from __future__ import annotations

from celery import shared_task

from audit.actors import Actor
from governance.core.errors import ApplicationError
from governance.monitoring import selectors

# The webhook and e-mail tasks live in delivery.py; named here so the worker, which imports each
# app's tasks module, registers them, and callers find every monitoring task in one place.
from governance.monitoring.delivery import alarm_email, webhook_deliver
from governance.monitoring.services import drift_check_run
from registry.models import Deployment

__all__ = ["alarm_email", "drift_check", "drift_checks_schedule", "webhook_deliver"]


@shared_task(name="monitoring.drift_checks_schedule", ignore_result=True)
def drift_checks_schedule() -> list[int]:
    """Beat: one drift check task per serving deployment."""
    ids = [deployment.pk for deployment in selectors.serving_deployments()]
    for deployment_id in ids:
        drift_check.apply_async(kwargs={"deployment_id": deployment_id})
    return ids


@shared_task(name="monitoring.drift_check", ignore_result=True)
def drift_check(*, deployment_id: int) -> int | None:
    deployment = Deployment.objects.filter(pk=deployment_id, until__isnull=True).first()
    if deployment is None:  # stopped or replaced since it was scheduled
        return None
    try:
        return drift_check_run(deployment=deployment, actor=Actor.system("monitoring.beat")).pk
    except ApplicationError:  # e.g. a version trained before monitoring has no profile to check against
        return None
