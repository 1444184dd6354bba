"""Job pages: a data scientist follows a job from the jobs list to the model version it registered and
the deployment it made; a refused job says why; every job names the release that authorised it and
carries its audit trail (linked to the audit log for those who may read it)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.actors import Actor
from governance.jobs.models import ReleaseJob
from governance.jobs.runner import run_release_job
from governance.jobs.services import job_refuse
from registry.models import ModelVersion
from tests.console.lists_factories import answers, page_client, page_clients
from tests.jobs import factories

pytestmark = pytest.mark.django_db
JOB_READERS = {"data_scientist", "compliance_officer", "auditor", "pipeline"}


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def _rows(page: str) -> list[str]:
    body = page.split('id="jobs"', 1)[1].split("</tbody>", 1)[0].split("<tbody>", 1)[1]
    return [row for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S) if 'class="empty"' not in row]


def _run(client: APIClient, release_id: int, sent: list[dict[str, Any]]) -> int:
    response = client.post(f"/api/v1/releases/{release_id}/run")
    assert response.status_code == 201, response.content
    job_id = int(response.json()["id"])
    assert run_release_job(job_id=job_id, grant=sent[-1]["grant"], worker="test") == "succeeded"
    return job_id


@pytest.fixture
def story(sent: list[dict[str, Any]]) -> dict[str, Any]:
    """Dana's training job (succeeded), her deploy job to staging (succeeded) and a refused training job."""
    people = factories.people()
    dataset = factories.customers_dataset(people.requester)
    client = APIClient()
    client.force_authenticate(people.requester)
    train = factories.train_request(people.requester, dataset)
    factories.sign(train, people.approver)
    trained = _run(client, train.pk, sent)
    version = ModelVersion.objects.get(model__name="churn")
    deploy = factories.deploy_request(people.requester, version.version, "staging")
    factories.sign(deploy, people.approver)
    deployed = _run(client, deploy.pk, sent)
    again = factories.train_request(people.requester, dataset)
    factories.sign(again, people.approver)
    response = client.post(f"/api/v1/releases/{again.pk}/run")
    refused = int(response.json()["id"])
    reason = "dataset crm:customers#1 no longer hashes to the pinned SHA-256"
    job_refuse(actor=Actor.worker("test"), reason=reason, job_id=refused)
    return {
        "people": people,
        "train": train,
        "trained": trained,
        "deployed": deployed,
        "refused": refused,
        "reason": reason,
        "version": version,
    }


def test_the_job_pages_admit_the_roles_of_the_jobs_api(story: dict[str, Any], make_user: Any) -> None:
    expected = {
        role: 200 if role in JOB_READERS else 403
        for role in ("data_scientist", "compliance_officer", "auditor", "pipeline", "admin")
    }
    clients = page_clients(make_user)
    assert answers(clients, "/jobs/") == {**expected, "anonymous": 302}
    assert answers(clients, f"/jobs/{story['trained']}/") == {**expected, "anonymous": 302}


def test_a_data_scientist_follows_her_job_to_the_model_version_it_registered(story: dict[str, Any]) -> None:
    client = page_client(lambda *a, **k: story["people"].requester, "data_scientist")
    listed = _rows(client.get("/jobs/?mine=1&kind=train&status=succeeded").content.decode())
    assert len(listed) == 1
    assert f'href="/jobs/{story["trained"]}/"' in listed[0]
    page = client.get(f"/jobs/{story['trained']}/").content.decode()
    assert 'id="job-status">succeeded<' in page
    assert f'href="/approvals/{story["train"].pk}/" id="job-release"' in page
    assert 'href="/models/churn/"' in page and story["version"].node_id in page
    assert "job.enqueue" in page and "job.start" in page and "job.complete" in page
    assert "/audit/" not in page.split('id="job-trail"', 1)[1]  # data scientists do not read the audit log


def test_a_deploy_job_links_to_the_deployment_it_made(story: dict[str, Any], make_user: Any) -> None:
    page = page_client(make_user, "auditor").get(f"/jobs/{story['deployed']}/").content.decode()
    assert 'href="/deployments/staging/churn/"' in page
    assert re.search(r'href="/audit/\d+/">#\d+</a>', page)  # an auditor's trail links to the entries


def test_a_refused_job_says_why_and_that_nothing_was_made(story: dict[str, Any], make_user: Any) -> None:
    client = page_client(make_user, "compliance_officer")
    listed = _rows(client.get("/jobs/?status=refused").content.decode())
    assert len(listed) == 1 and story["reason"] in listed[0]
    page = client.get(f"/jobs/{story['refused']}/").content.decode()
    assert 'id="job-refusal"' in page and story["reason"] in page
    assert "nothing was trained or moved" in page
    assert "job.refuse" in page


def test_a_missing_job_is_a_404(make_user: Any) -> None:
    assert page_client(make_user, "auditor").get("/jobs/424242/").status_code == 404


def test_the_jobs_list_pages_and_reads_each_page_in_a_fixed_number_of_queries(
    story: dict[str, Any], make_user: Any, django_assert_max_num_queries: Any
) -> None:
    requester = story["people"].requester
    now = timezone.now()
    for n in range(117):
        ReleaseJob.objects.create(
            release=story["train"],
            kind="train",
            grant_id=uuid.uuid4(),
            status="queued",
            requested_by=requester if n % 2 else story["people"].approver,
            queue="train",
            created_at=now,
        )
    client = page_client(make_user, "auditor")
    client.get("/jobs/")
    with django_assert_max_num_queries(10):
        first = client.get("/jobs/").content.decode()
    assert "120 found, page 1 of 3" in first and len(_rows(first)) == 50
    assert len(_rows(client.get("/jobs/?page=3").content.decode())) == 20
    assert len(_rows(client.get("/jobs/?status=active&per_page=100").content.decode())) == 100
    assert client.get("/jobs/?release=zero").status_code == 400
