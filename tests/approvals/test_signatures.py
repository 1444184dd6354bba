"""E-signatures (21 CFR Part 11): who may sign, what a signature commits to, separation of duties,
quorum, rejection, expiry, revocation and the lock-out after repeated wrong passwords."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEntry
from governance.accounts.lockouts import user_unlock
from governance.approvals import hashing, selectors
from governance.approvals.errors import PasswordRefused
from governance.approvals.models import Grant, ReleaseRequest, Signature, SigningFailure
from governance.approvals.services.signatures import release_sign
from tests.approvals.factories import (
    PASSWORD,
    client_for,
    dataset_version,
    make_policy,
    sign,
    train_request,
    two_officer_policy,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(requester: Any) -> ReleaseRequest:
    make_policy("train-default")
    return train_request(requester, dataset_version(requester))


@pytest.fixture
def two_officer_release(requester: Any) -> ReleaseRequest:
    two_officer_policy()
    return train_request(requester, dataset_version(requester))


def test_the_approver_signs_and_the_signature_shows_name_time_and_meaning(
    release: ReleaseRequest, approver: Any
) -> None:
    response = sign(client_for(approver), release.pk, comment="metrics declared, data pinned")

    assert response.status_code == 201, response.json()
    signature = response.json()["signature"]
    assert signature["printed_name"] == "Olivia Officer"
    assert signature["meaning"] == "approved"
    assert signature["signed_at"].endswith("Z")
    assert signature["manifestation"].startswith("Olivia Officer · approved · ")
    assert signature["manifestation"].endswith(" UTC")
    assert signature["via"] == "token"
    assert signature["hash_valid"] is True
    assert "password" not in signature
    assert response.json()["release"]["status"] == "approved"
    row = Signature.objects.get()
    assert row.signed_hash == hashing.signature_hash(
        request_hash=release.request_hash,
        release_id=release.pk,
        signer_id=approver.pk,
        meaning="approved",
        signed_at=hashing.utc_text(row.signed_at),
    )
    entry = AuditEntry.objects.get(action="release.sign")
    assert entry.actor_id.startswith(f"{approver.pk}:")
    assert row.signed_hash in entry.entry


def test_the_requesters_own_signature_is_refused(make_user: Any) -> None:
    # The requester is also a compliance officer, so only separation of duties stops them.
    both = make_user("rhea", "data_scientist", "compliance_officer", password=PASSWORD, full_name="Rhea Both")
    make_policy("train-default")
    own = train_request(both, dataset_version(both))

    response = sign(client_for(both), own.pk)

    assert response.status_code == 403
    assert response.json()["error"] == "own_request"
    assert "separation of duties" in response.json()["detail"]
    assert not Signature.objects.exists()


def test_a_role_the_policy_does_not_name_cannot_sign(release: ReleaseRequest, make_user: Any) -> None:
    scientist = make_user("sam", "data_scientist", password=PASSWORD, full_name="Sam Scientist")

    response = sign(client_for(scientist), release.pk)

    assert response.status_code == 403
    assert response.json()["error"] == "not_a_signer_for_this_policy"


def test_the_outsider_and_the_pipeline_are_refused_at_the_door(
    release: ReleaseRequest, outsider: Any, pipeline: Any
) -> None:
    for person in (outsider, pipeline):
        assert sign(client_for(person), release.pk).status_code == 403
    assert not Signature.objects.exists()


def test_a_pipeline_account_never_signs_even_with_an_officer_role(
    release: ReleaseRequest, make_user: Any
) -> None:
    machine = make_user("bot", "pipeline", "compliance_officer", password=PASSWORD, full_name="Bot")

    response = sign(client_for(machine), release.pk)

    assert response.status_code == 403
    assert response.json()["error"] == "machine_cannot_sign"


def test_the_password_is_checked_again_even_for_a_token_caller(
    release: ReleaseRequest, approver: Any
) -> None:
    response = sign(client_for(approver), release.pk, password="not-my-password")

    assert response.status_code == 403
    assert response.json()["error"] == "password_incorrect"
    assert not Signature.objects.exists()
    assert SigningFailure.objects.filter(user=approver).count() == 1
    assert AuditEntry.objects.filter(action="release.sign_failed").count() == 1
    missing = client_for(approver).post(f"/api/v1/releases/{release.pk}/signatures", {"meaning": "approved"})
    assert missing.status_code == 400


def test_one_person_counts_once(two_officer_release: ReleaseRequest, approver: Any) -> None:
    client = client_for(approver)
    assert sign(client, two_officer_release.pk).status_code == 201

    again = sign(client, two_officer_release.pk)
    reviewed = sign(client, two_officer_release.pk, meaning="reviewed")

    assert again.status_code == 409 and again.json()["error"] == "already_signed"
    assert reviewed.status_code == 409
    two_officer_release.refresh_from_db()
    assert two_officer_release.status == "pending"


def test_under_a_two_approver_policy_one_approval_does_not_suffice(
    two_officer_release: ReleaseRequest, approver: Any, second_approver: Any
) -> None:
    first = sign(client_for(approver), two_officer_release.pk)

    assert first.json()["release"]["status"] == "pending"
    assert first.json()["release"]["approvals"]["missing"] == [{"role": "compliance_officer", "count": 1}]
    assert first.json()["release"]["grant"] is None
    with pytest.raises(Exception, match="pending"):
        selectors.grant_usable_for(two_officer_release)

    second = sign(client_for(second_approver), two_officer_release.pk)

    assert second.json()["release"]["status"] == "approved"
    grant = selectors.grant_usable_for(selectors.release_get(pk=two_officer_release.pk))
    assert grant.release_id == two_officer_release.pk
    assert AuditEntry.objects.filter(action="grant.issue").count() == 1


def test_a_review_is_recorded_but_approves_nothing(release: ReleaseRequest, approver: Any) -> None:
    response = sign(client_for(approver), release.pk, meaning="reviewed")

    assert response.status_code == 201
    assert response.json()["release"]["status"] == "pending"
    assert not Grant.objects.exists()


def test_a_rejection_ends_the_request(
    two_officer_release: ReleaseRequest, approver: Any, second_approver: Any
) -> None:
    sign(client_for(approver), two_officer_release.pk)

    rejected = sign(
        client_for(second_approver), two_officer_release.pk, meaning="rejected", comment="no DPIA"
    )

    assert rejected.json()["release"]["status"] == "rejected"
    assert rejected.json()["release"]["decision_reason"] == "rejected by Oscar Officer"
    late = sign(client_for(approver), two_officer_release.pk, meaning="reviewed")
    assert late.status_code == 409
    assert not Grant.objects.exists()


def test_expired_approvals_no_longer_count(
    two_officer_release: ReleaseRequest, approver: Any, second_approver: Any
) -> None:
    sign(client_for(approver), two_officer_release.pk)
    Signature.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = sign(client_for(second_approver), two_officer_release.pk)

    assert response.json()["release"]["status"] == "pending"
    assert response.json()["release"]["approvals"]["counted"] == 1
    assert not Grant.objects.exists()


def test_the_signer_revokes_an_approval_and_the_request_and_grant_fall_back(
    release: ReleaseRequest, approver: Any
) -> None:
    client = client_for(approver)
    signature_id = sign(client, release.pk).json()["signature"]["id"]

    response = client.post(
        f"/api/v1/releases/{release.pk}/signatures/{signature_id}/revoke",
        {"reason": "wrong version"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["revoked_at"] is not None
    assert response.json()["counts"] is False
    release = selectors.release_get(pk=release.pk)
    assert release.status == "pending"
    grant = Grant.objects.get()
    assert grant.revoked_at is not None
    with pytest.raises(Exception, match="pending"):
        selectors.grant_usable_for(release)
    entry = AuditEntry.objects.get(action="release.approval_revoke")
    assert str(grant.grant_id) in entry.entry


def test_another_officer_may_revoke_an_approval_but_a_scientist_may_not(
    two_officer_release: ReleaseRequest, approver: Any, second_approver: Any, make_user: Any
) -> None:
    signature_id = sign(client_for(approver), two_officer_release.pk).json()["signature"]["id"]
    path = f"/api/v1/releases/{two_officer_release.pk}/signatures/{signature_id}/revoke"
    scientist = make_user("sam", "data_scientist", full_name="Sam Scientist")

    refused = client_for(scientist).post(path, {"reason": "mine now"}, format="json")
    revoked = client_for(second_approver).post(path, {"reason": "signed the wrong one"}, format="json")
    again = client_for(second_approver).post(path, {"reason": "twice"}, format="json")
    no_reason = client_for(approver).post(path, {"reason": ""}, format="json")

    assert refused.status_code == 403
    assert revoked.status_code == 200
    assert again.status_code == 409
    assert no_reason.status_code == 400


def test_a_signature_cannot_be_moved_to_another_record(requester: Any, approver: Any) -> None:
    make_policy("train-default")
    version = dataset_version(requester)
    # Two requests with identical content have the same request hash, but not the same signatures.
    first, twin = train_request(requester, version), train_request(requester, version)
    assert first.request_hash == twin.request_hash
    sign(client_for(approver), first.pk)
    Signature.objects.update(release=twin)

    moved = Signature.objects.get()
    assert not selectors.signature_hash_valid(moved, selectors.release_get(pk=twin.pk))


def test_an_edited_request_no_longer_matches_its_hash(release: ReleaseRequest, approver: Any) -> None:
    ReleaseRequest.objects.filter(pk=release.pk).update(parameters={"n_estimators": 5000})

    body = client_for(approver).get(f"/api/v1/releases/{release.pk}").json()

    assert body["request_hash_valid"] is False


def test_repeated_wrong_passwords_lock_signing_and_raise_an_alert(
    release: ReleaseRequest, approver: Any, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.SIGNING_MAX_FAILURES = 3
    client = client_for(approver)
    caplog.set_level(logging.WARNING)

    statuses = [sign(client, release.pk, password=f"wrong-{n}").status_code for n in range(3)]
    locked = sign(client, release.pk)  # the right password, but too late

    assert statuses == [403, 403, 403]
    assert locked.status_code == 423
    assert locked.json()["error"] == "signing_locked"
    assert "repeated wrong passwords" in locked.json()["detail"]
    assert AuditEntry.objects.filter(action="release.signing_locked", target_id=str(approver.pk)).count() == 1
    assert AuditEntry.objects.filter(action="release.sign_failed").count() == 3
    assert any(
        record.levelno == logging.WARNING and "Signing locked" in record.getMessage()
        for record in caplog.records
    )
    assert not Signature.objects.exists()


def test_an_administrator_lifts_a_signing_lock_and_the_right_password_signs_again(
    release: ReleaseRequest, approver: Any, admin_user: Any, settings: Any
) -> None:
    settings.SIGNING_MAX_FAILURES = 2
    client = client_for(approver)
    for n in range(2):
        sign(client, release.pk, password=f"wrong-{n}")
    assert sign(client, release.pk).status_code == 423

    user_unlock(actor=Actor.for_user(admin_user), user=approver, by=admin_user)

    assert sign(client, release.pk).status_code == 201
    assert AuditEntry.objects.filter(action="user.unlock", target_id=str(approver.pk)).count() == 1


def test_a_good_signature_resets_the_count_of_wrong_passwords(
    requester: Any, approver: Any, settings: Any
) -> None:
    settings.SIGNING_MAX_FAILURES = 2
    make_policy("train-default")
    first = train_request(requester, dataset_version(requester))
    second = train_request(requester, dataset_version(requester, version="v2"))
    client = client_for(approver)

    sign(client, first.pk, password="wrong")
    assert sign(client, first.pk).status_code == 201
    sign(client, second.pk, password="wrong")

    assert sign(client, second.pk).status_code == 201


def test_the_service_refuses_a_wrong_password_from_a_session_caller_too(
    release: ReleaseRequest, approver: Any
) -> None:
    with pytest.raises(PasswordRefused):
        release_sign(
            actor=Actor.for_user(approver), release=release, signer=approver, meaning="approved", password="x"
        )


def test_signatures_are_found_by_the_dataset_or_model_versions_they_cover(
    release: ReleaseRequest, requester: Any, approver: Any
) -> None:
    sign(client_for(approver), release.pk, comment="fine")
    pin = release.datasets.get()

    entries = selectors.approvals_for_nodes([pin.node_id, "model:nothing#1"])

    assert entries == [
        {
            "request": f"release:{release.pk}",
            "signer_name": "Olivia Officer",
            "signed_at": Signature.objects.get().signed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "meaning": "approved",
            "comment": "fine",
            "covers": [pin.sha256],
        }
    ]
    assert selectors.approvals_for_nodes(["dataset:warehouse:other#v9"]) == []


def test_an_officer_whose_approval_expired_revokes_it_and_signs_again(
    two_officer_release: ReleaseRequest, approver: Any, second_approver: Any
) -> None:
    client = client_for(approver)
    stale = sign(client, two_officer_release.pk).json()["signature"]["id"]
    Signature.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    refused = sign(client, two_officer_release.pk)
    client.post(
        f"/api/v1/releases/{two_officer_release.pk}/signatures/{stale}/revoke",
        {"reason": "expired"},
        format="json",
    )
    fresh = sign(client, two_officer_release.pk)
    last = sign(client_for(second_approver), two_officer_release.pk)

    assert refused.status_code == 409 and "expired" in refused.json()["detail"]
    assert fresh.status_code == 201
    assert last.json()["release"]["status"] == "approved"


def test_passwords_typed_at_signing_are_neither_stored_nor_logged(
    release: ReleaseRequest, approver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.governance.test_secrets_stay_secret import _every_value_in_the_database

    caplog.set_level(logging.DEBUG)
    mistyped = "Correct-Horse-Battery-24-typo"
    client = client_for(approver)

    sign(client, release.pk, password=mistyped)
    sign(client, release.pk)

    stored = _every_value_in_the_database()
    for secret in (mistyped, PASSWORD):
        assert secret not in stored
        assert secret not in caplog.text
