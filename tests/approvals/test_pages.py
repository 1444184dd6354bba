"""The compliance officer's pages: the queue, a request with everything needed to judge it, signing
with the password again, and the signature history for auditors."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from governance.approvals.models import Grant, ReleaseRequest, Signature
from tests.approvals.factories import PASSWORD, client_for, dataset_version, make_policy, sign, train_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def release(requester: Any) -> ReleaseRequest:
    make_policy("train-default")
    return train_request(requester, dataset_version(requester))


def _browser(user: Any, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_the_queue_lists_pending_requests_with_their_approvals(
    release: ReleaseRequest, approver: Any
) -> None:
    page = _browser(approver).get("/approvals/")

    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="/approvals/{release.pk}/"' in html
    assert "0 of 1 compliance_officer" in html


def test_the_request_page_shows_pins_checks_lineage_and_consent(
    release: ReleaseRequest, approver: Any
) -> None:
    html = _browser(approver).get(f"/approvals/{release.pk}/").content.decode()

    pin = release.datasets.get()
    assert pin.sha256 in html
    assert "/lineage/?nodeId=dataset:warehouse:customers%23v1" in html
    assert "metric_thresholds" in html and "thresholds declared before evaluation" in html
    assert "Consent" in html
    assert release.request_hash in html or release.request_hash[:14] in html
    assert 'id="sign-form"' in html


def test_signing_on_the_page_asks_for_the_password_again(release: ReleaseRequest, approver: Any) -> None:
    client = _browser(approver)

    wrong = client.post(f"/approvals/{release.pk}/sign", {"meaning": "approved", "password": "nope"})
    right = client.post(
        f"/approvals/{release.pk}/sign", {"meaning": "approved", "comment": "ok", "password": PASSWORD}
    )

    assert wrong.status_code == 403
    assert "the password is not correct" in wrong.content.decode()
    assert right.status_code == 302
    page = client.get(right["Location"]).content.decode()
    assert "Olivia Officer" in page and "approved" in page and " UTC" in page
    signature = Signature.objects.get()
    assert signature.via == "session"
    assert Grant.objects.filter(release=release).exists()


def test_the_sign_form_is_csrf_protected(release: ReleaseRequest, approver: Any) -> None:
    response = _browser(approver, csrf=True).post(
        f"/approvals/{release.pk}/sign", {"meaning": "approved", "password": PASSWORD}
    )

    assert response.status_code == 403
    assert not Signature.objects.exists()


def test_the_requester_sees_no_sign_form_and_a_forced_post_is_refused(
    release: ReleaseRequest, requester: Any
) -> None:
    client = _browser(requester)

    html = client.get(f"/approvals/{release.pk}/").content.decode()
    forced = client.post(f"/approvals/{release.pk}/sign", {"meaning": "approved", "password": PASSWORD})

    assert 'id="sign-form"' not in html
    assert forced.status_code == 403
    assert "you hold none of these roles" in forced.content.decode()


def test_the_signer_revokes_an_approval_on_the_page(release: ReleaseRequest, approver: Any) -> None:
    sign(client_for(approver), release.pk)
    signature = Signature.objects.get()
    client = _browser(approver)

    response = client.post(
        f"/approvals/{release.pk}/signatures/{signature.pk}/revoke", {"reason": "wrong data"}
    )

    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.revoked_at is not None
    assert "revoked" in client.get(f"/approvals/{release.pk}/").content.decode()


def test_the_history_shows_every_signature_with_name_time_and_meaning(
    release: ReleaseRequest, approver: Any, outsider: Any
) -> None:
    sign(client_for(approver), release.pk, comment="fine")
    signature = Signature.objects.get()

    html = _browser(outsider).get("/approvals/signatures/").content.decode()

    assert "Olivia Officer" in html
    assert f"{signature.signed_at:%Y-%m-%d %H:%M:%S} UTC" in html
    assert '<span class="meaning">approved</span>' in html
    assert "verified" in html


def test_people_without_a_reading_role_are_refused_and_strangers_sent_to_sign_in(
    release: ReleaseRequest, admin_user: Any
) -> None:
    assert _browser(admin_user).get("/approvals/").status_code == 403
    anonymous = Client().get("/approvals/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_the_consent_summary_says_why_it_is_not_available_for_unstored_data(
    requester: Any, approver: Any
) -> None:
    make_policy("train-default")
    release = train_request(requester, dataset_version(requester, personal=True))

    page = _browser(approver).get(f"/approvals/{release.pk}/")

    assert page.status_code == 200
    assert "not available: dataset:warehouse:customers#v1 is not stored here" in page.content.decode()
