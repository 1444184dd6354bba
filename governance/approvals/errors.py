"""The approvals' own refusals; the API's exception handler turns each into ``{"error", "detail"}``."""

from __future__ import annotations

from governance.core.errors import ApplicationError, Conflict, PermissionRefused


class SigningLocked(ApplicationError):
    """Signing is locked for this person after repeated wrong passwords (HTTP 423 Locked)."""

    code = "signing_locked"
    status = 423


class PasswordRefused(PermissionRefused):
    code = "password_incorrect"


class GrantNotClaimable(Conflict):
    """The grant exists but cannot be used now: ``code`` is grant_used, grant_revoked or grant_expired."""

    code = "grant_not_claimable"


class NoValidGrant(Conflict):
    """A release that cannot run now; ``detail`` says why (pending approvals, rejected, expired, used)."""

    code = "no_valid_grant"
