"""Uploads take ONNX or skops only, checked before anything is stored and signed by the service; what they
refuse (pickles plain or compressed, unknown bytes, skops naming untrusted types, ONNX with custom ops)
is named in the 400, stored nowhere and audited. Uploaded versions serve without running pickle code."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEntry
from governance.jobs import serving
from registry import artifacts
from registry.models import ModelVersion, RegisteredModel
from registry.services.deployments import deployment_create
from tests.registry import model_files

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    artifacts._sessions.sessions.clear()  # each test loads as a fresh web process would
    serving._pipelines.clear()
    return settings.MEDIA_ROOT


@pytest.fixture
def scientist(token_client: Any) -> APIClient:
    client, _ = token_client("dana", "data_scientist")
    client.post("/api/v1/models", {"name": "churn", "risk_level": "high"}, format="json")
    return client


def _upload(client: APIClient, content: bytes, name: str = "model.bin", **fields: Any) -> Any:
    body = {"artifact": SimpleUploadedFile(name, content), **fields}
    return client.post("/api/v1/models/churn/versions", body, format="multipart")


def _stored_files(media: Path) -> list[Path]:
    return [path for path in media.rglob("*") if path.is_file()]


def _refusals() -> list[dict[str, Any]]:
    entries = AuditEntry.objects.filter(action="model_artifact.refuse").values_list("entry", flat=True)
    return [json.loads(entry)["data"] for entry in entries]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (lambda marker: model_files.malicious_pickle(marker), "recognised as a Python pickle"),
        (lambda marker: model_files.malicious_pickle(marker, protocol=0), "recognised as a Python pickle"),
        (lambda marker: gzip.compress(model_files.malicious_pickle(marker)), "recognised as a Python pickle"),
        (lambda marker: b"just some bytes " * 100, "not a model file this service recognises"),
        (lambda marker: model_files.skops_naming("builtins.eval"), "outside the allow-list: builtins.eval"),
        (lambda marker: model_files.skops_naming("os.system"), "outside the allow-list: os.system"),
        (lambda marker: model_files.onnx_with_custom_op(), "custom-op domain(s) com.attacker"),
    ],
)
def test_it_refuses_what_is_not_a_safe_model_file_naming_why_storing_nothing_and_auditing(
    scientist: APIClient, _media: Path, tmp_path: Path, content: Any, named: str
) -> None:
    marker = tmp_path / "pickle-ran"

    response = _upload(scientist, content(marker))

    assert response.status_code == 400, response.json()
    assert response.json()["error"] == "artifact_refused"
    assert named in response.json()["detail"]
    assert not ModelVersion.objects.exists()
    assert _stored_files(_media) == []
    assert not marker.exists()
    assert [refusal["where"] for refusal in _refusals()] == ["upload"]


def test_an_onnx_upload_is_its_own_serving_form_signed_as_uploaded_with_declared_metrics(
    scientist: APIClient,
) -> None:
    response = _upload(scientist, model_files.onnx_bytes(), metrics='{"auc": 0.99}')

    assert response.status_code == 201, response.json()
    version = ModelVersion.objects.get()
    assert version.artifact_format == "onnx" and version.metrics_source == "declared"
    assert (
        version.onnx_sha256 == version.artifact_sha256 and version.onnx_storage_name == version.storage_name
    )
    assert version.signature_storage_name and version.undeployable_reason == ""
    with default_storage.open(version.provenance_storage_name) as handle:
        provenance = json.loads(handle.read())
    assert (
        provenance["uploaded_by"] == f"user:{version.created_by_id}" and provenance["trained_here"] is False
    )
    assert provenance["files"] == {"model.onnx": version.artifact_sha256}


def test_a_reference_only_version_is_recorded_but_never_deployable(scientist: APIClient) -> None:
    response = scientist.post(
        "/api/v1/models/churn/versions",
        {"artifact_uri": "runs:/abc/model", "artifact_sha256": "a" * 64, "artifact_size": 10},
        format="json",
    )

    assert response.status_code == 201, response.json()
    version = ModelVersion.objects.get()
    assert version.artifact_format == "reference"
    assert "only a reference" in version.undeployable_reason


def _deployed(version: ModelVersion) -> None:
    actor = Actor.for_user(version.created_by)
    deployment_create(actor=actor, model_version=version, environment="staging", endpoint="/predict")


@pytest.mark.parametrize(
    ("content", "form"), [(model_files.onnx_bytes, "onnx"), (model_files.skops_bytes, "skops")]
)
def test_an_uploaded_onnx_or_skops_version_serves_predictions(
    scientist: APIClient, content: Any, form: str
) -> None:
    response = _upload(scientist, content(), input_schema='[{"name": "x", "type": "number"}]')
    assert response.status_code == 201, response.json()
    version = ModelVersion.objects.get()
    assert version.artifact_format == form
    _deployed(version)

    result = serving.predict(environment="staging", model_name="churn", rows=[{"x": 0.1}, {"x": 0.95}])

    assert result["predictions"] == [0, 1]


def test_a_skops_version_changed_at_rest_is_refused_at_serving_and_audited(
    scientist: APIClient, _media: Path
) -> None:
    _upload(scientist, model_files.skops_bytes(), input_schema='[{"name": "x", "type": "number"}]')
    version = ModelVersion.objects.get()
    _deployed(version)
    stored = Path(default_storage.path(version.storage_name))
    stored.write_bytes(model_files.skops_naming("os.system"))

    response = scientist.post(
        "/api/v1/deployments/staging/churn/predict", {"rows": [{"x": 1}]}, format="json"
    )

    assert response.status_code == 409 and response.json()["error"] == "artifact_unverified"
    assert [refusal["where"] for refusal in _refusals()] == ["serving"]


def test_a_legacy_pickle_row_is_never_loaded_by_serving(scientist: APIClient, tmp_path: Path) -> None:
    """A version row written before pickles were refused (or forged) points at pickle bytes."""
    marker = tmp_path / "pickle-ran"
    data = pickle.dumps(model_files.Marker(marker))
    name = default_storage.save("artifacts/legacy/model.pkl", SimpleUploadedFile("m", data))
    version = ModelVersion.objects.create(
        model=RegisteredModel.objects.get(),
        version=1,
        artifact_sha256="0" * 64,
        artifact_size=len(data),
        storage_name=name,
        artifact_verified=True,
        created_by_id=RegisteredModel.objects.get().owner_id,
        created_at=RegisteredModel.objects.get().created_at,
    )
    _deployed(version)

    response = scientist.post(
        "/api/v1/deployments/staging/churn/predict", {"rows": [{"x": 1}]}, format="json"
    )

    assert response.status_code == 409 and "no safe format" in response.json()["detail"]
    assert not marker.exists()


def test_an_onnx_constant_pointing_at_an_external_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    from registry.artifacts import ArtifactRefused, artifact_check

    (tmp_path / "secret.bin").write_bytes(b"\0" * 4)
    value = helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])
    value.data_location = TensorProto.EXTERNAL
    del value.float_data[:]
    value.external_data.add(key="location", value="secret.bin")
    graph = helper.make_graph(
        [helper.make_node("Constant", [], ["c"], value=value), helper.make_node("Add", ["x", "c"], ["y"])],
        "external-constant",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())

    with pytest.raises(ArtifactRefused, match="external files"):
        artifact_check(path)
