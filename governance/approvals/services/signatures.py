"""Electronic signatures on release requests (21 CFR Part 11), their revocation and the signing lock-out.

A signature is made with the password entered again, also by callers that hold a session or a token
(§11.200(a)(1): both components at each signing that is not part of one continuous session of signings),
shows the printed name, UTC date and time and meaning (§11.50) and commits to the request (§11.70).
Separation of duties: the requester never signs their own request, one person counts once, a
rejection ends the request.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts import lockouts
from governance.accounts.models import User
from governance.approvals import hashing, selectors
from governance.approvals.duties import signer_check, signer_refuse_excluded
from governance.approvals.errors import PasswordRefused, SigningLocked
from governance.approvals.models import (
    OPEN_STATUSES,
    Meaning,
    ReleaseRequest,
    ReleaseStatus,
    Signature,
    SigningFailure,
    SigningLock,
)
from governance.approvals.services.checks import release_checks_before_signing
from governance.approvals.services.grants import grant_issue, grants_revoke
from governance.core.errors import Conflict, PermissionRefused, ValidationFailed
from governance.core.permissions import user_roles
from governance.core.roles import Role

logger = logging.getLogger(__name__)


def release_sign(
    *, actor: Actor, release: ReleaseRequest, signer: User, meaning: str, password: str, comment: str = ""
) -> Signature:
    """Sign ``release`` as ``signer`` with ``meaning`` (approved, rejected or reviewed).

    Deliberately not one transaction: a wrong password must leave its record (and perhaps the lock)
    behind although the signing fails, to detect and report attempts at unauthorised use (§11.300(d)).
    1. Refuse machine accounts, people without a printed name, and locked signers.
    2. Check the password; a wrong one is recorded (``signing_failure_record``) and refused.
    3. Re-run the automated checks (committed and audited on their own); an approval is refused while
       one fails (``release_checks_before_signing``).
    4. Add the signature in one transaction (``_signature_add``); a quorum met issues the grant.
    """
    if meaning not in Meaning.values:
        raise ValidationFailed(
            f"meaning: {meaning!r} is not a signature meaning; use approved, rejected or reviewed"
        )
    if Role.PIPELINE in user_roles(signer):
        raise PermissionRefused(
            "a pipeline (machine) account never signs: a signature belongs to one person (21 CFR 11.100(a))",
            code="machine_cannot_sign",
        )
    if not signer.full_name.strip():
        raise PermissionRefused(
            "your account has no full name to print with a signature (21 CFR 11.50(a)(1)); "
            "ask an administrator to set it",
            code="no_printed_name",
        )
    # A read without the row lock first: a locked signer is refused without the cost of a hash.
    _refuse_if_locked(lockouts.signing_locked_until(signer))
    signer_refuse_excluded(actor=actor, release=release, signer=signer)  # audited refusal
    if not signer.check_password(password):
        signing_failure_record(actor=actor, user=signer, release=release)
        raise PasswordRefused("the password is not correct; the signature was not made")
    _signing_admit(signer)
    release_checks_before_signing(actor=actor, release=release, meaning=meaning)
    return _signature_add(actor=actor, release=release, signer=signer, meaning=meaning, comment=comment)


@transaction.atomic
def _signature_add(
    *, actor: Actor, release: ReleaseRequest, signer: User, meaning: str, comment: str
) -> Signature:
    """1. Lock the request: concurrent signers queue here, so the quorum is judged on all of them.
    2. Refuse a signer the policy does not name, the requester, a request not pending, a second signature.
    3. Store the signature, then decide: a rejection ends the request, a met quorum approves it.
    4. Audit; a met quorum issues the grant (its own audited action)."""
    ReleaseRequest.objects.select_for_update().filter(pk=release.pk).first()
    release = selectors.release_get(pk=release.pk)
    if meaning == Meaning.APPROVED and not release.checks_passed and release.policy_version.checks:
        # The checks ran before this lock was taken; a page view or the worker may have failed them since.
        raise Conflict(
            "an automated check failed after this signature was asked for; the request cannot be approved "
            "while a check fails (open its page to see which)",
            code="check_failed",
        )
    roles = _signer_roles(release, signer)
    now = timezone.now()
    _refuse_unless_first_signature(release, signer, now)
    signature = _signature_store(
        actor=actor, release=release, signer=signer, meaning=meaning, comment=comment, roles=roles, now=now
    )
    counted = _decide(release, signature, now)
    audit_record(
        actor=actor,
        action=AuditAction.RELEASE_SIGN,
        target=Target.of("release", release.pk),
        data={
            "signature_id": signature.pk,
            "meaning": meaning,
            "roles": roles,
            "signed_at": hashing.utc_text(now),
            "signed_hash": signature.signed_hash,
            "request_hash": release.request_hash,
            "quorum_met": bool(counted),
        },
    )
    if counted:
        grant_issue(actor=actor, release=selectors.release_get(pk=release.pk), signatures=counted)
    return signature


def _signer_roles(release: ReleaseRequest, signer: User) -> list[str]:
    """The signer's roles the policy names (at least one), once the separation of duties allows them."""
    policy = release.policy_version
    named = {requirement["role"] for requirement in policy.required_approvals}
    roles = sorted(user_roles(signer) & named)
    if not roles:
        raise PermissionRefused(
            f"policy {policy} takes signatures from {', '.join(sorted(named))}; you hold none of these roles",
            code="not_a_signer_for_this_policy",
        )
    signer_check(release, signer)  # the requester, and whoever made what the request rests on
    return roles


def _refuse_unless_first_signature(release: ReleaseRequest, signer: User, now: datetime) -> None:
    """Only a pending request is signed, and one person counts once."""
    status = release.effective_status(now)
    if status != ReleaseStatus.PENDING:
        raise Conflict(
            f"release {release.pk} is {status}; only a pending request is signed", code="not_pending"
        )
    earlier = next(
        (s for s in release.signatures.all() if s.signer_id == signer.pk and s.revoked_at is None), None
    )
    if earlier is not None and earlier.meaning == Meaning.APPROVED and not earlier.counts_at(now):
        raise Conflict(
            f"your approval expired at {earlier.expires_at:%Y-%m-%d %H:%M:%S} UTC; "
            "revoke it, then sign again",
            code="already_signed",
        )
    if earlier is not None:
        raise Conflict(
            f"you signed this request already ({earlier.meaning} at "
            f"{earlier.signed_at:%Y-%m-%d %H:%M:%S} UTC); one person counts once",
            code="already_signed",
        )


def _signature_store(
    *,
    actor: Actor,
    release: ReleaseRequest,
    signer: User,
    meaning: str,
    comment: str,
    roles: list[str],
    now: datetime,
) -> Signature:
    """The signature row: printed name, UTC time and meaning (§11.50), bound to the request hash (§11.70)."""
    signed_at = hashing.utc_text(now)
    validity = timedelta(seconds=release.policy_version.approval_validity_seconds)
    return Signature.objects.create(
        release=release,
        signer=signer,
        printed_name=signer.full_name.strip(),
        meaning=meaning,
        comment=comment,
        roles=roles,
        via="token" if actor.type == "token" else "session",
        signed_at=hashing.parse_utc_text(signed_at),
        signed_hash=hashing.signature_hash(
            request_hash=release.request_hash,
            release_id=release.pk,
            signer_id=signer.pk,
            meaning=meaning,
            signed_at=signed_at,
        ),
        expires_at=now + validity if meaning == Meaning.APPROVED else None,
    )


def _decide(release: ReleaseRequest, signature: Signature, now: datetime) -> list[tuple[Signature, str]]:
    """A rejection ends the request; an approval that meets the quorum approves it. Returns the
    signatures counted towards the quorum, with the role each counts as (empty: not approved)."""
    counted: list[tuple[Signature, str]] = []
    if signature.meaning == Meaning.REJECTED:
        ReleaseRequest.objects.filter(pk=release.pk).update(
            status=ReleaseStatus.REJECTED,
            decided_at=now,
            decision_reason=f"rejected by {signature.printed_name}",
        )
    elif signature.meaning == Meaning.APPROVED:
        release = selectors.release_get(pk=release.pk)
        quorum, counting = selectors.release_quorum(release, now)
        if quorum.met:
            counted = [(s, quorum.assigned[s.pk]) for s in counting if s.pk in quorum.assigned]
            ReleaseRequest.objects.filter(pk=release.pk).update(
                status=ReleaseStatus.APPROVED,
                decided_at=now,
                decision_reason="approved by the policy's quorum",
                expires_at=min(s.expires_at or now for s, _ in counted),
            )
    return counted


def _refuse_if_locked(locked_until: datetime | None) -> None:
    if locked_until is not None:
        raise SigningLocked(
            f"signing is locked for you until {locked_until:%Y-%m-%d %H:%M:%S} UTC "
            "after repeated wrong passwords"
        )


@transaction.atomic
def _signing_admit(signer: User) -> None:
    """A right password: admitted unless a concurrent wrong one locked signing meanwhile (decided under
    the signer's lock-out row, which the right password also resets the count on)."""
    attempt = lockouts.signing_attempt_decide(user=signer, password_ok=True)
    _refuse_if_locked(attempt.locked_until)


@transaction.atomic
def signing_failure_record(
    *, actor: Actor, user: User, release: ReleaseRequest | None, target: Target | None = None
) -> int:
    """Record a signing attempt with a wrong password; lock signing at the limit. Returns the number of
    failures that count (within the window, since the last lock and the last right password).
    ``target``: what was being confirmed when it is not a release (a privacy request's step).

    Decided under the person's lock-out row (``lockouts.signing_attempt_decide``): of N concurrent wrong
    passwords at most SIGNING_MAX_FAILURES are heard; the rest find signing locked and are refused with
    SigningLocked (423), recording nothing.
    """
    attempt = lockouts.signing_attempt_decide(user=user, password_ok=False)
    if not attempt.locks_now:
        _refuse_if_locked(attempt.locked_until)
    failures = attempt.failures
    SigningFailure.objects.create(user=user, release=release, at=timezone.now())
    audit_record(
        actor=actor,
        action=AuditAction.RELEASE_SIGN_FAILED,
        target=target or Target.of("release", release.pk if release is not None else "-"),
        data={"user": str(user.pk), "failures": failures, "limit": settings.SIGNING_MAX_FAILURES},
    )
    if attempt.locks_now:
        signing_lock(actor=actor, user=user, failures=failures)
    return failures


@transaction.atomic
def signing_lock(*, actor: Actor, user: User, failures: int) -> SigningLock:
    """Lock signing for ``user`` for SIGNING_LOCKOUT_SECONDS and alert: a warning in the log and a mail
    to ADMINS once the lock commits."""
    now = timezone.now()
    lock = SigningLock.objects.create(
        user=user,
        locked_at=now,
        locked_until=lockouts.signing_lock_impose(user=user, now=now),
        failures=failures,
    )
    until = hashing.utc_text(lock.locked_until)
    audit_record(
        actor=actor,
        action=AuditAction.RELEASE_SIGNING_LOCKED,
        target=Target.of("user", user.pk),
        data={"failures": failures, "locked_until": until},
    )
    message = f"Signing locked for user id {user.pk} after {failures} wrong passwords, until {until}"
    logger.warning(message, extra={"alert": "signing_locked", "user_id": user.pk, "locked_until": until})
    transaction.on_commit(
        lambda: mail_admins("Release signing locked", message + ".\nSee the audit log.", fail_silently=True)
    )
    return lock


@transaction.atomic
def signature_revoke(*, actor: Actor, signature: Signature, by: User, reason: str) -> Signature:
    """Revoke an approval (by its signer or a compliance officer). An approved request goes back to
    pending and its unused grant is revoked; a consumed, rejected or withdrawn one cannot change."""
    if not reason.strip():
        raise ValidationFailed("reason: say why the approval is revoked")
    if by.pk != signature.signer_id and Role.COMPLIANCE_OFFICER not in user_roles(by):
        raise PermissionRefused(
            "only the signer or a compliance officer revokes an approval", code="not_signer"
        )
    # The request row first, as grant_claim does: a claim and a revocation never interleave.
    release = ReleaseRequest.objects.select_for_update().get(pk=signature.release_id)
    if signature.meaning != Meaning.APPROVED:
        raise Conflict(
            f"this signature means {signature.meaning}; only an approval is revoked", code="not_an_approval"
        )
    if release.status not in OPEN_STATUSES:
        raise Conflict(f"release {release.pk} is {release.status}; its approvals can no longer change")
    now = timezone.now()
    changed = Signature.objects.filter(pk=signature.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by, revoke_reason=reason.strip()
    )
    if not changed:
        raise Conflict("this approval is revoked already", code="already_revoked")
    revoked: list[str] = []
    if release.status == ReleaseStatus.APPROVED:
        ReleaseRequest.objects.filter(pk=release.pk).update(
            status=ReleaseStatus.PENDING, decided_at=None, decision_reason="", expires_at=None
        )
        revoked = grants_revoke(release=release, reason="an approval was revoked", now=now)
    audit_record(
        actor=actor,
        action=AuditAction.RELEASE_APPROVAL_REVOKE,
        target=Target.of("release", release.pk),
        data={"signature_id": signature.pk, "signed_hash": signature.signed_hash, "grants_revoked": revoked},
    )
    signature.refresh_from_db()
    return signature
