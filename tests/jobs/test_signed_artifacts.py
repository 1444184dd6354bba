"""Artifacts the training job writes are skops and ONNX, signed in the OpenSSF format naming the version
and its run, and verified before every load: the stock CLI agrees, and changed bytes are refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from audit.actors import Actor
from audit.models import AuditEntry
from governance.jobs.models import JobStatus, ReleaseJob
from governance.jobs.runner import run_release_job
from registry import artifacts, signing
from registry.models import Deployment, ModelVersion
from tests.jobs import factories

pytestmark = pytest.mark.django_db
CLI = Path(sys.executable).with_name("model_signing")


@pytest.fixture
def story(db: None) -> Any:
    people = factories.people()
    people.extra["version"] = factories.customers_dataset(people.requester)
    return people


@pytest.fixture(autouse=True)
def _fresh_sessions() -> None:
    """Each test loads as a new process would: no ONNX session cached from an earlier test."""
    artifacts._sessions.sessions.clear()


def _client(user: Any) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def _run(message: dict[str, Any]) -> str:
    return run_release_job(job_id=message["job_id"], grant=message["grant"], worker="test-worker")


def _trained(story: Any, sent: list[dict[str, Any]]) -> ModelVersion:
    release = factories.train_request(story.requester, story.extra["version"])
    factories.sign(release, story.approver)
    assert _client(story.requester).post(f"/api/v1/releases/{release.pk}/run").status_code == 201
    assert _run(sent[-1]) == JobStatus.SUCCEEDED, ReleaseJob.objects.get(pk=sent[-1]["job_id"]).error
    return ModelVersion.objects.order_by("-pk").first()


def _deploy(story: Any, sent: list[dict[str, Any]], version: ModelVersion) -> str:
    deploy = factories.deploy_request(story.requester, version.version, "staging")
    factories.sign(deploy, story.approver)
    assert _client(story.requester).post(f"/api/v1/releases/{deploy.pk}/run").status_code == 201
    return _run(sent[-1])


def _overwrite(storage_name: str, flip_at: int = 100) -> None:
    path = Path(default_storage.path(storage_name))
    data = bytearray(path.read_bytes())
    data[flip_at] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_trained_version_is_skops_and_onnx_signed_naming_its_run(story: Any, sent: list) -> None:
    version = _trained(story, sent)

    assert version.artifact_format == "skops" and version.metrics_source == "service"
    assert version.onnx_sha256 and version.onnx_storage_name and version.signature_storage_name
    assert version.signing_key_id in signing.trusted_public_keys()
    assert version.undeployable_reason == ""
    with default_storage.open(version.provenance_storage_name) as handle:
        provenance = json.loads(handle.read())
    assert provenance["model_version"] == version.node_id == "model:churn#1"
    assert provenance["run"] == version.run.node_id and provenance["trained_here"] is True
    assert provenance["files"] == {"model.onnx": version.onnx_sha256, "model.skops": version.artifact_sha256}


def test_the_stock_model_signing_cli_verifies_a_trained_version_and_fails_on_a_changed_byte(
    story: Any, sent: list, tmp_path: Path
) -> None:
    version = _trained(story, sent)
    model_dir = signing.version_materialise(version, tmp_path)
    public_key = tmp_path / "service-key.pem"
    public_key.write_bytes(signing.trusted_public_keys()[version.signing_key_id])
    command = [
        str(CLI),
        "verify",
        "key",
        "--signature",
        str(tmp_path / "model.sig"),
        "--public_key",
        str(public_key),
        str(model_dir),
    ]

    verified = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    onnx_file = model_dir / "model.onnx"
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    onnx_file.write_bytes(bytes(data))
    changed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert changed.returncode != 0
    assert "model.onnx" in changed.stdout + changed.stderr


def test_serving_refuses_a_deployed_version_whose_stored_onnx_changed_and_audits_it(
    story: Any, sent: list
) -> None:
    version = _trained(story, sent)
    assert _deploy(story, sent, version) == JobStatus.SUCCEEDED
    artifacts._sessions.sessions.clear()  # the web process has not loaded it yet
    _overwrite(version.onnx_storage_name)
    rows = [{"tenure": 3, "plan": "basic", "monthly_spend": 30.0}]

    response = _client(story.requester).post(
        "/api/v1/deployments/staging/churn/predict", {"rows": rows}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"] == "artifact_unverified"
    assert "hashes to" in response.json()["detail"]
    refusal = AuditEntry.objects.get(action="model_artifact.refuse")
    assert refusal.target_id == version.node_id and json.loads(refusal.entry)["data"]["where"] == "serving"


@pytest.mark.parametrize(
    "tampered", ["signature_storage_name", "provenance_storage_name", "onnx_storage_name"]
)
def test_the_deploy_job_refuses_a_version_whose_signed_files_changed(
    story: Any, sent: list, tampered: str
) -> None:
    version = _trained(story, sent)
    _overwrite(getattr(version, tampered), flip_at=40)

    outcome = _deploy(story, sent, version)

    job = ReleaseJob.objects.get(pk=sent[-1]["job_id"])
    assert outcome == JobStatus.REFUSED, job.error
    assert version.node_id in job.error
    assert not Deployment.objects.exists()
    assert AuditEntry.objects.filter(action="job.refuse").exists()


def test_serving_answers_from_onnx_like_the_trained_pipeline(story: Any, sent: list, tmp_path: Path) -> None:
    version = _trained(story, sent)
    assert _deploy(story, sent, version) == JobStatus.SUCCEEDED
    rows = [
        {"tenure": 3, "plan": "basic", "monthly_spend": 30.0},
        {"tenure": 50, "plan": None, "monthly_spend": None},
    ]
    model_dir = signing.version_verify(version, tmp_path)
    pipeline = artifacts.skops_load(model_dir / "model.skops")
    from governance.jobs import ml

    response = _client(story.requester).post(
        "/api/v1/deployments/staging/churn/predict", {"rows": rows}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["predictions"] == ml.predict(pipeline, version.input_schema, rows)


def test_a_rotated_key_still_verifies_what_the_old_key_signed_and_the_rotation_is_audited(
    story: Any, sent: list, tmp_path: Path, settings: Any
) -> None:
    settings.MODEL_SIGNING_KEY_FILE = tmp_path / "key.pem"
    settings.MODEL_SIGNING_KEYRING_DIR = tmp_path / "keys"
    first = _trained(story, sent)

    previous, new = signing.signing_key_rotate(actor=Actor.system("tests"))
    second = _trained(story, sent)

    assert first.signing_key_id == previous and second.signing_key_id == new != previous
    signing.version_verify(first, tmp_path / "first")
    signing.version_verify(second, tmp_path / "second")
    rotation = AuditEntry.objects.get(action="model_signing.key_rotate")
    assert rotation.target_id == new and json.loads(rotation.entry)["data"]["previous"] == previous


def test_the_auditor_zip_carries_the_signature_bundle_provenance_and_key_and_verifies_offline(
    story: Any, sent: list, tmp_path: Path
) -> None:
    import zipfile
    from io import StringIO

    from django.core.management import call_command

    from tests.audit.factories import offline_verify, trusted_vkey

    version = _trained(story, sent)
    out = tmp_path / "report.zip"
    call_command("export_lineage", version.node_id, "--out", str(out), stdout=StringIO())
    archive = zipfile.ZipFile(out)
    names = set(archive.namelist())

    verified = offline_verify(out, trusted_vkey())

    folder = "signatures/churn/1"
    assert {f"{folder}/model.sig", f"{folder}/provenance.json"} <= names
    assert f"signatures/keys/{version.signing_key_id}.pem" in names
    assert json.loads(archive.read(f"{folder}/provenance.json"))["run"] == version.run.node_id
    assert "trained here" in archive.read("report.json").decode()
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_key_command_generates_once_rotates_audited_and_shows_every_trusted_key(
    tmp_path: Path, settings: Any
) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    settings.MODEL_SIGNING_KEY_FILE = tmp_path / "key.pem"
    settings.MODEL_SIGNING_KEYRING_DIR = tmp_path / "keys"
    call_command("model_signing_key", "generate", stdout=StringIO())
    first = signing.key_id(signing.signing_public_key())

    with pytest.raises(CommandError, match="refusing to overwrite"):
        call_command("model_signing_key", "generate", stdout=StringIO())
    call_command("model_signing_key", "rotate", stdout=StringIO())
    shown = StringIO()
    call_command("model_signing_key", "show", stdout=shown)

    second = signing.key_id(signing.signing_public_key())
    assert second != first
    assert f"# {first}" in shown.getvalue() and f"# {second}" in shown.getvalue()
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0
    assert AuditEntry.objects.filter(action="model_signing.key_rotate", target_id=second).count() == 1
