from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from audit import handoff
from tests.audit.committer_support import run_committer


@pytest.fixture
def committer(needs_postgres_db: None, tmp_path: Path) -> Iterator[Path]:
    """``manage.py audit_committer`` running on PostgreSQL, and this process's writers pointed at its
    socket (yielded)."""
    sock = tmp_path / "committer.sock"
    with run_committer(sock, tmp_path / "committer.log"), override_settings(AUDIT_COMMITTER_SOCKET=str(sock)):
        yield sock
    handoff.close()
