"""Nothing a lineage edge or an approval points to is deleted: it is archived, and that is audited."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEntry
from registry.models import Dataset, ModelVersion
from registry.signing import versions_signature_files
from tests.approvals.factories import model_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def scientist(token_client):
    client, _ = token_client("dana", "data_scientist")
    assert client.post("/api/v1/models", {"name": "churn"}, format="json").status_code == 201
    version = {"artifact_uri": "s3://bucket/churn.pkl", "artifact_sha256": "c" * 64, "artifact_size": 10}
    assert client.post("/api/v1/models/churn/versions", version, format="json").status_code == 201
    assert client.post("/api/v1/datasets", {"name": "customers"}, format="json").status_code == 201
    return client


def test_a_model_version_is_archived_once_and_stays(scientist) -> None:
    first = scientist.post("/api/v1/models/churn/versions/1/archive")
    again = scientist.post("/api/v1/models/churn/versions/1/archive")

    assert first.status_code == 200
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    assert ModelVersion.objects.get(version=1).archived_at is not None
    assert AuditEntry.objects.filter(action="model_version.archive").count() == 1


def test_an_archived_dataset_takes_no_new_version(scientist) -> None:
    archived = scientist.post("/api/v1/datasets/customers/archive")
    refused = scientist.post(
        "/api/v1/datasets/customers/versions",
        {"version": "v1", "uri": "s3://b/c.csv", "sha256": "d" * 64},
        format="json",
    )

    assert archived.status_code == 200 and Dataset.objects.get(name="customers").archived_at is not None
    assert refused.status_code == 409 and "archived" in refused.json()["detail"]
    assert AuditEntry.objects.filter(action="dataset.archive").count() == 1


@pytest.mark.parametrize("role", ["auditor", "compliance_officer", "admin"])
def test_readers_and_admins_may_not_archive(role: str, scientist, token_client) -> None:
    client, _ = token_client(f"r-{role}", role)

    assert client.post("/api/v1/models/churn/versions/1/archive").status_code == 403
    assert client.post("/api/v1/datasets/customers/archive").status_code == 403
    assert ModelVersion.objects.get(version=1).archived_at is None


@pytest.mark.django_db
def test_a_signed_version_whose_files_are_missing_is_left_out_of_the_zip_not_a_failed_export(
    make_user: Any,
) -> None:
    version = model_version(
        make_user("rita", "data_scientist")
    )  # names a signature bundle that storage does not hold, and no provenance
    assert version.signature_storage_name and not version.provenance_storage_name
    assert versions_signature_files([version]) == {}
