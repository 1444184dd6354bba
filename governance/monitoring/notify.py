"""Alarm notifications: a webhook body signed with HMAC-SHA256 (RFC 2104), and an e-mail.

The receiver recomputes ``HMAC-SHA256(secret, raw body)`` and compares it, in constant time, with the
hex after ``sha256=`` in the ``X-Governance-Signature`` header (the GitHub webhook convention), so a
body that was altered or not sent by us is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from typing import Any, Final
from urllib.parse import urlsplit

SIGNATURE_HEADER: Final = "X-Governance-Signature"


def body_encode(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def sign(body: str | bytes, secret: str) -> str:
    raw = body.encode() if isinstance(body, str) else body
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str, secret: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(body, secret), header)


def backoff_seconds(attempt: int, *, base: float, maximum: float = 3600.0) -> float:
    """Exponential backoff: ``base``, 2·base, 4·base, ... after the 1st, 2nd, 3rd failed attempt."""
    return float(min(maximum, base * 2 ** max(0, attempt - 1)))


def post(url: str, body: str, signature: str, *, timeout: float) -> tuple[int | None, str]:
    """POST the body; returns (HTTP status or None, error text or "")."""
    if urlsplit(url).scheme not in ("http", "https"):
        return None, f"{url}: only http and https URLs are called"
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url,
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
