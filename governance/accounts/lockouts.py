"""The e-signature lock-out decided under a row lock, and an administrator lifting a person's locks.

Signing (21 CFR 11.300(d)): after SIGNING_MAX_FAILURES wrong passwords within
SIGNING_FAILURE_WINDOW_SECONDS, signing is locked for SIGNING_LOCKOUT_SECONDS. The decision is made
while the person's ``SigningLockout`` row is locked, so concurrent guesses cannot all be heard before
the count catches up. Sign-in (django-axes) lock-outs are in ``login_lockout``; ``user_unlock`` lifts
both in one audited action.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import Target, audit_record
from governance.accounts.login_lockout import attempted_name, username_subject
from governance.accounts.models import LoginFailureTally, SigningLockout, User
from governance.core.errors import Conflict, PermissionRefused
from governance.core.permissions import user_roles
from governance.core.roles import Role


@dataclass(frozen=True)
class SigningAttempt:
    """What one signing attempt was judged to be.

    ``locked_until`` set and ``locks_now`` false: refused unheard, the password was not looked at.
    ``failures``: wrong passwords counted toward the lock, this one included.
    """

    password_ok: bool
    failures: int
    locked_until: datetime | None
    locks_now: bool


def _lockout_row(user: User) -> SigningLockout:
    SigningLockout.objects.get_or_create(user=user)
    return SigningLockout.objects.select_for_update().get(user=user)


def signing_locked_until(user: User, now: datetime | None = None) -> datetime | None:
    """When signing unlocks for ``user``, or None if it is not locked (a read without the row lock)."""
    now = now or timezone.now()
    row = SigningLockout.objects.filter(user=user, locked_until__gt=now).first()
    return row.locked_until if row is not None else None


def signing_attempt_decide(*, user: User, password_ok: bool, now: datetime | None = None) -> SigningAttempt:
    """Judge one signing attempt; call it inside the transaction that records the outcome.

    1. Lock the person's row: their concurrent attempts queue here.
    2. Locked: the attempt is refused unheard, whether the password was right or wrong.
    3. A wrong password is counted (the count restarts when the window has passed); the one that
       reaches SIGNING_MAX_FAILURES locks signing for SIGNING_LOCKOUT_SECONDS.
    4. A right password restarts the count.
    The password is checked by the caller before, outside the lock: hashing is the slow part and
    its result is only acted on here.
    """
    now = now or timezone.now()
    row = _lockout_row(user)
    if row.locked_until is not None and row.locked_until > now:
        return SigningAttempt(password_ok, row.failures, row.locked_until, locks_now=False)
    window = timedelta(seconds=settings.SIGNING_FAILURE_WINDOW_SECONDS)
    if password_ok:
        if row.failures or row.locked_until is not None:
            SigningLockout.objects.filter(pk=row.pk).update(
                failures=0, counting_since=None, locked_until=None
            )
        return SigningAttempt(True, 0, None, locks_now=False)
    expired = row.counting_since is None or row.counting_since <= now - window or row.locked_until is not None
    failures = 1 if expired else row.failures + 1
    counting_since = now if expired else row.counting_since
    locked_until = None
    if failures >= settings.SIGNING_MAX_FAILURES:
        locked_until = now + timedelta(seconds=settings.SIGNING_LOCKOUT_SECONDS)
    SigningLockout.objects.filter(pk=row.pk).update(
        failures=failures, counting_since=counting_since, locked_until=locked_until
    )
    return SigningAttempt(False, failures, locked_until, locks_now=locked_until is not None)


@dataclass(frozen=True)
class Unlocked:
    login_attempts_cleared: int
    signing_locked_until: datetime | None


@transaction.atomic
def user_unlock(*, actor: Actor, user: User, by: User | None = None) -> Unlocked:
    """Lift ``user``'s sign-in lock-out (the failed attempts recorded under their name, from any
    address) and signing lock-out, as one audited action. ``by`` is the person doing it (an
    administrator); None for an operator at ``manage.py unlockuser``. Nothing to lift is a 409."""
    if by is not None and not (by.is_superuser or Role.ADMIN in user_roles(by)):
        raise PermissionRefused("only an administrator lifts a lock-out", code="not_admin")
    now = timezone.now()
    row = _lockout_row(user)
    signing_until = row.locked_until if row.locked_until is not None and row.locked_until > now else None
    SigningLockout.objects.filter(pk=row.pk).update(failures=0, counting_since=None, locked_until=None)
    name = attempted_name(user.get_username())
    cleared = AccessAttempt.objects.filter(username=name).aggregate(n=Sum("failures_since_start"))["n"] or 0
    axes_reset(username=name)
    # The next lock-out of this name is a new one, audited again.
    LoginFailureTally.objects.filter(subject=username_subject(user.get_username())).update(locked_out_at=None)
    if not cleared and signing_until is None and not row.failures:
        raise Conflict(
            f"user {user.username!r} has no failed sign-ins or signing lock-out to lift", code="not_locked"
        )
    audit_record(
        actor=actor,
        action=AuditAction.USER_UNLOCK,
        target=Target.of("user", user.pk),
        data={
            "login_attempts_cleared": cleared,
            "signing_locked_until": signing_until.isoformat() if signing_until else None,
            "signing_failures_cleared": row.failures,
        },
    )
    return Unlocked(login_attempts_cleared=cleared, signing_locked_until=signing_until)


def signing_lock_impose(*, user: User, now: datetime | None = None) -> datetime:
    """Lock signing for ``user`` for SIGNING_LOCKOUT_SECONDS unless it is locked already; returns until
    when. Call it inside the transaction that audits the lock."""
    now = now or timezone.now()
    row = _lockout_row(user)
    if row.locked_until is not None and row.locked_until > now:
        return row.locked_until
    until = now + timedelta(seconds=settings.SIGNING_LOCKOUT_SECONDS)
    SigningLockout.objects.filter(pk=row.pk).update(locked_until=until)
    return until
