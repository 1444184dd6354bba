"""Which aliases are governed (a pure rule over the deploy policies), and which sources are fetched:
only what the operator listed, never by a redirect, never past the size limit."""

from __future__ import annotations

import hashlib
import http.server
import ipaddress
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from governance.approvals.rules import PolicySpec, governed_aliases
from governance.mlflow_api.sources import SourceRefused, _public, source_open


def _spec(kind: str, environment: str) -> PolicySpec:
    return {
        "kind": kind,
        "environment": environment,
        "risk_levels": ["*"],
        "checks": [],
        "required_approvals": [{"role": "compliance_officer", "count": 1}],
        "approval_validity_seconds": 3600,
    }


def test_production_and_champion_are_governed_with_no_policy_at_all() -> None:
    assert governed_aliases([]) == {"production", "champion"}


def test_every_environment_a_deploy_policy_names_is_governed_lowercased() -> None:
    specs = [_spec("deploy", "Canary"), _spec("deploy", "*"), _spec("train", "research")]
    assert governed_aliases(specs) == {"production", "champion", "canary"}


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files from ``directory``; ``/redirect/<anything>`` answers 302 to ``http://198.51.100.7/x``."""

    def do_GET(self) -> None:
        if self.path.startswith("/models/redirect/"):
            self.send_response(302)
            self.send_header("Location", "http://198.51.100.7/stolen")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def artifact_server(tmp_path: Path) -> Iterator[str]:
    """A local artifact server: ``/models/model.bin`` holds some bytes; its base URL (no trailing /)."""
    served = tmp_path / "served"
    (served / "models").mkdir(parents=True)
    (served / "models" / "model.bin").write_bytes(b"served model bytes")
    (served / "secret.bin").write_bytes(b"not under the listed prefix")

    def handler(*args: Any) -> _Handler:
        return _Handler(*args, directory=str(served))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _read(source: str) -> bytes | None:
    with source_open(source) as stream:
        return None if stream is None else stream.read()


# --- Nothing is fetched by default ------------------------------------------------------------------------


def test_by_default_no_local_file_and_no_url_is_fetched(tmp_path: Path, artifact_server: str) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"bytes")
    for source in (str(model), f"file://{model}", f"{artifact_server}/models/model.bin"):
        assert _read(source) is None


@pytest.mark.parametrize(
    "source",
    [
        "s3://bucket/m",
        "runs:/abc/model",
        "models:/x/1",
        "http://198.51.100.7/model.bin",
        "relative/model.bin",
    ],
)
def test_other_sources_are_never_fetched(source: str, settings: Any) -> None:
    settings.ARTIFACT_SOURCE_ROOTS = ["/"]
    settings.ARTIFACT_SOURCE_URLS = ["https://artifacts.example.com/"]
    assert _read(source) is None


# --- Local files: only under a listed root, symlinks and ".." resolved first ------------------------------


@pytest.fixture
def root(tmp_path: Path, settings: Any) -> Path:
    directory = tmp_path / "artifacts"
    directory.mkdir()
    (directory / "model.bin").write_bytes(b"model under the root")
    (tmp_path / "outside.bin").write_bytes(b"a token outside the root")
    settings.ARTIFACT_SOURCE_ROOTS = [str(directory)]
    return directory


def test_a_file_under_a_listed_root_is_read_as_a_path_or_a_file_uri(root: Path) -> None:
    assert _read(str(root / "model.bin")) == b"model under the root"
    assert _read(f"file://{root / 'model.bin'}") == b"model under the root"


def test_a_symlink_or_dot_dot_out_of_the_root_is_not_read(root: Path) -> None:
    os.symlink(root.parent / "outside.bin", root / "link.bin")
    assert _read(str(root / "link.bin")) is None
    assert _read(f"{root}/../outside.bin") is None
    assert _read(f"file://{root}/../outside.bin") is None


def test_the_services_own_files_are_not_read_even_under_a_listed_root(settings: Any) -> None:
    settings.ARTIFACT_SOURCE_ROOTS = ["/"]
    secret = Path(settings.VAR_DIR) / "secret_key"
    assert _read(str(secret)) is None
    assert _read(str(Path(settings.BASE_DIR) / "manage.py")) is None


def test_a_directory_or_a_missing_file_under_the_root_is_refused_with_the_reason(root: Path) -> None:
    with pytest.raises(SourceRefused, match="not a regular file"):
        _read(str(root))
    with pytest.raises(SourceRefused, match="cannot be read"):
        _read(str(root / "gone.bin"))


def test_a_file_over_the_size_limit_is_refused(root: Path, settings: Any) -> None:
    settings.ARTIFACT_SOURCE_MAX_BYTES = 5
    with pytest.raises(SourceRefused, match="ARTIFACT_SOURCE_MAX_BYTES"):
        _read(str(root / "model.bin"))


# --- URLs: only under a listed prefix, no redirect, no private address unless listed as such ---------------


def test_a_url_under_a_listed_prefix_is_fetched_and_nothing_beside_it(
    artifact_server: str, settings: Any
) -> None:
    settings.ARTIFACT_SOURCE_URLS = [f"{artifact_server}/models/"]
    assert _read(f"{artifact_server}/models/model.bin") == b"served model bytes"
    for source in (
        f"{artifact_server}/secret.bin",
        f"{artifact_server}/models/../secret.bin",
        f"{artifact_server}/models/%2e%2e/secret.bin",
        f"{artifact_server}/models-evil/model.bin",
        artifact_server.replace("http://", "http://user:pw@") + "/models/model.bin",
        artifact_server.replace("http://", "https://") + "/models/model.bin",
    ):
        assert _read(source) is None, source


def test_a_redirect_from_a_listed_server_is_not_followed(artifact_server: str, settings: Any) -> None:
    settings.ARTIFACT_SOURCE_URLS = [f"{artifact_server}/models/"]
    with pytest.raises(
        SourceRefused, match=r"302 with a redirect to http://198\.51\.100\.7/stolen; redirects"
    ):
        _read(f"{artifact_server}/models/redirect/model.bin")


def test_an_error_status_or_an_oversized_answer_is_refused(artifact_server: str, settings: Any) -> None:
    settings.ARTIFACT_SOURCE_URLS = [f"{artifact_server}/models/"]
    with pytest.raises(SourceRefused, match="HTTP 404"):
        _read(f"{artifact_server}/models/missing.bin")
    settings.ARTIFACT_SOURCE_MAX_BYTES = 5
    with pytest.raises(SourceRefused, match="ARTIFACT_SOURCE_MAX_BYTES"):
        _read(f"{artifact_server}/models/model.bin")


def test_a_listed_name_that_resolves_to_loopback_is_refused(artifact_server: str, settings: Any) -> None:
    by_name = artifact_server.replace("127.0.0.1", "localhost")
    settings.ARTIFACT_SOURCE_URLS = [f"{by_name}/models/"]
    with pytest.raises(SourceRefused, match=r"127\.0\.0\.1, a loopback, private or link-local address"):
        _read(f"{by_name}/models/model.bin")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),  # the cloud metadata service
        ("100.64.0.1", False),
        ("::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
    ],
)
def test_only_public_addresses_pass_unlisted(address: str, public: bool) -> None:
    assert _public(ipaddress.ip_address(address)) is public


# --- Through the MLflow API: what is fetched is checked, stored and signed; what is not, never deploys -----


def _skops_model() -> bytes:
    import skops.io
    from sklearn.linear_model import LogisticRegression

    return skops.io.dumps(LogisticRegression().fit([[0.0], [1.0]], [0, 1]))


def _onnx_model() -> bytes:
    import numpy as np
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    features = np.array([[0.0], [1.0]], dtype=np.float32)
    return to_onnx(LogisticRegression().fit(features, [0, 1]), features[:1]).SerializeToString()


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "make"), [("model.skops", _skops_model), ("model.onnx", _onnx_model)])
def test_a_model_from_a_listed_url_is_checked_stored_signed_and_deployable(
    artifact_server: str, token_client: Any, settings: Any, tmp_path: Path, name: str, make: Any
) -> None:
    from registry.models import ModelVersion

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ARTIFACT_SOURCE_URLS = [f"{artifact_server}/models/"]
    data = make()
    (tmp_path / "served" / "models" / name).write_bytes(data)
    client, _ = token_client("nightly", "pipeline")
    client.post("/api/2.0/mlflow/registered-models/create", {"name": "churn"}, format="json")
    body = {"name": "churn", "source": f"{artifact_server}/models/{name}"}
    response = client.post("/api/2.0/mlflow/model-versions/create", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["model_version"]["source"] == body["source"]
    version = ModelVersion.objects.get()
    assert version.artifact_verified and version.artifact_sha256 == hashlib.sha256(data).hexdigest()
    assert version.artifact_format == name.split(".")[1] and version.signature_storage_name
    assert version.onnx_sha256 == (version.artifact_sha256 if name.endswith(".onnx") else "")
    assert version.undeployable_reason == ""


@pytest.mark.django_db
def test_an_unlisted_source_is_recorded_unverified_and_is_never_deployable(
    artifact_server: str, token_client: Any, settings: Any, tmp_path: Path
) -> None:
    from registry.models import ModelVersion

    settings.MEDIA_ROOT = tmp_path / "media"
    (tmp_path / "served" / "models" / "model.skops").write_bytes(_skops_model())
    client, _ = token_client("nightly", "pipeline")
    client.post("/api/2.0/mlflow/registered-models/create", {"name": "churn"}, format="json")
    body = {"name": "churn", "source": f"{artifact_server}/models/model.skops"}
    assert client.post("/api/2.0/mlflow/model-versions/create", body, format="json").status_code == 200
    version = ModelVersion.objects.get()
    assert (version.artifact_verified, version.artifact_sha256, version.storage_name) == (False, "", "")
    assert "only a reference" in version.undeployable_reason
    assert not (tmp_path / "media").exists()


@pytest.mark.django_db
def test_a_refused_source_answers_mlflows_error_and_is_audited(
    artifact_server: str, token_client: Any, settings: Any
) -> None:
    from audit.models import AuditEntry
    from registry.models import ModelVersion

    settings.ARTIFACT_SOURCE_URLS = [f"{artifact_server}/models/"]
    client, _ = token_client("nightly", "pipeline")
    client.post("/api/2.0/mlflow/registered-models/create", {"name": "churn"}, format="json")
    body = {"name": "churn", "source": f"{artifact_server}/models/model.bin"}  # bytes of no model format
    response = client.post("/api/2.0/mlflow/model-versions/create", body, format="json")
    assert response.status_code == 400
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "ONNX" in response.json()["message"] and "skops" in response.json()["message"]
    refusal = AuditEntry.objects.get(action="model_artifact.refuse")
    assert body["source"] in refusal.entry
    assert not ModelVersion.objects.exists()
