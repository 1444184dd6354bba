"""Limits on uploaded files, enforced while they stream: a model artifact, a dataset version or a consent
import over its byte cap gets 413 naming the setting; a CSV line over MAX_CSV_LINE_BYTES or a Parquet
file decoding over its MAX_PARQUET_* limits gets 400 naming the limit. In every case nothing is stored."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from audit.models import AuditEntry
from governance.consent.models import ConsentEvent, ConsentImport
from governance.consent.rewrite import rewrite_without_subject
from governance.consent.selectors import eligibility_manifest
from governance.core.csv_guard import CsvLineGuard, CsvLineTooLong
from registry import parquet_guard
from registry.models import DatasetVersion, ModelVersion
from registry.parquet_pages import page_header
from tests.registry import model_files
from tests.security import bombs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def _stored(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()]


@pytest.fixture
def scientist(token_client: Any) -> APIClient:
    client, _ = token_client("dana", "data_scientist")
    client.post("/api/v1/models", {"name": "churn", "risk_level": "high"}, format="json")
    response = client.post(
        "/api/v1/datasets",
        {"name": "customers", "holds_personal_data": True, "subject_id_column": "customer_id"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return client


def _dataset_upload(client: APIClient, content: bytes, name: str) -> Any:
    return client.post(
        "/api/v1/datasets/customers/versions", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )


def _csv(rows: int = 50) -> bytes:
    return ("customer_id,spend\n" + "".join(f"CUST-{n:05d}-QX,{n}\n" for n in range(rows))).encode()


def test_an_artifact_over_the_cap_is_refused_413_naming_the_setting_stored_nowhere_and_audited(
    scientist: APIClient, settings: Any, _media: Path
) -> None:
    settings.MAX_ARTIFACT_UPLOAD_BYTES = 4096
    content = model_files.skops_naming("sklearn.linear_model._logistic.LogisticRegression") + b"\0" * 8192

    response = scientist.post(
        "/api/v1/models/churn/versions",
        {"artifact": SimpleUploadedFile("model.skops", content)},
        format="multipart",
    )

    assert response.status_code == 413, response.content
    assert response.json()["error"] == "payload_too_large"
    assert "MAX_ARTIFACT_UPLOAD_BYTES=4096" in response.json()["detail"]
    assert not ModelVersion.objects.exists()
    assert _stored(_media) == []
    refusals = [
        json.loads(entry)["data"]
        for entry in AuditEntry.objects.filter(action="model_artifact.refuse").values_list("entry", flat=True)
    ]
    assert len(refusals) == 1 and "MAX_ARTIFACT_UPLOAD_BYTES=4096" in refusals[0]["reason"]


def test_a_declared_content_length_over_the_cap_is_refused_before_the_body_is_read(
    scientist: APIClient, settings: Any, _media: Path
) -> None:
    settings.MAX_DATASET_UPLOAD_BYTES = 4096

    response = scientist.post(
        "/api/v1/datasets/customers/versions",
        {"file": SimpleUploadedFile("small.csv", _csv(2))},
        format="multipart",
        CONTENT_LENGTH=str(50 * 1024**3),
    )

    assert response.status_code == 413, response.content
    assert "MAX_DATASET_UPLOAD_BYTES=4096" in response.json()["detail"]
    assert not DatasetVersion.objects.exists() and _stored(_media) == []


def test_a_dataset_file_over_the_cap_is_refused_413_and_nothing_is_stored(
    scientist: APIClient, settings: Any, _media: Path
) -> None:
    settings.MAX_DATASET_UPLOAD_BYTES = 2048

    response = _dataset_upload(scientist, _csv(500), "customers.csv")

    assert response.status_code == 413, response.content
    assert response.json() == {
        "error": "payload_too_large",
        "detail": response.json()["detail"],
    }
    assert "MAX_DATASET_UPLOAD_BYTES=2048" in response.json()["detail"]
    assert not DatasetVersion.objects.exists() and _stored(_media) == []
    # Under the cap the same kind of file is taken.
    assert _dataset_upload(scientist, _csv(20), "customers.csv").status_code == 201


def test_a_csv_line_over_the_limit_is_refused_naming_the_limit_and_the_line(
    scientist: APIClient, settings: Any, _media: Path
) -> None:
    settings.MAX_CSV_LINE_BYTES = 256
    content = _csv(3) + b"CUST-00009-QX," + b"9" * 1000 + b"\n" + _csv(3).split(b"\n", 1)[1]

    response = _dataset_upload(scientist, content, "customers.csv")

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "csv_line_too_long"
    assert "line 5" in response.json()["detail"]
    assert "MAX_CSV_LINE_BYTES=256" in response.json()["detail"]
    assert not DatasetVersion.objects.exists() and _stored(_media) == []


def test_a_parquet_file_with_more_rows_than_allowed_is_refused_from_its_metadata(
    scientist: APIClient, tmp_path: Path, _media: Path
) -> None:
    path = bombs.parquet_many_rows(tmp_path / "rows.parquet")

    response = _dataset_upload(scientist, path.read_bytes(), "rows.parquet")

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "parquet_too_large"
    assert "MAX_PARQUET_ROWS=50000000" in response.json()["detail"]
    assert not DatasetVersion.objects.exists() and _stored(_media) == []


def test_a_parquet_value_repeated_on_every_row_is_refused_before_it_is_decoded(
    scientist: APIClient, tmp_path: Path, _media: Path
) -> None:
    path = bombs.parquet_long_value(tmp_path / "long.parquet", value_bytes=1024**2, rows=200_000)

    response = _dataset_upload(scientist, path.read_bytes(), "long.parquet")

    assert response.status_code == 400, response.content
    assert "MAX_PARQUET_ROW_GROUP_BYTES=" in response.json()["detail"]
    assert not DatasetVersion.objects.exists() and _stored(_media) == []


def _parquet(rows: int, *, groups: int = 1) -> bytes:
    table = pa.table(
        {
            "customer_id": [f"CUST-{n:05d}-QX" for n in range(rows)],
            "spend": np.arange(rows, dtype=np.float64),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=max(1, rows // groups))
    return sink.getvalue()


def test_a_parquet_file_decoding_over_the_per_file_limit_is_refused(
    scientist: APIClient, settings: Any, _media: Path
) -> None:
    settings.MAX_PARQUET_DECODED_BYTES = 64 * 1024
    settings.MAX_PARQUET_ROW_GROUP_BYTES = 1024**2

    response = _dataset_upload(scientist, _parquet(20_000, groups=10), "many.parquet")

    assert response.status_code == 400, response.content
    assert "MAX_PARQUET_DECODED_BYTES=65536" in response.json()["detail"]
    assert not DatasetVersion.objects.exists() and _stored(_media) == []
    assert _dataset_upload(scientist, _parquet(100), "few.parquet").status_code == 201


def test_a_consent_import_over_the_cap_is_refused_413_and_imports_nothing(
    token_client: Any, settings: Any
) -> None:
    client, _ = token_client("robot", "pipeline")
    settings.MAX_CONSENT_IMPORT_BYTES = 1024
    body = b"subject_id,purpose,event,jurisdiction,occurred_at\n" + (
        b"CUST-00001-QX,train_ai_system,grant,eu_eea,2024-01-01T00:00:00+00:00\n" * 100
    )
    before = AuditEntry.objects.count()

    as_body = client.post("/api/v1/consent/import", data=body, content_type="text/csv")
    as_file = client.post(
        "/api/v1/consent/import", {"file": SimpleUploadedFile("events.csv", body)}, format="multipart"
    )

    for response in (as_body, as_file):
        assert response.status_code == 413, response.content
        assert "MAX_CONSENT_IMPORT_BYTES=1024" in response.json()["detail"]
    assert not ConsentImport.objects.exists() and not ConsentEvent.objects.exists()
    assert AuditEntry.objects.count() == before


def test_a_consent_import_line_over_the_limit_is_refused_naming_the_line(
    token_client: Any, settings: Any
) -> None:
    client, _ = token_client("robot", "pipeline")
    settings.MAX_CSV_LINE_BYTES = 128
    body = (
        b"subject_id,purpose,event,jurisdiction,occurred_at,source\n"
        + b"CUST-00001-QX,train_ai_system,grant,eu_eea,2024-01-01T00:00:00+00:00,x\n"
        + b"CUST-00002-QX,train_ai_system,grant,eu_eea,2024-01-01T00:00:00+00:00,"
        + b"s" * 500
        + b"\n"
    )

    response = client.post("/api/v1/consent/import", data=body, content_type="text/csv")

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "csv_line_too_long"
    assert "line 3" in response.json()["detail"] and "MAX_CSV_LINE_BYTES=128" in response.json()["detail"]
    assert not ConsentImport.objects.exists() and not ConsentEvent.objects.exists()


def test_the_training_filter_and_the_erasure_rewrite_read_through_the_same_limits(
    scientist: APIClient, settings: Any, tmp_path: Path
) -> None:
    assert _dataset_upload(scientist, _parquet(1000), "customers.parquet").status_code == 201
    version = DatasetVersion.objects.get()
    settings.MAX_PARQUET_ROWS = 10  # lowered after the upload: a stored file is held to it too

    with pytest.raises(parquet_guard.ParquetTooLarge, match="MAX_PARQUET_ROWS=10") as refused:
        eligibility_manifest(dataset_version=version, purpose="train_ai_system")
    assert refused.value.status == 400
    with pytest.raises(parquet_guard.ParquetTooLarge, match="MAX_PARQUET_ROWS=10"):
        rewrite_without_subject(
            io.BytesIO(_parquet(1000)),
            tmp_path / "out.parquet",
            fmt="parquet",
            column="customer_id",
            subject_hash="0" * 64,
        )
    settings.MAX_CSV_LINE_BYTES = 64
    with pytest.raises(CsvLineTooLong, match="line 2"):
        rewrite_without_subject(
            io.BytesIO(b"customer_id,note\nCUST-1," + b"n" * 100 + b"\n"),
            tmp_path / "out.csv",
            fmt="csv",
            column="customer_id",
            subject_hash="0" * 64,
        )


@pytest.mark.parametrize("chunk", [1, 7, 64 * 1024])
def test_a_quoted_value_spanning_lines_counts_as_one_line_whatever_the_read_size(chunk: int) -> None:
    content = b'id,note\n1,"' + b"a\n" * 40 + b'"\n2,short\n3,' + b"b" * 30 + b"\n"
    guard = CsvLineGuard(io.BytesIO(content), limit=50)
    with pytest.raises(CsvLineTooLong, match="line 2 is longer than MAX_CSV_LINE_BYTES=50"):
        while guard.read(chunk):
            pass
    fine = CsvLineGuard(io.BytesIO(content), limit=100)
    assert b"".join(iter(lambda: fine.read(chunk), b"")) == content
    with pytest.raises(CsvLineTooLong, match="line 45 is longer"):
        guard = CsvLineGuard(io.BytesIO(content + b"4," + b"c" * 200 + b"\n"), limit=100)
        while guard.read(chunk):
            pass


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def test_a_page_header_claiming_more_than_the_footer_says_is_what_counts(settings: Any) -> None:
    sink = io.BytesIO()
    pq.write_table(
        pa.table({"n": np.arange(100_000, dtype=np.int64)}), sink, compression="none", use_dictionary=False
    )
    data = bytearray(sink.getvalue())
    column = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(0).column(0)
    settings.MAX_PARQUET_ROW_GROUP_BYTES = 900_000
    assert parquet_guard.parquet_open(io.BytesIO(bytes(data)))  # 800,000 bytes of values: within it
    # The page header's uncompressed_page_size (field 2, after field 1 the page type) rewritten in place
    # to claim 1,048,575 bytes; the footer still says about 800,000.
    at = column.data_page_offset
    honest = _varint(page_header(bytes(data[at : at + 1024]))[1] * 2)  # zigzag: 2n for n >= 0
    assert data[at : at + 2] == b"\x15\x00" and data[at + 2] == 0x15
    assert bytes(data[at + 3 : at + 3 + len(honest)]) == honest
    data[at + 3 : at + 3 + len(honest)] = _varint(1_048_575 * 2)

    with pytest.raises(parquet_guard.ParquetTooLarge, match="MAX_PARQUET_ROW_GROUP_BYTES=900000"):
        parquet_guard.parquet_open(io.BytesIO(bytes(data)))
