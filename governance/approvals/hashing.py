"""What a release request and a signature commit to, as SHA-256 over RFC 8785 canonical JSON (no Django).

The request hash covers everything the request asks for (kind, pinned SHA-256 digests, parameters,
environment, the policy version it is judged under); a pinned dataset version with a data quality profile
pins that profile's SHA-256 too, so a sign-off covers the profile the data was judged on (EU AI Act Art.
10); a signature's hash covers that request hash, the
request's id, the signer, the meaning and the time, so a signature cannot be moved to another record,
not even to a second request with identical content (21 CFR 11.70).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

from audit.jcs import canonical_json

# Re-exported (approvals, jobs and monitoring import them from here); their home is governance.core.timefmt.
from governance.core.timefmt import parse_utc_text as parse_utc_text
from governance.core.timefmt import utc_text as utc_text

DOCUMENT_VERSION = 1


class PinnedHash(TypedDict):
    node_id: str  # the lineage node id: dataset:<ns>:<name>#<version> or model:<name>#<version>
    sha256: str
    # A dataset version's quality profile (registry.QualityProfile.sha256); absent when it has none, so
    # the documents of versions without a profile hash as they always did.
    quality_profile_sha256: NotRequired[str]


def pin(node_id: str, sha256: str, quality_profile_sha256: str | None = None) -> PinnedHash:
    pinned: PinnedHash = {"node_id": node_id, "sha256": sha256}
    if quality_profile_sha256:
        pinned["quality_profile_sha256"] = quality_profile_sha256
    return pinned


class PolicyRef(TypedDict):
    name: str
    version: int


class ReleaseDocument(TypedDict):
    v: int
    kind: str
    environment: str
    risk_level: str
    model: str
    model_version: int | None
    pinned: list[PinnedHash]
    parameters: dict[str, Any]
    code_version: str
    metric_thresholds: dict[str, Any]
    dpia_reference: str
    human_overseer_id: int | None
    policy: PolicyRef


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def release_document(
    *,
    kind: str,
    environment: str,
    risk_level: str,
    model: str,
    model_version: int | None,
    pinned: Sequence[PinnedHash],
    parameters: Mapping[str, Any],
    code_version: str,
    metric_thresholds: Mapping[str, Any],
    dpia_reference: str,
    human_overseer_id: int | None,
    policy: PolicyRef,
) -> ReleaseDocument:
    return {
        "v": DOCUMENT_VERSION,
        "kind": kind,
        "environment": environment,
        "risk_level": risk_level,
        "model": model,
        "model_version": model_version,
        "pinned": sorted(
            (pin(one["node_id"], one["sha256"], one.get("quality_profile_sha256")) for one in pinned),
            key=lambda one: one["node_id"],
        ),
        "parameters": dict(parameters),
        "code_version": code_version,
        "metric_thresholds": dict(metric_thresholds),
        "dpia_reference": dpia_reference,
        "human_overseer_id": human_overseer_id,
        "policy": {"name": policy["name"], "version": policy["version"]},
    }


def request_hash(document: ReleaseDocument) -> str:
    return sha256_hex(canonical_json(document))


def signature_hash(
    *, request_hash: str, release_id: int, signer_id: int, meaning: str, signed_at: str
) -> str:
    return sha256_hex(
        canonical_json(
            {
                "request_hash": request_hash,
                "request_id": release_id,
                "signer_id": signer_id,
                "meaning": meaning,
                "signed_at": signed_at,
            }
        )
    )
