"""The training-data filter: which rows of a dataset version may be used for a purpose, and the
manifest that says so (acceptance 1 and 3 of the consent issue)."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.actors import Actor
from governance.consent.models import ConsentEvent
from governance.consent.selectors import eligibility_manifest, eligible_rows
from governance.consent.subjects import subject_hash_of
from registry.models import DatasetVersion
from registry.services import datasets
from tests.consent.factories import customers_csv, personal_dataset, raw_id, record, upload

pytestmark = pytest.mark.django_db

PURPOSE = "train_ai_system"
WITHDREW = range(0, 20)
GPC_OPT_OUT = range(20, 25)
OPT_OUT = range(25, 30)
ERASURE = range(30, 35)
GRANTED = range(35, 200)


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def scientist(token_client: Any) -> tuple[APIClient, Actor]:
    client, user = token_client("dana", "data_scientist")
    return client, Actor.for_user(user)


def _digest(subjects: range) -> str:
    hashes = sorted(subject_hash_of(raw_id(n)) for n in subjects)
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def _grants_csv(subjects: range, at: datetime) -> bytes:
    lines = ["subject_id,purpose,event,lawful_basis,jurisdiction,occurred_at"]
    for n in subjects:
        place = "california" if n in GPC_OPT_OUT or n in OPT_OUT else "eu_eea"
        lines.append(f"{raw_id(n)},{PURPOSE},grant,consent,{place},{at.isoformat()}")
    return ("\n".join(lines) + "\n").encode()


def test_the_filter_keeps_exactly_the_subjects_who_granted_and_its_manifest_counts_every_reason(
    scientist: tuple[APIClient, Actor], token_client: Any
) -> None:
    client, actor = scientist
    pipeline, _ = token_client("robot", "pipeline")
    officer, _ = token_client("olivia", "compliance_officer")
    dataset = personal_dataset(actor)
    version = upload(actor, dataset, customers_csv(range(200), rows_each=5))
    assert version.row_count == 1000 and version.subject_count == 200
    imported = pipeline.post(
        "/api/v1/consent/import",
        data=_grants_csv(range(200), timezone.now() - timedelta(days=2)),
        content_type="text/csv",
    )
    assert imported.status_code == 201, imported.json()
    for n in WITHDREW:
        body = {"subject_id": raw_id(n), "purpose": PURPOSE, "event": "withdraw", "jurisdiction": "eu_eea"}
        assert pipeline.post("/api/v1/consent", body, format="json").status_code == 201
    for n in GPC_OPT_OUT:  # a web form posted with the browser's Global Privacy Control signal
        body = {"subject_id": raw_id(n), "purpose": PURPOSE, "jurisdiction": "california"}
        response = pipeline.post("/api/v1/consent", body, format="json", HTTP_SEC_GPC="1")
        assert response.status_code == 201 and response.json()["method"] == "gpc", response.json()
    for n in OPT_OUT:
        body = {"subject_id": raw_id(n), "purpose": PURPOSE, "event": "opt_out", "jurisdiction": "california"}
        assert pipeline.post("/api/v1/consent", body, format="json").status_code == 201
    for n in ERASURE:
        body = {"subject_id": raw_id(n), "type": "erasure", "jurisdiction": "eu_eea"}
        assert officer.post("/api/v1/privacy-requests", body, format="json").status_code == 201

    response = client.get(f"/api/v1/datasets/customers/versions/v1/eligibility?purpose={PURPOSE}")

    assert response.status_code == 200, response.json()
    manifest = response.json()
    assert manifest["dataset_version"] == "dataset:default:customers#v1"
    assert manifest["dataset_sha256"] == version.sha256
    assert (manifest["rows_total"], manifest["rows_included"]) == (1000, 825)
    assert manifest["rows_excluded_by_reason"] == {
        "no_subject_id": 0,
        "erasure": 25,
        "withdrawn": 100,
        "opted_out": 50,
        "objected": 0,
        "no_lawful_basis": 0,
        "limited_sensitive": 0,
    }
    assert (manifest["subjects_total"], manifest["subjects_included"]) == (200, 165)
    assert manifest["subjects_excluded_by_reason"]["withdrawn"] == 20
    assert manifest["subjects_excluded_by_reason"]["opted_out"] == 10
    assert manifest["subjects_excluded_by_reason"]["erasure"] == 5
    assert manifest["included_subjects_sha256"] == _digest(GRANTED)
    assert ConsentEvent.objects.filter(method="gpc", kind="opt_out").count() == 5

    rows, same = eligible_rows(dataset_version=version, purpose=PURPOSE)
    assert len(rows) == 825
    assert set(rows["customer_id"]) == {subject_hash_of(raw_id(n)) for n in GRANTED}
    assert same["included_subjects_sha256"] == manifest["included_subjects_sha256"]


def test_a_withdrawal_after_training_leaves_the_earlier_manifest_and_blocks_new_training(
    scientist: tuple[APIClient, Actor], token_client: Any
) -> None:
    _, actor = scientist
    pipeline, pipeline_user = token_client("robot", "pipeline")
    auditor, _ = token_client("aude", "auditor")
    version = upload(actor, personal_dataset(actor), customers_csv(range(10), rows_each=3))
    for n in range(10):
        record(Actor.for_user(pipeline_user), n, "grant", at=timezone.now() - timedelta(days=1))
    at_training = eligibility_manifest(dataset_version=version, purpose=PURPOSE)
    assert at_training["rows_included"] == 30

    body = {"subject_id": raw_id(3), "purpose": PURPOSE, "event": "withdraw", "jurisdiction": "eu_eea"}
    assert pipeline.post("/api/v1/consent", body, format="json").status_code == 201

    trained_at = datetime.fromisoformat(at_training["as_of"])
    assert eligibility_manifest(dataset_version=version, purpose=PURPOSE, at=trained_at) == at_training
    now = eligibility_manifest(dataset_version=version, purpose=PURPOSE)
    assert now["rows_included"] == 27 and now["rows_excluded_by_reason"]["withdrawn"] == 3
    rows, _ = eligible_rows(dataset_version=version, purpose=PURPOSE)
    assert subject_hash_of(raw_id(3)) not in set(rows["customer_id"])
    before = auditor.get(f"/api/v1/consent/{raw_id(3)}", {"as_of": at_training["as_of"]}).json()
    after = auditor.get(f"/api/v1/consent/{raw_id(3)}").json()
    assert [(row["purpose"], row["status"]) for row in before["purposes"]] == [(PURPOSE, "granted")]
    assert [(row["purpose"], row["status"]) for row in after["purposes"]] == [(PURPOSE, "withdrawn")]


def test_subjects_who_limited_sensitive_use_are_left_out_only_of_special_category_data(
    scientist: tuple[APIClient, Actor],
) -> None:
    _, actor = scientist
    plain = upload(actor, personal_dataset(actor, "plain"), customers_csv(range(4), rows_each=2))
    health = upload(
        actor,
        personal_dataset(actor, "health", categories=["user.health_and_medical"]),
        customers_csv(range(4), rows_each=2),
    )
    for n in range(4):
        record(actor, n, "grant", at=timezone.now() - timedelta(hours=2))
    record(actor, 1, "limit_sensitive", jurisdiction="california")

    plain_manifest = eligibility_manifest(dataset_version=plain, purpose=PURPOSE)
    health_manifest = eligibility_manifest(dataset_version=health, purpose=PURPOSE)

    assert plain_manifest["rows_included"] == 8
    assert health_manifest["rows_included"] == 6
    assert health_manifest["rows_excluded_by_reason"]["limited_sensitive"] == 2
    assert health_manifest["sensitive_categories"]["dataset_has_special_categories"] is True
    assert plain_manifest["sensitive_categories"]["dataset_has_special_categories"] is False


def test_subjects_without_any_recorded_basis_are_left_out_and_an_objection_counts_as_its_own_reason(
    scientist: tuple[APIClient, Actor],
) -> None:
    _, actor = scientist
    version = upload(actor, personal_dataset(actor), customers_csv(range(3), rows_each=1))
    record(actor, 0, "grant", purpose="train_ai_system")
    record(actor, 1, "grant", purpose="train_ai_system")
    record(actor, 1, "object", purpose="train_ai_system")

    manifest = eligibility_manifest(dataset_version=version, purpose=PURPOSE)

    assert manifest["rows_included"] == 1
    assert manifest["rows_excluded_by_reason"]["objected"] == 1
    assert manifest["rows_excluded_by_reason"]["no_lawful_basis"] == 1


def test_eligible_rows_reads_a_parquet_version_and_returns_the_subject_column_hashed(
    scientist: tuple[APIClient, Actor],
) -> None:
    _, actor = scientist
    frame = pd.read_csv(io.BytesIO(customers_csv(range(6), rows_each=2)), dtype={"customer_id": str})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    version = upload(actor, personal_dataset(actor), buffer.getvalue(), fmt="parquet")
    for n in range(6):
        record(actor, n, "grant" if n % 2 else "withdraw")

    rows, manifest = eligible_rows(dataset_version=version, purpose=PURPOSE)

    assert manifest["rows_included"] == 6 and list(rows.columns) == ["customer_id", "age", "spend", "label"]
    assert set(rows["customer_id"]) == {subject_hash_of(raw_id(n)) for n in (1, 3, 5)}


def test_every_row_of_a_dataset_without_personal_data_may_be_used(scientist: tuple[APIClient, Actor]) -> None:
    _, actor = scientist
    dataset = datasets.dataset_create(actor=actor, name="weather")
    version = upload(actor, dataset, b"day,temp\n1,10\n2,12\n3,9\n")

    manifest = eligibility_manifest(dataset_version=version, purpose=PURPOSE)

    assert (manifest["rows_total"], manifest["rows_included"], manifest["subjects_total"]) == (3, 3, 0)


def test_the_filter_refuses_a_version_it_cannot_read_and_a_purpose_that_is_not_a_data_use(
    scientist: tuple[APIClient, Actor],
) -> None:
    client, actor = scientist
    dataset = personal_dataset(actor)
    datasets.dataset_version_create(
        actor=actor, dataset=dataset, version="remote", uri="s3://b/x.csv", sha256="d" * 64
    )

    remote = client.get("/api/v1/datasets/customers/versions/remote/eligibility?purpose=train_ai_system")
    bad = client.get("/api/v1/datasets/customers/versions/remote/eligibility", {"purpose": "Train AI"})

    assert remote.status_code == 409 and "not stored here" in remote.json()["detail"]
    assert bad.status_code == 400
    assert DatasetVersion.objects.filter(version="remote").exists()
