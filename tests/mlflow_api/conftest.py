"""Shared by the MLflow API's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def pipeline(token_client: Any, settings: Any, tmp_path: Path) -> APIClient:
    """The nightly pipeline's token client, with the media folder in the test's own tmp_path."""
    settings.MEDIA_ROOT = tmp_path / "media"
    client, _ = token_client("nightly", "pipeline")
    return client
