"""The registry catalog API: models, versions, datasets, runs and deployments; who may read and write."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from audit.models import AuditEntry
from registry.models import (
    Dataset,
    DatasetVersion,
    Deployment,
    LineageEdge,
    ModelVersion,
    RegisteredModel,
    TrainingRun,
)
from tests.registry.approved import approved_deploy
from tests.registry.model_files import malicious_pickle, onnx_bytes

pytestmark = pytest.mark.django_db

ARTIFACT = onnx_bytes()
SHA = hashlib.sha256(b"elsewhere").hexdigest()


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def scientist(token_client: Any) -> APIClient:
    client, _ = token_client("dana", "data_scientist")
    return client


@pytest.fixture
def auditor(token_client: Any) -> APIClient:
    client, _ = token_client("audrey", "auditor")
    return client


def _entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action))


def _model(client: APIClient, name: str = "churn", **fields: Any) -> dict[str, Any]:
    body = {"name": name, "risk_level": "high", "tags": {"team": "growth"}, **fields}
    response = client.post("/api/v1/models", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _upload(client: APIClient, name: str, content: bytes, **fields: Any) -> Any:
    artifact = _named_file(content, "model.onnx")
    return client.post(
        f"/api/v1/models/{name}/versions", {"artifact": artifact, **fields}, format="multipart"
    )


def _named_file(content: bytes, name: str) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


# --- Models ----------------------------------------------------------------------------------------------


def test_the_data_scientist_registers_a_model_with_tags_and_finds_it_by_tag(scientist: APIClient) -> None:
    created = _model(scientist, intended_use="Predict churn", tags={"team": "growth", "tier": "gold"})
    _model(scientist, "other", tags={"team": "search"})

    found = scientist.get("/api/v1/models", {"tag": "team:growth"}).json()
    by_two = scientist.get("/api/v1/models?tag=team:growth&tag=tier:gold").json()
    none = scientist.get("/api/v1/models", {"tag": "team:nobody"}).json()
    by_risk = scientist.get("/api/v1/models", {"risk_level": "high", "owner": "dana"}).json()

    assert created["owner"] == "dana" and created["tags"] == {"team": "growth", "tier": "gold"}
    assert [row["name"] for row in found["results"]] == ["churn"]
    assert [row["name"] for row in by_two["results"]] == ["churn"]
    assert none["results"] == []
    assert {row["name"] for row in by_risk["results"]} == {"churn", "other"}
    assert len(_entries("model.create")) == 2


def test_a_model_list_pages_with_a_cursor(scientist: APIClient) -> None:
    for n in range(5):
        _model(scientist, f"m{n}")

    first = scientist.get("/api/v1/models", {"page_size": 2}).json()
    second = APIClient.get(scientist, first["next"]).json()

    assert len(first["results"]) == 2 and len(second["results"]) == 2
    assert not {row["name"] for row in first["results"]} & {row["name"] for row in second["results"]}


def test_an_unknown_risk_level_is_refused_with_a_clear_message_and_changes_nothing(
    scientist: APIClient,
) -> None:
    _model(scientist)

    created = scientist.post("/api/v1/models", {"name": "x", "risk_level": "extreme"}, format="json")
    patched = scientist.patch("/api/v1/models/churn", {"risk_level": "extreme"}, format="json")

    for response in (created, patched):
        assert response.status_code == 400
        assert response.json()["error"] == "validation_error"
        assert "EU AI Act risk level" in response.json()["detail"]
    assert not RegisteredModel.objects.filter(name="x").exists()
    assert RegisteredModel.objects.get(name="churn").risk_level == "high"
    assert _entries("model.update") == []


def test_a_patch_changes_the_fields_sent_and_writes_one_audit_entry(scientist: APIClient) -> None:
    _model(scientist)

    response = scientist.patch(
        "/api/v1/models/churn", {"tags": {"team": "risk"}, "description": "Monthly churn"}, format="json"
    )

    entries = _entries("model.update")
    assert response.status_code == 200
    assert response.json()["risk_level"] == "high" and response.json()["tags"] == {"team": "risk"}
    assert len(entries) == 1
    assert entries[0].target_id == "model:churn"
    changed = json.loads(entries[0].entry)["data"]["tags"]
    assert changed == {"before": {"team": "growth"}, "after": {"team": "risk"}}


def test_a_patch_of_a_field_that_cannot_change_is_refused(scientist: APIClient) -> None:
    _model(scientist)

    response = scientist.patch("/api/v1/models/churn", {"name": "renamed"}, format="json")

    assert response.status_code == 400 and "name" in response.json()["detail"]
    assert RegisteredModel.objects.filter(name="churn").exists()


def test_archiving_keeps_the_model_and_writes_one_audit_entry(scientist: APIClient) -> None:
    _model(scientist)

    archived = scientist.post("/api/v1/models/churn/archive")
    again = scientist.post("/api/v1/models/churn/archive")
    new_version = scientist.post(
        "/api/v1/models/churn/versions",
        {"artifact_uri": "s3://b/m", "artifact_sha256": SHA, "artifact_size": 9},
        format="json",
    )

    assert archived.status_code == 200 and archived.json()["archived_at"]
    assert again.status_code == 409
    assert new_version.status_code == 409
    assert RegisteredModel.objects.filter(name="churn").exists()
    assert [entry.target_id for entry in _entries("model.archive")] == ["model:churn"]


# --- Model versions -----------------------------------------------------------------------------------


def test_an_uploaded_artifact_is_hashed_stored_once_and_verified(scientist: APIClient) -> None:
    _model(scientist)
    sha = hashlib.sha256(ARTIFACT).hexdigest()

    first = _upload(scientist, "churn", ARTIFACT, framework="sklearn", parameters='{"C": 1.0}')
    second = _upload(scientist, "churn", ARTIFACT)

    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["version"] == 1 and second.json()["version"] == 2
    assert body["artifact_sha256"] == sha and body["artifact_size"] == len(ARTIFACT)
    assert body["artifact_verified"] is True and body["parameters"] == {"C": 1.0}
    name = f"artifacts/{sha[:2]}/{sha}"
    assert set(ModelVersion.objects.values_list("storage_name", flat=True)) == {name}
    with default_storage.open(name) as stored:
        assert stored.read() == ARTIFACT
    assert default_storage.listdir(f"artifacts/{sha[:2]}")[1] == [sha]
    assert len(_entries("model_version.create")) == 2


def test_a_referenced_artifact_is_recorded_unverified_and_linked_to_its_run(scientist: APIClient) -> None:
    _model(scientist)
    run = scientist.post("/api/v1/runs", {"code_version": "git:abc"}, format="json").json()

    response = scientist.post(
        "/api/v1/models/churn/versions",
        {
            "artifact_uri": "s3://models/churn/1",
            "artifact_sha256": SHA,
            "artifact_size": 123,
            "framework": "xgboost",
            "metrics": {"auc": 0.9},
            "input_schema": [{"name": "age", "type": "int"}],
            "run_id": run["run_id"],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["artifact_verified"] is False and body["artifact_stored"] is False
    assert body["run_id"] == run["run_id"]
    assert LineageEdge.objects.filter(
        source=f"run:{run['run_id']}", target="model:churn#1", relation="produced"
    ).exists()
    fetched = scientist.get("/api/v1/models/churn/versions/1").json()
    assert fetched["artifact_uri"] == "s3://models/churn/1"


def test_an_upload_whose_bytes_do_not_match_the_sent_sha256_is_refused_and_not_stored(
    scientist: APIClient, _media: Path
) -> None:
    _model(scientist)

    response = _upload(scientist, "churn", ARTIFACT, artifact_sha256=SHA)
    matching = _upload(scientist, "churn", ARTIFACT, artifact_sha256=hashlib.sha256(ARTIFACT).hexdigest())

    assert response.status_code == 400 and "incomplete" in response.json()["detail"]
    assert matching.status_code == 201 and matching.json()["version"] == 1
    # The artifact, its signed provenance and the signature bundle; nothing of the refused upload.
    assert len([path for path in _media.rglob("*") if path.is_file()]) == 3


def test_a_pickle_upload_is_refused_naming_the_formats_to_send_stored_nowhere_and_audited(
    scientist: APIClient, _media: Path, tmp_path: Path
) -> None:
    _model(scientist)
    marker = tmp_path / "marker"

    response = _upload(scientist, "churn", malicious_pickle(marker))

    assert response.status_code == 400
    assert response.json()["error"] == "artifact_refused"
    assert (
        "pickle" in response.json()["detail"] and "send ONNX (skl2onnx) or skops" in response.json()["detail"]
    )
    assert not ModelVersion.objects.exists()
    assert not [path for path in _media.rglob("*") if path.is_file()]
    assert not marker.exists()
    (refusal,) = _entries("model_artifact.refuse")
    assert refusal.target_id == "model:churn" and json.loads(refusal.entry)["data"]["where"] == "upload"


@pytest.mark.parametrize("sha", ["abc", SHA.upper(), SHA[:-1] + "g", ""])
def test_a_bad_sha256_is_refused_and_changes_nothing(scientist: APIClient, sha: str) -> None:
    _model(scientist)

    response = scientist.post(
        "/api/v1/models/churn/versions",
        {"artifact_uri": "s3://b/m", "artifact_sha256": sha, "artifact_size": 1},
        format="json",
    )

    assert response.status_code == 400
    assert "artifact_sha256" in response.json()["detail"]
    assert not ModelVersion.objects.exists()


def test_an_unknown_run_on_a_version_is_refused(scientist: APIClient) -> None:
    _model(scientist)

    response = scientist.post(
        "/api/v1/models/churn/versions",
        {"artifact_uri": "s3://b/m", "artifact_sha256": SHA, "artifact_size": 1, "run_id": str(uuid.uuid4())},
        format="json",
    )

    assert response.status_code == 400 and "run_id" in response.json()["detail"]
    assert not ModelVersion.objects.exists()


# --- Datasets and runs -----------------------------------------------------------------------------------


def test_a_dataset_flags_special_categories_of_personal_data(scientist: APIClient) -> None:
    response = scientist.post(
        "/api/v1/datasets",
        {
            "name": "patients",
            "holds_personal_data": True,
            "subject_id_column": "patient_id",
            "jurisdictions": ["eu_eea", "uk"],
            "data_categories": ["user.contact.email", "user.health_and_medical"],
            "purposes": ["train_ai_system"],
        },
        format="json",
    )
    plain = scientist.post(
        "/api/v1/datasets", {"name": "prices", "data_categories": ["system.operations"]}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["namespace"] == "default"
    assert response.json()["special_categories"] is True
    assert response.json()["special_category_keys"] == ["user.health_and_medical"]
    assert plain.json()["special_categories"] is False
    assert scientist.get("/api/v1/datasets/patients", {"namespace": "default"}).json()["name"] == "patients"
    assert scientist.get("/api/v1/datasets/patients", {"namespace": "other"}).status_code == 404


@pytest.mark.parametrize("key", ["User.Contact", "user..email", "user.contact-email", "user.", "1user"])
def test_a_bad_fideslang_key_is_refused_and_changes_nothing(scientist: APIClient, key: str) -> None:
    response = scientist.post("/api/v1/datasets", {"name": "d", "data_categories": [key]}, format="json")

    assert response.status_code == 400
    assert "fideslang" in response.json()["detail"] and repr(key) in response.json()["detail"]
    assert not Dataset.objects.exists()


def test_a_dataset_version_by_reference_is_numbered_and_linked(scientist: APIClient) -> None:
    scientist.post("/api/v1/datasets", {"name": "prices"}, format="json")

    first = scientist.post(
        "/api/v1/datasets/prices/versions",
        {"uri": "s3://d/p1", "sha256": SHA, "row_count": 10},
        format="json",
    )
    named = scientist.post(
        "/api/v1/datasets/prices/versions",
        {"uri": "s3://d/p2", "sha256": SHA, "version": "2026-03"},
        format="json",
    )
    duplicate = scientist.post(
        "/api/v1/datasets/prices/versions",
        {"uri": "s3://d/p2", "sha256": SHA, "version": "2026-03"},
        format="json",
    )
    bad = scientist.post(
        "/api/v1/datasets/prices/versions", {"uri": "s3://d/p3", "sha256": "nope"}, format="json"
    )

    assert first.status_code == 201 and first.json()["version"] == "1"
    assert named.json()["version"] == "2026-03"
    assert duplicate.status_code == 409
    assert bad.status_code == 400 and "sha256" in bad.json()["detail"]
    assert DatasetVersion.objects.count() == 2
    assert LineageEdge.objects.filter(
        source="dataset:default:prices", target="dataset:default:prices#1", relation="version_of"
    ).exists()
    listed = scientist.get("/api/v1/datasets/prices/versions").json()["results"]
    assert {row["version"] for row in listed} == {"1", "2026-03"}


def test_a_run_records_its_job_and_inputs_as_lineage(scientist: APIClient) -> None:
    scientist.post("/api/v1/datasets", {"namespace": "wh", "name": "prices"}, format="json")
    scientist.post(
        "/api/v1/datasets/prices/versions?namespace=wh", {"uri": "s3://d", "sha256": SHA}, format="json"
    )
    run_id = str(uuid.uuid4())

    response = scientist.post(
        "/api/v1/runs",
        {
            "run_id": run_id,
            "job_namespace": "ml",
            "job_name": "train-churn",
            "inputs": [{"namespace": "wh", "name": "prices", "version": "1"}],
            "parameters": {"lr": 0.1},
            "started_at": "2026-03-01T10:00:00Z",
            "ended_at": "2026-03-01T11:00:00Z",
        },
        format="json",
    )
    again = scientist.post("/api/v1/runs", {"run_id": run_id}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["job"] == {"namespace": "ml", "name": "train-churn"}
    assert response.json()["inputs"] == [{"namespace": "wh", "name": "prices", "version": "1"}]
    assert again.status_code == 409
    edges = set(LineageEdge.objects.filter(target=f"run:{run_id}").values_list("source", "relation"))
    assert edges == {("job:ml:train-churn", "run_of"), ("dataset:wh:prices#1", "used_by")}
    assert scientist.get(f"/api/v1/runs/{run_id}").json()["parameters"] == {"lr": 0.1}
    assert len(_entries("run.create")) == 1


def test_a_run_with_an_unknown_input_dataset_version_is_refused_and_changes_nothing(
    scientist: APIClient,
) -> None:
    scientist.post("/api/v1/datasets", {"name": "prices"}, format="json")

    response = scientist.post(
        "/api/v1/runs",
        {"job_namespace": "ml", "job_name": "j", "inputs": [{"name": "prices", "version": "9"}]},
        format="json",
    )

    assert response.status_code == 400
    assert "default:prices#9" in response.json()["detail"]
    assert not TrainingRun.objects.exists()
    assert _entries("run.create") == []


def test_a_generated_run_id_is_returned(scientist: APIClient) -> None:
    response = scientist.post("/api/v1/runs", {}, format="json")

    assert response.status_code == 201
    assert uuid.UUID(response.json()["run_id"])
    assert scientist.get("/api/v1/runs").json()["results"][0]["run_id"] == response.json()["run_id"]


# --- Deployments -------------------------------------------------------------------------------------------


def test_deploying_an_unknown_model_is_refused_and_changes_nothing(scientist: APIClient) -> None:
    response = scientist.post(
        "/api/v1/deployments",
        {"model": "ghost", "version": 1, "environment": "production", "release": 1},
        format="json",
    )

    assert response.status_code == 400
    assert "ghost" in response.json()["detail"]
    assert not Deployment.objects.exists()


def test_a_deploy_closes_the_previous_one_and_links_the_version(scientist: APIClient) -> None:
    _model(scientist)
    for _ in range(2):  # only an artifact the service holds is deployed, never a reference
        assert _upload(scientist, "churn", ARTIFACT).status_code == 201

    first = scientist.post(
        "/api/v1/deployments",
        {
            "model": "churn",
            "version": 1,
            "environment": "production",
            "release": approved_deploy("churn", 1, "production"),
        },
        format="json",
    ).json()
    second = scientist.post(
        "/api/v1/deployments",
        {
            "model": "churn",
            "version": 2,
            "environment": "production",
            "release": approved_deploy("churn", 2, "production"),
        },
        format="json",
    ).json()
    ended = scientist.post(f"/api/v1/deployments/{second['id']}/end")
    again = scientist.post(f"/api/v1/deployments/{second['id']}/end")

    assert first["node_id"] == "deployment:production:churn"
    assert Deployment.objects.get(pk=first["id"]).until == Deployment.objects.get(pk=second["id"]).deployed_at
    assert ended.status_code == 200 and ended.json()["until"]
    assert again.status_code == 409
    assert LineageEdge.objects.filter(
        source="model:churn#2", target="deployment:production:churn", relation="deployed_as"
    ).exists()
    assert len(_entries("deployment.create")) == 2 and len(_entries("deployment.end")) == 1
    serving = scientist.get("/api/v1/deployments", {"environment": "production", "serving": "true"}).json()
    assert serving["results"] == []


# --- Roles -----------------------------------------------------------------------------------------------


@pytest.fixture
def catalog(scientist: APIClient) -> dict[str, Any]:
    """One of everything, so every read path names a real row."""
    _model(scientist)
    assert _upload(scientist, "churn", ARTIFACT).status_code == 201
    scientist.post("/api/v1/datasets", {"name": "prices"}, format="json")
    scientist.post("/api/v1/datasets/prices/versions", {"uri": "s3://d", "sha256": SHA}, format="json")
    run = scientist.post("/api/v1/runs", {}, format="json").json()
    deployment = scientist.post(
        "/api/v1/deployments",
        {
            "model": "churn",
            "version": 1,
            "environment": "staging",
            "release": approved_deploy("churn", 1, "staging"),
        },
        format="json",
    ).json()
    return {
        "run": run["run_id"],
        "deployment": deployment["id"],
        "release": str(approved_deploy("churn", 1, "production")),
    }


READS = [
    "/api/v1/models",
    "/api/v1/models/churn",
    "/api/v1/models/churn/versions",
    "/api/v1/models/churn/versions/1",
    "/api/v1/datasets",
    "/api/v1/datasets/prices",
    "/api/v1/datasets/prices/versions",
    "/api/v1/datasets/prices/versions/1",
    "/api/v1/runs",
    "/api/v1/runs/{run}",
    "/api/v1/deployments",
    "/api/v1/deployments/{deployment}",
    "/api/v1/deployments/at?environment=staging&time=2999-01-01T00:00:00Z",
]
WRITES = [
    ("post", "/api/v1/models", {"name": "new"}),
    ("patch", "/api/v1/models/churn", {"description": "x"}),
    (
        "post",
        "/api/v1/models/churn/versions",
        {"artifact_uri": "s3://x", "artifact_sha256": SHA, "artifact_size": 1},
    ),
    ("post", "/api/v1/datasets", {"name": "new"}),
    ("post", "/api/v1/datasets/prices/versions", {"uri": "s3://x", "sha256": SHA}),
    ("post", "/api/v1/runs", {}),
    (
        "post",
        "/api/v1/deployments",
        {"model": "churn", "version": 1, "environment": "production", "release": "{release}"},
    ),
    ("post", "/api/v1/deployments/{deployment}/end", {}),
    ("post", "/api/v1/models/churn/archive", {}),
]


@pytest.mark.parametrize("role", ["auditor", "compliance_officer"])
def test_auditors_and_compliance_officers_read_everything_and_change_nothing(
    role: str, catalog: dict[str, Any], token_client: Any
) -> None:
    reader, _ = token_client(f"reader-{role}", role)
    before = AuditEntry.objects.count()

    for path in READS:
        response = reader.get(path.format(**catalog))
        assert response.status_code == 200, (path, response.json())
    for method, path, body in WRITES:
        response = getattr(reader, method)(path.format(**catalog), body, format="json")
        assert response.status_code == 403, (method, path)
        assert response.json()["error"] == "permission_denied"

    assert AuditEntry.objects.count() == before


def test_the_pipeline_may_write(catalog: dict[str, Any], token_client: Any) -> None:
    pipeline, _ = token_client("ci", "pipeline")

    for method, path, body in WRITES:
        filled = {
            key: value.format(**catalog) if isinstance(value, str) else value for key, value in body.items()
        }
        response = getattr(pipeline, method)(path.format(**catalog), filled, format="json")
        assert response.status_code in {200, 201}, (method, path, response.json())


def test_the_admin_is_refused_reads_and_writes(catalog: dict[str, Any], token_client: Any) -> None:
    admin, _ = token_client("root", "admin")

    for path in READS:
        assert admin.get(path.format(**catalog)).status_code == 403, path
    for method, path, body in WRITES:
        assert getattr(admin, method)(path.format(**catalog), body, format="json").status_code == 403, path


def test_anonymous_callers_get_401_everywhere(catalog: dict[str, Any]) -> None:
    anonymous = APIClient()

    for path in READS:
        assert anonymous.get(path.format(**catalog)).status_code == 401, path
    for method, path, body in WRITES:
        response = getattr(anonymous, method)(path.format(**catalog), body, format="json")
        assert response.status_code == 401, path
        assert response.json()["error"] == "not_authenticated"


def _queries_for(client: APIClient, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_lists_take_the_same_number_of_queries_for_one_row_or_many(scientist: APIClient) -> None:
    scientist.post("/api/v1/datasets", {"name": "prices"}, format="json")
    scientist.post("/api/v1/datasets/prices/versions", {"uri": "s3://d", "sha256": SHA}, format="json")
    paths = ["/api/v1/models", "/api/v1/models/m0/versions", "/api/v1/runs", "/api/v1/deployments"]

    def add(n: int) -> None:
        _model(scientist, f"m{n}")
        _upload(scientist, "m0", ARTIFACT)
        scientist.post("/api/v1/runs", {"inputs": [{"name": "prices", "version": "1"}]}, format="json")
        scientist.post(
            "/api/v1/deployments",
            {
                "model": "m0",
                "version": 1,
                "environment": f"env{n}",
                "release": approved_deploy("m0", 1, f"env{n}"),
            },
            format="json",
        )

    add(0)
    one = [_queries_for(scientist, path) for path in paths]
    for n in range(1, 4):
        add(n)
    many = [_queries_for(scientist, path) for path in paths]

    assert many == one
