"""Recording a deployment made outside this service (a pipeline's own serving stack), under sign-off.

A pipeline that deploys elsewhere still needs the approved deploy release for exactly that model
version and environment: recording the deployment uses up the release's grant, as a deploy job would.
"""

from __future__ import annotations

from django.db import transaction

from audit.actors import Actor
from governance.approvals.models import ReleaseKind, ReleaseRequest
from governance.approvals.selectors import grant_usable_for
from governance.approvals.services.grants import grant_claim
from governance.consent.selectors import erasure_block_reason
from governance.core.errors import Conflict, ValidationFailed
from registry.models import Deployment, ModelVersion
from registry.services.aliases import alias_move
from registry.services.deployments import deployment_create


@transaction.atomic
def deployment_record_approved(
    *, actor: Actor, release: ReleaseRequest, model_version: ModelVersion, environment: str, endpoint: str
) -> Deployment:
    """Record that ``model_version`` now serves ``environment`` at ``endpoint``, as ``release`` approved.

    1. The release must be an approved deploy request for this very version and environment, with a
       usable grant (409 with the reason otherwise: pending, rejected, expired, used...).
    2. No erasure may block the version. 3. Claim the grant (single use), open the deployment and move
    the environment's alias, in this one transaction.
    """
    locked = ReleaseRequest.objects.select_for_update().get(pk=release.pk)
    if locked.kind != ReleaseKind.DEPLOY:
        raise ValidationFailed(f"release: {locked.pk} is a {locked.kind} request, not a deploy request")
    if (locked.model_version_id, locked.environment) != (model_version.pk, environment):
        raise Conflict(
            f"release {locked.pk} approved {locked.model_node_id} for {locked.environment!r}, "
            f"not {model_version.node_id} for {environment!r}"
        )
    grant = grant_usable_for(locked)
    if model_version.artifact_sha256 != locked.model_sha256:
        raise Conflict(f"{model_version.node_id}'s artifact hash is not the one release {locked.pk} pinned")
    blocked = erasure_block_reason(model_version=model_version)
    if blocked:
        raise Conflict(blocked, code="affected_by_erasure")
    reference = f"release-{locked.pk}"
    grant_claim(grant_id=grant.grant_id, actor=actor, job_reference=reference)
    deployment = deployment_create(
        actor=actor,
        model_version=model_version,
        environment=environment,
        endpoint=endpoint,
        job_reference=reference,
    )
    alias_move(actor=actor, model_version=model_version, alias=environment, job_reference=reference)
    return deployment
