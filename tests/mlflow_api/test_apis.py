"""The MLflow-compatible API in-process: MLflow's shapes and errors, governance, audit, lineage."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEntry
from governance.accounts.models import User
from governance.approvals.services.policies import policy_create
from registry.models import LineageEdge, ModelAlias, ModelVersion, RegisteredModel
from registry.services.catalog import run_create

pytestmark = pytest.mark.django_db
API = "/api/2.0/mlflow"


def _model(client: APIClient, name: str = "churn", **extra: Any) -> dict[str, Any]:
    response = client.post(f"{API}/registered-models/create", {"name": name, **extra}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["registered_model"]


def _version(client: APIClient, name: str = "churn", source: str = "s3://bucket/m", **extra: Any) -> dict:
    body = {"name": name, "source": source, **extra}
    response = client.post(f"{API}/model-versions/create", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()["model_version"]


def _actions() -> list[str]:
    return list(AuditEntry.objects.order_by("index").values_list("action", flat=True))


def test_a_call_without_a_token_gets_mlflow_unauthenticated() -> None:
    response = APIClient().get(f"{API}/registered-models/get", {"name": "churn"})
    assert response.status_code == 401
    assert response.json()["error_code"] == "UNAUTHENTICATED"


def test_errors_have_mlflow_shape_and_status(pipeline: APIClient) -> None:
    missing = pipeline.get(f"{API}/registered-models/get", {"name": "nope"})
    assert (missing.status_code, missing.json()) == (
        404,
        {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Registered Model with name=nope not found"},
    )
    _model(pipeline)
    twice = pipeline.post(f"{API}/registered-models/create", {"name": "churn"}, format="json")
    assert (twice.status_code, twice.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    bad = pipeline.get(f"{API}/registered-models/search", {"filter": "name = 'a' OR name = 'b'"})
    assert (bad.status_code, bad.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    unknown = pipeline.get(f"{API}/runs/get", {"run_id": "x"})
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
    bad_name = pipeline.post(f"{API}/registered-models/create", {"name": "has space"}, format="json")
    assert (bad_name.status_code, bad_name.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_a_source_under_a_listed_root_is_fetched_hashed_and_stored(
    pipeline: APIClient, tmp_path: Path, settings: Any
) -> None:
    import skops.io
    from sklearn.linear_model import LogisticRegression

    settings.ARTIFACT_SOURCE_ROOTS = [str(tmp_path)]
    artifact = tmp_path / "model.skops"
    artifact.write_bytes(skops.io.dumps(LogisticRegression().fit([[0.0], [1.0]], [0, 1])))
    _model(pipeline)
    body = _version(pipeline, source=f"file://{artifact}")
    assert (body["version"], body["status"], body["source"]) == ("1", "READY", f"file://{artifact}")
    version = ModelVersion.objects.get()
    assert version.artifact_verified and version.artifact_format == "skops" and version.signature_storage_name
    assert version.artifact_sha256 == hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert version.artifact_size == artifact.stat().st_size and version.storage_name


def test_an_unreachable_source_is_recorded_unverified(pipeline: APIClient, tmp_path: Path) -> None:
    _model(pipeline)
    _version(pipeline, source="s3://bucket/churn/1")
    _version(pipeline, source=str(tmp_path / "gone.pkl"))
    rows = list(ModelVersion.objects.values_list("artifact_verified", "artifact_sha256", "artifact_size"))
    assert rows == [(False, "", None), (False, "", None)]


def test_the_server_never_reads_its_own_files(pipeline: APIClient, settings: Any) -> None:
    _model(pipeline)
    _version(pipeline, source=str(Path(settings.BASE_DIR) / "pyproject.toml"))
    assert not ModelVersion.objects.get().artifact_verified


def test_run_id_of_a_known_run_links_the_version_in_lineage(pipeline: APIClient, make_user: Any) -> None:
    run = run_create(actor=Actor.for_user(make_user("dana")), run_id=uuid.uuid4())
    _model(pipeline)
    body = _version(pipeline, run_id=run.run_id.hex)
    assert body["run_id"] == run.run_id.hex
    assert LineageEdge.objects.filter(
        source=run.node_id, target="model:churn#1", relation="produced"
    ).exists()
    found = pipeline.get(f"{API}/model-versions/search", {"filter": f"run_id IN ('{run.run_id.hex}')"})
    assert [v["version"] for v in found.json()["model_versions"]] == ["1"]


def test_a_governed_alias_is_refused_with_the_release_needed(pipeline: APIClient) -> None:
    _model(pipeline)
    _version(pipeline)
    for alias in ("production", "Champion"):
        response = pipeline.post(
            f"{API}/registered-models/alias", {"name": "churn", "alias": alias, "version": "1"}, format="json"
        )
        assert response.status_code == 403
        assert response.json()["error_code"] == "PERMISSION_DENIED"
        assert "POST /api/v1/releases with kind=deploy, model=churn, version=1" in response.json()["message"]
    assert not ModelAlias.objects.exists()
    assert _actions().count("mlflow.refuse") == 2


def test_an_environment_named_by_a_deploy_policy_is_governed(pipeline: APIClient, make_user: Any) -> None:
    policy_create(
        actor=Actor.system("tests"),
        name="deploy-canary",
        spec={
            "kind": "deploy",
            "environment": "canary",
            "required_approvals": [{"role": "compliance_officer", "count": 1}],
            "approval_validity_seconds": 3600,
        },
    )
    _model(pipeline)
    _version(pipeline)
    body = {"name": "churn", "alias": "canary", "version": "1"}
    assert pipeline.post(f"{API}/registered-models/alias", body, format="json").status_code == 403


def test_an_alias_a_deploy_job_moved_is_governed(pipeline: APIClient, make_user: Any) -> None:
    from registry.services.aliases import alias_move

    _model(pipeline)
    _version(pipeline)
    alias_move(
        actor=Actor.for_user(make_user("deployer")),
        model_version=ModelVersion.objects.get(),
        alias="blue",
        job_reference="job-7",
    )
    response = pipeline.delete(
        f"{API}/registered-models/alias", {"name": "churn", "alias": "blue"}, format="json"
    )
    assert response.status_code == 403 and "deployment" in response.json()["message"]


def test_ungoverned_aliases_move_audited_and_read_back(pipeline: APIClient) -> None:
    _model(pipeline)
    _version(pipeline)
    _version(pipeline)
    body = {"name": "churn", "alias": "candidate", "version": "2"}
    assert pipeline.post(f"{API}/registered-models/alias", body, format="json").json() == {}
    read = pipeline.get(f"{API}/registered-models/alias", {"name": "churn", "alias": "candidate"})
    assert read.json()["model_version"]["version"] == "2"
    assert read.json()["model_version"]["aliases"] == ["candidate"]
    gone = pipeline.delete(
        f"{API}/registered-models/alias", {"name": "churn", "alias": "candidate"}, format="json"
    )
    assert gone.status_code == 200
    assert _actions().count("model.alias_move") == 2
    missing = pipeline.get(f"{API}/registered-models/alias", {"name": "churn", "alias": "candidate"})
    assert missing.status_code == 404


def test_transition_to_production_is_governed_and_archived_is_not(pipeline: APIClient) -> None:
    _model(pipeline)
    _version(pipeline)
    body = {"name": "churn", "version": "1", "stage": "Production", "archive_existing_versions": False}
    refused = pipeline.post(f"{API}/model-versions/transition-stage", body, format="json")
    assert (refused.status_code, refused.json()["error_code"]) == (403, "PERMISSION_DENIED")
    assert "environment=production" in refused.json()["message"]
    body["stage"] = "archived"
    moved = pipeline.post(f"{API}/model-versions/transition-stage", body, format="json")
    assert moved.json()["model_version"]["current_stage"] == "Archived"
    latest = pipeline.get(
        f"{API}/registered-models/get-latest-versions", {"name": "churn", "stages": "Archived"}
    )
    assert [v["version"] for v in latest.json()["model_versions"]] == ["1"]


def test_rename_is_refused_because_lineage_names_the_model(pipeline: APIClient) -> None:
    _model(pipeline)
    response = pipeline.post(
        f"{API}/registered-models/rename", {"name": "churn", "new_name": "c2"}, format="json"
    )
    assert (response.status_code, response.json()["error_code"]) == (403, "PERMISSION_DENIED")


def test_deleting_archives_and_then_reads_as_deleted(pipeline: APIClient) -> None:
    _model(pipeline)
    _version(pipeline)
    assert pipeline.delete(f"{API}/registered-models/delete", {"name": "churn"}, format="json").json() == {}
    assert RegisteredModel.objects.get().archived_at is not None
    assert pipeline.get(f"{API}/registered-models/get", {"name": "churn"}).status_code == 404
    assert pipeline.get(f"{API}/registered-models/search").json() == {}
    assert pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "1"}).status_code == 404
    assert "model.archive" in _actions()


def test_search_pages_with_mlflow_tokens(pipeline: APIClient) -> None:
    for name in ("a-model", "b-model", "c-model"):
        _model(pipeline, name, tags=[{"key": "team", "value": "risk"}])
    first = pipeline.get(f"{API}/registered-models/search", {"max_results": 2, "filter": "tag.team = 'risk'"})
    assert [m["name"] for m in first.json()["registered_models"]] == ["a-model", "b-model"]
    token = first.json()["next_page_token"]
    second = pipeline.get(f"{API}/registered-models/search", {"max_results": 2, "page_token": token})
    assert [m["name"] for m in second.json()["registered_models"]] == ["c-model"]
    assert "next_page_token" not in second.json()
    ordered = pipeline.get(f"{API}/registered-models/search", {"order_by": ["name DESC"]})
    assert [m["name"] for m in ordered.json()["registered_models"]] == ["c-model", "b-model", "a-model"]


def test_version_tags_are_kept_and_each_change_is_audited(pipeline: APIClient) -> None:
    _model(pipeline)
    _version(pipeline, tags=[{"key": "stage", "value": "candidate"}])
    body = {"name": "churn", "version": "1", "key": "validated", "value": "true"}
    pipeline.post(f"{API}/model-versions/set-tag", body, format="json")
    pipeline.delete(
        f"{API}/model-versions/delete-tag", {"name": "churn", "version": "1", "key": "stage"}, format="json"
    )
    read = pipeline.get(f"{API}/model-versions/get", {"name": "churn", "version": "1"}).json()[
        "model_version"
    ]
    assert read["tags"] == [{"key": "validated", "value": "true"}]
    assert _actions().count("model_version.update") == 2
    found = pipeline.get(f"{API}/model-versions/search", {"filter": "tag.validated = 'true'"}).json()
    assert [v["version"] for v in found["model_versions"]] == ["1"]


def test_every_read_is_one_access_log_line_and_no_audit_entry(
    pipeline: APIClient, caplog: pytest.LogCaptureFixture
) -> None:
    _model(pipeline)
    before = len(_actions())
    access = logging.getLogger("governance.access")  # its own handler; it does not propagate to the root
    access.addHandler(caplog.handler)
    try:
        pipeline.get(f"{API}/registered-models/get", {"name": "churn"})
        pipeline.get(f"{API}/registered-models/search")
        pipeline.get(f"{API}/model-versions/search", {"filter": "name = 'churn'"})
    finally:
        access.removeHandler(caplog.handler)
    assert len(_actions()) == before  # registry metadata read by a pipeline: not a signed audit entry
    lines = [
        json.loads(record.getMessage()) for record in caplog.records if record.name == "governance.access"
    ]
    assert [(line["method"], line["path"], line["status"], line["target"]) for line in lines] == [
        ("GET", f"{API}/registered-models/get", 200, "mlflow:registered-models/get:model:churn"),
        ("GET", f"{API}/registered-models/search", 200, "mlflow:registered-models/search:registered-models"),
        ("GET", f"{API}/model-versions/search", 200, "mlflow:model-versions/search:model-versions"),
    ]
    robot = User.objects.get(username="nightly")
    assert {(line["user"], bool(line["token"])) for line in lines} == {(f"user:{robot.pk}", True)}
    assert all(line["request_id"] and line["ms"] >= 0 for line in lines)
    assert "filter" not in json.dumps(lines)  # the query string (it may name a subject) is left out


def test_a_body_that_is_not_json_is_a_malformed_request(pipeline: APIClient) -> None:
    response = pipeline.post(f"{API}/registered-models/create", {"name": "churn"})  # multipart form
    assert (response.status_code, response.json()["error_code"]) == (400, "MALFORMED_REQUEST")
    assert not RegisteredModel.objects.exists()
