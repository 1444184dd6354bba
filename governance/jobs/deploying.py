"""The deploy job: the approved artifact bytes, no erasure in the way, then deployment and alias together.

Steps (the runner has verified and claimed the grant):
1. The version must be deployable (stored, in a safe format, signed; ``undeployable_reason``). Copy its
   artifact out of storage, hashing it: the bytes must be the approved ones. Copy its signed directory
   into the job's private directory and verify it: pinned hashes, a key the service trusts, the
   OpenSSF signature bundle, provenance naming this version. Then check each file's format (the skops
   allow-list, no ONNX custom ops) and, for the ONNX form, that onnxruntime builds a session from it.
   Nothing is ever unpickled.
2. No erasure or deletion may block this version (it was trained on a subject who asked to be erased,
   with no approved retrain and no recorded exemption).
3. In one transaction: close the environment's open deployment of this model and open the new one, move
   the environment's alias to this version, and end the job. A rollback is this same job for an
   earlier approved version.
"""

from __future__ import annotations

from django.db import transaction

from governance.consent.selectors import erasure_block_reason
from governance.jobs.context import Context, Refused, fetch_verified, pinned_hash
from governance.jobs.services import job_complete_in_transaction, job_progress
from registry import artifacts, signing
from registry.services.aliases import alias_move
from registry.services.deployments import deployment_create


def deploy(context: Context) -> None:
    job, release = context.job, context.job.release
    version = release.model_version
    if version is None:
        raise Refused("release", f"release {release.pk} names no model version")
    job_progress(job=job, stage="verifying artifact", percent=10)
    node = version.node_id
    undeployable = version.undeployable_reason
    if undeployable:
        raise Refused("artifact", undeployable)
    fetch_verified(context, storage_name=version.storage_name, node_id=node)
    if version.artifact_sha256 != pinned_hash(context, node):
        raise Refused("hash_mismatch", f"{node} pins {version.artifact_sha256}, not the approved hash")
    try:
        model_dir = signing.version_verify(version, context.workdir / "signed")
    except signing.SignatureInvalid as exc:
        raise Refused("signature", f"{node}: {exc}") from exc
    try:
        for name in signing.version_files(version):
            artifacts.artifact_check(model_dir / name)
        if version.onnx_sha256:
            artifacts.onnx_session(model_dir / "model.onnx", version.onnx_sha256)
    except artifacts.ArtifactRefused as exc:
        raise Refused("artifact_format", f"{node}: {exc.detail}") from exc
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
