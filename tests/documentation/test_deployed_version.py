"""The documentation of a deployed version recorded without the training job (the registry's story: two
dataset versions, a run, a version serving in production, no quality profile, no bias examination):
post-market monitoring shows the deployment's drift thresholds and alarms, oversight says who may stop
it, and what was never recorded says so."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from governance.monitoring.models import DriftCheck
from tests.registry.factories import T0, build_story

pytestmark = pytest.mark.django_db

NONE = "no evidence recorded"


@pytest.fixture
def story(make_user: Any) -> Any:
    found = build_story(make_user("dana", "data_scientist", full_name="Dana Scientist"))
    DriftCheck.objects.create(
        deployment=found.deployment,
        model_version=found.model_version,
        window_start=T0 + timedelta(days=6),
        window_end=T0 + timedelta(days=7),
        samples=500,
        result={"psi": {"tenure": 0.4}},
        conclusive=True,
        alarm=True,
        checked_by="monitor",
        created_at=T0 + timedelta(days=7),
    )
    return found


def test_a_deployed_version_shows_its_monitoring_oversight_and_what_is_not_recorded(
    story, token_client
) -> None:
    client, _ = token_client("audrey", "auditor")

    response = client.get("/api/v1/reports/technical-documentation", {"nodeId": "model:churn#1"})
    html = client.get(
        "/api/v1/reports/technical-documentation", {"nodeId": "model:churn#1", "format": "html"}
    ).content.decode()

    assert response.status_code == 200, response.content[:300]
    sections = {one["id"]: one for one in response.json()["sections"]}
    monitoring = sections["9"]["evidence"]
    assert monitoring[0]["source"] == "deployment:production:churn" and monitoring[0]["facts"]["thresholds"]
    alarms = next(item for item in monitoring if item["label"] == "Drift checks and alarms so far")
    assert alarms["facts"] == {"checks": 1, "alarms": 1}
    stop = next(item for item in sections["2e"]["evidence"] if item["label"].startswith("Stopping"))
    assert "compliance_officer" in stop["facts"]["who_may_stop"]
    assert "/stop" in stop["facts"]["endpoint"]
    not_recorded = sections["2d"]["not_recorded"]
    assert "data quality profile of dataset:warehouse:customers#v1" in not_recorded
    assert "data quality profile of dataset:warehouse:customers#v2" in not_recorded
    assert {item["sha256"] for item in sections["2d"]["evidence"]} == {v.sha256 for v in story.versions}
    assert sections["2a"]["evidence"][0]["source"] == story.run.node_id
    assert sections["8"]["status"] == NONE and sections["8"]["evidence"] == []
    card = {one["heading"]: one["text"] for one in response.json()["model_card"]}
    assert card["Bias examination"] == NONE
    assert "no quality profile recorded" in card["Training data"]
    assert f'data quality profile of dataset:warehouse:customers#v1: <span class="none">{NONE}</span>' in html


def test_stored_shapes_with_missing_or_odd_keys_render_what_is_there_in_every_format(
    story, token_client
) -> None:
    from registry.models import ModelVersion
    from registry.models_quality import QualityProfile

    QualityProfile.objects.create(
        version=story.versions[0],
        profile={"format": "quality-profile/1", "columns": [{"name": "tenure"}, "odd"], "target": None},
        sha256="a" * 64,
        computed_at=T0,
    )
    ModelVersion.objects.filter(pk=story.model_version.pk).update(
        bias_examination={"attributes": [{"column": "sex", "groups": [{"value": "f"}, 3]}], "skipped": "odd"}
    )
    client, _ = token_client("audrey", "auditor")

    answers = {
        fmt: client.get("/api/v1/reports/technical-documentation", {"nodeId": "model:churn#1", "format": fmt})
        for fmt in ("json", "html", "pdf")
    }

    assert {fmt: one.status_code for fmt, one in answers.items()} == {"json": 200, "html": 200, "pdf": 200}
    sections = {one["id"]: one for one in answers["json"].json()["sections"]}
    quality = next(item for item in sections["2d"]["evidence"] if item.get("sha256") == "a" * 64)
    assert quality["table"]["rows"][0][0] == "tenure"
    bias = next(item for item in sections["2g"]["evidence"] if item["label"] == "Bias examination")
    assert bias["table"]["rows"][0][0] == "sex" and bias["table"]["rows"][0][3] == "f"


def test_the_management_command_writes_a_zip_that_verifies_and_names_a_bad_node(story, tmp_path) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    from tests.audit.factories import offline_verify, trusted_vkey

    out = tmp_path / "doc.zip"
    call_command("export_technical_documentation", "model:churn#1", "--out", str(out), stdout=StringIO())

    proved = offline_verify(out, trusted_vkey())
    assert proved.returncode == 0, proved.stdout + proved.stderr
    with pytest.raises(CommandError, match="model:churn#7"):
        call_command("export_technical_documentation", "model:churn#7", "--out", str(out), stdout=StringIO())
