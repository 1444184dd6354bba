"""Grants, offline: a genuine grant verifies; an altered, forged, malformed or expired one does not."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.jcs import canonical_json
from governance.approvals import grants
from governance.approvals.grants import GrantClaims

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()


def _claims(**overrides: object) -> GrantClaims:
    claims: dict[str, object] = {
        "typ": grants.GRANT_TYPE,
        "grant_id": str(uuid.uuid4()),
        "request_id": 7,
        "kind": "train",
        "environment": "",
        "model": "churn",
        "model_version": None,
        "parameters": {"n_estimators": 50},
        "code_version": "git:abc",
        "pinned": [{"node_id": "dataset:warehouse:customers#v1", "sha256": "a" * 64}],
        "request_hash": "b" * 64,
        "policy": {"name": "train-default", "version": 2},
        "signers": [
            {
                "name": "Olivia Officer",
                "user_id": 3,
                "role": "compliance_officer",
                "meaning": "approved",
                "signed_at": "2026-03-01T08:59:00.000000Z",
                "signed_hash": "c" * 64,
            }
        ],
        "issued_at": "2026-03-01T09:00:00.000000Z",
        "expires_at": "2026-03-08T09:00:00.000000Z",
        **overrides,
    }
    return claims  # type: ignore[return-value]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_signed_grant_verifies_and_returns_its_claims() -> None:
    claims = _claims()
    token = grants.grant_sign(claims, KEY)

    assert grants.grant_verify(token, [KEY.public_key()], now=NOW) == claims


def test_the_public_key_may_be_given_as_raw_bytes_or_as_published_text() -> None:
    token = grants.grant_sign(_claims(), KEY)
    text = grants.public_key_text(KEY.public_key())

    assert grants.grant_verify(token, [grants.public_key_bytes(KEY.public_key())], now=NOW)
    assert grants.grant_verify(token, [grants.public_key_from_text(text)], now=NOW)


def test_an_altered_grant_does_not_verify() -> None:
    token = grants.grant_sign(_claims(), KEY)
    payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["pinned"][0]["sha256"] = "f" * 64  # someone points the grant at other bytes

    with pytest.raises(grants.GrantSignatureInvalid):
        grants.grant_verify(f"{_b64(canonical_json(claims))}.{signature}", [KEY.public_key()], now=NOW)


def test_a_grant_forged_with_another_key_does_not_verify() -> None:
    forged = grants.grant_sign(_claims(), Ed25519PrivateKey.generate())

    with pytest.raises(grants.GrantSignatureInvalid, match="does not verify"):
        grants.grant_verify(forged, [KEY.public_key()], now=NOW)


def test_an_expired_grant_is_refused_even_though_its_signature_is_good() -> None:
    token = grants.grant_sign(_claims(), KEY)

    with pytest.raises(grants.GrantExpired, match="2026-03-08"):
        grants.grant_verify(token, [KEY.public_key()], now=NOW + timedelta(days=7))


@pytest.mark.parametrize(
    "token",
    ["", "no-dot", "a.b.c", "!!!.abc", "abc=.abc", "eyJ9." + "A" * 80],
    ids=["empty", "one-part", "three-parts", "not-base64", "padded", "short-signature"],
)
def test_a_malformed_grant_is_refused(token: str) -> None:
    with pytest.raises(grants.GrantMalformed):
        grants.grant_verify(token, [KEY.public_key()], now=NOW)


def test_a_payload_that_is_not_canonical_is_refused_even_when_signed() -> None:
    payload = json.dumps(_claims(), indent=2).encode()  # the right key, but not RFC 8785 bytes
    token = f"{_b64(payload)}.{_b64(KEY.sign(payload))}"

    with pytest.raises(grants.GrantMalformed, match="canonical"):
        grants.grant_verify(token, [KEY.public_key()], now=NOW)


def test_claims_with_a_field_missing_or_of_the_wrong_type_are_refused() -> None:
    missing = dict(_claims())
    del missing["signers"]
    wrong = _claims(request_id="7")

    for claims in (missing, wrong):
        with pytest.raises(grants.GrantMalformed, match="claim"):
            grants.grant_verify(grants.grant_sign(claims, KEY), [KEY.public_key()], now=NOW)  # type: ignore[arg-type]


def test_the_signing_key_comes_from_a_pem_or_is_derived_from_a_long_secret() -> None:
    pem = KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    secret = "x" * 40

    assert grants.public_key_bytes(
        grants.private_key_from_secret(pem).public_key()
    ) == grants.public_key_bytes(KEY.public_key())
    derived = grants.private_key_from_secret(secret)
    assert grants.public_key_id(derived.public_key()) == grants.public_key_id(
        grants.private_key_from_secret(secret).public_key()
    )
    with pytest.raises(ValueError, match="32 characters"):
        grants.private_key_from_secret("too short")
