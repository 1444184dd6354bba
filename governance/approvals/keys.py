"""The grant signing key from settings (``GRANT_SIGNING_KEY`` or ``GRANT_SIGNING_KEY_FILE``), and the
public key derived from it: what workers verify grants with and what ``/api/v1/grants/public-key``
publishes. A key that cannot be used stops ``manage.py check`` (and so every deploy) with the reason."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypedDict

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core import checks

from governance.approvals.grants import private_key_from_secret, public_key_id, public_key_text


class PublishedKey(TypedDict):
    algorithm: str
    key_id: str
    public_key: str  # 32 raw bytes, base64url
    pem: str


@lru_cache(maxsize=4)
def _private_key(secret: str) -> Ed25519PrivateKey:
    return private_key_from_secret(secret)


def grant_signing_key() -> Ed25519PrivateKey:
    return _private_key(str(settings.GRANT_SIGNING_KEY))


def grant_public_key() -> Ed25519PublicKey:
    return grant_signing_key().public_key()


def grant_public_keys() -> list[Ed25519PublicKey]:
    """The keys a worker passes to ``grants.grant_verify``. Rotating the key voids unused grants, which
    live for days at most; their requests are simply approved again."""
    return [grant_public_key()]


def grant_public_key_published() -> PublishedKey:
    key = grant_public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {
        "algorithm": "Ed25519",
        "key_id": public_key_id(key),
        "public_key": public_key_text(key),
        "pem": pem.decode("ascii"),
    }


@checks.register(checks.Tags.security)
def check_grant_signing_key(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    try:
        grant_signing_key()
    except (ValueError, TypeError) as exc:
        return [
            checks.Error(
                f"GRANT_SIGNING_KEY cannot sign grants: {exc}",
                hint="Give an Ed25519 PEM or a random secret of 32+ characters (GRANT_SIGNING_KEY_FILE).",
                id="approvals.E001",
            )
        ]
    return []
