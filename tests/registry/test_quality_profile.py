"""The data quality profile of a dataset version (issue 20): computed from the file in the upload's one
streamed pass, stored with its hash in the same transaction as the version, shown read-only, and never a
window onto personal data."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from audit.jcs import canonical_json
from audit.models import AuditEntry
from registry import quality_columns
from registry.models import Dataset, DatasetVersion
from registry.models_quality import QualityProfile
from registry.quality import ProfileSpec, hidden_columns, profile_chunks
from registry.quality_schema import declared_schema_check
from registry.services import dataset_files

pytestmark = pytest.mark.django_db

COLUMN_KEYS = {
    "name",
    "type",
    "dtype",
    "missing",
    "missing_fraction",
    "distinct",
    "distinct_exact",
    "min",
    "max",
    "quantiles",
    "top",
    "top_exact",
    "withheld",
    "outside_schema",
    "outside_schema_rules",
}
SCHEMA = [
    {"name": "age", "type": "integer", "nullable": False, "min": 18, "max": 99},
    {"name": "plan", "type": "string", "allowed": ["basic", "plus"]},
    {"name": "joined", "type": "datetime"},
]


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def scientist(token_client: Any) -> APIClient:
    client, _ = token_client("dana", "data_scientist")
    return client


def _subject(n: int) -> str:
    return f"CUST-{n:05d}-QX"  # distinctive, so a leak is found by a plain substring search


def _csv(rows: int = 300) -> bytes:
    """Customers: 10 rows reuse an id, 3 rows are exact copies of row 0, every 10th age is missing (33
    with the copies), 28 ages below 18, 100 plans outside the declared list, 9 dates that are not (6 and
    the copies), an email per customer, sex as a protected attribute."""
    lines = ["customer_id,email,age,income,plan,sex,joined,label"]
    for n in range(rows):
        subject = n if n < rows - 10 else n - (rows - 10)
        age = "" if n % 10 == 0 else str(10 + n % 80)
        plan = ["basic", "plus", "gold"][n % 3]
        lines.append(
            f"{_subject(subject)},person{subject}@mail.example,{age},{1000 + n},{plan},"
            f"{'F' if n % 2 else 'M'},{f'2024-01-{1 + n % 28:02d}' if n % 50 else 'soon'},{n % 3 == 0}"
        )
    lines += [lines[1]] * 3
    return ("\n".join(lines) + "\n").encode()


def _dataset(client: APIClient, **fields: Any) -> Any:
    return client.post(
        "/api/v1/datasets",
        {
            "name": "customers",
            "holds_personal_data": True,
            "subject_id_column": "customer_id",
            "data_categories": ["user.financial"],
            "purposes": ["train_ai_system"],
            "target_column": "label",
            "declared_schema": SCHEMA,
            "protected_attributes": [
                {"column": "sex", "data_categories": ["user.demographic.gender"], "proxy": False}
            ],
            **fields,
        },
        format="json",
    )


def _upload(client: APIClient, content: bytes, **fields: Any) -> Any:
    return client.post(
        "/api/v1/datasets/customers/versions",
        {"file": SimpleUploadedFile("customers.csv", content), **fields},
        format="multipart",
    )


def _declare_email(client: APIClient) -> None:
    response = client.put(
        "/api/v1/datasets/customers/columns", {"columns": {"email": ["user.contact.email"]}}, format="json"
    )
    assert response.status_code == 200, response.json()


def _column(profile: dict[str, Any], name: str) -> dict[str, Any]:
    return next(column for column in profile["columns"] if column["name"] == name)


def test_an_upload_stores_the_profile_with_its_hash_in_the_versions_audit_entry(
    scientist: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dataset_files, "CHUNK_ROWS", 64)  # several chunks, as a large file would be
    assert _dataset(scientist).status_code == 201
    _declare_email(scientist)

    response = _upload(scientist, _csv(), version="2026-05")

    assert response.status_code == 201, response.json()
    stored = response.json()["quality_profile"]
    profile = stored["profile"]
    assert stored["sha256"] == hashlib.sha256(canonical_json(profile)).hexdigest()
    assert QualityProfile.objects.get().sha256 == stored["sha256"]
    assert set(profile) == {
        "format",
        "rows",
        "columns",
        "duplicate_rows",
        "duplicate_subjects",
        "target",
        "declared_schema",
        "missing_declared_columns",
    }
    assert profile["format"] == "quality-profile/1"
    assert profile["rows"] == 303
    assert all(set(column) == COLUMN_KEYS for column in profile["columns"])
    assert profile["duplicate_rows"] == 3
    assert profile["duplicate_subjects"] == 13  # 10 reused ids and the 3 copied rows
    age = _column(profile, "age")
    assert age["type"] == "number" and age["missing"] == 33  # every 10th row, and the 3 copies of row 0
    assert age["missing_fraction"] == round(33 / 303, 6)
    assert age["min"] == 11 and age["max"] == 89
    assert set(age["quantiles"]) == {"p01", "p25", "p50", "p75", "p99"}
    assert profile["target"]["column"] == "label"
    assert [(one["value"], one["count"]) for one in profile["target"]["classes"]] == [
        (False, 200),
        (True, 103),
    ]
    entry = json.loads(AuditEntry.objects.get(action="dataset_version.create").entry)
    assert entry["data"]["quality_profile_sha256"] == stored["sha256"]
    again = scientist.get("/api/v1/datasets/customers/versions/2026-05").json()
    assert again["quality_profile"] == stored
    listed = scientist.get("/api/v1/datasets/customers/versions").json()["results"]
    assert listed[0]["quality_profile"]["sha256"] == stored["sha256"]


def test_the_profile_never_holds_a_subject_id_or_a_personal_columns_value(scientist: APIClient) -> None:
    assert _dataset(scientist).status_code == 201
    _declare_email(scientist)

    stored = _upload(scientist, _csv()).json()["quality_profile"]

    text = json.dumps(stored)
    assert "CUST-" not in text and "mail.example" not in text
    for name in ("customer_id", "email"):
        column = _column(stored["profile"], name)
        assert column["withheld"] is True and column["top"] == []
        assert column["min"] is None and column["quantiles"] is None
    sex = _column(stored["profile"], "sex")  # a protected attribute: its groups are shown
    assert sex["withheld"] is False
    assert {one["value"] for one in sex["top"]} == {"F", "M"}
    assert all(one["count"] >= 5 for column in stored["profile"]["columns"] for one in column["top"])


def test_values_outside_the_declared_schema_are_counted_per_column_and_rule(scientist: APIClient) -> None:
    assert _dataset(scientist).status_code == 201

    profile = _upload(scientist, _csv()).json()["quality_profile"]["profile"]

    age = _column(profile, "age")
    assert age["outside_schema_rules"] == {"min": 28, "nullable": 33}
    assert age["outside_schema"] == 61
    assert _column(profile, "plan")["outside_schema_rules"] == {"allowed": 100}
    assert _column(profile, "joined")["outside_schema_rules"] == {
        "type": 9
    }  # 6 "soon", and the 3 copies of row 0
    assert _column(profile, "income")["outside_schema"] == 0  # not declared
    assert profile["declared_schema"] == declared_schema_check(SCHEMA)
    assert profile["missing_declared_columns"] == []


def test_a_version_registered_without_its_file_has_no_profile(scientist: APIClient) -> None:
    assert _dataset(scientist).status_code == 201

    response = scientist.post(
        "/api/v1/datasets/customers/versions",
        {"version": "ref", "uri": "s3://bucket/customers.csv", "sha256": "a" * 64},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["quality_profile"] is None
    assert not QualityProfile.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"declared_schema": [{"name": "age", "type": "float"}]}, "declared_schema[0].type: 'float' unknown"),
        ({"declared_schema": [{"name": "age", "min": "low"}]}, "declared_schema[0].min: a finite number"),
        ({"declared_schema": [{"name": "age", "max": 2**60}]}, "declared_schema[0].max: a finite number"),
        (
            {"declared_schema": [{"name": "a"}, {"name": "a"}]},
            "declared_schema[1].name: 'a' is declared twice",
        ),
        ({"declared_schema": [{"name": "age", "colour": 1}]}, "declared_schema[0]: colour unknown"),
        ({"declared_schema": {"age": "integer"}}, "declared_schema"),
        (
            {"protected_attributes": [{"column": "sex", "data_categories": ["User.Gender"]}]},
            "protected_attributes[0].data_categories: 'User.Gender' is not a fideslang key",
        ),
        (
            {"protected_attributes": [{"column": "sex", "data_categories": []}]},
            "protected_attributes[0].data_categories: a list of at least one fideslang key",
        ),
        ({"protected_attributes": [{"column": "sex", "data_categories": ["user"], "proxy": "no"}]}, "proxy"),
        ({"target_column": "t" * 201}, "target_column"),
    ],
)
def test_bad_declarations_are_a_400_naming_the_field_and_store_nothing(
    scientist: APIClient, fields: dict[str, Any], message: str
) -> None:
    response = _dataset(scientist, **fields)

    assert response.status_code == 400
    assert message in json.dumps(response.json())
    assert not Dataset.objects.exists()
    assert not AuditEntry.objects.filter(action="dataset.create").exists()


def test_the_declarations_change_by_patch_for_updaters_only(scientist: APIClient, token_client: Any) -> None:
    assert _dataset(scientist, declared_schema=[], target_column="").status_code == 201
    auditor, _ = token_client("audrey", "auditor")
    officer, _ = token_client("olivia", "compliance_officer")
    body = {"target_column": "label", "declared_schema": [{"name": "age", "type": "integer", "min": 18}]}

    refused = auditor.patch("/api/v1/datasets/customers", body, format="json")
    bad = officer.patch("/api/v1/datasets/customers", {"declared_schema": [{"name": ""}]}, format="json")
    changed = officer.patch("/api/v1/datasets/customers", body, format="json")

    assert refused.status_code == 403
    assert bad.status_code == 400 and "declared_schema[0].name" in bad.json()["detail"]
    assert changed.status_code == 200, changed.json()
    assert changed.json()["target_column"] == "label"
    assert changed.json()["declared_schema"][0]["min"] == 18
    entries = [json.loads(one.entry) for one in AuditEntry.objects.filter(action="dataset.update")]
    assert len(entries) == 1 and entries[0]["data"]["declarations"]["target_column"] == "label"
    assert auditor.get("/api/v1/datasets/customers").json()["target_column"] == "label"
    profile = _upload(scientist, _csv()).json()["quality_profile"]["profile"]
    assert _column(profile, "age")["outside_schema_rules"] == {"min": 28}


def test_a_bad_file_stores_neither_version_nor_profile(scientist: APIClient) -> None:
    assert _dataset(scientist).status_code == 201

    response = _upload(scientist, b"email,age\nx@y,3\n")

    assert response.status_code == 400
    assert not DatasetVersion.objects.exists() and not QualityProfile.objects.exists()


# --- The accumulator: bounds, floats, estimates ---------------------------------------------------------


def test_distinct_counts_are_exact_up_to_the_cap_then_an_estimate_flagged_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(quality_columns, "DISTINCT_CAP", 256)
    frame = pd.DataFrame({"few": np.arange(20_000) % 100, "many": np.arange(20_000) * 7})
    chunks = [frame.iloc[start : start + 1_000] for start in range(0, 20_000, 1_000)]

    profile = profile_chunks(chunks, ProfileSpec())

    few, many = profile["columns"]
    assert (few["distinct"], few["distinct_exact"]) == (100, True)
    assert many["distinct_exact"] is False
    assert 0.8 * 20_000 < many["distinct"] < 1.2 * 20_000


def test_floats_are_finite_json_numbers_and_top_values_need_5_rows() -> None:
    frame = pd.DataFrame(
        {
            "x": [1.5, np.inf, -np.inf, np.nan, 2.5, 1e300],
            "city": ["Oslo"] * 5 + ["Bergen"],
        }
    )

    profile = profile_chunks([frame], ProfileSpec())

    text = canonical_json(profile).decode()
    assert "NaN" not in text and "Infinity" not in text
    x = _column(profile, "x")
    assert all(value is None or math.isfinite(value) for value in x["quantiles"].values())
    assert x["max"] is None or math.isfinite(x["max"])
    assert _column(profile, "city")["top"] == [{"value": "Oslo", "count": 5}]


def test_only_protected_attributes_without_identifying_categories_are_shown() -> None:
    hidden = hidden_columns(
        subject_id_column="id",
        column_categories={"email": ["user.contact.email"], "zip": ["user.location"], "notes": ["system"]},
        protected_attributes=[
            {"column": "sex", "data_categories": ["user.demographic.gender"]},
            {"column": "phone_area", "data_categories": ["user.contact.phone_number"], "proxy": True},
        ],
    )

    assert hidden == frozenset({"id", "email", "zip", "phone_area"})


def test_a_stored_declaration_that_no_longer_checks_out_refuses_the_upload_and_says_how_to_fix_it(
    scientist: APIClient,
) -> None:
    assert _dataset(scientist).status_code == 201
    Dataset.objects.update(declared_schema=[{"name": "age", "type": "decimal"}])  # written past the API

    response = _upload(scientist, _csv())

    assert response.status_code == 400
    assert "declared_schema[0].type: 'decimal' unknown" in response.json()["detail"]
    assert "PATCH /api/v1/datasets/customers" in response.json()["detail"]
    assert not DatasetVersion.objects.exists() and not QualityProfile.objects.exists()
