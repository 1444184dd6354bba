"""The deploy job: the approved artifact bytes, no erasure in the way, then deployment and alias together.

Steps (the runner has verified and claimed the grant):
1. Copy the model version's artifact out of storage, hashing it: the bytes must be the approved ones,
   and they must load as a scikit-learn pipeline.
2. No erasure or deletion may block this version (it was trained on a subject who asked to be erased,
   with no approved retrain and no recorded exemption).
3. In one transaction: close the environment's open deployment of this model and open the new one, move
   the environment's alias to this version, and end the job. A rollback is this same job for an
   earlier approved version.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from governance.consent.selectors import erasure_block_reason
from governance.jobs import ml
from governance.jobs.services import job_complete_in_transaction, job_progress
from registry.services.aliases import alias_move
from registry.services.deployments import deployment_create

if TYPE_CHECKING:
    from governance.jobs.runner import Context


def deploy(context: Context) -> None:
    from governance.jobs.runner import Refused, fetch_verified, pinned_hash

    job, release = context.job, context.job.release
    version = release.model_version
    if version is None:
        raise Refused("release", f"release {release.pk} names no model version")
    job_progress(job=job, stage="verifying artifact", percent=10)
    node = version.node_id
    path = fetch_verified(context, storage_name=version.storage_name, node_id=node)
    try:
        ml.artifact_load(path.read_bytes(), sha256=pinned_hash(context, node))
    except ml.ArtifactMismatch as exc:
        raise Refused("artifact", f"{node}: {exc}") from exc
    blocked = erasure_block_reason(model_version=version)
    if blocked:
        raise Refused("erasure", blocked)
    environment = context.claims["environment"]
    model_name = version.model.name
    job_progress(job=job, stage="deploying", percent=60)
    with transaction.atomic():
        deployment = deployment_create(
            actor=context.actor,
            model_version=version,
            environment=environment,
            endpoint=f"/api/v1/deployments/{environment}/{model_name}/predict",
            job_reference=job.reference,
        )
        alias_move(actor=context.actor, model_version=version, alias=environment, job_reference=job.reference)
        job_complete_in_transaction(
            actor=context.actor,
            job=job,
            result={
                "deployment": deployment.pk,
                "model_version": node,
                "environment": environment,
                "endpoint": deployment.endpoint,
            },
        )
