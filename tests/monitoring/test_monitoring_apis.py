"""The monitoring API and page: roles, bad input, latest results, the SVG chart."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.jobs import factories
from tests.monitoring.conftest import client_for, predict, traffic

pytestmark = pytest.mark.django_db


def test_labels_for_unknown_or_malformed_prediction_ids_are_refused_with_the_reason(
    story: Any, deployed: Any
) -> None:
    client = client_for(story.requester)
    url = "/api/v1/deployments/staging/churn/labels"
    unknown = client.post(url, {"labels": [{"prediction_id": str(uuid.uuid4()), "label": 1}]}, format="json")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    malformed = client.post(url, {"labels": [{"prediction_id": "nope", "label": 1}]}, format="json")
    assert malformed.status_code == 400 and "error" in malformed.json()
    ids = predict(story.requester, traffic(2, seed=1))["prediction_ids"]
    assert (
        client.post(url, {"labels": [{"prediction_id": ids[0], "label": 1}]}, format="json").status_code
        == 201
    )
    again = client.post(url, {"labels": [{"prediction_id": ids[0], "label": 0}]}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "conflict"


def test_officers_may_label_nothing_but_may_check_and_read(story: Any, deployed: Any, queued: list) -> None:
    officer = client_for(story.approver)
    assert (
        officer.post("/api/v1/deployments/staging/churn/labels", {"labels": []}, format="json").status_code
        == 403
    )
    predict(story.requester, traffic(150, seed=2))
    created = officer.post("/api/v1/deployments/staging/churn/monitoring/check")
    assert created.status_code == 201 and created.json()["samples"] == 150
    shown = officer.get("/api/v1/deployments/staging/churn/monitoring").json()
    assert shown["deployment"] == "deployment:staging:churn" and shown["serving"]
    assert shown["thresholds"]["psi"] == 0.2 and shown["checks"][0]["id"] == created.json()["id"]
    assert {f["name"] for f in shown["checks"][0]["result"]["features"]} == {
        "tenure",
        "plan",
        "monthly_spend",
    }


def test_a_model_never_deployed_there_is_not_found(story: Any, deployed: Any) -> None:
    response = client_for(story.approver).get("/api/v1/deployments/production/churn/monitoring")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_the_deployment_page_draws_drift_over_time_with_the_threshold(
    story: Any, deployed: Any, queued: list, client: Any
) -> None:
    for seed in (1, 2):
        predict(story.requester, traffic(150, seed=seed))
        client_for(story.approver).post("/api/v1/deployments/staging/churn/monitoring/check")
    auditor = factories.people_extra_auditor()
    client.force_login(auditor)
    page = client.get("/deployments/staging/churn/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'class="threshold"' in html and html.count("<polyline") == 3
    client.force_login(story.outsider)  # an administrator
    assert client.get("/deployments/staging/churn/").status_code == 403
