"""The release page reads as a person would write it: parameters and thresholds as lists, durations in
words, no signature meaning chosen in advance, a decided request's outcome instead of what is missing,
the consent the training applied, and what ran after approval (or why it was refused)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from governance.approvals.models import ReleaseRequest, Signature
from tests.approvals.factories import PASSWORD, client_for, dataset_version, make_policy, sign, train_request
from tests.console.workflow_factories import job_row, trained_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_and_throttles(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()  # signing is throttled per user id; ids repeat across tests


@pytest.fixture
def requester(make_user: Any) -> Any:
    return make_user("rita", "data_scientist", password=PASSWORD, full_name="Rita Requester")


@pytest.fixture
def approver(make_user: Any) -> Any:
    return make_user("olivia", "compliance_officer", password=PASSWORD, full_name="Olivia Officer")


@pytest.fixture
def release(requester: Any) -> ReleaseRequest:
    make_policy("train-default")
    return train_request(requester, dataset_version(requester, personal=True))


def _page(user: Any, release: ReleaseRequest) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(f"/approvals/{release.pk}/")
    assert response.status_code == 200
    return str(response.content.decode())


def test_parameters_thresholds_and_validity_read_as_words_not_python(
    release: ReleaseRequest, approver: Any
) -> None:
    html = _page(approver, release)

    assert "<dt>n_estimators</dt><dd>50</dd>" in html and "<dt>target</dt><dd>label</dd>" in html
    assert '<dt>accuracy</dt><dd><dl class="params"><dt>min</dt><dd>0.8</dd></dl></dd>' in html
    assert "approvals stay valid 1 day." in html
    assert "86400 s" not in html and "{&#x27;" not in html and "{'" not in html


def test_the_sign_form_chooses_no_meaning_for_the_signer(release: ReleaseRequest, approver: Any) -> None:
    client = Client()
    client.force_login(approver)

    html = client.get(f"/approvals/{release.pk}/").content.decode()
    unchosen = client.post(f"/approvals/{release.pk}/sign", {"comment": "ok", "password": PASSWORD})

    form = html[html.index('id="sign-form"') :]
    assert 'name="meaning"' in form and "checked" not in form[: form.index("</fieldset>")]
    assert unchosen.status_code == 400
    assert not Signature.objects.filter(release=release).exists()


def test_a_rejected_request_shows_its_outcome_not_what_is_missing(
    release: ReleaseRequest, approver: Any
) -> None:
    assert sign(client_for(approver), release.pk, "rejected", comment="not this data").status_code == 201

    html = _page(approver, release)

    assert "Still missing" not in html
    assert 'id="approvals-outcome"' in html and "Outcome: <strong>rejected</strong>" in html


def test_a_consumed_training_request_shows_the_consent_the_run_applied_and_what_ran(
    release: ReleaseRequest, approver: Any, requester: Any
) -> None:
    pin = release.datasets.get()
    manifest = {
        "dataset_version": pin.node_id,
        "as_of": "2026-11-30T08:15:00.000000Z",
        "rows_total": 10,
        "rows_included": 7,
        "rows_excluded_by_reason": {"withdrawn": 3},
    }
    run = trained_run(requester, [manifest])
    job = job_row(release, status="succeeded", result={"run": run.node_id, "model_version": "model:churn#1"})
    ReleaseRequest.objects.filter(pk=release.pk).update(status="consumed")

    html = _page(approver, release)

    assert "Rows the training run used" in html and "as of now" not in html
    assert "2026-11-30 08:15 UTC" in html
    assert "7 of 10 rows" in html and "3 withdrawn" in html
    assert "What ran" in html and f'href="/jobs/{job.pk}/"' in html and "succeeded" in html


def test_a_refused_run_says_why(release: ReleaseRequest, approver: Any) -> None:
    job_row(release, status="refused", error="the dataset's bytes changed since approval")
    ReleaseRequest.objects.filter(pk=release.pk).update(status="consumed")

    html = _page(approver, release)

    assert "was refused: the dataset&#x27;s bytes changed since approval" in html
