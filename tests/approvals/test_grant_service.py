"""Grants issued by the service: they verify with the published key, they are claimed once, and a
rejected, revoked, withdrawn or expired request has no grant that can run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEntry
from governance.approvals import grants, selectors
from governance.approvals.errors import GrantNotClaimable, NoValidGrant
from governance.approvals.keys import grant_public_keys
from governance.approvals.models import Grant, ReleaseRequest, Signature
from governance.approvals.services.grants import grant_claim
from governance.core.errors import NotFound
from tests.approvals.factories import (
    client_for,
    dataset_version,
    make_policy,
    model_version,
    sign,
    train_request,
    two_officer_policy,
)

pytestmark = pytest.mark.django_db
WORKER = Actor.worker("train-worker")


@pytest.fixture
def approved(requester: Any, approver: Any, second_approver: Any) -> ReleaseRequest:
    two_officer_policy()
    release = train_request(requester, dataset_version(requester))
    sign(client_for(approver), release.pk)
    sign(client_for(second_approver), release.pk)
    return selectors.release_get(pk=release.pk)


def _published_key(reader: Any) -> Any:
    body = client_for(reader).get("/api/v1/grants/public-key").json()
    assert body["algorithm"] == "Ed25519"
    return grants.public_key_from_text(body["public_key"])


def test_the_grant_verifies_offline_with_the_published_key_and_names_what_was_approved(
    approved: ReleaseRequest, pipeline: Any
) -> None:
    grant = selectors.grant_usable_for(approved)

    claims = grants.grant_verify(grant.token, [_published_key(pipeline)])

    assert claims["grant_id"] == str(grant.grant_id)
    assert claims["request_id"] == approved.pk
    assert claims["kind"] == "train"
    assert claims["request_hash"] == approved.request_hash
    assert claims["pinned"] == selectors.release_pins(approved)
    assert claims["policy"] == {"name": "two-officers", "version": 1}
    assert claims["parameters"] == {"target": "label", "n_estimators": 50}
    assert [signer["name"] for signer in claims["signers"]] == ["Olivia Officer", "Oscar Officer"]
    assert {signer["signed_hash"] for signer in claims["signers"]} == set(
        Signature.objects.values_list("signed_hash", flat=True)
    )
    assert claims["expires_at"] == grant.expires_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_the_published_key_is_the_one_derived_from_the_settings_key(pipeline: Any) -> None:
    published = _published_key(pipeline)

    assert grants.public_key_bytes(published) == grants.public_key_bytes(grant_public_keys()[0])


def test_an_altered_or_forged_grant_does_not_verify(approved: ReleaseRequest) -> None:
    token = selectors.grant_usable_for(approved).token
    payload, signature = token.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = grants.grant_sign(grants.grant_verify(token, grant_public_keys()), Ed25519PrivateKey.generate())

    with pytest.raises(grants.GrantError):
        grants.grant_verify(f"{flipped}.{signature}", grant_public_keys())
    with pytest.raises(grants.GrantSignatureInvalid):
        grants.grant_verify(forged, grant_public_keys())


def test_a_grant_is_claimed_once_and_the_release_is_consumed(approved: ReleaseRequest) -> None:
    grant = selectors.grant_usable_for(approved)

    claimed = grant_claim(grant_id=grant.grant_id, actor=WORKER, job_reference="job-1")

    assert claimed.used_at is not None and claimed.used_by == "worker:train-worker"
    with pytest.raises(GrantNotClaimable) as second:
        grant_claim(grant_id=grant.grant_id, actor=WORKER, job_reference="job-2")
    assert second.value.code == "grant_used"
    release = selectors.release_get(pk=approved.pk)
    assert release.status == "consumed" and release.consumed_at is not None
    with pytest.raises(NoValidGrant, match="consumed"):
        selectors.grant_usable_for(release)
    assert AuditEntry.objects.filter(action="grant.claim").count() == 1
    assert Grant.objects.get().job_reference == "job-1"


def test_a_revoked_grant_cannot_be_claimed(approved: ReleaseRequest, approver: Any) -> None:
    grant = selectors.grant_usable_for(approved)
    signature = Signature.objects.get(signer=approver)
    client_for(approver).post(
        f"/api/v1/releases/{approved.pk}/signatures/{signature.pk}/revoke",
        {"reason": "changed my mind"},
        format="json",
    )

    with pytest.raises(GrantNotClaimable) as refused:
        grant_claim(grant_id=grant.grant_id, actor=WORKER)

    assert refused.value.code == "grant_revoked"
    # Its signature still verifies offline: revocation lives in the database, which is why workers claim.
    assert grants.grant_verify(grant.token, grant_public_keys())


def test_an_expired_grant_cannot_be_claimed_and_the_request_reads_expired(approved: ReleaseRequest) -> None:
    grant = selectors.grant_usable_for(approved)
    past = timezone.now() - timedelta(seconds=1)
    Grant.objects.update(expires_at=past)
    ReleaseRequest.objects.update(expires_at=past)

    with pytest.raises(GrantNotClaimable) as refused:
        grant_claim(grant_id=grant.grant_id, actor=WORKER)

    assert refused.value.code == "grant_expired"
    with pytest.raises(NoValidGrant, match="expired"):
        selectors.grant_usable_for(selectors.release_get(pk=approved.pk))


def test_an_unknown_grant_is_not_found() -> None:
    with pytest.raises(NotFound):
        grant_claim(grant_id="00000000-0000-4000-8000-000000000000", actor=WORKER)
    with pytest.raises(NotFound):
        grant_claim(grant_id="not-a-uuid", actor=WORKER)


def test_a_rejected_request_has_no_grant_that_can_run(requester: Any, approver: Any) -> None:
    make_policy("train-default")
    release = train_request(requester, dataset_version(requester))
    sign(client_for(approver), release.pk, meaning="rejected")

    with pytest.raises(NoValidGrant, match="rejected"):
        selectors.grant_usable_for(selectors.release_get(pk=release.pk))
    assert not Grant.objects.exists()


def test_a_request_rejected_by_its_checks_has_no_grant_either(requester: Any) -> None:
    make_policy("train-default")
    release = train_request(requester, dataset_version(requester), metric_thresholds={})

    with pytest.raises(NoValidGrant, match="automated checks failed"):
        selectors.grant_usable_for(release)


def test_the_grant_endpoint_shows_the_token_and_why_it_cannot_run(
    approved: ReleaseRequest, outsider: Any
) -> None:
    client = client_for(outsider)
    grant = selectors.grant_usable_for(approved)

    before = client.get(f"/api/v1/releases/{approved.pk}/grant").json()
    grant_claim(grant_id=grant.grant_id, actor=WORKER)
    after = client.get(f"/api/v1/releases/{approved.pk}/grant").json()

    assert before["token"] == grant.token and before["unusable_reason"] is None
    assert "a grant runs once" in after["unusable_reason"]


def test_a_deploy_grant_pins_the_model_artifact(requester: Any, approver: Any) -> None:
    make_policy("deploy-any", kind="deploy", checks=[])
    version = model_version(requester)
    response = client_for(requester).post(
        "/api/v1/releases",
        {"kind": "deploy", "model": "churn", "version": 1, "environment": "staging"},
        format="json",
    )
    release_id = response.json()["id"]
    sign(client_for(approver), release_id)

    claims = grants.grant_verify(
        selectors.grant_usable_for(selectors.release_get(pk=release_id)).token, grant_public_keys()
    )

    assert claims["kind"] == "deploy"
    assert claims["environment"] == "staging"
    assert claims["model"] == "churn" and claims["model_version"] == 1
    assert claims["pinned"] == [{"node_id": "model:churn#1", "sha256": version.artifact_sha256}]
    assert [entry["covers"] for entry in selectors.approvals_for_nodes(["model:churn#1"])] == [
        [version.artifact_sha256]
    ]
