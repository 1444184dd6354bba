"""Production: the same settings with every secret required and HTTPS protections on.

Only values change here; there is no production-only code path.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from governance.core import env
from governance.settings.base import *  # noqa: F403
from governance.settings.base import ALLOWED_HOSTS

# Django's test client's host name: a request naming it never reaches production.
if "testserver" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS: remove 'testserver' (the test client's name) in production")

DEBUG = False
SECURE_SSL_REDIRECT = env.boolean("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
