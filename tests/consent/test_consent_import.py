"""Importing a consent platform's CSV: streamed, all or nothing, one audit entry per file."""

from __future__ import annotations

import hashlib
import random
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEntry
from governance.consent.eligibility import PurposeState
from governance.consent.models import ConsentEvent, ConsentImport, ConsentState
from governance.consent.selectors.ledger import consent_states
from governance.consent.services import imports, ledger
from governance.consent.services.imports import ImportRejected, consent_import
from governance.consent.subjects import subject_hash_of
from tests.consent.factories import audit_since, import_csv, raw_id, record

pytestmark = pytest.mark.django_db


def _at(hours_ago: float) -> str:
    return (timezone.now() - timedelta(hours=hours_ago)).isoformat()


def test_an_import_stores_every_event_and_writes_one_audit_entry_with_the_files_hash(
    token_client: Any,
) -> None:
    client, _ = token_client("robot", "pipeline")
    body = (
        "subject_id,purpose,event,lawful_basis,jurisdiction,occurred_at,source\n"
        f"{raw_id(1)},train_ai_system,grant,consent,eu_eea,{_at(3)},onetrust\n"
        f"{raw_id(1)},train_ai_system,withdraw,,eu_eea,{_at(2)},onetrust\n"
        f"{raw_id(2)},analytics,grant,legitimate_interests,california,{_at(1)},onetrust\n"
    ).encode()
    before = AuditEntry.objects.count()

    response = client.post("/api/v1/consent/import", data=body, content_type="text/csv")

    assert response.status_code == 201, response.json()
    assert response.json()["events"] == 3 and response.json()["subjects"] == 2
    assert response.json()["sha256"] == hashlib.sha256(body).hexdigest()
    entries = audit_since(before)
    assert [entry["action"] for entry in entries] == ["consent.import"]
    assert entries[0]["data"]["events"] == 3 and entries[0]["data"]["by_event"] == {"grant": 2, "withdraw": 1}
    assert entries[0]["data"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert ConsentEvent.objects.filter(method="import", source="onetrust").count() == 3
    assert consent_states(subject_hash=subject_hash_of(raw_id(1)))["train_ai_system"].status == "withdrawn"
    assert (
        consent_states(subject_hash=subject_hash_of(raw_id(2)))["analytics"].lawful_basis
        == "legitimate_interests"
    )


def test_a_multipart_upload_is_imported_like_a_csv_body(token_client: Any) -> None:
    client, _ = token_client("olivia", "compliance_officer")
    content = import_csv([f"{raw_id(5)},train_ai_system,grant,consent,uk,{_at(1)}"]).getvalue()

    response = client.post(
        "/api/v1/consent/import", {"file": SimpleUploadedFile("consents.csv", content)}, format="multipart"
    )

    assert response.status_code == 201, response.json()
    assert ConsentEvent.objects.get().jurisdiction == "uk"


def test_one_bad_line_stores_nothing_and_the_report_names_each_bad_line_without_its_values(
    token_client: Any,
) -> None:
    client, _ = token_client("robot", "pipeline")
    lines = [f"{raw_id(n)},train_ai_system,grant,consent,eu_eea,{_at(1)}" for n in range(30)]
    lines[4] = f"{raw_id(4)},train_ai_system,agree,consent,eu_eea,{_at(1)}"
    lines[9] = f",train_ai_system,grant,consent,eu_eea,{_at(1)}"
    lines[19] = f"{raw_id(19)},train_ai_system,grant,consent,eu_eea,yesterday"
    lines[24] = f"{raw_id(24)},train_ai_system,withdraw,contract,eu_eea,{_at(1)}"
    before = AuditEntry.objects.count()

    response = client.post(
        "/api/v1/consent/import", data=import_csv(lines).getvalue(), content_type="text/csv"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "import_rejected"
    assert [item["line"] for item in body["report"]["rejections"]] == [6, 11, 21, 26]
    assert "event must be one of" in body["report"]["rejections"][0]["reason"]
    assert "subject_id is empty" in body["report"]["rejections"][1]["reason"]
    assert "RFC 3339" in body["report"]["rejections"][2]["reason"]
    assert "objection" in body["report"]["rejections"][3]["reason"]
    assert raw_id(4) not in response.content.decode() and raw_id(19) not in response.content.decode()
    assert ConsentEvent.objects.count() == 0 and ConsentState.objects.count() == 0
    assert ConsentImport.objects.count() == 0
    assert AuditEntry.objects.count() == before


def test_a_file_without_the_required_columns_is_refused_without_quoting_its_first_line(
    token_client: Any,
) -> None:
    client, _ = token_client("robot", "pipeline")
    headerless = f"{raw_id(1)},train_ai_system,grant,consent,eu_eea,{_at(1)}\n".encode()

    response = client.post("/api/v1/consent/import", data=headerless, content_type="text/csv")

    assert response.status_code == 400
    assert "missing: subject_id" in response.json()["detail"]
    assert raw_id(1) not in response.content.decode()


def test_imported_events_in_any_order_give_the_state_folded_from_the_ledger(
    make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQL merge of stored states and the Python fold agree, however the lines are ordered and
    however they are batched (several batches, and on PostgreSQL the COPY path)."""
    monkeypatch.setattr(imports, "BATCH", 7)
    monkeypatch.setattr(ledger, "COPY_FROM_ROWS", 0)
    actor = Actor.for_user(make_user("olivia", "compliance_officer"))
    kinds = ["grant", "withdraw", "opt_out", "object", "limit_sensitive"]
    generator = random.Random(5)
    lines = [
        f"{raw_id(n % 6)},{purpose},{generator.choice(kinds)},,california,{_at(generator.randint(1, 100))}"
        for n, purpose in enumerate(["train_ai_system", "analytics"] * 40)
    ]
    record(actor, 0, "grant", at=timezone.now() - timedelta(hours=50))  # a state that exists already
    consent_import(actor=actor, stream=import_csv(lines))

    for n in range(6):
        subject = subject_hash_of(raw_id(n))
        stored = consent_states(subject_hash=subject)
        folded = consent_states(subject_hash=subject, at=timezone.now())
        assert stored == folded, n
        assert all(isinstance(state, PurposeState) for state in stored.values())


def test_an_import_refuses_an_event_in_the_future(make_user: Any) -> None:
    actor = Actor.for_user(make_user("robot", "pipeline"))
    future = (timezone.now() + timedelta(days=1)).isoformat()

    with pytest.raises(ImportRejected) as refused:
        consent_import(actor=actor, stream=import_csv([f"{raw_id(1)},analytics,grant,,eu_eea,{future}"]))

    assert refused.value.extra["report"]["rejections"] == [
        {"line": 2, "reason": "occurred_at is in the future; record a choice once it is made"}
    ]
