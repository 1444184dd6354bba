"""Which aliases are governed (a pure rule over the deploy policies), and which sources are fetched."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from governance.approvals.rules import PolicySpec, governed_aliases
from governance.mlflow_api.sources import source_open


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


@pytest.fixture
def artifact_server(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "model.pkl").write_bytes(b"served model bytes")

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args: Any) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_a_loopback_artifact_server_is_read(artifact_server: str) -> None:
    with source_open(f"{artifact_server}/model.pkl") as stream:
        assert stream is not None and stream.read() == b"served model bytes"
    with source_open(f"{artifact_server}/missing.pkl") as stream:
        assert stream is None


@pytest.mark.parametrize(
    "source",
    [
        "s3://bucket/m",
        "runs:/abc/model",
        "http://198.51.100.7/model.pkl",
        "https://example.invalid/m",
        "models:/x/1",
    ],
)
def test_other_sources_are_never_fetched(source: str) -> None:
    with source_open(source) as stream:
        assert stream is None


def test_a_directory_or_a_system_file_is_not_read(tmp_path: Path) -> None:
    for source in (str(tmp_path), "/etc/hostname", "/proc/self/environ"):
        with source_open(source) as stream:
            assert stream is None


@pytest.mark.django_db
def test_a_version_from_a_loopback_url_is_verified(
    artifact_server: str, token_client: Any, settings: Any, tmp_path: Path
) -> None:
    from registry.models import ModelVersion

    settings.MEDIA_ROOT = tmp_path / "media"
    client, _ = token_client("nightly", "pipeline")
    client.post("/api/2.0/mlflow/registered-models/create", {"name": "churn"}, format="json")
    body = {"name": "churn", "source": f"{artifact_server}/model.pkl"}
    assert client.post("/api/2.0/mlflow/model-versions/create", body, format="json").status_code == 200
    version = ModelVersion.objects.get()
    assert version.artifact_verified
    assert version.artifact_sha256 == hashlib.sha256(b"served model bytes").hexdigest()
