"""A data subject's raw id appears nowhere: not in any table, not in the logs, not in the audit log,
not in an error message or a page (acceptance 4 of the consent issue)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.actors import Actor
from audit.models import AuditEntry
from governance.consent.selectors import eligible_rows
from registry.models import DatasetVersion
from tests.consent.factories import customers_csv, personal_dataset, raw_id, trained_and_deployed, upload
from tests.governance.test_secrets_stay_secret import _every_value_in_the_database

pytestmark = pytest.mark.django_db

PEOPLE = range(12)


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def test_raw_subject_ids_are_not_stored_logged_audited_or_echoed(
    token_client: Any, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    scientist_client, scientist = token_client("dana", "data_scientist")
    pipeline, _ = token_client("robot", "pipeline")
    officer, _ = token_client("olivia", "compliance_officer")
    actor = Actor.for_user(scientist)
    version = upload(actor, personal_dataset(actor), customers_csv(PEOPLE, rows_each=2))
    trained_and_deployed(actor, version)
    echoed: list[str] = []

    def keep(response: Any) -> Any:
        echoed.append(response.content.decode())
        return response

    earlier = (timezone.now() - timedelta(days=1)).isoformat()
    good = "\n".join(f"{raw_id(n)},train_ai_system,grant,consent,california,{earlier}" for n in PEOPLE)
    header = "subject_id,purpose,event,lawful_basis,jurisdiction,occurred_at\n"
    keep(pipeline.post("/api/v1/consent/import", data=header + good + "\n", content_type="text/csv"))
    bad = f"{raw_id(0)},train_ai_system,maybe,consent,california,{earlier}\n{raw_id(1)},,grant,,x,never\n"
    assert (
        keep(pipeline.post("/api/v1/consent/import", data=header + bad, content_type="text/csv")).status_code
        == 400
    )
    gpc = {"subject_id": raw_id(2), "purpose": "train_ai_system", "jurisdiction": "california"}
    keep(pipeline.post("/api/v1/consent", gpc, format="json", HTTP_SEC_GPC="1"))
    withdraw = {
        "subject_id": raw_id(3),
        "purpose": "train_ai_system",
        "event": "withdraw",
        "jurisdiction": "eu_eea",
    }
    keep(officer.post("/api/v1/consent", withdraw, format="json"))
    assert (
        keep(officer.post("/api/v1/consent", {**withdraw, "event": "sell"}, format="json")).status_code == 400
    )
    assert keep(officer.get(f"/api/v1/consent/{raw_id(3)}", {"as_of": "not a time"})).status_code == 400
    assert keep(scientist_client.get(f"/api/v1/consent/{raw_id(3)}")).status_code == 403
    assert keep(pipeline.get(f"/api/v1/consent/{raw_id(3)}")).status_code == 200
    created = keep(
        officer.post(
            "/api/v1/privacy-requests",
            {"subject_id": raw_id(5), "type": "erasure", "jurisdiction": "eu_eea"},
            format="json",
        )
    )
    request_id = created.json()["request"]["id"]
    keep(officer.post(f"/api/v1/privacy-requests/{request_id}/status", {"status": "verified"}, format="json"))
    keep(officer.post(f"/api/v1/privacy-requests/{request_id}/erase-rows"))
    exemption = {"model": "churn", "version": 1, "ground": "legal_claims", "reason": "litigation hold"}
    keep(officer.post(f"/api/v1/privacy-requests/{request_id}/exemptions", exemption, format="json"))
    keep(officer.get(f"/api/v1/privacy-requests/{request_id}"))
    keep(
        scientist_client.get(
            "/api/v1/datasets/customers/versions/v1/eligibility", {"purpose": "train_ai_system"}
        )
    )
    keep(officer.get("/api/v1/records-of-processing", {"format": "csv"}))
    erased = DatasetVersion.objects.get(version=f"v1-erasure-{request_id}")
    rows, _ = eligible_rows(dataset_version=erased, purpose="train_ai_system")
    browser = Client()
    browser.force_login(make_user("otto", "compliance_officer"))
    page = keep(browser.post("/privacy/subject/", {"subject_id": raw_id(3)}))
    assert page.status_code == 200 and "withdraw" in page.content.decode()

    stored = _every_value_in_the_database()
    logged = caplog.text + "\n".join(str(vars(record)) for record in caplog.records)
    audited = "\n".join(AuditEntry.objects.values_list("entry", flat=True))
    returned = "\n".join(echoed)
    framed = rows.to_csv()
    for n in PEOPLE:
        needle = raw_id(n)
        assert needle not in stored, n
        assert needle not in logged, n
        assert needle not in audited, n
        assert needle not in returned, n
        assert needle not in framed, n
    assert "<subject_id>" in caplog.text  # the errors were logged, with the id redacted
