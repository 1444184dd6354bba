"""Which model version served an environment at a given instant: before, between and after deploys."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from registry.selectors.catalog import deployment_at
from tests.registry.approved import approved_deploy
from tests.registry.model_files import onnx_bytes

pytestmark = pytest.mark.django_db

T1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T2 = T1 + timedelta(days=7)
T3 = T2 + timedelta(days=7)
SHA = hashlib.sha256(b"model").hexdigest()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Set the service clock: deployments take ``deployed_at`` and ``until`` from ``timezone.now``."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return set_to


@pytest.fixture
def scientist(token_client: Any) -> APIClient:
    client, _ = token_client("dana", "data_scientist")
    return client


def _versions(client: APIClient, model: str, count: int) -> None:
    client.post("/api/v1/models", {"name": model}, format="json")
    for _ in range(count):
        # Only an artifact the service holds is deployed, never a reference (issue 13).
        artifact = SimpleUploadedFile("model.onnx", onnx_bytes())
        response = client.post(f"/api/v1/models/{model}/versions", {"artifact": artifact}, format="multipart")
        assert response.status_code == 201


def _deploy(client: APIClient, model: str, version: int, environment: str = "production") -> dict[str, Any]:
    response = client.post(
        "/api/v1/deployments",
        {
            "model": model,
            "version": version,
            "environment": environment,
            "release": approved_deploy(model, version, environment),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _served(client: APIClient, moment: datetime, environment: str = "production", model: str = "") -> Any:
    query = {"environment": environment, "time": moment.isoformat(), **({"model": model} if model else {})}
    return client.get("/api/v1/deployments/at", query)


@pytest.fixture
def history(scientist: APIClient, clock: Callable[[datetime], None]) -> dict[str, Any]:
    """churn v1 to production at T1, v2 at T2, ended explicitly at T3; v1 to staging at T1."""
    clock(T1 - timedelta(days=1))
    _versions(scientist, "churn", 2)
    clock(T1)
    first = _deploy(scientist, "churn", 1)
    _deploy(scientist, "churn", 1, environment="staging")
    clock(T2)
    second = _deploy(scientist, "churn", 2)
    clock(T3)
    ended = scientist.post(f"/api/v1/deployments/{second['id']}/end")
    assert ended.status_code == 200
    return {"first": first, "second": second}


def _versions_served(response: Any) -> list[tuple[str, int]]:
    assert response.status_code == 200, response.json()
    return [(row["model"], row["version"]) for row in response.json()["results"]]


def test_nothing_served_production_before_the_first_deploy(scientist: APIClient, history: Any) -> None:
    response = _served(scientist, T1 - timedelta(seconds=1))

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert "production" in response.json()["detail"]


def test_the_first_version_served_from_its_deploy_until_the_second(
    scientist: APIClient, history: Any
) -> None:
    assert _versions_served(_served(scientist, T1)) == [("churn", 1)]
    assert _versions_served(_served(scientist, T1 + timedelta(days=3))) == [("churn", 1)]
    assert _versions_served(_served(scientist, T2 - timedelta(microseconds=1))) == [("churn", 1)]


def test_the_second_version_served_from_its_deploy_until_it_was_ended(
    scientist: APIClient, history: Any
) -> None:
    assert _versions_served(_served(scientist, T2)) == [("churn", 2)]
    assert _versions_served(_served(scientist, T3 - timedelta(seconds=1), model="churn")) == [("churn", 2)]


def test_nothing_served_after_the_explicit_end(scientist: APIClient, history: Any) -> None:
    assert _served(scientist, T3).status_code == 404
    assert _served(scientist, T3 + timedelta(days=365)).status_code == 404


def test_other_environments_keep_their_own_history(scientist: APIClient, history: Any) -> None:
    assert _versions_served(_served(scientist, T3 + timedelta(days=1), environment="staging")) == [
        ("churn", 1)
    ]
    assert _served(scientist, T2, environment="canary").status_code == 404


def test_two_models_serving_one_environment_are_both_answered(
    scientist: APIClient, clock: Callable[[datetime], None]
) -> None:
    clock(T1)
    _versions(scientist, "churn", 1)
    _versions(scientist, "fraud", 1)
    _deploy(scientist, "churn", 1)
    _deploy(scientist, "fraud", 1)

    both = _versions_served(_served(scientist, T2))
    one = _versions_served(_served(scientist, T2, model="fraud"))

    assert both == [("churn", 1), ("fraud", 1)]
    assert one == [("fraud", 1)]
    assert _served(scientist, T2, model="ghost").status_code == 404


def test_the_answer_takes_one_query(
    scientist: APIClient, history: Any, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        serving = deployment_at(environment="production", at=T2 + timedelta(days=1))
        names = [(row.model_version.model.name, row.deployed_by.username) for row in serving]

    assert names == [("churn", "dana")]


def test_a_time_that_is_not_a_time_is_refused(scientist: APIClient) -> None:
    response = scientist.get("/api/v1/deployments/at", {"environment": "production", "time": "yesterday"})

    assert response.status_code == 400
    assert "time" in response.json()["detail"]
