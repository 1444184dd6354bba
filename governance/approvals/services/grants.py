"""Issuing, claiming and revoking grants.

A grant is issued once a request's quorum is met, signed with the service's Ed25519 key, and claimed
by the worker that runs the job with one conditional UPDATE: of two workers holding the same grant
(a redelivered or duplicated message), exactly one changes the row and runs; the other is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.approvals import hashing
from governance.approvals.errors import GrantNotClaimable
from governance.approvals.grants import GRANT_TYPE, GrantClaims, GrantSigner, grant_sign, public_key_id
from governance.approvals.keys import grant_public_key, grant_signing_key
from governance.approvals.models import Grant, ReleaseRequest, ReleaseStatus, Signature
from governance.core.errors import Conflict, NotFound


@transaction.atomic
def grant_issue(
    *, actor: Actor, release: ReleaseRequest, signatures: Sequence[tuple[Signature, str]]
) -> Grant:
    """Sign and store the grant for an approved ``release``; ``signatures`` are the counted approvals
    with the role each counted for. The grant expires with the earliest of them."""
    if release.status != ReleaseStatus.APPROVED:
        raise Conflict(f"release {release.pk} is {release.status}; only an approved request gets a grant")
    if not signatures:
        raise Conflict("a grant needs the approvals it rests on")
    now = timezone.now()
    expires_at = min(signature.expires_at or now for signature, _ in signatures)
    claims = _claims(release, _signers(signatures), issued_at=now, expires_at=expires_at)
    grant = Grant.objects.create(
        grant_id=claims["grant_id"],
        release=release,
        token=grant_sign(claims, grant_signing_key()),
        key_id=public_key_id(grant_public_key()),
        issued_at=now,
        expires_at=expires_at,
    )
    audit_record(
        actor=actor,
        action=AuditAction.GRANT_ISSUE,
        target=Target.of("release", release.pk),
        data={
            "grant_id": claims["grant_id"],
            "kind": release.kind,
            "request_hash": release.request_hash,
            "expires_at": claims["expires_at"],
            "signed_hashes": [signer["signed_hash"] for signer in claims["signers"]],
            "token_sha256": hashing.sha256_hex(grant.token.encode()),
        },
    )
    return grant


def _signers(signatures: Sequence[tuple[Signature, str]]) -> list[GrantSigner]:
    """Who approved, as the grant names them: printed name, role counted for, meaning, time, hash."""
    return [
        {
            "name": signature.printed_name,
            "user_id": signature.signer_id,
            "role": role,
            "meaning": signature.meaning,
            "signed_at": hashing.utc_text(signature.signed_at),
            "signed_hash": signature.signed_hash,
        }
        for signature, role in sorted(signatures, key=lambda item: (item[0].signed_at, item[0].pk))
    ]


def _claims(
    release: ReleaseRequest, signers: list[GrantSigner], *, issued_at: datetime, expires_at: datetime
) -> GrantClaims:
    """What the grant lets a worker do: the request's kind, target, parameters and pinned hashes."""
    pins: list[hashing.PinnedHash] = [
        {"node_id": row.node_id, "sha256": row.sha256} for row in release.datasets.all()
    ]
    if release.model_version is not None:
        pins.append({"node_id": release.model_node_id, "sha256": release.model_sha256})
    return {
        "typ": GRANT_TYPE,
        "grant_id": str(uuid.uuid4()),
        "request_id": release.pk,
        "kind": release.kind,
        "environment": release.environment,
        "model": release.model_name,
        "model_version": release.model_version.version if release.model_version is not None else None,
        "parameters": dict(release.parameters),
        "code_version": release.code_version,
        "pinned": sorted(pins, key=lambda pin: pin["node_id"]),
        "request_hash": release.request_hash,
        "policy": {"name": release.policy_version.policy.name, "version": release.policy_version.version},
        "signers": signers,
        "issued_at": hashing.utc_text(issued_at),
        "expires_at": hashing.utc_text(expires_at),
    }


@transaction.atomic
def grant_claim(*, grant_id: str | uuid.UUID, actor: Actor, job_reference: str = "") -> Grant:
    """Use a grant, once: the release becomes ``consumed``. Call it after ``grants.grant_verify`` and
    before acting. Raises NotFound, or GrantNotClaimable (code grant_used, grant_revoked or
    grant_expired) when this grant cannot run now; a refused claim changes nothing."""
    try:
        wanted = uuid.UUID(str(grant_id))
    except ValueError as exc:
        raise NotFound(f"{grant_id!r} is not a grant id (a UUID)") from exc
    release_id = Grant.objects.filter(grant_id=wanted).values_list("release_id", flat=True).first()
    if release_id is None:
        raise NotFound(f"no grant {wanted}")
    # The request row first, as revocation and withdrawal do, so they never interleave with a claim.
    ReleaseRequest.objects.select_for_update().filter(pk=release_id).first()
    now = timezone.now()
    claimed = Grant.objects.filter(
        grant_id=wanted, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(used_at=now, used_by=_actor_label(actor), job_reference=job_reference[:100])
    grant = Grant.objects.select_related("release").get(grant_id=wanted)
    if not claimed:
        reason = grant.unusable_reason(now) or f"grant {wanted} cannot be claimed"
        code = "grant_revoked" if grant.revoked_at else "grant_used" if grant.used_at else "grant_expired"
        raise GrantNotClaimable(reason, code=code)
    # The live grant of an approved request is the only one that can be claimed, so this always
    # changes one row; the condition keeps a hand-edited row from being consumed twice.
    ReleaseRequest.objects.filter(pk=grant.release_id, status=ReleaseStatus.APPROVED).update(
        status=ReleaseStatus.CONSUMED, consumed_at=now
    )
    audit_record(
        actor=actor,
        action=AuditAction.GRANT_CLAIM,
        target=Target.of("release", grant.release_id),
        data={"grant_id": str(wanted), "job_reference": job_reference[:100]},
    )
    return grant


def grants_revoke(*, release: ReleaseRequest, reason: str, now: datetime) -> list[str]:
    """Revoke the release's unused grants inside the caller's (audited) transaction; returns their ids."""
    live = Grant.objects.filter(release=release, used_at__isnull=True, revoked_at__isnull=True)
    ids = [str(grant_id) for grant_id in live.values_list("grant_id", flat=True)]
    live.update(revoked_at=now, revoke_reason=reason[:200])
    return ids


def _actor_label(actor: Actor) -> str:
    return f"{actor.type}:{actor.id}"[:200]
