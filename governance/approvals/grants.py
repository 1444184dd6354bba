"""Grants: the signed, single-use permission to run one approved release (no Django here).

A grant is compact text, ``base64url(payload) "." base64url(signature)``, where the payload is the
RFC 8785 canonical JSON of :class:`GrantClaims` and the signature is Ed25519 (RFC 8032) over exactly
those payload bytes. A worker verifies it with only this module, ``audit/jcs.py``, ``cryptography`` and
the service's public key (``GET /api/v1/grants/public-key``); that the grant is unused is a separate
question the database answers (``services.grants.grant_claim``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final, TypedDict, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from audit.jcs import canonical_json
from governance.approvals.hashing import PinnedHash, PolicyRef, parse_utc_text

GRANT_TYPE: Final = "governance-grant/1"
MIN_SECRET_LENGTH: Final = 32
_KDF_INFO: Final = b"model-governance release grant signing key v1"


class GrantError(Exception):
    """A grant that must not be acted on; the message says why."""


class GrantMalformed(GrantError):
    pass


class GrantSignatureInvalid(GrantError):
    pass


class GrantExpired(GrantError):
    pass


class GrantSigner(TypedDict):
    name: str  # the printed name (21 CFR 11.50(a)(1))
    user_id: int
    role: str
    meaning: str
    signed_at: str
    signed_hash: str


class GrantClaims(TypedDict):
    typ: str
    grant_id: str  # uuid4, single use
    request_id: int
    kind: str  # train | deploy
    environment: str
    model: str
    model_version: int | None
    parameters: dict[str, Any]
    code_version: str
    pinned: list[PinnedHash]
    request_hash: str
    policy: PolicyRef
    signers: list[GrantSigner]
    issued_at: str
    expires_at: str


_FIELDS: Final[dict[str, tuple[type, ...]]] = {
    "typ": (str,),
    "grant_id": (str,),
    "request_id": (int,),
    "kind": (str,),
    "environment": (str,),
    "model": (str,),
    "model_version": (int, type(None)),
    "parameters": (dict,),
    "code_version": (str,),
    "pinned": (list,),
    "request_hash": (str,),
    "policy": (dict,),
    "signers": (list,),
    "issued_at": (str,),
    "expires_at": (str,),
}


# --- Keys ---------------------------------------------------------------------------------------------------


def private_key_from_secret(secret: str) -> Ed25519PrivateKey:
    """The signing key from its configured text: an Ed25519 PEM, or any secret of at least 32 characters
    from which the key is derived (HKDF-SHA256, RFC 5869), so a generated random string will do."""
    text = secret.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM holds a private key that is not Ed25519")
        return key
    if len(text) < MIN_SECRET_LENGTH:
        raise ValueError(f"a grant signing secret needs at least {MIN_SECRET_LENGTH} characters")
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KDF_INFO).derive(text.encode())
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_text(key: Ed25519PublicKey) -> str:
    """The 32 raw key bytes, base64url without padding."""
    return _b64encode(public_key_bytes(key))


def public_key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A verifier key from ``public_key_text`` output or an SPKI PEM."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM holds a public key that is not Ed25519")
        return key
    try:
        raw = _b64decode(text)
    except GrantMalformed as exc:
        raise ValueError(f"not a public key: {exc}") from exc
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


# --- Signing and verifying ----------------------------------------------------------------------------------


def grant_sign(claims: GrantClaims, private_key: Ed25519PrivateKey) -> str:
    payload = canonical_json(claims)
    return f"{_b64encode(payload)}.{_b64encode(private_key.sign(payload))}"


def grant_verify(
    token: str, public_keys: Iterable[Ed25519PublicKey | bytes], *, now: datetime | None = None
) -> GrantClaims:
    """The claims of a genuine, unexpired grant; otherwise GrantMalformed, GrantSignatureInvalid or
    GrantExpired.

    1. Split and decode (strict base64url, no padding); the signature is 64 bytes.
    2. Verify the Ed25519 signature over the payload bytes with any of ``public_keys``.
    3. Only then parse: the payload must be exactly the canonical JSON of a complete claims object.
    4. Refuse it at or after ``expires_at``.
    """
    if not isinstance(token, str) or token.count(".") != 1:
        raise GrantMalformed("a grant is two base64url parts joined by one '.'")
    encoded_payload, encoded_signature = token.split(".")
    payload, signature = _b64decode(encoded_payload), _b64decode(encoded_signature)
    if len(signature) != 64:
        raise GrantMalformed("an Ed25519 signature is 64 bytes")
    keys = [Ed25519PublicKey.from_public_bytes(key) if isinstance(key, bytes) else key for key in public_keys]
    if not keys:
        raise GrantSignatureInvalid("no verifier key given")
    if not any(_verifies(key, signature, payload) for key in keys):
        raise GrantSignatureInvalid("the grant's signature does not verify with the service's key")
    claims = _claims(payload)
    expires_at = parse_utc_text(claims["expires_at"])
    moment = now or datetime.now(UTC)
    if moment >= expires_at:
        raise GrantExpired(f"the grant expired at {claims['expires_at']}")
    return claims


def _verifies(key: Ed25519PublicKey, signature: bytes, payload: bytes) -> bool:
    try:
        key.verify(signature, payload)
    except InvalidSignature:
        return False
    return True


def _claims(payload: bytes) -> GrantClaims:
    try:
        parsed = json.loads(payload)
    except ValueError as exc:
        raise GrantMalformed("the grant's payload is not JSON") from exc
    if not isinstance(parsed, dict):
        raise GrantMalformed("the grant's payload is not a JSON object")
    try:
        canonical = canonical_json(parsed)
    except (TypeError, ValueError) as exc:
        raise GrantMalformed(f"the grant's payload is not canonical JSON: {exc}") from exc
    if canonical != payload:
        raise GrantMalformed("the grant's payload is not in RFC 8785 canonical form")
    if set(parsed) != set(_FIELDS):
        raise GrantMalformed(f"the grant's claims must be exactly {', '.join(sorted(_FIELDS))}")
    for name, types in _FIELDS.items():
        value = parsed[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise GrantMalformed(f"the grant's claim {name} has the wrong type")
    if parsed["typ"] != GRANT_TYPE:
        raise GrantMalformed(f"not a {GRANT_TYPE} grant")
    for name in ("issued_at", "expires_at"):
        try:
            parse_utc_text(parsed[name])
        except ValueError as exc:
            raise GrantMalformed(f"the grant's {name} is not a UTC timestamp") from exc
    return cast(GrantClaims, parsed)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GrantMalformed("not base64url") from exc
    if _b64encode(data) != text:  # one spelling per value: no padding, no stray bits
        raise GrantMalformed("not canonical base64url (RFC 4648 §5, no padding)")
    return data
