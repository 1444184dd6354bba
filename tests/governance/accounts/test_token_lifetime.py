"""Every token expires (90 days unless asked otherwise, API_TOKEN_DEFAULT_DAYS), and a token cannot issue
a token that outlives it: a leaked token cannot extend itself (issue 14)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEntry
from governance.accounts import services
from governance.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _days_left(token: ApiToken) -> float:
    assert token.expiry_date is not None
    return (token.expiry_date - timezone.now()) / timedelta(days=1)


def test_a_token_issued_without_a_lifetime_expires_after_90_days(make_user: Any) -> None:
    user = make_user("nightly", "pipeline")

    token, _ = services.token_issue(actor=Actor.system("tests"), user=user, name="ci")

    assert 89.99 < _days_left(token) <= 90
    entry = AuditEntry.objects.filter(action="token.issue").latest("index")
    assert token.expiry_date is not None and token.expiry_date.isoformat() in entry.entry


def test_the_default_lifetime_is_configurable(make_user: Any, settings: Any) -> None:
    settings.API_TOKEN_DEFAULT_DAYS = 7
    out = StringIO()
    make_user("nightly", "pipeline")

    call_command("issuetoken", "nightly", stdout=out, stderr=StringIO())

    token = ApiToken.objects.get(user__username="nightly")
    assert 6.99 < _days_left(token) <= 7


def test_a_token_cannot_issue_a_token_that_outlives_it(make_user: Any) -> None:
    user = make_user("nightly", "pipeline")
    _, raw = services.token_issue(actor=Actor.system("tests"), user=user, name="short", expires_days=5)
    issued_before = AuditEntry.objects.filter(action="token.issue").count()

    response = _bearer(raw).post(
        "/api/v1/tokens/issue", {"name": "longer", "expires_days": 30}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "cannot outlive" in response.json()["detail"] and "at most 4 days" in response.json()["detail"]
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["short"]
    assert AuditEntry.objects.filter(action="token.issue").count() == issued_before


def test_a_token_issuing_one_with_the_default_lifetime_caps_it_at_its_own_expiry(make_user: Any) -> None:
    user = make_user("nightly", "pipeline")
    parent, raw = services.token_issue(actor=Actor.system("tests"), user=user, name="short", expires_days=5)

    response = _bearer(raw).post("/api/v1/tokens/issue", {"name": "child"}, format="json")

    assert response.status_code == 201
    child = ApiToken.objects.get(name="child")
    assert child.expiry_date == parent.expiry_date
    shorter = _bearer(raw).post("/api/v1/tokens/issue", {"name": "shorter", "expires_days": 2}, format="json")
    assert shorter.status_code == 201


def test_a_signed_in_person_may_issue_a_longer_lived_token(make_user: Any) -> None:
    user = make_user("dana", "data_scientist")
    client = APIClient()
    client.force_login(user)

    response = client.post("/api/v1/tokens/issue", {"name": "year", "expires_days": 365}, format="json")

    assert response.status_code == 201
    assert 364.99 < _days_left(ApiToken.objects.get(name="year")) <= 365
