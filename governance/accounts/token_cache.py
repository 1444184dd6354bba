"""A short-lived, per-process memory of verified API tokens (``API_TOKEN_CACHE_MILLISECONDS``).

Keyed by the SHA-256 of the whole key a client sent, so only that exact key hits, never another key
with the same public prefix. A pipeline's calls then cost no statement to authenticate; a revocation,
role change or deactivation made in another process is honoured within the cache's time, and in this
process at once (``token_cache_clear`` runs on those changes: ``receivers`` and ``token_revoke``).
"""

from __future__ import annotations

import copy
import hashlib
import threading
import time
from collections.abc import Callable

from django.conf import settings

from governance.accounts.models import ApiToken

_verified: dict[bytes, tuple[float, ApiToken]] = {}
_lock = threading.Lock()
_MAX_ENTRIES = 4096


def token_cache_clear() -> None:
    """Forget every verified token of this process (a token, a user or a user's roles changed)."""
    with _lock:
        _verified.clear()


def verified(key: str, load: Callable[[str], ApiToken]) -> ApiToken:
    """``load(key)`` (the token with its user and roles; DoesNotExist when unusable), served from the
    memory of tokens verified in the last ``API_TOKEN_CACHE_MILLISECONDS`` when it can be.

    Returns copies (of the token and of its user): nothing a request sets on them reaches the next one.
    Expiry is checked by the caller on every request, from the remembered expiry date.
    """
    seconds = settings.API_TOKEN_CACHE_MILLISECONDS / 1000
    if seconds <= 0:
        return load(key)
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    now = time.monotonic()
    hit = _verified.get(digest)
    if hit is None or now - hit[0] >= seconds:
        token = load(key)
        with _lock:
            if len(_verified) >= _MAX_ENTRIES:
                _verified.clear()
            _verified[digest] = (now, token)
    else:
        token = hit[1]
    fresh = copy.copy(token)
    fresh.user = copy.copy(token.user)
    return fresh
