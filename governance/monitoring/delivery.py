"""Delivering an alarm: the webhook POSTs (each attempt recorded, retried with backoff) and the e-mail.

``alarms.alarm_raise`` stores the deliveries and calls :func:`notifications_send` on commit; the
Celery tasks here make the attempts. Kept apart from ``alarms`` and ``tasks`` so that neither imports
the other: tasks → services → alarms → delivery, one way. The task names are stable (the worker's
queues and any message already queued name them).
"""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.approvals.hashing import utc_text
from governance.monitoring import notify
from governance.monitoring.models import DeliveryStatus, DriftCheck, WebhookDelivery

logger = logging.getLogger(__name__)


def notifications_send(*, check_id: int, delivery_ids: list[int]) -> None:
    """Queue one task per webhook delivery, and the e-mail when ``MONITORING_ALERT_EMAILS`` is set."""
    for delivery_id in delivery_ids:
        webhook_deliver.apply_async(kwargs={"delivery_id": delivery_id})
    if settings.MONITORING_ALERT_EMAILS:
        alarm_email.apply_async(kwargs={"check_id": check_id})


@shared_task(bind=True, name="monitoring.webhook_deliver", ignore_result=True, max_retries=None)
def webhook_deliver(self: Task, *, delivery_id: int) -> None:
    """One attempt; on failure the service says how long to back off and the task retries then (the
    service, not Celery, counts attempts: they are recorded on the delivery row)."""
    retry_in = webhook_attempt(delivery_id=delivery_id)
    if retry_in is not None:
        raise self.retry(countdown=retry_in)


@shared_task(name="monitoring.alarm_email", ignore_result=True)
def alarm_email(*, check_id: int) -> int:
    return alarm_email_send(check_id=check_id)


@transaction.atomic
def _attempt_record(
    *, delivery: WebhookDelivery, status: int | None, error: str, retry_in: float | None
) -> None:
    now = timezone.now()
    delivered = status is not None and 200 <= status < 300
    attempt = {"at": utc_text(now), "status": status, "error": error, "retry_in": retry_in}
    outcome = (
        DeliveryStatus.DELIVERED
        if delivered
        else DeliveryStatus.PENDING
        if retry_in
        else DeliveryStatus.FAILED
    )
    # Conditional: a duplicated task message cannot append to a delivery that has finished.
    changed = WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        status=outcome,
        attempts=[*delivery.attempts, attempt],
        finished_at=None if outcome == DeliveryStatus.PENDING else now,
    )
    if changed:
        audit_record(
            actor=Actor.system("monitoring.webhook"),
            action=AuditAction.MONITORING_WEBHOOK_ATTEMPT,
            target=Target.of("webhook_delivery", delivery.pk),
            data={"url": delivery.url, "attempt": len(delivery.attempts) + 1, "outcome": outcome, **attempt},
        )


def webhook_attempt(*, delivery_id: int) -> float | None:
    """POST a pending delivery once and record the attempt; returns the seconds to wait before the next
    attempt (exponential backoff), or None when it was delivered or has used all its attempts."""
    delivery = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).first()
    if delivery is None:
        return None
    # The HTTP call runs outside any transaction: no row stays locked while a receiver is slow.
    status, error = notify.post(
        delivery.url, delivery.body, delivery.signature, timeout=settings.MONITORING_WEBHOOK_TIMEOUT_SECONDS
    )
    attempt = len(delivery.attempts) + 1
    delivered = status is not None and 200 <= status < 300
    if not delivered and not error:
        error = f"HTTP {status}"
    retry_in = None
    if not delivered and attempt < settings.MONITORING_WEBHOOK_MAX_ATTEMPTS:
        retry_in = notify.backoff_seconds(attempt, base=settings.MONITORING_WEBHOOK_BACKOFF_SECONDS)
    _attempt_record(delivery=delivery, status=status, error=error, retry_in=retry_in)
    if not delivered:
        logger.warning("webhook %s to %s failed (attempt %s): %s", delivery.pk, delivery.url, attempt, error)
    return retry_in


def alarm_email_send(*, check_id: int) -> int:
    """Mail the alarm to ``MONITORING_ALERT_EMAILS`` through Django's e-mail backend."""
    check = DriftCheck.objects.select_related("deployment__model_version__model", "retraining_release").get(
        pk=check_id
    )
    recipients = list(settings.MONITORING_ALERT_EMAILS)
    if not recipients:
        return 0
    release = check.retraining_release
    lines = [
        f"Drift alarm on {check.deployment.node_id} (v{check.model_version.version}), check {check.pk}:",
        *(f"- {breach}" for breach in check.result["breaches"]),
        "",
        f"Retraining request {release.pk} waits for sign-off."
        if release
        else "No retraining request was opened.",
    ]
    return send_mail(
        subject=f"[governance] drift alarm: {check.deployment.node_id}",
        message="\n".join(lines),
        from_email=None,
        recipient_list=recipients,
    )
