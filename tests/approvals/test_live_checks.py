"""Checks are live (issue 14, "stale evidence at signing"): a request filed before an erasure is judged
on today's answers when its page is shown and when someone signs, not on those of the day it was filed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.actors import Actor
from audit.models import AuditEntry
from governance.approvals.hashing import parse_utc_text
from governance.approvals.models import Grant, ReleaseRequest, Signature
from governance.approvals.services.checks import release_checks_rerun
from registry.models import DatasetVersion
from registry.services.datasets import dataset_create, dataset_version_upload
from tests.approvals.factories import PASSWORD, client_for, sign, train_request, two_officer_policy

pytestmark = pytest.mark.django_db

CSV = b"customer_id,tenure,label\n" + b"".join(f"c{n},{n},{n % 2}\n".encode() for n in range(10))


def _customers(owner: Any) -> DatasetVersion:
    actor = Actor.for_user(owner)
    dataset = dataset_create(
        actor=actor,
        name="customers",
        namespace="warehouse",
        holds_personal_data=True,
        subject_id_column="customer_id",
        jurisdictions=["eu_eea"],
    )
    return dataset_version_upload(
        actor=actor, dataset=dataset, upload=SimpleUploadedFile("customers.csv", CSV), version="v1"
    )


@pytest.fixture
def filed(requester: Any) -> ReleaseRequest:
    """A training request on personal data, filed (and its checks passed) before any erasure."""
    two_officer_policy("train-default", checks=["no_erasure_impact"])
    release = train_request(requester, _customers(requester))
    assert release.status == "pending" and release.checks[0]["status"] == "passed", release.checks
    return release


def _erase(officer: Any, subject: str = "c3") -> int:
    body = {"subject_id": subject, "type": "erasure", "jurisdiction": "eu_eea"}
    response = client_for(officer).post("/api/v1/privacy-requests", body, format="json")
    assert response.status_code == 201, response.json()
    return int(response.json()["request"]["id"])


def _browser(user: Any) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _changes(release: ReleaseRequest) -> list[dict[str, Any]]:
    entries = AuditEntry.objects.filter(
        action="release.checks_change", target_type="release", target_id=str(release.pk)
    ).order_by("index")
    return [json.loads(entry.entry)["data"] for entry in entries]


def _erasure_check(release: ReleaseRequest) -> dict[str, Any]:
    release.refresh_from_db()
    return next(check for check in release.checks if check["name"] == "no_erasure_impact")


def test_the_page_shows_the_check_an_erasure_now_fails_with_its_evaluation_time_and_signing_is_refused(
    filed: ReleaseRequest, approver: Any, second_approver: Any
) -> None:
    _erase(approver)

    page = _browser(approver).get(f"/approvals/{filed.pk}/")

    assert page.status_code == 200
    html = page.content.decode()
    check = _erasure_check(filed)
    assert check["status"] == "failed" and "dataset:warehouse:customers#v1" in check["detail"]
    evaluated = parse_utc_text(check["evaluated_at"])
    assert '<td class="check-failed">failed</td>' in html
    assert f">{evaluated:%Y-%m-%d %H:%M} UTC</time>" in html  # the console's one format, full value on hover
    assert 'id="checks-failing"' in html and "no_erasure_impact fails now" in html
    changes = _changes(filed)
    assert len(changes) == 1
    assert changes[0]["before"] == {"no_erasure_impact": "passed"}
    assert changes[0]["checks"] == {"no_erasure_impact": "failed"}
    assert changes[0]["occasion"] == "page" and changes[0]["evaluated_at"] == check["evaluated_at"]

    api = sign(client_for(approver), filed.pk)
    on_the_page = _browser(second_approver).post(
        f"/approvals/{filed.pk}/sign", {"meaning": "approved", "password": PASSWORD}
    )

    assert api.status_code == 409
    assert api.json()["error"] == "check_failed"
    assert "no_erasure_impact" in api.json()["detail"] and api.json()["checks"] == ["no_erasure_impact"]
    assert on_the_page.status_code == 409 and "no_erasure_impact now fails" in on_the_page.content.decode()
    assert not Signature.objects.exists() and not Grant.objects.exists()
    filed.refresh_from_db()
    assert (filed.status, filed.checks_passed) == ("pending", False)
    assert len(_changes(filed)) == 1  # the same answer again is not a new entry


def test_showing_the_page_again_records_the_new_time_but_adds_nothing_to_the_audit_log(
    filed: ReleaseRequest, approver: Any
) -> None:
    browser = _browser(approver)
    browser.get(f"/approvals/{filed.pk}/")
    first = _erasure_check(filed)["evaluated_at"]
    before = AuditEntry.objects.count()

    for _ in range(3):
        assert browser.get(f"/approvals/{filed.pk}/").status_code == 200

    assert _erasure_check(filed)["evaluated_at"] > first
    assert AuditEntry.objects.count() == before


def test_signing_without_looking_at_the_page_still_runs_the_checks_and_audits_the_change(
    filed: ReleaseRequest, approver: Any
) -> None:
    _erase(approver)

    response = sign(client_for(approver), filed.pk)

    assert response.status_code == 409 and response.json()["error"] == "check_failed"
    assert not Signature.objects.exists()
    changes = _changes(filed)
    assert [change["occasion"] for change in changes] == ["signature"]
    assert changes[0]["failed"]["no_erasure_impact"].startswith("an erasure request affects")


def test_a_request_whose_checks_fail_may_still_be_rejected(filed: ReleaseRequest, approver: Any) -> None:
    _erase(approver)

    response = sign(client_for(approver), filed.pk, meaning="rejected", comment="erased subject in data")

    assert response.status_code == 201, response.json()
    filed.refresh_from_db()
    assert filed.status == "rejected"


def test_an_erasure_denied_later_lets_the_check_pass_again_and_the_approval_through(
    filed: ReleaseRequest, approver: Any, second_approver: Any
) -> None:
    request_id = _erase(approver)
    assert sign(client_for(approver), filed.pk).status_code == 409
    denied = client_for(approver).post(
        f"/api/v1/privacy-requests/{request_id}/status",
        {"status": "denied", "reason": "identity could not be verified"},
        format="json",
    )
    assert denied.status_code == 200, denied.json()

    assert sign(client_for(approver), filed.pk).status_code == 201
    assert sign(client_for(second_approver), filed.pk).status_code == 201

    filed.refresh_from_db()
    assert filed.status == "approved" and filed.checks_passed
    assert [change["checks"]["no_erasure_impact"] for change in _changes(filed)] == ["failed", "passed"]


def test_a_decided_request_keeps_the_answers_it_was_decided_on(
    filed: ReleaseRequest, approver: Any, requester: Any
) -> None:
    assert (
        client_for(requester).post(f"/api/v1/releases/{filed.pk}/withdraw", {}, format="json").status_code
        == 200
    )
    _erase(approver)

    html = _browser(approver).get(f"/approvals/{filed.pk}/").content.decode()

    assert _erasure_check(filed)["status"] == "passed"
    assert "no longer run again here" in html and not _changes(filed)


def test_the_service_rerun_answers_with_the_failed_checks(filed: ReleaseRequest, approver: Any) -> None:
    _erase(approver)

    outcome = release_checks_rerun(actor=Actor.system("tests"), release=filed, occasion="tests")

    assert outcome.changed and [check["name"] for check in outcome.failed] == ["no_erasure_impact"]
    assert filed.checks_passed is False and filed.checks[0]["status"] == "failed"


def test_an_approval_is_refused_when_a_check_failed_between_its_re_run_and_the_signature(
    filed: ReleaseRequest, approver: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: the signer's re-run passes, then a page view or the worker fails the check (an erasure
    arrived) before the signature takes the request's lock. The decision under the lock sees it."""
    from governance.approvals.services import signatures

    def rerun_then_a_concurrent_failure(**kwargs: Any) -> None:
        ReleaseRequest.objects.filter(pk=filed.pk).update(checks_passed=False)

    monkeypatch.setattr(signatures, "release_checks_before_signing", rerun_then_a_concurrent_failure)

    response = sign(client_for(approver), filed.pk)

    assert response.status_code == 409, response.json()
    assert response.json()["error"] == "check_failed"
    assert not Signature.objects.filter(release=filed).exists()
    assert not Grant.objects.exists()
