"""Uploading dataset files: schema, row count and data subjects (as keyed hashes only) read in chunks."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from audit.models import AuditEntry
from governance.core.pseudonyms import keyed_hash
from registry.models import DatasetSubject, DatasetVersion
from registry.services import dataset_files
from tests.governance.test_secrets_stay_secret import _every_value_in_the_database

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def scientist(token_client: Any) -> APIClient:
    client, _ = token_client("dana", "data_scientist")
    return client


def _subject(n: int) -> str:
    return f"CUST-{n:05d}-QX"  # distinctive, so a leak is found by a plain substring search


def _customers_csv(rows: int = 1000, subjects: int = 200) -> bytes:
    lines = ["customer_id,age,spend,country"]
    lines += [
        f"{_subject(i % subjects)},{20 + i % 50},{i * 1.5},{'DE' if i % 2 else 'FR'}" for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


def _personal_dataset(client: APIClient, name: str = "customers") -> None:
    response = client.post(
        "/api/v1/datasets",
        {
            "name": name,
            "holds_personal_data": True,
            "subject_id_column": "customer_id",
            "jurisdictions": ["eu_eea"],
            "data_categories": ["user.contact", "user.financial"],
            "purposes": ["train_ai_system"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()


def _upload(client: APIClient, content: bytes, filename: str = "customers.csv", **fields: Any) -> Any:
    return client.post(
        "/api/v1/datasets/customers/versions",
        {"file": SimpleUploadedFile(filename, content), **fields},
        format="multipart",
    )


def test_a_csv_of_1000_rows_and_200_subjects_is_profiled_without_keeping_a_raw_id(
    scientist: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset_files, "CHUNK_ROWS", 128)  # several chunks, as a large file would be
    _personal_dataset(scientist)
    content = _customers_csv()

    response = _upload(scientist, content, version="2026-03")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["row_count"] == 1000 and body["subject_count"] == 200
    assert body["sha256"] == hashlib.sha256(content).hexdigest() and body["size"] == len(content)
    assert body["schema"] == [
        {"name": "customer_id", "type": "object"},
        {"name": "age", "type": "int64"},
        {"name": "spend", "type": "float64"},
        {"name": "country", "type": "object"},
    ]
    version = DatasetVersion.objects.get()
    hashes = set(
        DatasetSubject.objects.filter(dataset_version=version).values_list("subject_hash", flat=True)
    )
    assert hashes == {keyed_hash(_subject(i), domain="subject") for i in range(200)}
    stored = _every_value_in_the_database()
    leaked = [_subject(i) for i in range(200) if _subject(i) in stored]
    assert leaked == []
    entry = AuditEntry.objects.get(action="dataset_version.create")
    assert entry.target_id == "dataset:default:customers#2026-03"
    assert "CUST-" not in entry.entry


def test_a_csv_without_the_subject_id_column_is_refused_and_leaves_nothing_behind(
    scientist: APIClient, _media: Path
) -> None:
    _personal_dataset(scientist)
    content = b"client,age\nCUST-00001-QX,31\n"

    response = _upload(scientist, content)

    assert response.status_code == 400
    assert "customer_id" in response.json()["detail"] and "client" in response.json()["detail"]
    assert not DatasetVersion.objects.exists() and not DatasetSubject.objects.exists()
    assert not AuditEntry.objects.filter(action="dataset_version.create").exists()
    assert [path for path in _media.rglob("*") if path.is_file()] == []


def test_a_row_without_a_subject_id_is_refused(scientist: APIClient) -> None:
    _personal_dataset(scientist)

    response = _upload(scientist, b"customer_id,age\nCUST-00001-QX,31\n,40\n")

    assert response.status_code == 400 and "row 2" in response.json()["detail"]
    assert not DatasetVersion.objects.exists()


def test_subject_ids_keep_their_leading_zeros(scientist: APIClient) -> None:
    _personal_dataset(scientist)

    response = _upload(scientist, b"customer_id,age\n00123,31\n123,40\n")

    assert response.json()["subject_count"] == 2
    assert set(DatasetSubject.objects.values_list("subject_hash", flat=True)) == {
        keyed_hash("00123", domain="subject"),
        keyed_hash("123", domain="subject"),
    }


def test_the_same_file_uploaded_twice_is_stored_once(scientist: APIClient) -> None:
    _personal_dataset(scientist)
    content = _customers_csv(rows=50, subjects=10)

    first = _upload(scientist, content)
    second = _upload(scientist, content)

    sha = hashlib.sha256(content).hexdigest()
    assert first.json()["version"] == "1" and second.json()["version"] == "2"
    assert set(DatasetVersion.objects.values_list("storage_name", flat=True)) == {
        f"artifacts/{sha[:2]}/{sha}"
    }
    assert default_storage.listdir(f"artifacts/{sha[:2]}")[1] == [sha]
    assert DatasetSubject.objects.count() == 20


def test_a_refused_version_removes_the_file_it_stored(scientist: APIClient, _media: Path) -> None:
    _personal_dataset(scientist)
    assert _upload(scientist, b"customer_id\nA\n", version="v1").status_code == 201

    clash = _upload(scientist, b"customer_id\nB\n", version="v1")

    assert clash.status_code == 409
    assert len([path for path in _media.rglob("*") if path.is_file()]) == 1


def test_a_file_that_is_not_csv_is_refused(scientist: APIClient) -> None:
    scientist.post("/api/v1/datasets", {"name": "customers"}, format="json")

    empty = _upload(scientist, b"")
    unknown = _upload(scientist, b"x", filename="data.xlsx")

    assert empty.status_code == 400 and "CSV" in empty.json()["detail"]
    assert unknown.status_code == 400 and "xlsx" in unknown.json()["detail"]
    assert not DatasetVersion.objects.exists()


def test_a_dataset_without_personal_data_records_no_subjects(scientist: APIClient) -> None:
    scientist.post("/api/v1/datasets", {"name": "customers"}, format="json")

    response = _upload(scientist, b"sku,price\na,1\nb,2\n")

    assert response.status_code == 201
    assert response.json()["row_count"] == 2 and response.json()["subject_count"] is None
    assert not DatasetSubject.objects.exists()


def test_a_parquet_file_is_profiled_like_a_csv(scientist: APIClient) -> None:
    _personal_dataset(scientist)
    frame = pd.DataFrame({"customer_id": [_subject(i % 3) for i in range(10)], "age": range(10)})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)

    response = _upload(scientist, buffer.getvalue(), filename="customers.parquet")

    assert response.status_code == 201, response.json()
    assert response.json()["file_format"] == "parquet"
    assert response.json()["row_count"] == 10 and response.json()["subject_count"] == 3
    assert response.json()["schema"] == [
        {"name": "customer_id", "type": "object"},
        {"name": "age", "type": "int64"},
    ]


def test_a_parquet_file_without_the_subject_id_column_is_refused(scientist: APIClient) -> None:
    _personal_dataset(scientist)
    buffer = io.BytesIO()
    pd.DataFrame({"client": ["a"]}).to_parquet(buffer, index=False)

    response = _upload(scientist, buffer.getvalue(), filename="customers.parquet")

    assert response.status_code == 400 and "customer_id" in response.json()["detail"]
    assert not DatasetVersion.objects.exists()


def test_an_upload_repairs_a_stored_copy_damaged_at_rest(tmp_path: Path, settings: Any) -> None:
    from django.core.files.base import ContentFile

    from registry import storage

    settings.MEDIA_ROOT = tmp_path / "media"
    good = b"id,value\n1,2\n"
    first = storage.store_stream(ContentFile(good))
    with default_storage.open(first[2], "wb") as handle:
        handle.write(b"id,value\n1,3\n")
    again = storage.store_stream(ContentFile(good))
    assert again == first
    assert storage.stored_sha256(first[2]) == first[0]
