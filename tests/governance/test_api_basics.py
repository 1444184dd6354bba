from __future__ import annotations

import pytest
import yaml
from openapi_spec_validator import validate
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_the_openapi_schema_is_valid_openapi_3() -> None:
    response = APIClient().get("/api/schema/")

    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")
    validate(document)
    assert "/api/v1/me" in document["paths"]
    assert "bearerAuth" in document["components"]["securitySchemes"]


def test_the_swagger_ui_renders() -> None:
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger-ui" in response.content


def test_healthz_answers_without_login() -> None:
    assert APIClient().get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_and_broker_ready() -> None:
    response = APIClient().get("/readyz")

    assert response.status_code == 200, response.content


def test_readyz_is_503_when_the_broker_is_unreachable(settings) -> None:
    from governance.celery import app

    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = APIClient().get("/readyz")
    finally:
        app.conf.broker_url = settings.CELERY_BROKER_URL

    assert response.status_code == 503
    assert response.json()["problems"] == ["broker: OperationalError"]


def test_an_unknown_route_is_404() -> None:
    assert APIClient().get("/api/v1/nothing-here").status_code == 404


def test_a_request_id_is_echoed_back() -> None:
    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID="abcdef0123456789")

    assert response["X-Request-ID"] == "abcdef0123456789"
