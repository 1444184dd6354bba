"""Reading the audit log is one audit entry per request (``audit.read``), naming the index or the range
read, never one per entry shown; the public proof endpoints and empty answers add none (issue 18)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from audit import selectors
from audit.actions import AuditAction
from audit.actors import Actor
from audit.models import AuditEntry
from audit.services import Target, audit_record
from governance.core.pseudonyms import keyed_hash
from tests.audit.factories import append_entries
from tests.consent.factories import audit_since

pytestmark = pytest.mark.django_db


def _entries_of(call: Any) -> list[dict[str, Any]]:
    before = selectors.tree_size()
    call()
    return audit_since(before)


def _only(entries: list[dict[str, Any]], action: str = "audit.read") -> dict[str, Any]:
    assert [entry["action"] for entry in entries] == [action]
    return entries[0]


def test_a_page_of_entries_through_the_api_is_one_read_naming_the_range(token_client: Any) -> None:
    client, user = token_client("audra", "auditor")
    append_entries(30)

    entry = _only(_entries_of(lambda: client.get("/api/v1/audit/entries?start=5&end=25&action=user.create")))

    assert entry["actor"]["type"] == "token" and entry["actor"]["id"].startswith(f"{user.pk}:")
    assert entry["target"] == {"type": "audit_entries", "id": "5..24"}
    assert entry["data"] == {
        "via": "api",
        "count": 20,
        "filters": {"action": "user.create", "start": "5", "end": "25", "limit": "1000"},
    }


def test_a_free_text_filter_is_recorded_as_a_keyed_hash(token_client: Any) -> None:
    client, _ = token_client("audra", "auditor")
    audit_record(
        actor=Actor.system("tests"),
        action=AuditAction.CONSENT_READ,
        target=Target.of("data_subject", "PERSON-00001-ZQ-typed-by-mistake"),
    )

    entry = _only(
        _entries_of(lambda: client.get("/api/v1/audit/entries?target_id=PERSON-00001-ZQ-typed-by-mistake"))
    )

    assert entry["data"]["filters"]["target_id"] == "hmac:" + keyed_hash(
        "PERSON-00001-ZQ-typed-by-mistake", domain="audit_filter"
    )
    assert "PERSON" not in AuditEntry.objects.get(index=selectors.tree_size() - 1).entry


def test_an_empty_page_refused_reads_and_the_public_proofs_add_no_entry(
    token_client: Any, make_user: Any
) -> None:
    auditor, _ = token_client("audra", "auditor")
    scientist, _ = token_client("dana", "data_scientist")
    append_entries(10)
    anyone = Client()

    reads = [
        *_entries_of(lambda: auditor.get("/api/v1/audit/entries?start=100000")),
        *_entries_of(lambda: auditor.get("/api/v1/audit/entries?action=release.sign")),
        *_entries_of(lambda: scientist.get("/api/v1/audit/entries")),
        *_entries_of(lambda: anyone.get("/api/v1/audit/proof/inclusion?index=3&tree_size=8")),
        *_entries_of(lambda: anyone.get("/api/v1/audit/proof/consistency?first=4&second=8")),
        *_entries_of(lambda: anyone.get("/api/v1/audit/checkpoint")),
    ]

    assert reads == []
    assert scientist.get("/api/v1/audit/entries").status_code == 403


def _page_client(make_user: Any, role: str = "auditor") -> tuple[Client, Any]:
    user = make_user(f"page-{role}", role)
    client = Client()
    client.force_login(user)
    return client, user


def test_the_audit_log_page_is_one_read_naming_the_range_it_showed(make_user: Any) -> None:
    dana = make_user("dana", "data_scientist", full_name="Dana Scientist")
    audit_record(actor=Actor.for_user(dana), action=AuditAction.MODEL_CREATE, target=Target.of("model", "m"))
    append_entries(120)
    client, user = _page_client(make_user)
    size = selectors.tree_size()

    entry = _only(_entries_of(lambda: client.get("/audit/?page=2")))
    filtered = _only(_entries_of(lambda: client.get("/audit/?actor=Dana+Scientist&action=model.create")))

    assert entry["actor"] == {"type": "user", "id": str(user.pk)}
    # Newest first, 50 a page: the second page shows the 50 before the newest 50.
    assert entry["target"] == {"type": "audit_entries", "id": f"{size - 100}..{size - 51}"}
    assert entry["data"] == {"via": "page", "count": 50, "filters": {"page": "2"}}
    assert filtered["data"]["filters"] == {
        "action": "model.create",
        "actor": "hmac:" + keyed_hash("Dana Scientist", domain="audit_filter"),
    }
    assert "Dana" not in AuditEntry.objects.get(index=selectors.tree_size() - 1).entry


def test_one_entrys_page_is_one_read_naming_its_index(make_user: Any) -> None:
    append_entries(10)
    client, user = _page_client(make_user, "compliance_officer")

    entry = _only(_entries_of(lambda: client.get("/audit/4/")))
    missing = _entries_of(lambda: client.get("/audit/99999/"))
    outsider, _ = _page_client(make_user, "data_scientist")
    refused = _entries_of(lambda: outsider.get("/audit/4/"))

    assert entry["actor"] == {"type": "user", "id": str(user.pk)}
    assert entry["target"] == {"type": "audit_entry", "id": "4"}
    assert entry["data"] == {"via": "page"}
    assert missing == []
    assert refused == []  # a 403 reads nothing
