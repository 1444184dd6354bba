"""The people in these tests: the requester, the approver, the second approver and the outsider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from tests.approvals.factories import PASSWORD


@pytest.fixture(autouse=True)
def _media_and_throttles(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    # Signing is throttled per user id; ids repeat across tests, so counts must not carry over.
    cache.clear()


@pytest.fixture
def requester(make_user: Any) -> Any:
    return make_user("rita", "data_scientist", password=PASSWORD, full_name="Rita Requester")


@pytest.fixture
def approver(make_user: Any) -> Any:
    return make_user("olivia", "compliance_officer", password=PASSWORD, full_name="Olivia Officer")


@pytest.fixture
def second_approver(make_user: Any) -> Any:
    return make_user("oscar", "compliance_officer", password=PASSWORD, full_name="Oscar Officer")


@pytest.fixture
def outsider(make_user: Any) -> Any:
    """An auditor: reads everything, signs nothing."""
    return make_user("audrey", "auditor", password=PASSWORD, full_name="Audrey Auditor")


@pytest.fixture
def pipeline(make_user: Any) -> Any:
    return make_user("robot", "pipeline", full_name="Nightly pipeline")


@pytest.fixture
def admin_user(make_user: Any) -> Any:
    return make_user("adam", "admin", password=PASSWORD, full_name="Adam Admin")
