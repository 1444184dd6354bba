"""Bad input gets a 4xx JSON answer (an error page for pages) and changes nothing, never a 500.

Each case compares every table's row count (the audit log included) before and after the request."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.apps import apps
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.approvals.factories import PASSWORD, dataset_version, make_policy, model_version

pytestmark = pytest.mark.django_db

# Tables that change by themselves while a request is served (sign-in records of django-axes, sessions).
_VOLATILE = {"axes.AccessAttempt", "axes.AccessLog", "axes.AccessFailureLog", "sessions.Session"}


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.label not in _VOLATILE and model._meta.managed
    }


@pytest.fixture
def nothing_stored() -> Iterator[None]:
    before = row_counts()
    yield
    after = row_counts()
    assert {k: (before[k], after[k]) for k in before if before[k] != after[k]} == {}


@pytest.fixture
def scientist(token_client: Callable[..., tuple[APIClient, Any]]) -> APIClient:
    return token_client("pia", "pipeline")[0]


@pytest.fixture
def auditor(token_client: Callable[..., tuple[APIClient, Any]]) -> APIClient:
    return token_client("audrey", "auditor")[0]


def deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def post_raw(client: APIClient, url: str, text: str | bytes) -> Any:
    return client.generic("POST", url, text, content_type="application/json")


def assert_error(response: Any, status: int, code: str, *words: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == code, body
    for word in words:
        assert word in body["detail"], body
    return body


def _release_body(**fields: Any) -> dict[str, Any]:
    return {
        "kind": "train",
        "model": "churn",
        "risk_level": "minimal",
        "datasets": [{"namespace": "warehouse", "name": "customers", "version": "v1"}],
        "parameters": {"target": "label", "n_estimators": 50},
        "code_version": "git:abc123",
        **fields,
    }


@pytest.fixture
def release_ready(make_user: Callable[..., Any]) -> None:
    make_policy("train-default")
    dataset_version(make_user("owner", "data_scientist", password=PASSWORD))


# --- JSON bodies ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/releases", "/api/v1/consent", "/api/v1/runs"])
@pytest.mark.parametrize("levels", [100, 5_000, 100_000])
def test_json_nested_deeper_than_the_limit_is_refused_naming_it(
    scientist: APIClient, release_ready: None, nothing_stored: None, url: str, levels: int
) -> None:
    assert_error(post_raw(scientist, url, deep(levels)), 400, "json_too_deep", "MAX_JSON_DEPTH=64")


@pytest.mark.parametrize("text", ['{"kind": "train",', "{'kind': 'train'}", '{"a": NaN}', b'{"a": "\xff"}'])
def test_malformed_json_is_a_parse_error(
    scientist: APIClient, release_ready: None, nothing_stored: None, text: str | bytes
) -> None:
    assert_error(post_raw(scientist, "/api/v1/releases", text), 400, "parse_error")


@override_settings(MAX_JSON_ITEMS=10)
def test_a_list_with_more_items_than_the_limit_is_refused_naming_it(
    scientist: APIClient, release_ready: None, nothing_stored: None
) -> None:
    body = _release_body(parameters={"layers": list(range(11))})
    response = scientist.post("/api/v1/releases", body, format="json")
    assert_error(response, 400, "json_too_many_items", "parameters.layers", "MAX_JSON_ITEMS=10")


@override_settings(MAX_JSON_BODY_BYTES=2048, DATA_UPLOAD_MAX_MEMORY_SIZE=2048)
@pytest.mark.parametrize("url", ["/api/v1/releases", "/api/v1/consent", "/api/v1/lineage"])
def test_a_body_over_the_limit_is_a_413_naming_it(
    scientist: APIClient, release_ready: None, nothing_stored: None, url: str
) -> None:
    body = _release_body(code_version="x" * 4096)
    response = scientist.post(url, body, format="json")
    assert_error(response, 413, "payload_too_large", "MAX_JSON_BODY_BYTES=2048")


def test_nul_in_release_parameters_is_refused_naming_the_field(
    scientist: APIClient, release_ready: None, nothing_stored: None
) -> None:
    body = _release_body(parameters={"target": "label", "lr": "0.1\u0000"})
    response = scientist.post("/api/v1/releases", body, format="json")
    assert_error(response, 400, "nul_character", "parameters.lr")


def test_nul_in_a_key_is_refused_naming_it(
    scientist: APIClient, release_ready: None, nothing_stored: None
) -> None:
    body = _release_body(parameters={"target": "label", "l\u0000r": 0.1})
    response = scientist.post("/api/v1/releases", body, format="json")
    assert_error(response, 400, "nul_character", "parameters.l")


def test_nul_in_run_parameters_is_refused_naming_the_field(
    scientist: APIClient, nothing_stored: None
) -> None:
    body = {"job_namespace": "ns", "job_name": "train", "parameters": {"lr": "a\u0000b"}}
    response = scientist.post("/api/v1/runs", body, format="json")
    assert_error(response, 400, "nul_character", "parameters.lr")


def test_nul_in_a_consent_field_is_refused(scientist: APIClient, nothing_stored: None) -> None:
    body = {"subject_id": "cust-1\u0000", "purpose": "marketing", "event": "grant"}
    response = scientist.post("/api/v1/consent", json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] in {"nul_character", "permission_denied"}


@pytest.mark.parametrize(
    "url", ["/api/v1/runs?job_name=a%00b", "/api/v1/reports/lineage?nodeId=model:a%00#1", "/api/v1/a%00"]
)
def test_nul_in_a_url_is_refused(auditor: APIClient, nothing_stored: None, url: str) -> None:
    assert_error(auditor.get(url), 400, "nul_character")


# --- Paths, cursors, node ids ------------------------------------------------------------------------------


@pytest.mark.parametrize("job", ["%C2%B2", "abc", "-1", "1.5"])
def test_a_job_id_that_is_not_a_number_is_not_found(auditor: APIClient, job: str) -> None:
    assert_error(auditor.get(f"/api/v1/jobs/{job}"), 404, "not_found")


def test_a_job_id_past_any_integer_is_not_found(auditor: APIClient) -> None:
    assert_error(auditor.get("/api/v1/jobs/" + "9" * 40), 404, "not_found")


def test_an_unknown_api_url_is_a_json_404(auditor: APIClient) -> None:
    assert_error(auditor.get("/api/v1/no-such-thing"), 404, "not_found", "/api/v1/no-such-thing")


@pytest.mark.parametrize(
    "cursor",
    [
        "cD0xMjM0NTY3ODkwMTIzNDU2Nzg5MA==",  # p=1234567890123456789 0 (not a date)
        "cD1ub3QtYS1kYXRl",  # p=not-a-date
        "cD05OTk5OS0wMS0wMQ==",  # p=99999-01-01
        "cj1ub3Q=",  # r=not
        "%%%garbage%%%",
        "Y2Fmw6k=",  # non-ascii after decoding
        "ÿÿÿ",  # non-ascii before decoding
    ],
)
@pytest.mark.parametrize("url", ["/api/v1/releases", "/api/v1/runs", "/api/v1/models"])
def test_a_cursor_this_service_did_not_make_is_a_400(auditor: APIClient, cursor: str, url: str) -> None:
    assert_error(auditor.get(url, {"cursor": cursor}), 400, "invalid_cursor")


@pytest.mark.parametrize(
    "node", ["dataset:warehouse:missing#v9", "job:ns:missing", "model:missing#1", "run:" + "0" * 32]
)
def test_an_unknown_node_on_the_lineage_report_is_a_404_naming_it(
    token_client: Callable[..., tuple[APIClient, Any]], node: str
) -> None:
    officer, _ = token_client("olivia", "compliance_officer")
    before = row_counts()
    response = officer.get("/api/v1/reports/lineage", {"nodeId": node})
    assert_error(response, 404, "not_found", node)
    assert row_counts() == before


@pytest.mark.parametrize("node", ["nonsense", "dataset:", "model:churn#x", "run:not-a-uuid"])
def test_a_malformed_node_id_on_the_lineage_report_is_a_400(
    token_client: Callable[..., tuple[APIClient, Any]], node: str
) -> None:
    officer, _ = token_client("olivia", "compliance_officer")
    before = row_counts()
    response = officer.get("/api/v1/reports/lineage", {"nodeId": node})
    assert response.status_code in {400, 404}, response.content[:300]
    assert response.json()["error"] in {"validation_error", "not_found", "invalid_node_id"}
    assert row_counts() == before


@pytest.mark.parametrize("node", ["dataset:warehouse:missing#v9", "job:ns:missing"])
def test_an_unknown_node_on_the_lineage_page_is_a_404_page_naming_it(
    make_user: Callable[..., Any], node: str
) -> None:
    make_user("olivia", "compliance_officer", password=PASSWORD)
    client = Client(raise_request_exception=False)
    assert client.login(username="olivia", password=PASSWORD)
    response = client.get("/lineage/", {"nodeId": node})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert node in response.content.decode()


def test_an_unknown_page_is_the_styled_404_page(make_user: Callable[..., Any]) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Model governance" in response.content.decode()  # the site's layout, not Django's plain page


def test_model_version_fixture_is_importable() -> None:
    assert callable(model_version)


def test_nul_in_a_lineage_event_is_refused_naming_the_field(
    scientist: APIClient, nothing_stored: None
) -> None:
    event = {
        "eventType": "START",
        "eventTime": "2026-01-01T00:00:00Z",
        "producer": "https://example.com/pipeline",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": "01890000-0000-7000-8000-000000000001"},
        "job": {"namespace": "ns", "name": "train\u0000"},
        "inputs": [],
        "outputs": [],
    }
    response = scientist.post("/api/v1/lineage", event, format="json")
    assert_error(response, 400, "invalid_openlineage_event", "job.name", "NUL")
