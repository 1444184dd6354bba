"""The MLflow API answers bad input with MLflow's ``{"error_code", "message"}`` and a 4xx, never a 5xx
(MLflow's client retries a 5xx five times), and stores nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.security.test_bad_input import deep, row_counts

pytestmark = pytest.mark.django_db

API = "/api/2.0/mlflow"


@pytest.fixture
def pipeline(token_client: Any, settings: Any, tmp_path: Path) -> APIClient:
    settings.MEDIA_ROOT = tmp_path / "media"
    client, _ = token_client("nightly", "pipeline")
    response = client.post(f"{API}/registered-models/create", {"name": "churn"}, format="json")
    assert response.status_code == 200, response.json()
    return client


def refused(response: Any, status: int, code: str, *words: str) -> None:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error_code", "message"} and body["error_code"] == code, body
    for word in words:
        assert word in body["message"], body


def post(client: APIClient, endpoint: str, body: Any) -> Any:
    text = body if isinstance(body, str) else json.dumps(body)
    method = "PATCH" if endpoint.endswith("/update") else "POST"
    return client.generic(method, f"{API}/{endpoint}", text, content_type="application/json")


@pytest.mark.parametrize("levels", [100, 5_000, 100_000])
@pytest.mark.parametrize("endpoint", ["registered-models/create", "model-versions/create"])
def test_deeply_nested_json_is_refused_in_mlflow_shape(
    pipeline: APIClient, levels: int, endpoint: str
) -> None:
    before = row_counts()
    refused(post(pipeline, endpoint, deep(levels)), 400, "INVALID_PARAMETER_VALUE", "MAX_JSON_DEPTH=64")
    assert row_counts() == before


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("registered-models/create", {"name": "other", "description": "a\u0000b"}, "description"),
        (
            "registered-models/create",
            {"name": "other", "tags": [{"key": "k", "value": "v\u0000"}]},
            "tags[0]",
        ),
        ("registered-models/update", {"name": "churn", "description": "\u0000"}, "description"),
        ("registered-models/set-tag", {"name": "churn", "key": "k", "value": "\u0000"}, "value"),
        ("registered-models/set-tag", {"name": "churn", "key": "k\u0000", "value": "v"}, "key"),
    ],
)
def test_nul_in_a_value_is_refused_naming_the_field(
    pipeline: APIClient, endpoint: str, body: dict[str, Any], field: str
) -> None:
    before = row_counts()
    refused(post(pipeline, endpoint, body), 400, "INVALID_PARAMETER_VALUE", field, "NUL")
    assert row_counts() == before


def test_nul_in_a_query_parameter_is_refused(pipeline: APIClient) -> None:
    before = row_counts()
    refused(pipeline.get(f"{API}/registered-models/get?name=ch%00urn"), 400, "INVALID_PARAMETER_VALUE", "NUL")
    assert row_counts() == before


@pytest.mark.parametrize("body", ['{"name": ', "[1, 2", '{"name": NaN}', "\xff"])
def test_a_body_that_is_not_json_is_a_malformed_request(pipeline: APIClient, body: str) -> None:
    before = row_counts()
    refused(post(pipeline, "registered-models/create", body), 400, "MALFORMED_REQUEST")
    assert row_counts() == before


@pytest.mark.parametrize(
    "body",
    [
        {"name": {"a": 1}},
        {"name": ["churn2"]},
        {"name": 12},
        {"name": "other", "tags": "k=v"},
        {"name": "other", "tags": [{"value": "v"}]},
        {"name": "other", "tags": [1, 2]},
    ],
)
def test_values_of_the_wrong_type_are_invalid_parameter_values(pipeline: APIClient, body: Any) -> None:
    before = row_counts()
    response = post(pipeline, "registered-models/create", body)
    if response.status_code == 200:  # a number is a valid name once it is a string, as in MLflow
        assert body == {"name": 12}
        return
    refused(response, 400, "INVALID_PARAMETER_VALUE")
    assert row_counts() == before


@pytest.mark.parametrize(
    ("endpoint", "params"),
    [
        ("model-versions/get", {"name": "churn", "version": "²"}),
        ("model-versions/get", {"name": "churn", "version": "9" * 40}),
        ("registered-models/search", {"max_results": "many"}),
        ("registered-models/search", {"max_results": "9" * 40}),
        ("registered-models/search", {"page_token": "not-a-token"}),
    ],
)
def test_bad_query_values_are_4xx_in_mlflow_shape(pipeline: APIClient, endpoint: str, params: Any) -> None:
    response = pipeline.get(f"{API}/{endpoint}", params)
    assert 400 <= response.status_code < 500, response.content[:300]
    assert set(response.json()) == {"error_code", "message"}


@override_settings(MAX_JSON_BODY_BYTES=2048, DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
def test_a_body_over_the_limit_is_a_413_in_mlflow_shape(pipeline: APIClient) -> None:
    before = row_counts()
    body = {"name": "other", "description": "x" * 4096}
    refused(
        post(pipeline, "registered-models/create", body),
        413,
        "INVALID_PARAMETER_VALUE",
        "MAX_JSON_BODY_BYTES",
    )
    assert row_counts() == before


def test_an_unforeseen_failure_is_a_500_in_mlflow_shape_with_the_request_id(
    pipeline: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from governance.mlflow_api import selectors

    def broken(**_: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(selectors, "mlflow_model_get", broken)
    response = pipeline.get(
        f"{API}/registered-models/get", {"name": "churn"}, HTTP_X_REQUEST_ID="req-12345678"
    )
    refused(response, 500, "INTERNAL_ERROR", "req-12345678")
    assert "disk on fire" not in response.content.decode()


@pytest.mark.parametrize("number", ["9" * 26, "-1", "0", str(2**31)])
def test_a_version_number_no_version_can_have_matches_nothing(pipeline: APIClient, number: str) -> None:
    response = pipeline.get(f"{API}/model-versions/search", {"filter": f"version_number = {number}"})
    assert response.status_code == 200, response.content[:300]
    assert response.json().get("model_versions", []) == []
