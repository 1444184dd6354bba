"""Tokens from `adduser` + `issuetoken` authenticate; revoked, expired, wrong ones get 401 JSON."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from governance.accounts.models import ApiToken

pytestmark = pytest.mark.django_db


def _issue(username: str, *args: str) -> str:
    out = StringIO()
    call_command("issuetoken", username, *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip().splitlines()[-1]


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_token_from_the_commands_authenticates_me() -> None:
    call_command(
        "adduser",
        "ada",
        "--role",
        "data_scientist",
        "--role",
        "pipeline",
        "--full-name",
        "Ada Lovelace",
        stdout=StringIO(),
    )
    token = _issue("ada", "--name", "ci")

    response = _client(token).get("/api/v1/me")

    assert response.status_code == 200
    assert response.json() == {
        "username": "ada",
        "full_name": "Ada Lovelace",
        "roles": ["data_scientist", "pipeline"],
    }


def test_a_revoked_token_gets_401_json() -> None:
    call_command("adduser", "bob", "--role", "pipeline", stdout=StringIO())
    token = _issue("bob")
    call_command("revoketoken", token.split(".")[0], stdout=StringIO())

    response = _client(token).get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"
    assert "revoked" in response.json()["detail"]


def test_an_expired_token_gets_401_json() -> None:
    call_command("adduser", "cy", "--role", "pipeline", stdout=StringIO())
    token = _issue("cy", "--expires-days", "1")
    ApiToken.objects.filter(prefix=token.split(".")[0]).update(
        expiry_date=timezone.now() - timedelta(seconds=1)
    )

    response = _client(token).get("/api/v1/me")

    assert response.status_code == 401
    assert response.json() == {
        "error": "authentication_failed",
        "detail": "The token has expired; issue a new one.",
    }


@pytest.mark.parametrize("header", ["Bearer nope.nope", "Bearer ", "Bearer abcdefgh.0123456789"])
def test_a_wrong_token_gets_401_json(header: str, make_user) -> None:
    make_user("dee", "pipeline")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_get_401_json() -> None:
    response = APIClient().get("/api/v1/me")

    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_a_valid_token_of_the_wrong_role_gets_403_json(token_client) -> None:
    client, _ = token_client("eve", "data_scientist")

    response = client.get("/api/v1/audit/entries")

    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert "auditor" in response.json()["detail"]


def test_tokens_are_listed_and_revoked_through_the_api(token_client) -> None:
    client, _user = token_client("fay", "pipeline")
    issued = client.post("/api/v1/tokens/issue", {"name": "second", "expires_days": 30}, format="json")
    assert issued.status_code == 201
    prefix = issued.json()["prefix"]

    listed = client.get("/api/v1/tokens").json()["results"]
    revoked = client.post(f"/api/v1/tokens/{prefix}/revoke")
    again = client.post(f"/api/v1/tokens/{prefix}/revoke")

    assert {token["name"] for token in listed} == {"fay-token", "second"}
    assert all("token" not in token for token in listed)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert again.status_code == 409 and again.json()["error"] == "token_revoked"
    assert _client(issued.json()["token"]).get("/api/v1/me").status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(token_client) -> None:
    owner, _ = token_client("gus", "pipeline")
    other, _ = token_client("hal", "pipeline")
    prefix = owner.get("/api/v1/tokens").json()["results"][0]["prefix"]

    response = other.post(f"/api/v1/tokens/{prefix}/revoke")

    assert response.status_code == 404
    assert ApiToken.objects.get(prefix=prefix).revoked is False


def test_issue_and_revoke_are_each_one_audit_entry(token_client) -> None:
    client, _user = token_client("ivy", "pipeline")
    before = AuditEntry.objects.count()
    prefix = client.post("/api/v1/tokens/issue", {"name": "x"}, format="json").json()["prefix"]
    client.post(f"/api/v1/tokens/{prefix}/revoke")

    actions = list(AuditEntry.objects.filter(index__gte=before).values_list("action", "target_id"))

    assert actions == [("token.issue", prefix), ("token.revoke", prefix)]


def test_bad_token_input_gets_400_and_changes_nothing(token_client) -> None:
    client, _ = token_client("jo", "pipeline")
    count = ApiToken.objects.count()

    response = client.post("/api/v1/tokens/issue", {"expires_days": 0}, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "expires_days" in response.json()["detail"]
    assert ApiToken.objects.count() == count
