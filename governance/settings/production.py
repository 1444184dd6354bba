"""Production: the same settings with every secret required and HTTPS protections on.

Only values change here; there is no production-only code path.
"""

from __future__ import annotations

from governance.settings import env
from governance.settings.base import *  # noqa: F403

DEBUG = False
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
