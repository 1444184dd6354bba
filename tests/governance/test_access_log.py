"""The access log (governance/core/access_log.py, issue 18): one JSON line per request, pages and API
alike, with the request id the caller got back, who asked (a pseudonymous user id and the token's public
prefix, never a name) and no subject id, even where a path carries one."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.consent.test_access_logs import raw_id

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _captured(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    access = logging.getLogger("governance.access")  # its own handler; it does not propagate
    access.addHandler(caplog.handler)
    try:
        yield
    finally:
        access.removeHandler(caplog.handler)


def _read(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "governance.access"]


def test_each_request_is_one_line_with_its_request_id_status_and_caller(
    token_client: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    robot, user = token_client("robot", "pipeline")
    answer = robot.get("/api/v1/me")
    client.get("/healthz")
    client.get("/api/v1/me")  # anonymous: refused
    found = _read(caplog)
    assert [(line["method"], line["path"], line["status"]) for line in found] == [
        ("GET", "/api/v1/me", 200),
        ("GET", "/healthz", 200),
        ("GET", "/api/v1/me", 401),
    ]
    assert found[0]["request_id"] == answer["X-Request-ID"]
    assert (found[0]["user"], found[0]["token"]) == (
        f"user:{user.pk}",
        robot._credentials["HTTP_AUTHORIZATION"][7:15],
    )
    assert found[1]["user"] is None and found[2]["user"] is None
    assert "robot" not in caplog.text  # the name is not logged, the pseudonymous id is


def test_a_signed_in_persons_page_is_logged_without_their_name(
    client: Any, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    officer = make_user("olivia.officer", "compliance_officer")
    client.force_login(officer)
    assert client.get("/").status_code == 200
    (line,) = _read(caplog)
    assert (line["path"], line["status"], line["user"], line["token"]) == (
        "/",
        200,
        f"user:{officer.pk}",
        None,
    )
    assert "olivia" not in caplog.text


def test_a_subject_id_in_a_path_never_reaches_the_line(
    token_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    officer, _ = token_client("olivia", "compliance_officer")
    officer.get(f"/api/v1/consent/{raw_id(7)}")
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert raw_id(7) not in text and "/api/v1/consent/<subject_id>" in text


def test_the_query_string_is_left_out(token_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    robot, _ = token_client("robot", "pipeline")
    robot.get("/api/v1/models", {"name": "subject-4711"})
    (line,) = _read(caplog)
    assert line["path"] == "/api/v1/models" and "subject-4711" not in json.dumps(line)
