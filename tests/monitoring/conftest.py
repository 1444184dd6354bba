"""A deployed, monitored model for monitoring tests: trained and deployed in-process, as in tests/jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from governance.jobs.models import JobStatus, ReleaseJob
from governance.jobs.runner import run_release_job
from registry.models import Deployment, ModelVersion
from tests.jobs import factories


@pytest.fixture(autouse=True)
def _own_media_root(tmp_path: Path, settings: Any) -> None:
    from governance.monitoring import capture

    settings.MEDIA_ROOT = tmp_path / "media"
    capture._profiles.clear()  # ids are reused between tests


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Monitoring task messages (webhooks, e-mails), captured instead of sent."""
    from governance.monitoring import tasks

    messages: list[tuple[str, dict[str, Any]]] = []
    for task in (tasks.webhook_deliver, tasks.alarm_email, tasks.drift_check):

        def capture(*, kwargs: dict[str, Any], _name: str = task.name, **options: Any) -> None:
            messages.append((_name, kwargs))

        monkeypatch.setattr(task, "apply_async", capture)
    return messages


def client_for(user: Any) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def run_job(message: dict[str, Any]) -> str:
    status = run_release_job(job_id=message["job_id"], grant=message["grant"], worker="test-worker")
    assert status == JobStatus.SUCCEEDED, ReleaseJob.objects.get(pk=message["job_id"]).error
    return status


def train_and_deploy(story: Any, sent: list[dict[str, Any]], environment: str = "staging") -> Deployment:
    release = factories.train_request(story.requester, story.extra["version"])
    factories.sign(release, story.approver)
    assert client_for(story.requester).post(f"/api/v1/releases/{release.pk}/run").status_code == 201
    run_job(sent[-1])
    version = ModelVersion.objects.order_by("-pk").first()
    assert version is not None
    deploy = factories.deploy_request(story.requester, version.version, environment)
    factories.sign(deploy, story.approver)
    assert client_for(story.requester).post(f"/api/v1/releases/{deploy.pk}/run").status_code == 201
    run_job(sent[-1])
    return Deployment.objects.get(until__isnull=True, environment=environment)


@pytest.fixture
def story(db: None) -> Any:
    people = factories.people()
    people.extra["version"] = factories.customers_dataset(people.requester)
    return people


@pytest.fixture
def deployed(story: Any, sent: list[dict[str, Any]]) -> Deployment:
    return train_and_deploy(story, sent)


def traffic(rows: int, *, seed: int, spend_shift: float = 0.0) -> list[dict[str, Any]]:
    """Rows drawn as ``factories.customers_csv`` draws the training data; ``spend_shift`` moves
    monthly_spend (standard deviation 12) by that much."""
    rng = np.random.default_rng(seed)
    return [
        {
            "tenure": int(rng.integers(1, 60)),
            "plan": ["basic", "plus", "pro"][int(rng.integers(0, 3))],
            "monthly_spend": round(float(rng.normal(40, 12)) + spend_shift, 2),
        }
        for _ in range(rows)
    ]


def predict(user: Any, rows: list[dict[str, Any]], environment: str = "staging") -> dict[str, Any]:
    response = client_for(user).post(
        f"/api/v1/deployments/{environment}/churn/predict", {"rows": rows}, format="json"
    )
    assert response.status_code == 200, response.json()
    body: dict[str, Any] = response.json()
    return body
