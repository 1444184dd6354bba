"""The signing password check, lent to steps that are not signatures (a privacy request's actions):
the same lock-out, the same audited failure, registered into consent's hook at start-up."""

from __future__ import annotations

from django.db import transaction

from audit.actors import Actor
from audit.services import Target
from governance.accounts import lockouts
from governance.accounts.models import User
from governance.approvals.errors import PasswordRefused, SigningLocked
from governance.approvals.services.signatures import signing_failure_record


def _refuse_if_locked(user: User, *, heard: bool) -> None:
    if heard:
        with transaction.atomic():  # a right password restarts the count, under the person's row lock
            until = lockouts.signing_attempt_decide(user=user, password_ok=True).locked_until
    else:
        until = lockouts.signing_locked_until(user)
    if until is not None:
        raise SigningLocked(
            f"signing is locked for you until {until:%Y-%m-%d %H:%M:%S} UTC after repeated wrong passwords"
        )


def signing_password_confirm(*, actor: Actor, user: User, password: str, target: Target) -> None:
    """As ``release_sign`` checks a signer: refused while locked; a wrong password is recorded
    (``signing_failure_record``, audited as ``release.sign_failed`` on ``target``) and may lock signing;
    a right one restarts the count."""
    _refuse_if_locked(user, heard=False)
    if not user.check_password(password):
        signing_failure_record(actor=actor, user=user, release=None, target=target)
        raise PasswordRefused("the password is not correct; nothing was done")
    _refuse_if_locked(user, heard=True)
