"""The password entered again before a privacy request's step: a hook consent owns, filled in by the
approvals app when it starts.

Verifying a requester, erasing rows, recording an exemption, completing or denying are decisions a
compliance officer answers for, so the console asks for the password again, as for an e-signature
(21 CFR 11.200(a)(1)), with the same lock-out after repeated wrong passwords (11.300(d)) and the same
audited failure. That lock-out lives in the approvals app, above consent, so approvals registers its
check here (``ApprovalsConfig.ready``); with none registered every step is refused (fail closed).
"""

from __future__ import annotations

from typing import Protocol

from audit.actors import Actor
from audit.services import Target
from governance.accounts.models import User
from governance.core.errors import Conflict


class PasswordConfirm(Protocol):
    """Raise an ``ApplicationError`` (wrong password: audited; locked: 423) unless ``password`` is
    ``user``'s; ``target`` names what the step acts on, for the failure's audit entry."""

    def __call__(self, *, actor: Actor, user: User, password: str, target: Target) -> None: ...


_confirms: list[PasswordConfirm] = []


def password_confirm_register(confirm: PasswordConfirm) -> PasswordConfirm:
    """Register the password check (the approvals app's signing check); twice keeps one."""
    if confirm not in _confirms:
        _confirms.append(confirm)
    return confirm


def password_confirm(*, actor: Actor, user: User, password: str, target: Target) -> None:
    """Refuse unless every registered check accepts ``password``; refuse (409) when none is registered."""
    if not _confirms:
        raise Conflict(
            "no password check is installed, so no privacy request step can be confirmed; "
            "install governance.approvals",
            code="reauthentication_unavailable",
        )
    for confirm in _confirms:
        confirm(actor=actor, user=user, password=password, target=target)
