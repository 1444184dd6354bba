"""What a drift alarm sets off: a retraining request that waits for sign-off, a webhook, an e-mail.

The retraining request is an ordinary training release request: the latest version of each dataset
the deployed version was trained on, the same parameters, code version and declared thresholds. It
is judged by today's training policy, needs its sign-offs like any other, and its job applies the
consent state of the moment it runs (``governance.jobs.training``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.approvals.hashing import utc_text
from governance.approvals.models import OPEN_STATUSES, ReleaseRequest
from governance.approvals.services.releases import release_create
from governance.core.errors import ApplicationError
from governance.monitoring import delivery, notify
from governance.monitoring.models import DriftCheck, WebhookDelivery
from registry.models import DatasetVersion, Deployment
from registry.services.catalog import DatasetVersionRef


def monitor_actor(*, user_id: int, deployment: Deployment) -> Actor:
    """The drift monitor, a worker acting for ``user_id`` (``Actor.user_id`` resolves to that person,
    who is recorded as the requester and so cannot sign the request off)."""
    return Actor("worker", f"{user_id}:monitoring-{deployment.pk}", "drift monitor")


def _open_retraining(check: DriftCheck) -> ReleaseRequest | None:
    earlier = (
        DriftCheck.objects.select_related("retraining_release")
        .filter(
            deployment=check.deployment,
            retraining_release__status__in=OPEN_STATUSES,
        )
        .exclude(pk=check.pk)
        .order_by("-created_at")
        .first()
    )
    return earlier.retraining_release if earlier is not None else None


def _retraining_request(check: DriftCheck) -> ReleaseRequest:
    """Open the training request (raises ApplicationError when it cannot be made)."""
    deployment, version = check.deployment, check.model_version
    run = version.run
    if run is None:
        raise ApplicationError(f"{version.node_id} has no training run to repeat")
    release_id = (run.facets.get("release") or {}).get("id")
    original = ReleaseRequest.objects.filter(pk=release_id).first() if release_id else None
    datasets: list[DatasetVersionRef] = []
    for used in run.inputs.select_related("dataset").order_by("dataset__namespace", "dataset__name"):
        latest = (
            DatasetVersion.objects.filter(dataset=used.dataset, archived_at__isnull=True)
            .order_by("-created_at", "-pk")
            .first()
        )
        if latest is None:
            raise ApplicationError(
                f"every version of {used.dataset.namespace}/{used.dataset.name} is archived"
            )
        datasets.append(
            {"namespace": used.dataset.namespace, "name": used.dataset.name, "version": latest.version}
        )
    requester = run.started_by_id or version.model.owner_id
    breaches = "; ".join(check.result["breaches"])
    return release_create(
        actor=monitor_actor(user_id=requester, deployment=deployment),
        kind="train",
        model=version.model.name,
        datasets=datasets,
        parameters=dict(run.parameters),
        code_version=run.code_version,
        metric_thresholds=dict(original.metric_thresholds) if original is not None else {},
        dpia_reference=original.dpia_reference if original is not None else "",
        human_overseer=original.human_overseer.username
        if original is not None and original.human_overseer is not None
        else "",
        justification=f"Retraining after drift alarm (check {check.pk}) on {deployment.node_id}: {breaches}"[
            :2000
        ],
    )


def _payload(check: DriftCheck, release: ReleaseRequest | None, now: datetime) -> dict[str, Any]:
    deployment = check.deployment
    return {
        "event": "drift.alarm",
        "check": check.pk,
        "deployment": deployment.node_id,
        "environment": deployment.environment,
        "model": check.model_version.model.name,
        "model_version": check.model_version.version,
        "breaches": check.result["breaches"],
        "retraining_release": release.pk if release is not None else None,
        "sent_at": utc_text(now),
    }


@transaction.atomic
def alarm_raise(*, check: DriftCheck) -> DriftCheck:
    """Act on a breaching check.

    1. Reuse the retraining request an earlier alarm opened if it is still pending or approved; else
       open one (as the drift monitor acting for the run's requester, or the model's owner).
    2. Notify when a request was opened or the previous check was calm, not on every check of one
       episode: a webhook delivery per ``MONITORING_WEBHOOK_URLS`` entry (sent after commit, retried
       with backoff) and an e-mail to ``MONITORING_ALERT_EMAILS``.
    """
    now = timezone.now()
    release, error, opened = _open_retraining(check), "", False
    if release is None:
        try:
            release, opened = _retraining_request(check), True
        except ApplicationError as exc:
            error = exc.detail
    previous = (
        DriftCheck.objects.filter(deployment=check.deployment, created_at__lt=check.created_at)
        .order_by("-created_at")
        .first()
    )
    notify_now = opened or previous is None or not previous.alarm
    DriftCheck.objects.filter(pk=check.pk).update(retraining_release=release)
    check.retraining_release = release
    deliveries: list[WebhookDelivery] = []
    if notify_now:
        body = notify.body_encode(_payload(check, release, now))
        signature = notify.sign(body, settings.MONITORING_WEBHOOK_SECRET)
        deliveries = [
            WebhookDelivery.objects.create(
                drift_check=check, url=url, body=body, signature=signature, created_at=now
            )
            for url in settings.MONITORING_WEBHOOK_URLS
        ]
    audit_record(
        actor=Actor.system("monitoring.alarm"),
        action=AuditAction.MONITORING_ALARM,
        target=Target.of("deployment", check.deployment.node_id),
        data={
            "check": check.pk,
            "breaches": check.result["breaches"],
            "retraining_release": release.pk if release is not None else None,
            "retraining_opened": opened,
            "retraining_error": error,
            "notified": notify_now,
            "webhooks": [delivery.pk for delivery in deliveries],
        },
    )
    if notify_now:
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: delivery.notifications_send(check_id=check.pk, delivery_ids=ids))
    return check
