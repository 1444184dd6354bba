"""Celery tasks for jobs: thin wrappers over the runner and services, safe to receive twice."""

from __future__ import annotations

from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings

from audit.actors import Actor
from governance.jobs.context import TRANSIENT
from governance.jobs.runner import run_release_job
from governance.jobs.services import job_reap_stale


@shared_task(
    bind=True,
    name="jobs.release_job_run",
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=4,
)
def release_job_run(self: Task, *, job_id: int | None = None, grant: str = "") -> str:
    """Run the job an approved release queued. Arguments are JSON: the job id and the signed grant.

    Retries (with backoff) only on a lost database connection; any other failure ends the job as
    failed or refused, recorded, and is not retried (a new approval is needed to try again)."""
    return run_release_job(job_id=job_id, grant=grant, worker=str(self.request.hostname or "worker"))


@shared_task(name="jobs.reap_stale", ignore_result=True)
def reap_stale() -> list[int]:
    return job_reap_stale(
        actor=Actor.system("jobs.reap_stale"), stale_after=timedelta(seconds=settings.JOB_STALE_AFTER_SECONDS)
    )
