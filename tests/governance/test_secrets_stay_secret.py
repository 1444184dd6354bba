"""Raw tokens and passwords appear nowhere in the database or the logs."""

from __future__ import annotations

import logging
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PASSWORD = "a-very-distinct-pass-phrase-9"


def _every_value_in_the_database() -> str:
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 (table names come from introspection)
            for row in cursor.fetchall():
                chunks.extend(
                    bytes(value).hex() + repr(bytes(value))
                    if isinstance(value, bytes | memoryview)
                    else str(value)
                    for value in row
                )
    return "\n".join(chunks)


def test_raw_tokens_and_passwords_are_not_stored_or_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    call_command("adduser", "quinn", "--role", "pipeline", "--password", PASSWORD, stdout=StringIO())
    out = StringIO()
    call_command("issuetoken", "quinn", "--name", "leak-check", stdout=out, stderr=StringIO())
    token = out.getvalue().strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/me").status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}x")
    assert client.get("/api/v1/me").status_code == 401
    APIClient().post("/accounts/login/", {"username": "quinn", "password": PASSWORD})
    APIClient().post("/accounts/login/", {"username": "quinn", "password": PASSWORD + "!"})

    stored = _every_value_in_the_database()
    logged = caplog.text

    secret_part = token.split(".", 1)[1]
    for needle in (token, secret_part, PASSWORD):
        assert needle not in stored
        assert needle not in logged
