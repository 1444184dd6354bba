"""The worker runs the policy's checks again before it trains or deploys, and the request's page tells
what became of the run: its state, why it was refused, and what it produced (issue 14)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEntry
from governance.approvals.models import ReleaseRequest
from governance.jobs.models import JobStatus, ReleaseJob
from governance.jobs.runner import run_release_job
from registry.models import Deployment, ModelVersion
from tests.jobs import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(db: None) -> Any:
    people = factories.people()
    people.extra["version"] = factories.customers_dataset(people.requester)
    return people


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _page(user: Any, release: ReleaseRequest) -> str:
    browser = Client()
    assert browser.login(username=user.username, password=factories.PASSWORD)
    response = browser.get(f"/approvals/{release.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def _approved_and_queued(story: Any, release: ReleaseRequest, sent: list[dict[str, Any]]) -> dict[str, Any]:
    factories.sign(release, story.approver)
    response = _client(story.requester).post(f"/api/v1/releases/{release.pk}/run")
    assert response.status_code == 201, response.json()
    return sent[-1]


def _run(message: dict[str, Any]) -> str:
    return run_release_job(job_id=message["job_id"], grant=message["grant"], worker="test-worker")


def _entries(action: str) -> list[dict[str, Any]]:
    rows = AuditEntry.objects.filter(action=action).order_by("index").values_list("entry", flat=True)
    return [json.loads(row)["data"] for row in rows]


def test_the_worker_refuses_a_run_whose_check_fails_now_and_the_page_says_why(story: Any, sent: list) -> None:
    release = factories.train_request(story.requester, story.extra["version"])
    message = _approved_and_queued(story, release, sent)
    erasure = _client(story.approver).post(
        "/api/v1/privacy-requests",
        {"subject_id": "c-0001", "type": "erasure", "jurisdiction": "eu_eea"},
        format="json",
    )
    assert erasure.status_code == 201, erasure.json()

    assert _run(message) == JobStatus.REFUSED

    job = ReleaseJob.objects.get()
    assert job.status == "refused" and "automated check no_erasure_impact now fails" in job.error
    assert not ModelVersion.objects.exists()
    refusal = _entries("job.refuse")[-1]
    assert refusal["check"] == "no_erasure_impact"
    assert [change["occasion"] for change in _entries("release.checks_change")] == ["worker"]
    release.refresh_from_db()
    assert release.status == "consumed" and not release.checks_passed
    html = _page(story.approver, release)
    assert f"the run (job {job.pk}) was refused: automated check no_erasure_impact now fails" in html
    assert '<td class="job-refused">refused</td>' in html
    assert "was used at" in html  # the grant line, now with the refusal after it


def test_after_training_and_deploying_the_pages_show_the_jobs_and_link_what_they_made(
    story: Any, sent: list
) -> None:
    training = factories.train_request(story.requester, story.extra["version"])
    assert _run(_approved_and_queued(story, training, sent)) == JobStatus.SUCCEEDED
    version = ModelVersion.objects.get()
    deploy = factories.deploy_request(story.requester, version.version, "staging")
    assert _run(_approved_and_queued(story, deploy, sent)) == JobStatus.SUCCEEDED
    deployment = Deployment.objects.get()

    trained_page = _page(story.approver, training)
    deploy_page = _page(story.approver, deploy)

    assert '<td class="job-succeeded">succeeded</td>' in trained_page
    assert "succeeded; it registered model:churn#1" in trained_page
    assert 'href="/lineage/?nodeId=model:churn%231"' in trained_page
    assert 'href="/models/churn/"' in trained_page
    assert '<td class="job-succeeded">succeeded</td>' in deploy_page
    assert "it deployed model:churn#1 to staging" in deploy_page
    assert f'href="/api/v1/deployments/{deployment.pk}"' in deploy_page
    assert 'href="/deployments/staging/churn/"' in deploy_page
