"""Recording consent events one by one and reading a subject's state, now and at any past moment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from governance.consent.models import ConsentEvent, LedgerAppendOnly
from governance.consent.subjects import subject_hash_of
from tests.consent.factories import audit_since, raw_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline(token_client: Any) -> APIClient:
    client, _ = token_client("robot", "pipeline")
    return client


def _event(n: int = 1, **fields: Any) -> dict[str, Any]:
    return {"subject_id": raw_id(n), "purpose": "train_ai_system", "jurisdiction": "eu_eea", **fields}


def test_a_withdrawal_takes_the_same_call_and_role_as_the_grant(pipeline: APIClient) -> None:
    granted = pipeline.post("/api/v1/consent", _event(event="grant"), format="json")
    withdrawn = pipeline.post("/api/v1/consent", _event(event="withdraw"), format="json")

    assert (granted.status_code, withdrawn.status_code) == (201, 201)
    assert granted.json()["lawful_basis"] == "consent"  # a grant without a basis is consent
    state = pipeline.get(f"/api/v1/consent/{raw_id(1)}").json()
    assert [(row["purpose"], row["status"]) for row in state["purposes"]] == [
        ("train_ai_system", "withdrawn")
    ]
    assert state["subject_hash"] == subject_hash_of(raw_id(1))


def test_each_event_is_one_audit_entry_naming_the_subject_by_keyed_hash_only(pipeline: APIClient) -> None:
    before = AuditEntry.objects.count()

    pipeline.post(
        "/api/v1/consent", _event(event="object", lawful_basis="legitimate_interests"), format="json"
    )

    [entry] = audit_since(before)
    assert entry["action"] == "consent.record"
    assert entry["target"] == {"type": "data_subject", "id": subject_hash_of(raw_id(1))}
    assert entry["data"]["kind"] == "object" and entry["data"]["lawful_basis"] == "legitimate_interests"


def test_the_gpc_header_records_an_opt_out_of_sale_and_sharing_whatever_the_body_says(
    pipeline: APIClient,
) -> None:
    body = {"subject_id": raw_id(2), "jurisdiction": "california", "event": "grant"}

    response = pipeline.post("/api/v1/consent", body, format="json", HTTP_SEC_GPC="1")

    assert response.status_code == 201
    assert (response.json()["event"], response.json()["method"], response.json()["purpose"]) == (
        "opt_out",
        "gpc",
        "third_party_sharing",
    )


def test_as_of_answers_from_the_ledger_on_both_sides_of_a_change(pipeline: APIClient) -> None:
    now = timezone.now()
    pipeline.post(
        "/api/v1/consent",
        _event(event="grant", occurred_at=(now - timedelta(days=3)).isoformat()),
        format="json",
    )
    pipeline.post(
        "/api/v1/consent",
        _event(event="opt_out", occurred_at=(now - timedelta(days=1)).isoformat()),
        format="json",
    )

    def status_at(days_ago: float) -> list[tuple[str, str | None]]:
        at = (now - timedelta(days=days_ago)).isoformat()
        rows = pipeline.get(f"/api/v1/consent/{raw_id(1)}", {"as_of": at}).json()["purposes"]
        return [(row["purpose"], row["status"]) for row in rows]

    assert status_at(4) == []
    assert status_at(2) == [("train_ai_system", "granted")]
    assert status_at(0) == [("train_ai_system", "opted_out")]


def test_a_choice_for_a_purpose_covers_its_fideslang_children(pipeline: APIClient) -> None:
    pipeline.post("/api/v1/consent", _event(event="grant", purpose="personalize.profiling"), format="json")
    pipeline.post("/api/v1/consent", _event(event="withdraw", purpose="personalize"), format="json")

    answer = pipeline.get(f"/api/v1/consent/{raw_id(1)}", {"purpose": "personalize.profiling"}).json()

    assert answer["usable_for_purpose"] is False
    assert [(row["purpose"], row["status"]) for row in answer["purposes"]] == [
        ("personalize.profiling", "withdrawn")
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"event": "grant", "purpose": "Train AI"}, "fideslang"),
        ({"event": "withdraw", "lawful_basis": "contract"}, "objection"),
        ({"event": "grant", "method": "gpc"}, "gpc goes with event opt_out"),
        ({"event": "grant", "occurred_at": "2999-01-01T00:00:00Z"}, "future"),
        ({"purpose": "train_ai_system"}, "event"),
        ({"event": "grant", "subject_id": "   "}, "subject_id"),
        ({"event": "grant", "notice_key": "privacy", "notice_version": 3}, "no notice privacy@3"),
    ],
)
def test_a_bad_event_is_refused_with_what_to_fix(
    pipeline: APIClient, fields: dict[str, Any], message: str
) -> None:
    response = pipeline.post("/api/v1/consent", _event(**fields), format="json")

    assert response.status_code == 400, response.json()
    assert message in response.json()["detail"]
    assert ConsentEvent.objects.count() == 0


def test_auditors_read_consent_but_cannot_record_it(token_client: Any, pipeline: APIClient) -> None:
    auditor, _ = token_client("aude", "auditor")
    pipeline.post("/api/v1/consent", _event(event="grant"), format="json")

    assert auditor.get(f"/api/v1/consent/{raw_id(1)}").status_code == 200
    assert auditor.post("/api/v1/consent", _event(event="withdraw"), format="json").status_code == 403


def test_a_notice_version_is_published_with_its_hash_and_named_by_events(
    token_client: Any, pipeline: APIClient
) -> None:
    officer, _ = token_client("olivia", "compliance_officer")
    first = officer.post(
        "/api/v1/consent-notices", {"key": "privacy", "text": "We train models."}, format="json"
    )
    second = officer.post(
        "/api/v1/consent-notices", {"key": "privacy", "text": "We train models v2."}, format="json"
    )

    recorded = pipeline.post(
        "/api/v1/consent", _event(event="grant", notice_key="privacy", notice_version=2), format="json"
    )

    assert (first.json()["version"], second.json()["version"]) == (1, 2)
    assert len(first.json()["sha256"]) == 64 and first.json()["sha256"] != second.json()["sha256"]
    assert recorded.status_code == 201 and recorded.json()["notice"] == "privacy@2"
    assert (
        pipeline.post("/api/v1/consent-notices", {"key": "x", "text": "t"}, format="json").status_code == 403
    )
    assert [row["version"] for row in pipeline.get("/api/v1/consent-notices").json()["results"]] == [2, 1]


def test_the_ledger_refuses_updates_and_deletes_in_django_and_in_the_database(pipeline: APIClient) -> None:
    pipeline.post("/api/v1/consent", _event(event="grant"), format="json")
    event = ConsentEvent.objects.get()

    with pytest.raises(LedgerAppendOnly):
        event.save()
    with pytest.raises(LedgerAppendOnly):
        ConsentEvent.objects.filter(pk=event.pk).update(kind="withdraw")
    with pytest.raises(LedgerAppendOnly):
        ConsentEvent.objects.all().delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE consent_consentevent SET kind = 'withdraw'")
    assert ConsentEvent.objects.get().kind == "grant"
