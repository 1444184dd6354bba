"""Viewing a report is not new report content: each export is audited, yet the next render of the same
report lists the same entries against the same checkpoint; targets read as node ids, never doubled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.models import AuditEntry
from tests.approvals.factories import client_for
from tests.console.workflow_factories import PASSWORD, erasure_story

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def auditor(make_user: Any) -> Any:
    officer = make_user("olivia", "compliance_officer", password=PASSWORD)
    erasure_story(make_user("dana", "data_scientist"), officer)
    return make_user("ada", "auditor")


def _render(client: Any, fmt: str) -> bytes:
    response = client.get("/api/v1/reports/lineage", {"nodeId": "deployment:production:churn", "format": fmt})
    assert response.status_code == 200
    return bytes(response.content)


def test_two_renders_of_one_report_differ_only_in_their_generation_time(auditor: Any) -> None:
    client = client_for(auditor)

    first, second = (json.loads(_render(client, "json")) for _ in range(2))

    assert AuditEntry.objects.filter(action="lineage.report_export").count() == 2  # both views audited
    assert first["generated_at"] and second["generated_at"]
    first.pop("generated_at"), second.pop("generated_at")
    assert first == second
    assert first["audit"]["entries"]  # the nodes' own entries are there ...
    assert all(
        entry["action"] != "lineage.report_export" for entry in first["audit"]["entries"]
    )  # ... views not
    assert first["audit"]["tree_size"] > max(entry["index"] for entry in first["audit"]["entries"])


def test_the_html_and_csv_views_stay_the_same_size(auditor: Any) -> None:
    client = client_for(auditor)

    html = [_render(client, "html") for _ in range(3)]
    rows = [_render(client, "csv").count(b"\r\n") for _ in range(3)]

    assert len({len(page) for page in html}) == 1
    assert len(set(rows)) == 1


def test_audit_targets_name_each_node_once(auditor: Any) -> None:
    report = json.loads(_render(client_for(auditor), "json"))

    targets = [entry["target"] for entry in report["audit"]["entries"]]
    assert any(target.startswith("dataset:") for target in targets)
    assert not any(
        target.startswith(("dataset:dataset:", "model:model:", "deployment:deployment:"))
        for target in targets
    )
