"""Sign-in lock-out (django-axes; governance/accounts/login_lockout.py), read by base.py."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from governance.core import env

# --- Sign-in lock-out (django-axes; governance/accounts/login_lockout.py) ----------------------------
# LOGIN_MAX_FAILURES wrong passwords for one name or from one address (LOGIN_LOCKOUT_BY: username,
# ip_address or both) lock the HTML and the admin sign-in for LOGIN_LOCKOUT_SECONDS; attempts while locked
# are refused unheard and do not extend the lock. API tokens are not passwords and are not affected.
AXES_FAILURE_LIMIT = env.integer("LOGIN_MAX_FAILURES", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env.integer("LOGIN_LOCKOUT_SECONDS", 900, minimum=60))
AXES_LOCKOUT_PARAMETERS = env.string_list("LOGIN_LOCKOUT_BY", ["username", "ip_address"])
if not AXES_LOCKOUT_PARAMETERS or not set(AXES_LOCKOUT_PARAMETERS) <= {"username", "ip_address"}:
    raise ImproperlyConfigured(
        f"LOGIN_LOCKOUT_BY={','.join(AXES_LOCKOUT_PARAMETERS)!r}: use username, ip_address or both"
    )
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# Attempted names are counted as keyed hashes: a name typed may be a password or anyone's personal data.
AXES_USERNAME_CALLABLE = "governance.accounts.login_lockout.axes_username"
AXES_LOCKOUT_CALLABLE = "governance.accounts.login_lockout.lockout_response"
# The peer's address, or behind a proxy (TRUST_PROXY_HEADERS) the one the proxy appended to X-Forwarded-For.
AXES_CLIENT_IP_CALLABLE = "governance.accounts.login_lockout.client_address"
AXES_HTTP_RESPONSE_CODE = 429
# Sign-ins are in the audit log; and a lock-out is lifted only by the audited `unlockuser` or admin action.
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
