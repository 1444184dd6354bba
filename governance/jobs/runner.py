"""What a worker does with a release job: check everything again, then train or deploy.

The order matters (issue: "the worker, before it does anything"):

1. Verify the grant's Ed25519 signature and expiry with the service's public key. A forged or
   altered grant stops here, refused and audited, before any row is touched.
2. The grant must be the one this job was queued with (same grant id, request and kind).
3. Claim the job row (``queued`` → ``running``): a duplicated or redelivered message stops here.
4. Claim the grant (a conditional UPDATE of ``used_at``): a grant runs once.
5. Run the policy's automated checks again (recorded on the request): each must still pass.
6. Load the bytes to use and hash them: they must be the ones the signers approved; no erasure or
   deletion request may now affect the data (or, for a deploy, the model version).
7. Train or deploy; what it makes is registered in one transaction with the job's ending, so a
   worker killed before that leaves nothing half-registered (the reaper then fails the job).
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction

from audit.actors import Actor
from governance.approvals import selectors
from governance.approvals.grants import GrantClaims, GrantError, grant_verify
from governance.approvals.keys import grant_public_keys
from governance.approvals.services.checks import release_checks_rerun
from governance.approvals.services.grants import grant_claim
from governance.core.errors import ApplicationError
from governance.jobs import deploying, training
from governance.jobs.context import TRANSIENT, Context, Refused
from governance.jobs.models import JobStatus, ReleaseJob
from governance.jobs.services import job_fail, job_heartbeat, job_refuse, job_start

logger = logging.getLogger(__name__)


def run_release_job(*, job_id: int | None, grant: str, worker: str) -> str:
    """Run one job message; returns the job's outcome (a status, or ``ignored``)."""
    system = Actor.worker(worker or "worker")
    try:
        claims = grant_verify(grant, grant_public_keys())
    except GrantError as exc:
        job_refuse(actor=system, reason=f"grant refused: {exc}", job_id=job_id, check="grant_signature")
        return JobStatus.REFUSED
    job = ReleaseJob.objects.filter(pk=job_id).first() if isinstance(job_id, int) else None
    if job is None or (str(job.grant_id), job.release_id, job.kind) != (
        claims["grant_id"],
        claims["request_id"],
        claims["kind"],
    ):
        job_refuse(
            actor=system,
            reason=f"grant {claims['grant_id']} was not queued as job {job_id}; jobs are queued by the API",
            grant_id=claims["grant_id"],
            check="grant_job",
            job_id=None,
        )
        return JobStatus.REFUSED
    actor = Actor.for_job(job.pk, requested_by=job.requested_by_id, worker=worker)
    started = job_start(actor=actor, job_id=job.pk, worker=worker)
    if started is None:
        job.refresh_from_db()
        job_refuse(
            actor=actor,
            reason=f"job {job.pk} is {job.status}, not queued; a grant runs once",
            grant_id=claims["grant_id"],
            check="job_state",
            job_id=job.pk,
            mark=False,
        )
        return "ignored"
    return _run_started(started, claims, actor)


def _run_started(job: ReleaseJob, claims: GrantClaims, actor: Actor) -> str:
    """Steps 4-7 for a job this worker claimed, each ending recorded: refused, failed or succeeded."""
    with tempfile.TemporaryDirectory(prefix=f"job-{job.pk}-") as workdir, heartbeat(job.pk):
        context = Context(job=job, claims=claims, actor=actor, workdir=Path(workdir))
        try:
            _claim_grant(context)
            _checks_still_pass(context)
            if job.kind == "train":
                training.train(context)
            else:
                deploying.deploy(context)
        except Refused as refused:
            job_refuse(
                actor=actor,
                reason=refused.reason,
                job_id=job.pk,
                grant_id=claims["grant_id"],
                check=refused.check,
            )
            return JobStatus.REFUSED
        except TRANSIENT:
            # The database went away: put the job back so the task's retry (with backoff) claims it again;
            # the grant stays claimed by this job.
            connections.close_all()
            ReleaseJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(status=JobStatus.QUEUED)
            raise
        except (ApplicationError, ValueError) as exc:
            job_fail(actor=actor, job_id=job.pk, reason=str(getattr(exc, "detail", exc)))
            return JobStatus.FAILED
        except Exception as exc:
            logger.exception("job failed", extra={"job": job.pk})
            job_fail(actor=actor, job_id=job.pk, reason=f"{type(exc).__name__}: {exc}")
            return JobStatus.FAILED
    return JobStatus.SUCCEEDED


def _claim_grant(context: Context) -> None:
    job = context.job
    if job.grant_claimed:
        return  # a retry of this job after a transient error: the grant is this job's already
    try:
        with transaction.atomic():
            grant_claim(grant_id=context.claims["grant_id"], actor=context.actor, job_reference=job.reference)
            ReleaseJob.objects.filter(pk=job.pk).update(grant_claimed=True)
    except ApplicationError as exc:
        raise Refused("grant_claim", exc.detail) from exc
    release = job.release
    if release.request_hash != context.claims["request_hash"]:
        raise Refused(
            "request_hash",
            f"release {release.pk} hashes to {release.request_hash}, "
            f"the grant to {context.claims['request_hash']}: the request changed after approval",
        )


def _checks_still_pass(context: Context) -> None:
    """The policy's automated checks, run again now: the evidence the signers saw may have changed."""
    release = selectors.release_get(pk=context.job.release_id)
    outcome = release_checks_rerun(actor=context.actor, release=release, occasion="worker")
    if outcome.failed:
        failed = outcome.failed[0]
        raise Refused(failed["name"], f"automated check {failed['name']} now fails: {failed['detail']}")


@contextmanager
def heartbeat(job_id: int) -> Iterator[None]:
    """Touch the job's heartbeat from a side thread while it runs (a long fit holds the main thread)."""
    every = float(settings.JOB_HEARTBEAT_SECONDS)
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                try:
                    job_heartbeat(job_id=job_id)
                except TRANSIENT:
                    logger.warning("heartbeat failed", extra={"job": job_id})
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)
