"""Pages for compliance officers and auditors: a subject's history and the open privacy requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from audit.actors import Actor
from governance.consent.services.requests import privacy_request_create
from governance.consent.subjects import subject_hash_of
from tests.consent.factories import raw_id, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(make_user: Any) -> tuple[Client, Actor]:
    user = make_user("olivia", "compliance_officer")
    client = Client()
    client.force_login(user)
    return client, Actor.for_user(user)


def test_an_officer_looks_a_subject_up_by_id_and_sees_the_history_without_the_id(
    officer: tuple[Client, Actor],
) -> None:
    client, actor = officer
    record(actor, 7, "grant")
    record(actor, 7, "withdraw")

    page = client.post("/privacy/subject/", {"subject_id": raw_id(7)})

    html = page.content.decode()
    assert page.status_code == 200
    assert subject_hash_of(raw_id(7)) in html and "withdrawn" in html and html.count("<td>withdraw</td>") == 1
    assert raw_id(7) not in html


def test_the_open_requests_page_shows_due_dates_and_flags_overdue_ones(officer: tuple[Client, Actor]) -> None:
    client, actor = officer
    privacy_request_create(
        actor=actor,
        subject_hash=subject_hash_of(raw_id(1)),
        request_type="access",
        jurisdiction="california",
        received_at=datetime(2020, 1, 6, 9, tzinfo=UTC),
    )

    html = client.get("/privacy/requests/").content.decode()

    assert "2020-01-20" in html and "2020-02-20" in html and "(overdue)" in html


def test_the_pages_are_only_for_compliance_officers_and_auditors(make_user: Any) -> None:
    client = Client()
    client.force_login(make_user("dana", "data_scientist"))

    assert client.get("/privacy/requests/").status_code == 403
    assert client.post("/privacy/subject/", {"subject_id": raw_id(1)}).status_code == 403
    assert Client().get("/privacy/requests/").status_code == 302  # to the login page
