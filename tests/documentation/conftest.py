from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _own_media_root(tmp_path: Path, settings: Any) -> None:
    """Each test stores the files it trains on and signs in its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
