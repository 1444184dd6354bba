"""The predict request: what it costs in statements, how it refuses bad rows, and its rate limit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.actors import Actor
from governance.accounts.services import token_issue
from governance.jobs.throttling import PredictRateThrottle
from governance.monitoring.models import PredictionLog
from registry.models import Deployment
from tests.jobs import factories
from tests.monitoring.conftest import train_and_deploy

URL = "/api/v1/deployments/staging/churn/predict"
ROW = {"tenure": 3, "plan": "basic", "monthly_spend": 30.0}


@pytest.fixture
def story(db: None) -> Any:
    people = factories.people()
    people.extra["version"] = factories.customers_dataset(people.requester)
    return people


@pytest.fixture
def deployed(story: Any, sent: list[dict[str, Any]]) -> Deployment:
    from governance.monitoring import capture

    capture._profiles.clear()  # ids are reused between tests
    return train_and_deploy(story, sent)


def _token_client(user: Any) -> APIClient:
    _, key = token_issue(actor=Actor.system("test"), user=user, name="predict")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_a_predict_request_costs_two_statements_deployment_and_capture(
    story: Any, deployed: Deployment, django_assert_num_queries: Any
) -> None:
    client = _token_client(story.requester)
    assert client.post(URL, {"rows": [ROW]}, format="json").status_code == 200  # the model loads once
    # 1. which deployment serves, 2. the monitoring INSERT; the token, verified by the call before, is
    # remembered for API_TOKEN_CACHE_MILLISECONDS.
    with django_assert_num_queries(2):
        response = client.post(URL, {"rows": [ROW, {**ROW, "tenure": 40}]}, format="json")
    assert response.status_code == 200, response.json()
    ids = response.json()["prediction_ids"]
    assert PredictionLog.objects.filter(pk__in=ids, deployment=deployed).count() == 2
    with django_assert_num_queries(2):
        assert client.post(URL, {"rows": [ROW] * 1000}, format="json").status_code == 200


def test_a_stopped_deployment_stops_serving_on_the_next_request_though_it_was_cached(
    story: Any, deployed: Deployment
) -> None:
    client = _token_client(story.requester)
    assert client.post(URL, {"rows": [ROW]}, format="json").status_code == 200
    stop = _token_client(story.approver).post(
        "/api/v1/deployments/staging/churn/stop", {"reason": "bias found in review"}, format="json"
    )
    assert stop.status_code == 200, stop.json()
    after = client.post(URL, {"rows": [ROW]}, format="json")
    assert after.status_code == 404 and after.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "rows: send a non-empty list"),
        ({"rows": []}, "rows: send a non-empty list"),
        ({"rows": {"tenure": 3}}, "rows: send a non-empty list"),
        ({"rows": [ROW] * 1001}, "at most 1000"),
        ({"rows": [ROW, "tenure=3"]}, "rows[1]: must be an object"),
        ({"rows": [ROW, {"tenure": 3, "plan": "pro"}]}, "rows[1]: missing feature(s) monthly_spend"),
        ({"rows": [ROW, {**ROW, "tenure": True}]}, "rows[1].tenure: must be a number"),
        ({"rows": [{**ROW, "monthly_spend": "30"}]}, "rows[0].monthly_spend: must be a number"),
    ],
)
def test_it_refuses_malformed_rows_naming_the_row_and_logs_nothing(
    story: Any, deployed: Deployment, body: dict[str, Any], detail: str
) -> None:
    response = _token_client(story.requester).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error" and detail in response.json()["detail"]
    assert not PredictionLog.objects.exists()


def test_nulls_are_served_as_missing_values(story: Any, deployed: Deployment) -> None:
    response = _token_client(story.requester).post(
        URL, {"rows": [{"tenure": None, "plan": None, "monthly_spend": 30.0}]}, format="json"
    )
    assert response.status_code == 200, response.json()
    log = PredictionLog.objects.get(pk=response.json()["prediction_ids"][0])
    assert log.f0 is not None and log.f1 is not None  # binned as "missing", not left empty


def test_predictions_past_the_rate_are_refused_with_429(
    story: Any, deployed: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(PredictRateThrottle, "THROTTLE_RATES", {"predict": "2/minute"})
    monkeypatch.setattr(PredictRateThrottle, "cache_format", f"t-{uuid.uuid4()}_%(scope)s_%(ident)s")
    client = _token_client(story.requester)
    answers = [client.post(URL, {"rows": [ROW]}, format="json") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["error"] == "throttled"
    assert PredictionLog.objects.count() == 2
