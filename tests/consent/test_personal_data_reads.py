"""Reads of personal data are audit entries, one per request, naming the subject by keyed hash only;
reads of registry metadata and refused reads are not (issue 18)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from audit import selectors
from audit.actors import Actor
from audit.models import AuditEntry
from governance.consent.models import ConsentEvent, PrivacyRequest
from governance.consent.services.requests import privacy_request_create, privacy_request_status_set
from governance.consent.subjects import subject_hash_of
from governance.core.pseudonyms import keyed_hash
from registry.services import catalog
from tests.consent.factories import audit_since, raw_id, record

pytestmark = pytest.mark.django_db


def _client(make_user: Any, username: str, role: str) -> tuple[Client, Any]:
    user = make_user(username, role)
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def officer(make_user: Any) -> tuple[Client, Any]:
    return _client(make_user, "olivia", "compliance_officer")


@pytest.fixture
def auditor(make_user: Any) -> tuple[Client, Any]:
    return _client(make_user, "audrey", "auditor")


def _request(officer_user: Any, n: int = 7, request_type: str = "access") -> PrivacyRequest:
    return privacy_request_create(
        actor=Actor.for_user(officer_user),
        subject_hash=subject_hash_of(raw_id(n)),
        request_type=request_type,
        jurisdiction="eu_eea",
    )


def _entries_of(call: Any) -> list[dict[str, Any]]:
    """The audit entries ``call`` added."""
    before = selectors.tree_size()
    call()
    return audit_since(before)


def _only(entries: list[dict[str, Any]], action: str) -> dict[str, Any]:
    assert [entry["action"] for entry in entries] == [action]
    return entries[0]


def _no_raw_ids_anywhere() -> None:
    texts = "\n".join(AuditEntry.objects.values_list("entry", flat=True))
    assert "PERSON-" not in texts


def test_a_subjects_consent_state_read_through_the_api_is_one_entry_by_keyed_hash(
    token_client: Any, officer: tuple[Client, Any]
) -> None:
    _, officer_user = officer
    record(Actor.for_user(officer_user), 7, "grant")
    pipeline, user = token_client("nightly", "pipeline")

    entries = _entries_of(lambda: pipeline.get(f"/api/v1/consent/{raw_id(7)}?purpose=train_ai_system"))

    entry = _only(entries, "consent.read")
    assert entry["actor"]["type"] == "token" and entry["actor"]["id"].startswith(f"{user.pk}:")
    assert entry["target"] == {"type": "data_subject", "id": subject_hash_of(raw_id(7))}
    assert entry["data"] == {"via": "api", "as_of": None, "purpose": "train_ai_system", "found": True}
    _no_raw_ids_anywhere()


def test_no_consent_on_record_is_an_answer_too_and_audited(token_client: Any) -> None:
    auditor_api, _ = token_client("audra", "auditor")

    response = None

    def read() -> None:
        nonlocal response
        response = auditor_api.get(f"/api/v1/consent/{raw_id(99)}")

    entry = _only(_entries_of(read), "consent.read")
    assert response is not None and response.status_code == 200 and response.json()["purposes"] == []
    assert entry["data"]["found"] is False
    assert entry["target"]["id"] == subject_hash_of(raw_id(99))
    _no_raw_ids_anywhere()


def test_a_consent_read_refused_by_role_or_bad_input_is_no_entry(token_client: Any) -> None:
    scientist, _ = token_client("dana", "data_scientist")
    pipeline, _ = token_client("nightly", "pipeline")

    refused = _entries_of(lambda: scientist.get(f"/api/v1/consent/{raw_id(7)}"))
    bad = _entries_of(lambda: pipeline.get(f"/api/v1/consent/{raw_id(7)}?as_of=yesterday"))

    assert refused == [] and bad == []
    assert scientist.get(f"/api/v1/consent/{raw_id(7)}").status_code == 403


def test_the_subject_history_page_is_one_consent_read(officer: tuple[Client, Any]) -> None:
    client, user = officer
    record(Actor.for_user(user), 7, "grant")

    entries = _entries_of(lambda: client.post("/privacy/subject/", {"subject_id": raw_id(7)}))
    empty = _entries_of(lambda: client.post("/privacy/subject/", {"subject_id": "  "}))

    entry = _only(entries, "consent.read")
    assert entry["actor"] == {"type": "user", "id": str(user.pk)}
    assert entry["target"] == {"type": "data_subject", "id": subject_hash_of(raw_id(7))}
    assert entry["data"] == {"via": "page", "events": 1, "requests": 0, "dataset_versions": 0}
    assert empty == []  # refused as bad input: nothing was looked up
    _no_raw_ids_anywhere()


def test_the_search_of_a_model_name_adds_no_entry_and_a_subject_found_adds_one(
    officer: tuple[Client, Any], make_user: Any
) -> None:
    client, user = officer
    catalog.model_create(actor=Actor.for_user(user), name="churn")
    _request(user)

    by_link = _entries_of(lambda: client.get("/search/?q=churn"))
    by_form = _entries_of(lambda: client.post("/search/", {"q": "churn"}))
    unknown = _entries_of(lambda: client.post("/search/", {"q": raw_id(99)}))
    found = _entries_of(lambda: client.post("/search/", {"q": raw_id(7)}))

    assert by_link == [] and by_form == [] and unknown == []
    entry = _only(found, "subject.lookup")
    assert entry["actor"] == {"type": "user", "id": str(user.pk)}
    assert entry["target"] == {"type": "data_subject", "id": subject_hash_of(raw_id(7))}
    assert entry["data"] == {"via": "search", "requests": 1, "dataset_versions": 0, "consent_events": 0}
    scientist, _ = _client(make_user, "dana", "data_scientist")
    assert _entries_of(lambda: scientist.post("/search/", {"q": raw_id(7)})) == []  # no subject search
    _no_raw_ids_anywhere()


def test_a_privacy_requests_detail_is_one_read_through_the_api_the_page_and_the_answer(
    officer: tuple[Client, Any], auditor: tuple[Client, Any], token_client: Any
) -> None:
    _, officer_user = officer
    client, user = auditor
    row = _request(officer_user)
    api, api_user = token_client("audra", "auditor")
    base = f"/privacy/requests/{row.pk}"

    reads = {
        "api": _entries_of(lambda: api.get(f"/api/v1/privacy-requests/{row.pk}")),
        "page": _entries_of(lambda: client.get(f"{base}/")),
        "response": _entries_of(lambda: client.get(f"{base}/response")),
        "response.json": _entries_of(lambda: client.get(f"{base}/response?download=json")),
        "response.html": _entries_of(lambda: client.get(f"{base}/response?download=html")),
    }

    for via, entries in reads.items():
        entry = _only(entries, "privacy_request.read")
        assert entry["target"] == {"type": "privacy_request", "id": str(row.pk)}
        assert entry["data"] == {"via": via, "subject_hash": subject_hash_of(raw_id(7))}
        expected = f"{api_user.pk}:" if via == "api" else str(user.pk)
        assert entry["actor"]["id"].startswith(expected)
    _no_raw_ids_anywhere()


def test_an_unknown_request_number_names_no_one_and_is_no_entry(
    auditor: tuple[Client, Any], token_client: Any
) -> None:
    client, _ = auditor
    api, _ = token_client("audra", "auditor")

    misses = [
        *_entries_of(lambda: api.get("/api/v1/privacy-requests/999")),
        *_entries_of(lambda: client.get("/privacy/requests/999/")),
        *_entries_of(lambda: client.get("/privacy/requests/999/response")),
    ]

    assert misses == []
    assert client.get("/privacy/requests/999/").status_code == 404


def test_the_list_page_is_one_read_naming_the_requests_it_showed_and_the_api_list_none(
    officer: tuple[Client, Any], auditor: tuple[Client, Any], token_client: Any
) -> None:
    _, officer_user = officer
    client, user = auditor
    rows = [_request(officer_user, n, ("access", "erasure")[n % 2]) for n in range(3)]
    for row in rows:  # olivia becomes their handler
        privacy_request_status_set(actor=Actor.for_user(officer_user), request=row, status="verified")
    api, _ = token_client("audra", "auditor")

    page = _entries_of(lambda: client.get("/privacy/requests/?type=access&handled_by=olivia"))
    unfiltered = _entries_of(lambda: client.get("/privacy/requests/"))
    nothing = _entries_of(lambda: client.get("/privacy/requests/?type=objection"))
    api_list = _entries_of(lambda: api.get("/api/v1/privacy-requests"))

    assert nothing == [] and api_list == []  # nothing shown; the API's summaries carry no subject hash
    entry = _only(unfiltered, "privacy_request.read")
    assert entry["data"]["ids"] == sorted(row.pk for row in rows)
    entry = _only(page, "privacy_request.read")
    assert entry["actor"] == {"type": "user", "id": str(user.pk)}
    assert entry["target"] == {"type": "privacy_request", "id": "list"}
    assert entry["data"]["via"] == "page"
    assert entry["data"]["ids"] == sorted(row.pk for row in rows if row.type == "access")
    # A free-text filter (a username here) enters the log as a keyed hash, never as typed.
    assert entry["data"]["filters"] == {
        "type": "access",
        "handled_by": "hmac:" + keyed_hash("olivia", domain="audit_filter"),
    }
    assert "olivia" not in json.dumps(entry)
    _no_raw_ids_anywhere()


def test_reads_of_registry_metadata_are_no_entries(make_user: Any, token_client: Any) -> None:
    pipeline, user = token_client("nightly", "pipeline")
    model = catalog.model_create(actor=Actor.for_user(user), name="churn")
    assert model.pk

    reads = [
        *_entries_of(lambda: pipeline.get("/api/v1/models")),
        *_entries_of(lambda: pipeline.get("/api/v1/models/churn")),
        *_entries_of(lambda: pipeline.get("/api/2.0/mlflow/registered-models/get", {"name": "churn"})),
        *_entries_of(
            lambda: pipeline.get("/api/2.0/mlflow/model-versions/get", {"name": "churn", "version": "1"})
        ),
        *_entries_of(lambda: pipeline.get("/api/v1/consent-notices")),
    ]

    assert reads == []
    assert isinstance(pipeline, APIClient)


def test_the_admin_sites_privacy_request_and_consent_event_details_are_reads(
    auditor: tuple[Client, Any], officer: tuple[Client, Any]
) -> None:
    """The admin site shows a subject's keyed hash on these detail pages: each view is one entry, as in
    the console; a list searched by a subject's hash is one too, a plain list is none."""
    client, _ = auditor
    row = _request(officer[1])
    record(Actor.for_user(officer[1]), 7, "grant")
    event = ConsentEvent.objects.get(subject_hash=row.subject_hash)

    detail = _only(
        _entries_of(lambda: client.get(f"/admin/consent/privacyrequest/{row.pk}/change/")),
        "privacy_request.read",
    )
    consent = _only(
        _entries_of(lambda: client.get(f"/admin/consent/consentevent/{event.pk}/change/")), "consent.read"
    )
    searched = _only(
        _entries_of(lambda: client.get("/admin/consent/consentevent/", {"q": row.subject_hash})),
        "consent.read",
    )

    assert (
        detail["target"] == {"type": "privacy_request", "id": str(row.pk)}
        and detail["data"]["via"] == "admin"
    )
    assert consent["target"]["id"] == row.subject_hash and consent["data"]["events"] == [event.pk]
    assert searched["data"]["subjects"] == [row.subject_hash]
    assert _entries_of(lambda: client.get("/admin/consent/consentevent/")) == []
    assert _entries_of(lambda: client.get("/admin/consent/privacyrequest/")) == []
    assert _entries_of(lambda: client.get("/admin/consent/privacyrequest/999999/change/")) == []
