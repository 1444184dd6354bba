"""Queueing a job: the one job an approved release may run, sent to its worker queue on commit.

Apart from ``services.py`` because it sends the Celery task, and the task module imports the runner,
which writes job rows through ``services``: services → tasks would close that loop.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts.models import User
from governance.approvals.models import ReleaseKind, ReleaseRequest
from governance.approvals.selectors import grant_usable_for
from governance.core.errors import Conflict
from governance.jobs.models import ReleaseJob
from governance.jobs.tasks import release_job_run

QUEUES = {ReleaseKind.TRAIN: "train", ReleaseKind.DEPLOY: "deploy"}


@transaction.atomic
def job_enqueue(*, actor: Actor, release: ReleaseRequest, by: User) -> ReleaseJob:
    """Queue the one job an approved release may run, with its grant; 409 with the reason otherwise.

    1. Lock the request row (as signing and revoking do), then ask for a usable grant: pending,
       rejected, withdrawn, expired, revoked or used requests are refused here, saying why.
    2. One job per grant (a unique constraint): a second call for the same grant is refused.
    3. Send the task on commit, to the queue of its kind, with the job id and the signed grant.
    """
    locked = ReleaseRequest.objects.select_for_update().get(pk=release.pk)
    grant = grant_usable_for(locked)
    existing = ReleaseJob.objects.filter(grant_id=grant.grant_id).first()
    if existing is not None:
        raise Conflict(
            f"release {locked.pk} already has job {existing.pk} ({existing.status}); a grant runs once"
        )
    queue = QUEUES[ReleaseKind(locked.kind)]
    job = ReleaseJob.objects.create(
        release=locked,
        kind=locked.kind,
        grant_id=grant.grant_id,
        requested_by=by,
        queue=queue,
        created_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        action=AuditAction.JOB_ENQUEUE,
        target=Target.of("job", job.pk),
        data={"release": locked.pk, "kind": locked.kind, "grant_id": str(grant.grant_id), "queue": queue},
    )
    token = grant.token

    def send() -> None:
        # The grant is a bearer credential: Celery's logs and stored task results show this stand-in.
        shown = repr({"job_id": job.pk, "grant": "[grant redacted]"})
        result = release_job_run.apply_async(  # type: ignore[call-arg]  # stubs lack kwargsrepr
            kwargs={"job_id": job.pk, "grant": token}, kwargsrepr=shown, queue=queue
        )
        ReleaseJob.objects.filter(pk=job.pk, task_id="").update(task_id=result.id or "")

    transaction.on_commit(send)
    return job
