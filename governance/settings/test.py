"""Tests: the same settings (SQLite or PostgreSQL by DATABASE_URL, Redis where a test names it), with the
two costs tests do not check swapped out. Only values change here; there is no test-only code path.

Processes a test starts (gunicorn, Celery workers) run ``governance.settings.base``, as in a deployment
(``tests.support.child_env``).
"""

from __future__ import annotations

from governance.settings.base import *  # noqa: F403

# Production hashes passwords with PBKDF2 at 1,000,000 rounds; tests sign and log in often, and what they
# check is who may sign, not the cost of a guess.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Throttle counts per test process, in memory: no file or Redis round trip per request, and nothing
# carried into the next run. Tests with several processes sharing a throttle run those under base.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}}
