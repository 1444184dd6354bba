"""No pickle ever runs (issue 13, acceptance 1 and 2): a malicious pickle tried through every way in.

The pickle's ``__reduce__`` writes a marker file when it is unpickled. It is tried as plain pickle bytes
and as joblib files (plain and compressed), under names that claim other formats, through: the model
upload, the MLflow API's ``source`` (a path, ``file://``, a loopback URL, a redirect from a listed
server), a deploy request for the reference-only version that leaves behind, a model version row forged
in the database (claiming skops or ONNX, its hash pinned by an approved deploy) run by the worker's code
and called straight, and a deployment row forged to serve it. Each way ends in a 4xx or a refused job,
with an audit entry; the marker never appears. A skops file naming ``os.system`` is refused before
anything is built, naming the type.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import pickle
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import pytest
import skops.io
from django.core.files import File
from django.utils import timezone
from rest_framework.test import APIClient

from audit.actors import Actor
from audit.models import AuditEntry
from governance.approvals import grants
from governance.approvals.keys import grant_public_keys
from governance.core.errors import Conflict
from governance.jobs import deploying, serving
from governance.jobs.models import JobStatus, ReleaseJob
from governance.jobs.runner import Context, Refused, run_release_job
from registry import storage
from registry.artifacts import ArtifactRefused, artifact_check, skops_load
from registry.models import Deployment, ModelAlias, ModelVersion, RegisteredModel
from registry.services.catalog import model_create, model_version_upload
from tests.jobs import factories

pytestmark = pytest.mark.django_db
MLFLOW = "/api/2.0/mlflow"
SCHEMA = [
    {"name": "tenure", "type": "number"},
    {"name": "plan", "type": "string"},
    {"name": "monthly_spend", "type": "number"},
]


class _Plant:
    """Unpickling this opens (creates) ``marker`` for writing: the proof that a pickle ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.marker), "w"))


class _Shell:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


@dataclass
class Evil:
    marker: Path
    files: dict[str, bytes]  # a name claiming some format -> malicious bytes


@pytest.fixture
def evil(tmp_path: Path, settings: Any) -> Iterator[Evil]:
    settings.MEDIA_ROOT = tmp_path / "media"
    marker = tmp_path / "pwned"
    made = tmp_path / "made"
    made.mkdir()
    joblib.dump(_Shell(marker), made / "plain.joblib")  # dumping runs nothing; loading would
    joblib.dump(_Plant(marker), made / "compressed.joblib", compress=3)
    files = {
        "model.pkl": pickle.dumps(_Plant(marker)),
        "model.onnx": pickle.dumps(_Shell(marker), protocol=0),
        "model.skops": pickle.dumps(_Plant(marker), protocol=2),
        "model.joblib": (made / "plain.joblib").read_bytes(),
        "model.joblib.gz": (made / "compressed.joblib").read_bytes(),
    }
    yield Evil(marker, files)
    assert not marker.exists(), "a pickle ran"


@pytest.fixture
def story(db: None) -> Any:
    people = factories.people()
    people.extra["pipeline"] = _token_client(people.requester)
    return people


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _token_client(user: Any) -> APIClient:
    from governance.accounts.services import token_issue

    _, raw = token_issue(actor=Actor.system("tests"), user=user, name="mlflow-client")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _audited(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


def _stored_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / storage.PREFIX
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


# --- The model upload -------------------------------------------------------------------------------------


def test_a_pickle_or_joblib_upload_is_refused_with_the_formats_to_send(
    story: Any, evil: Evil, settings: Any
) -> None:
    model_create(actor=Actor.for_user(story.requester), name="churn")
    client = _client(story.requester)
    for name, data in evil.files.items():
        before = _audited("model_artifact.refuse")
        upload = io.BytesIO(data)
        upload.name = name
        response = client.post(
            "/api/v1/models/churn/versions",
            {"artifact": upload, "input_schema": json.dumps(SCHEMA)},
            format="multipart",
        )
        assert response.status_code == 400, (name, response.json())
        body = response.json()
        assert body["error"] == "artifact_refused" and "pickle" in body["detail"], body
        assert "ONNX" in body["detail"] and "skops" in body["detail"]
        assert _audited("model_artifact.refuse") == before + 1, name
    assert not ModelVersion.objects.exists()
    assert _stored_files(settings) == []


# --- The MLflow API's source ------------------------------------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    redirect_to = ""

    def do_GET(self) -> None:
        if self.path.startswith("/models/hop/"):
            self.send_response(302)
            self.send_header("Location", self.redirect_to + "/" + self.path.rsplit("/", 1)[-1])
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        return


def _serve(directory: Path, redirect_to: str = "") -> tuple[http.server.ThreadingHTTPServer, str]:
    handler_class = type("Handler", (_Handler,), {"redirect_to": redirect_to})

    def handler(*args: Any) -> _Handler:
        return handler_class(*args, directory=str(directory))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def servers(tmp_path: Path, evil: Evil) -> Iterator[tuple[str, str]]:
    """A listed-to-be artifact server (``/models/<name>``, ``/models/hop/<name>`` redirects) and an
    unlisted one that serves the same pickles; both on 127.0.0.1."""
    listed_dir, other_dir = tmp_path / "listed", tmp_path / "other"
    (listed_dir / "models").mkdir(parents=True)
    other_dir.mkdir()
    for name, data in evil.files.items():
        (listed_dir / "models" / name).write_bytes(data)
        (other_dir / name).write_bytes(data)
    other, other_url = _serve(other_dir)
    listed, listed_url = _serve(listed_dir, redirect_to=other_url)
    try:
        yield listed_url, other_url
    finally:
        for server in (listed, other):
            server.shutdown()
            server.server_close()


def _mlflow_create(client: APIClient, source: str) -> Any:
    return client.post(f"{MLFLOW}/model-versions/create", {"name": "churn", "source": source}, format="json")


def test_by_default_an_mlflow_source_is_never_fetched_and_the_version_is_not_deployable(
    story: Any, evil: Evil, servers: tuple[str, str], tmp_path: Path, settings: Any
) -> None:
    pickle_file = tmp_path / "model.pkl"
    pickle_file.write_bytes(evil.files["model.pkl"])
    client = story.extra["pipeline"]
    assert (
        client.post(f"{MLFLOW}/registered-models/create", {"name": "churn"}, format="json").status_code == 200
    )
    listed, _ = servers
    sources = [str(pickle_file), f"file://{pickle_file}", f"{listed}/models/model.pkl"]
    for source in sources:
        response = _mlflow_create(client, source)
        assert response.status_code == 200, response.json()
    versions = list(ModelVersion.objects.order_by("version"))
    assert [(v.artifact_uri, v.storage_name, v.artifact_verified) for v in versions] == [
        (source, "", False) for source in sources
    ]
    assert all(v.undeployable_reason for v in versions)
    assert _stored_files(settings) == []
    # A deploy request for such a version is refused when filed, with the reason, and recorded.
    before = AuditEntry.objects.count()
    deploy = {
        "kind": "deploy",
        "model": "churn",
        "version": 1,
        "environment": "staging",
        "metric_thresholds": {"accuracy": 0.6},
    }
    response = _client(story.requester).post("/api/v1/releases", deploy, format="json")
    assert 400 <= response.status_code < 500, response.json()
    assert "model:churn#1" in response.json()["detail"], response.json()
    after = list(AuditEntry.objects.order_by("index").values_list("action", flat=True))[before:]
    assert after == ["release.refuse"], after


@pytest.mark.parametrize("name", ["model.pkl", "model.onnx", "model.joblib", "model.joblib.gz"])
def test_a_pickle_behind_a_listed_source_is_refused_with_mlflows_error_shape(
    story: Any, evil: Evil, servers: tuple[str, str], tmp_path: Path, settings: Any, name: str
) -> None:
    root = tmp_path / "artifacts"
    root.mkdir()
    (root / name).write_bytes(evil.files[name])
    listed, _ = servers
    settings.ARTIFACT_SOURCE_ROOTS = [str(root)]
    settings.ARTIFACT_SOURCE_URLS = [f"{listed}/models/"]
    client = story.extra["pipeline"]
    client.post(f"{MLFLOW}/registered-models/create", {"name": "churn"}, format="json")
    for source in (str(root / name), f"file://{root / name}", f"{listed}/models/{name}"):
        before = _audited("model_artifact.refuse")
        response = _mlflow_create(client, source)
        assert response.status_code == 400, response.json()
        body = response.json()
        assert body["error_code"] == "INVALID_PARAMETER_VALUE" and "pickle" in body["message"], body
        assert "ONNX" in body["message"] and "skops" in body["message"]
        assert _audited("model_artifact.refuse") == before + 1, source
    assert not ModelVersion.objects.exists()
    assert _stored_files(settings) == []


def test_a_redirect_from_a_listed_server_to_an_unlisted_one_is_not_followed(
    story: Any, evil: Evil, servers: tuple[str, str], settings: Any
) -> None:
    listed, other = servers
    settings.ARTIFACT_SOURCE_URLS = [f"{listed}/models/"]
    client = story.extra["pipeline"]
    client.post(f"{MLFLOW}/registered-models/create", {"name": "churn"}, format="json")
    before = _audited("model_artifact.refuse")
    response = _mlflow_create(client, f"{listed}/models/hop/model.pkl")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "redirect" in body["message"] and other in body["message"]
    assert _audited("model_artifact.refuse") == before + 1
    assert not ModelVersion.objects.exists()
    assert _stored_files(settings) == []


# --- A forged model version row, deployed by the worker's code and served ---------------------------------


def _forged(story: Any, evil: Evil, claimed_format: str) -> ModelVersion:
    """A version row written straight into the database (as an attacker with database access would):
    the malicious pickle stored, claiming a safe format and service-made metrics, with the signature
    bundle, provenance and key id of a genuine version the service signed (a replayed signature)."""
    import skops.io as skops_io
    from sklearn.linear_model import LogisticRegression

    actor = Actor.for_user(story.requester)
    model = RegisteredModel.objects.filter(name="churn").first() or model_create(actor=actor, name="churn")
    genuine_bytes = skops_io.dumps(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))
    genuine = model_version_upload(
        actor=actor, model=model, artifact=File(io.BytesIO(genuine_bytes), name="model.skops")
    )
    assert genuine.signature_storage_name and genuine.signing_key_id
    sha256, size, name = storage.store_stream(io.BytesIO(evil.files["model.pkl"]))
    onnx = {"onnx_sha256": sha256, "onnx_storage_name": name} if claimed_format == "onnx" else {}
    return ModelVersion.objects.create(
        model=model,
        version=genuine.version + 1,
        artifact_sha256=sha256,
        artifact_size=size,
        storage_name=name,
        artifact_verified=True,
        artifact_format=claimed_format,
        signature_storage_name=genuine.signature_storage_name,
        provenance_storage_name=genuine.provenance_storage_name,
        signing_key_id=genuine.signing_key_id,
        metrics={"accuracy": 0.99},
        metrics_source="service",
        input_schema=SCHEMA,
        created_by=story.requester,
        created_at=timezone.now(),
        **onnx,
    )


def _approved_deploy_job(story: Any, version: ModelVersion, sent: list[dict[str, Any]]) -> dict[str, Any]:
    deploy = factories.deploy_request(story.requester, version.version, "staging")
    factories.sign(deploy, story.approver)
    response = _client(story.requester).post(f"/api/v1/releases/{deploy.pk}/run")
    assert response.status_code == 201, response.json()
    return sent[-1]


@pytest.mark.parametrize("claimed_format", ["skops", "onnx"])
def test_a_forged_version_row_is_refused_by_the_deploy_job(
    story: Any, evil: Evil, sent: list[dict[str, Any]], claimed_format: str
) -> None:
    version = _forged(story, evil, claimed_format)
    message = _approved_deploy_job(story, version, sent)
    before = _audited("job.refuse")
    outcome = run_release_job(job_id=message["job_id"], grant=message["grant"], worker="test-worker")
    job = ReleaseJob.objects.get(pk=message["job_id"])
    assert (outcome, job.status) == (JobStatus.REFUSED, JobStatus.REFUSED), job.error
    assert version.node_id in job.error and "signature does not verify" in job.error
    assert _audited("job.refuse") == before + 1
    assert not Deployment.objects.exists() and not ModelAlias.objects.exists()


@pytest.mark.parametrize("claimed_format", ["skops", "onnx"])
def test_the_deploy_code_called_straight_with_the_hash_pinned_refuses_to_load_it(
    story: Any, evil: Evil, sent: list[dict[str, Any]], tmp_path: Path, claimed_format: str
) -> None:
    version = _forged(story, evil, claimed_format)
    message = _approved_deploy_job(story, version, sent)
    claims = grants.grant_verify(message["grant"], grant_public_keys())
    assert any(pin["sha256"] == version.artifact_sha256 for pin in claims["pinned"])
    job = ReleaseJob.objects.get(pk=message["job_id"])
    context = Context(job=job, claims=claims, actor=Actor.worker("direct"), workdir=tmp_path)
    with pytest.raises(Refused) as refused:
        deploying.deploy(context)
    assert version.node_id in refused.value.reason and "signature does not verify" in refused.value.reason
    assert not Deployment.objects.exists()


@pytest.mark.parametrize("claimed_format", ["skops", "onnx"])
def test_a_forged_deployment_of_it_is_never_served(story: Any, evil: Evil, claimed_format: str) -> None:
    version = _forged(story, evil, claimed_format)
    Deployment.objects.create(
        model_version=version,
        environment="staging",
        deployed_by=story.requester,
        deployed_at=timezone.now(),
    )
    rows = [{"tenure": 3, "plan": "basic", "monthly_spend": 30.0}]
    before = _audited("model_artifact.refuse")
    with pytest.raises(Conflict) as refused:
        serving.predict(environment="staging", model_name="churn", rows=rows)
    assert version.node_id in refused.value.detail and "signature does not verify" in refused.value.detail
    assert _audited("model_artifact.refuse") == before + 1
    response = _client(story.requester).post(
        "/api/v1/deployments/staging/churn/predict", {"rows": rows}, format="json"
    )
    assert response.status_code == 409 and version.node_id in response.json()["detail"], response.json()
    assert _audited("model_artifact.refuse") == before + 2


def test_the_loaders_themselves_refuse_pickle_bytes_even_with_their_hash_pinned(
    evil: Evil, tmp_path: Path
) -> None:
    """Below the signature check: were it skipped, the skops and ONNX loaders still build nothing."""
    import hashlib

    from registry.artifacts import onnx_session

    for name, data in evil.files.items():
        path = tmp_path / f"loaded-{name}"
        path.write_bytes(data)
        with pytest.raises(ArtifactRefused):
            skops_load(path)
        with pytest.raises(ArtifactRefused):
            onnx_session(data, hashlib.sha256(data).hexdigest())
        with pytest.raises(ArtifactRefused, match="pickle"):
            artifact_check(path)


# --- A skops file naming a type outside the allow-list ----------------------------------------------------


def _skops_naming(module: str, name: str) -> bytes:
    """A skops zip whose schema names ``module.name`` as a type to build (made from a harmless dump)."""
    data = skops.io.dumps({"model": os.system})
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = {item: archive.read(item) for item in archive.namelist()}
    schema = json.loads(members["schema.json"])
    schema["content"]["model"].update({"__module__": module, "__class__": name})
    members["schema.json"] = json.dumps(schema).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for item, content in members.items():
            archive.writestr(item, content)
    return out.getvalue()


@pytest.mark.parametrize(("module", "name"), [("os", "system"), ("posix", "system"), ("builtins", "eval")])
def test_a_skops_file_naming_a_type_outside_the_allow_list_is_refused_before_load(
    story: Any, tmp_path: Path, settings: Any, module: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "model.skops"
    path.write_bytes(_skops_naming(module, name))
    built: list[Any] = []
    monkeypatch.setattr(skops.io, "load", lambda *args, **kwargs: built.append(args))
    with pytest.raises(ArtifactRefused, match=f"{module}.{name}"):
        artifact_check(path)
    with pytest.raises(ArtifactRefused, match=f"{module}.{name}"):
        skops_load(path)
    assert built == [], "skops.io.load was reached"
    model_create(actor=Actor.for_user(story.requester), name="churn")
    upload = io.BytesIO(path.read_bytes())
    upload.name = "model.skops"
    before = _audited("model_artifact.refuse")
    response = _client(story.requester).post(
        "/api/v1/models/churn/versions", {"artifact": upload}, format="multipart"
    )
    assert response.status_code == 400 and f"{module}.{name}" in response.json()["detail"], response.json()
    assert _audited("model_artifact.refuse") == before + 1
    assert not ModelVersion.objects.exists() and _stored_files(settings) == []
