"""Records of processing activities (GDPR Art. 30), generated from the registry."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from audit.actors import Actor
from tests.consent.factories import customers_csv, personal_dataset, record, trained_and_deployed, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def test_each_purpose_has_its_record_with_datasets_models_recipients_and_transfers(
    token_client: Any, make_user: Any
) -> None:
    auditor, _ = token_client("aude", "auditor")
    actor = Actor.for_user(make_user("dana", "data_scientist"))
    version = upload(
        actor,
        personal_dataset(actor, categories=["user.financial", "user.health_and_medical"]),
        customers_csv(range(3)),
    )
    trained_and_deployed(actor, version)
    record(actor, 1, "grant")

    response = auditor.get("/api/v1/records-of-processing")

    assert response.status_code == 200
    [activity] = response.json()["records"]
    assert activity["purpose"] == "train_ai_system"
    assert activity["datasets"] == ["dataset:default:customers"]
    assert activity["special_categories"] == ["user.health_and_medical"]
    assert activity["jurisdictions"] == ["california", "eu_eea"]
    assert activity["transfers"] == ["california"]
    assert activity["lawful_bases"] == {"consent": 1}
    assert activity["models"] == ["model:churn#1"]
    assert activity["recipients"] == activity["deployments"] == ["deployment:production:churn"]
    assert activity["retention"] == ["not recorded"] and activity["security_measures"]


def test_the_records_come_as_csv_for_a_spreadsheet(token_client: Any, make_user: Any) -> None:
    officer, _ = token_client("olivia", "compliance_officer")
    personal_dataset(Actor.for_user(make_user("dana", "data_scientist")))

    response = officer.get("/api/v1/records-of-processing", {"format": "csv"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["purpose"] for row in rows] == ["train_ai_system"]
    assert rows[0]["jurisdictions"] == "california; eu_eea"
