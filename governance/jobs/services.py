"""Writing job rows: start (the conditional claim), progress, and the three endings (``enqueue.py`` queues).

Each state change is one action with one audit entry, except progress and heartbeats, which are
bookkeeping for the job page, not actions. Enqueueing happens on commit, so a worker never sees a
job id whose row is not there.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.core.errors import Conflict
from governance.jobs.models import FINISHED, JobStatus, ReleaseJob


@transaction.atomic
def job_start(*, actor: Actor, job_id: int, worker: str) -> ReleaseJob | None:
    """Claim a queued job for this worker (``queued`` → ``running``, a conditional UPDATE); None when
    the job is not queued any more (a duplicated or redelivered message), so it runs at most once."""
    now = timezone.now()
    claimed = ReleaseJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, stage="starting", started_at=now, heartbeat_at=now, worker=worker[:200]
    )
    if not claimed:
        return None
    job = ReleaseJob.objects.select_related("release").get(pk=job_id)
    ReleaseJob.objects.filter(pk=job_id).update(attempt=job.attempt + 1)
    job.attempt += 1
    audit_record(
        actor=actor,
        action=AuditAction.JOB_START,
        target=Target.of("job", job.pk),
        data={"release": job.release_id, "kind": job.kind, "worker": worker[:200], "attempt": job.attempt},
    )
    return job


def job_progress(*, job: ReleaseJob, stage: str, percent: int, **fields: Any) -> None:
    """Where a running job is (shown by ``GET /api/v1/jobs/<id>``); also its heartbeat."""
    job.stage, job.percent = stage, percent
    ReleaseJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        stage=stage, percent=percent, heartbeat_at=timezone.now(), **fields
    )


def job_heartbeat(*, job_id: int) -> None:
    ReleaseJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(heartbeat_at=timezone.now())


@transaction.atomic
def job_refuse(
    *,
    actor: Actor,
    reason: str,
    job_id: int | None = None,
    grant_id: str = "",
    check: str = "",
    mark: bool = True,
) -> ReleaseJob | None:
    """Record that the worker refused to act (a forged, altered, reused or expired grant, bytes that do not
    hash to the pinned values, data an erasure now affects). Nothing was trained or moved. A message
    naming no job of ours is refused and audited all the same; ``mark=False`` leaves the job row as it
    is (a replayed message for a job that ran or is running)."""
    job = None
    if job_id is not None:
        job = ReleaseJob.objects.select_for_update().filter(pk=job_id).first()
    if mark and job is not None and job.status not in FINISHED:
        ReleaseJob.objects.filter(pk=job.pk).update(
            status=JobStatus.REFUSED, stage="refused", finished_at=timezone.now(), error=reason[:2000]
        )
        job.refresh_from_db()
    audit_record(
        actor=actor,
        action=AuditAction.JOB_REFUSE,
        target=Target.of("job", job_id if job_id is not None else "-"),
        data={"reason": reason[:2000], "check": check, "grant_id": grant_id[:64]},
    )
    return job


def job_complete_in_transaction(*, actor: Actor, job: ReleaseJob, result: dict[str, Any]) -> None:
    """Mark a running job succeeded, inside the transaction that registered or moved what it made, so
    the registration and the job's ending commit together or not at all."""
    updated = ReleaseJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
        status=JobStatus.SUCCEEDED, stage="done", percent=100, finished_at=timezone.now(), result=result
    )
    if not updated:
        raise Conflict(f"job {job.pk} is no longer running; its result is not recorded")
    audit_record(actor=actor, action=AuditAction.JOB_COMPLETE, target=Target.of("job", job.pk), data=result)


@transaction.atomic
def job_fail(*, actor: Actor, job_id: int, reason: str, stage: str = "") -> bool:
    """Mark a running job failed (an error, or a worker that stopped answering); False if it was not
    running. Whatever it was doing is not half-done: registration and deploy commit in one step."""
    job = ReleaseJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != JobStatus.RUNNING:
        return False
    ReleaseJob.objects.filter(pk=job_id).update(
        status=JobStatus.FAILED, finished_at=timezone.now(), error=reason[:2000]
    )
    audit_record(
        actor=actor,
        action=AuditAction.JOB_FAIL,
        target=Target.of("job", job_id),
        data={"reason": reason[:2000], "stage": stage or job.stage, "attempt": job.attempt},
    )
    return True


def job_reap_stale(*, actor: Actor, stale_after: timedelta) -> list[int]:
    """Fail running jobs whose heartbeat stopped (the worker was killed or lost): each is audited with
    the stage it was in. Nothing they made was registered, since that happens in their last step."""
    cutoff = timezone.now() - stale_after
    stale = list(
        ReleaseJob.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff).values_list(
            "pk", "stage"
        )
    )
    failed = []
    for job_id, stage in stale:
        silent = int(stale_after.total_seconds())
        reason = f"the worker stopped answering during {stage} (no heartbeat for {silent} s); "
        reason += "nothing was registered"
        if job_fail(actor=actor, job_id=job_id, reason=reason, stage=stage):
            failed.append(job_id)
    return failed
