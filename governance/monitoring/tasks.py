"""Celery tasks for monitoring: thin, take ids, safe to receive twice."""

from __future__ import annotations

from celery import Task, shared_task

from audit.actors import Actor
from governance.core.errors import ApplicationError
from governance.monitoring import alarms, selectors
from governance.monitoring.services import drift_check_run
from registry.models import Deployment


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


@shared_task(bind=True, name="monitoring.webhook_deliver", ignore_result=True, max_retries=None)
def webhook_deliver(self: Task, *, delivery_id: int) -> None:
    """One attempt; on failure the service says how long to back off and the task retries then (the
    service, not Celery, counts attempts: they are recorded on the delivery row)."""
    retry_in = alarms.webhook_attempt(delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(name="monitoring.alarm_email", ignore_result=True)
def alarm_email(*, check_id: int) -> int:
    return alarms.alarm_email(check_id=check_id)
