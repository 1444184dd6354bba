"""Faults and refusals outside the JSON parser: an unforeseen exception, oversize forms on pages, odd
values in every API path, multipart fields carrying JSON, and predict on an artifact that is no pipeline."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEntry
from governance.jobs import serving
from governance.monitoring.models import PredictionLog
from registry import artifacts
from registry.models import ModelVersion
from registry.services.deployments import deployment_create
from tests.approvals.factories import PASSWORD
from tests.security.test_bad_input import assert_error, row_counts

pytestmark = pytest.mark.django_db


def _broken(**_: Any) -> Any:
    raise RuntimeError("disk on fire")


def test_an_unforeseen_failure_on_the_api_is_a_500_json_with_the_request_id(
    token_client: Callable[..., tuple[APIClient, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry import report_apis

    monkeypatch.setattr(report_apis, "lineage_report_export", _broken)
    officer, _ = token_client("olivia", "compliance_officer")
    response = officer.get(
        "/api/v1/reports/lineage", {"nodeId": "model:churn#1"}, HTTP_X_REQUEST_ID="req-0001-abcd"
    )
    body = assert_error(response, 500, "internal_error", "req-0001-abcd")
    assert body["request_id"] == "req-0001-abcd"
    assert "disk on fire" not in response.content.decode()


def test_an_unforeseen_failure_on_a_page_is_the_styled_500_page(
    make_user: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry import pages

    monkeypatch.setattr(pages, "lineage_report_build", _broken)
    make_user("olivia", "compliance_officer", password=PASSWORD)
    client = Client(raise_request_exception=False)
    assert client.login(username="olivia", password=PASSWORD)
    response = client.get("/lineage/", {"nodeId": "model:churn#1"})
    assert response.status_code == 500
    page = response.content.decode()
    assert response["Content-Type"].startswith("text/html") and "Something went wrong" in page
    assert "disk on fire" not in page and "Traceback" not in page


@override_settings(MAX_JSON_BODY_BYTES=2048, DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
def test_an_oversize_form_on_a_page_is_the_413_page() -> None:
    client = Client(raise_request_exception=False)
    response = client.post("/accounts/login/", {"username": "x" * 4096, "password": "y"})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/html")
    assert "MAX_JSON_BODY_BYTES=2048" in response.content.decode()


def test_an_api_request_for_another_host_is_a_400_json() -> None:
    response = Client(raise_request_exception=False).get("/api/v1/releases", HTTP_HOST="evil.example")
    assert_error(response, 400, "bad_request")


# --- Every API route with odd values in its path ------------------------------------------------------------


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


ODD = ["%C2%B2", "9" * 40, "abc", "-1", "x" * 600]


def test_every_api_route_answers_odd_path_values_with_a_4xx_json_never_a_5xx(
    token_client: Callable[..., tuple[APIClient, Any]],
) -> None:
    clients = [token_client(f"user{i}", role)[0] for i, role in enumerate(["data_scientist", "auditor"])]
    routes = [r for r in _routes(get_resolver().url_patterns) if r.startswith("api/") and "<" in r]
    assert len(routes) > 10
    before = row_counts()
    wrong = []
    for route, value, client in ((r, v, c) for r in routes for v in ODD for c in clients):
        url = "/" + re.sub(r"<[^>]+>", value, route)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code >= 500 or not response["Content-Type"].startswith("application/json"):
                wrong.append((method, url[:100], response.status_code))
    assert wrong == []
    # Reads are audited (the MLflow API's, the audit log's exports); nothing else is stored.
    assert _unaudited(row_counts()) == _unaudited(before)


def _unaudited(counts: dict[str, int]) -> dict[str, int]:
    return {table: n for table, n in counts.items() if table not in {"audit.AuditEntry", "audit.AuditNode"}}


# --- Multipart fields carrying JSON -------------------------------------------------------------------------


@pytest.fixture
def scientist(token_client: Callable[..., tuple[APIClient, Any]], settings: Any, tmp_path: Path) -> APIClient:
    settings.MEDIA_ROOT = tmp_path / "media"
    artifacts._sessions.sessions.clear()
    serving._pipelines.clear()
    client, _ = token_client("dana", "data_scientist")
    assert (
        client.post("/api/v1/models", {"name": "churn", "risk_level": "high"}, format="json").status_code
        == 201
    )
    return client


def _skops_on_two_columns() -> bytes:
    """A fitted estimator, not a pipeline over the schema's features: it takes columns a and b."""
    import pandas as pd
    import skops.io
    from sklearn.tree import DecisionTreeClassifier

    features = pd.DataFrame({"a": [0.0, 1.0, 0.2, 0.9], "b": [1.0, 0.0, 1.0, 0.0]})
    return bytes(skops.io.dumps(DecisionTreeClassifier(random_state=0).fit(features, [0, 1, 0, 1])))


def _upload(client: APIClient, input_schema: str) -> Any:
    body = {
        "artifact": SimpleUploadedFile("model.skops", _skops_on_two_columns()),
        "input_schema": input_schema,
    }
    return client.post("/api/v1/models/churn/versions", body, format="multipart")


@pytest.mark.parametrize(
    ("schema", "words"),
    [
        ('[{"name": "x\\u0000", "type": "number"}]', "NUL"),
        ("[" * 5000 + "]" * 5000, "MAX_JSON_DEPTH"),
        ('[{"name": "x", "type": "number", "min": NaN}]', "NaN"),
    ],
)
def test_a_json_form_field_is_checked_like_a_json_body(scientist: APIClient, schema: str, words: str) -> None:
    before = row_counts()
    body = assert_error(_upload(scientist, schema), 400, "validation_error", "input_schema", words)
    assert "input_schema" in body["fields"]
    assert row_counts() == before


def test_predict_on_an_artifact_that_is_not_a_pipeline_of_its_schema_is_an_audited_422(
    scientist: APIClient,
) -> None:
    assert _upload(scientist, '[{"name": "x", "type": "number"}]').status_code == 201
    version = ModelVersion.objects.get()
    deployment_create(
        actor=Actor.for_user(version.created_by), model_version=version, environment="staging", endpoint="/p"
    )
    before = row_counts()

    response = scientist.post(
        "/api/v1/deployments/staging/churn/predict", {"rows": [{"x": 1}]}, format="json"
    )

    assert_error(response, 422, "model_not_servable", "model:churn#1", "input schema")
    assert not PredictionLog.objects.exists()
    refusals = AuditEntry.objects.filter(action="model_artifact.refuse").values_list("entry", flat=True)
    assert [json.loads(entry)["data"]["where"] for entry in refusals] == ["serving"]
    after = row_counts()
    assert after["audit.AuditEntry"] == before["audit.AuditEntry"] + 1
    assert _unaudited(after) == _unaudited(before)


@pytest.mark.parametrize(
    ("url", "form"),
    [
        ("/accounts/login/", {"username": "olivia\u0000", "password": PASSWORD}),
        ("/search/", {"q": "churn\u0000"}),
    ],
)
def test_nul_in_a_page_form_is_the_400_page(
    make_user: Callable[..., Any], url: str, form: dict[str, str]
) -> None:
    make_user("olivia", "compliance_officer", password=PASSWORD)
    client = Client(raise_request_exception=False)
    assert client.login(username="olivia", password=PASSWORD)
    before = row_counts()
    response = client.post(url, form)
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("text/html") and "NUL" in response.content.decode()
    assert row_counts() == before


@pytest.mark.parametrize("column", [0, 1, 6])
def test_nul_in_a_consent_import_is_refused_naming_the_line(
    token_client: Callable[..., tuple[APIClient, Any]], column: int
) -> None:
    from django.utils import timezone

    from tests.consent.factories import raw_id

    client, _ = token_client("robot", "pipeline")
    row = [raw_id(1), "train_ai_system", "grant", "consent", "eu_eea", timezone.now().isoformat(), "onetrust"]
    row[column] = row[column][:3] + "\u0000" + row[column][3:]
    header = "subject_id,purpose,event,lawful_basis,jurisdiction,occurred_at,source\n"
    before = row_counts()
    response = client.post(
        "/api/v1/consent/import", data=(header + ",".join(row) + "\n").encode(), content_type="text/csv"
    )
    assert_error(response, 400, "validation_error", "line 2", "NUL")
    assert row_counts() == before


@override_settings(DEBUG=True)
def test_with_debug_on_an_unknown_api_url_is_still_json() -> None:
    response = Client(raise_request_exception=False).get("/api/v1/no-such-thing")
    assert_error(response, 404, "not_found")


def test_a_refused_csrf_check_under_the_api_is_json(make_user: Callable[..., Any]) -> None:
    make_user("olivia", "compliance_officer", password=PASSWORD)
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    assert client.login(username="olivia", password=PASSWORD)
    response = client.post("/api/2.0/mlflow/runs/create", {"x": "1"})
    assert response.status_code == 403 and response.json()["error_code"] == "PERMISSION_DENIED"
