"""Keyed hashes for personal identifiers (GDPR Art. 4(5) pseudonymisation).

HMAC-SHA256 with a server secret: without the key a hash cannot be reversed by hashing guesses, and the
audit log never has to be rewritten when a person is erased.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def keyed_hash(value: str, *, domain: str) -> str:
    """Hex HMAC-SHA256 of ``value``; ``domain`` separates uses (a username and a subject id never collide)."""
    key = settings.PSEUDONYM_KEY.encode("utf-8")
    message = domain.encode("utf-8") + b"\x00" + value.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()
