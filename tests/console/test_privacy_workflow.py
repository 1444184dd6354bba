"""A privacy request as a page: its impact and clock, each step behind the password entered again (as a
signature), the services' audit entries, the response document, and the REST API's roles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit.actors import Actor
from audit.models import AuditEntry
from governance.approvals.models import SigningFailure
from governance.consent.models import ErasureExemption, PrivacyRequest, RowErasure
from governance.consent.selectors import erasure_block_reason
from governance.consent.services.requests import privacy_request_create
from governance.consent.subjects import subject_hash_of
from tests.consent.factories import raw_id
from tests.console.workflow_factories import PASSWORD, Erasure, erasure_story, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def officer(make_user: Any) -> Any:
    return make_user("olivia", "compliance_officer", password=PASSWORD, full_name="Olivia Officer")


@pytest.fixture
def story(make_user: Any, officer: Any) -> Erasure:
    return erasure_story(make_user("dana", "data_scientist"), officer)


def _page(client: Any, story: Erasure) -> str:
    response = client.get(f"/privacy/requests/{story.request.pk}/")
    assert response.status_code == 200
    return str(response.content.decode())


def _step(client: Any, story: Erasure, action: str, **fields: str) -> Any:
    return client.post(f"/privacy/requests/{story.request.pk}/{action}", {"password": PASSWORD, **fields})


def _status(story: Erasure) -> str:
    return str(PrivacyRequest.objects.get(pk=story.request.pk).status)


def test_the_page_shows_what_the_erasure_reaches_its_clock_and_the_next_steps(
    officer: Any, story: Erasure
) -> None:
    html = _page(signed_in(officer), story)

    assert story.version.node_id in html
    assert "model:churn#1" in html and "blocked" in html
    assert "deployment:production:churn" in html
    assert "day(s) left" in html and "GDPR Art. 12(3)" in html
    assert 'id="step-verify"' in html and 'id="step-deny"' in html
    assert 'id="step-complete"' not in html  # not before the identity is verified
    assert 'href="/models/churn/"' in html and 'href="/deployments/production/churn/"' in html


def test_an_officer_verifies_erases_and_completes_with_the_password_each_time(
    officer: Any, story: Erasure
) -> None:
    client = signed_in(officer)
    before = AuditEntry.objects.count()

    assert _step(client, story, "verify").status_code == 302
    assert _step(client, story, "erase").status_code == 302
    assert _step(client, story, "complete").status_code == 302

    assert _status(story) == "completed"
    assert RowErasure.objects.filter(request=story.request).count() == 1
    actions = list(AuditEntry.objects.filter(index__gte=before).values_list("action", flat=True))
    assert actions.count("privacy_request.status") == 2 and "privacy_request.erase_rows" in actions
    html = _page(client, story)
    assert "Request completed." in html and "answered in time" in html
    assert 'id="step-complete"' not in html and 'id="step-erase"' not in html
    assert 'id="step-exempt"' in html  # a completed erasure still binds: a version may be exempted


def test_a_wrong_password_changes_nothing_and_is_audited_like_a_failed_signature(
    officer: Any, story: Erasure
) -> None:
    client = signed_in(officer)

    response = client.post(f"/privacy/requests/{story.request.pk}/verify", {"password": "wrong"})

    assert response.status_code == 403
    assert "the password is not correct" in response.content.decode()
    assert _status(story) == "received"
    failed = AuditEntry.objects.get(action="release.sign_failed")
    assert (failed.target_type, failed.target_id) == ("privacy_request", str(story.request.pk))
    assert SigningFailure.objects.filter(user=officer).count() == 1


def test_repeated_wrong_passwords_lock_the_steps_as_they_lock_signing(
    officer: Any, story: Erasure, settings: Any
) -> None:
    settings.SIGNING_MAX_FAILURES = 2
    client = signed_in(officer)
    for _ in range(2):
        client.post(f"/privacy/requests/{story.request.pk}/verify", {"password": "wrong"})

    response = _step(client, story, "verify")  # the right password, too late

    assert response.status_code == 423
    assert "signing is locked" in response.content.decode()
    assert _status(story) == "received"
    assert AuditEntry.objects.filter(action="release.signing_locked").count() == 1


def test_a_denial_needs_a_reason_and_the_reason_reaches_the_answer(officer: Any, story: Erasure) -> None:
    client = signed_in(officer)

    refused = _step(client, story, "deny")
    denied = _step(client, story, "deny", reason="We could not verify who asked.")

    assert refused.status_code == 400 and "reason" in refused.content.decode()
    assert denied.status_code == 302 and _status(story) == "denied"
    answer = client.get(f"/privacy/requests/{story.request.pk}/response").content.decode()
    assert "Your request was denied: We could not verify who asked." in answer


def test_an_exemption_with_a_ground_and_reason_lets_the_version_be_deployed_again(
    officer: Any, story: Erasure
) -> None:
    client = signed_in(officer)
    assert erasure_block_reason(model_version=story.model_version) is not None
    no_ground = _step(
        client, story, "exempt", model_version="model:churn#1", reason="Kept under a court order."
    )
    assert no_ground.status_code == 400 and not ErasureExemption.objects.exists()

    response = _step(
        client,
        story,
        "exempt",
        model_version="model:churn#1",
        ground="legal_obligation",
        reason="Kept under a court order.",
    )

    assert response.status_code == 302
    assert ErasureExemption.objects.filter(request=story.request, model_version=story.model_version).exists()
    assert erasure_block_reason(model_version=story.model_version) is None
    assert AuditEntry.objects.filter(action="privacy_request.exemption").count() == 1


def test_the_response_document_is_readable_and_downloadable(officer: Any, story: Erasure) -> None:
    client = signed_in(officer)

    page = client.get(f"/privacy/requests/{story.request.pk}/response")
    as_json = client.get(f"/privacy/requests/{story.request.pk}/response?download=json")
    as_html = client.get(f"/privacy/requests/{story.request.pk}/response?download=html")

    assert page.status_code == 200 and "Answer to your erasure request" in page.content.decode()
    assert as_json["Content-Disposition"].startswith("attachment;")
    assert as_json.json()["request"] == story.request.pk and as_json.json()["law"].startswith("GDPR Art. 17")
    assert (
        as_html["Content-Disposition"]
        == f'attachment; filename="privacy-request-{story.request.pk}-answer.html"'
    )


def test_an_auditor_reads_the_request_but_takes_no_step(make_user: Any, story: Erasure) -> None:
    auditor = make_user("ada", "auditor", password=PASSWORD)
    client = signed_in(auditor)

    html = _page(client, story)
    response = _step(client, story, "verify")

    assert 'id="step-verify"' not in html
    assert response.status_code == 403 and _status(story) == "received"
    assert not AuditEntry.objects.filter(action="release.sign_failed").exists()


@pytest.mark.parametrize("role", ["data_scientist", "pipeline", "admin"])
def test_other_roles_may_not_open_the_request(role: str, make_user: Any, story: Erasure) -> None:
    client = signed_in(make_user("someone", role, password=PASSWORD))

    assert client.get(f"/privacy/requests/{story.request.pk}/").status_code == 403
    assert client.get(f"/privacy/requests/{story.request.pk}/response").status_code == 403
    assert _step(client, story, "verify").status_code == 403
    assert _status(story) == "received"


def test_an_unknown_request_or_step_is_not_found(officer: Any, story: Erasure) -> None:
    client = signed_in(officer)

    assert client.get("/privacy/requests/999999/").status_code == 404
    assert _step(client, story, "approve").status_code == 404
    assert client.get(f"/privacy/requests/{story.request.pk}/verify").status_code == 405
    assert _status(story) == "received"


def test_an_access_request_lists_what_holds_the_subject_and_offers_no_erasure(
    officer: Any, story: Erasure
) -> None:
    access = privacy_request_create(
        actor=Actor.for_user(officer),
        subject_hash=subject_hash_of(raw_id(5)),
        request_type="access",
        jurisdiction="california",
    )

    html = signed_in(officer).get(f"/privacy/requests/{access.pk}/").content.decode()

    assert "erases nothing" in html and story.version.node_id in html
    assert "confirm receipt" in html and "CCPA" in html
    assert 'id="step-verify"' in html and 'id="step-erase"' not in html and 'id="step-exempt"' not in html
