"""The auditor's lineage report: six formats naming the data, run and deployment; a zip that verifies
offline; each export audited; only auditors and compliance officers may export."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from audit.models import AuditEntry
from tests.audit.factories import offline_verify, trusted_vkey
from tests.conftest import need
from tests.registry.approved import approved_deploy
from tests.registry.factories import build_story
from tests.registry.model_files import onnx_bytes

pytestmark = pytest.mark.django_db

SUBJECT = "model:churn#1"


@pytest.fixture
def story(make_user):
    return build_story(make_user("dana", "data_scientist", full_name="Dana Scientist"))


def _get(client, fmt: str, node: str = SUBJECT):
    return client.get("/api/v1/reports/lineage", {"nodeId": node, "format": fmt})


@pytest.mark.parametrize("fmt", ["json", "prov", "openlineage", "csv", "html", "pdf"])
def test_every_format_answers_for_an_auditor(fmt: str, story, token_client) -> None:
    client, _ = token_client("audrey", "auditor")

    response = _get(client, fmt)

    assert response.status_code == 200, response.content[:300]
    assert response.content


def test_the_report_names_the_dataset_versions_with_hashes_the_run_and_the_deployment(
    story, token_client
) -> None:
    client, _ = token_client("audrey", "auditor")
    hashes = [version.sha256 for version in story.versions]

    report = _get(client, "json").json()
    prov = json.dumps(_get(client, "prov").json())
    rows = list(csv.reader(io.StringIO(_get(client, "csv").content.decode())))
    html = _get(client, "html").content.decode()

    assert sorted(entry["sha256"] for entry in report["datasets"]) == sorted(hashes)
    assert [run["run_id"] for run in report["runs"]] == [str(story.run.run_id)]
    assert (
        report["runs"][0]["code_version"] == "git:abc123"
        and report["runs"][0]["started_by"] == "Dana Scientist"
    )
    assert [(d["environment"], d["version"]) for d in report["deployments"]] == [("production", "1")]
    assert report["audit"]["checkpoint"].startswith(report["audit"]["origin"] + "\n")
    for digest in hashes:
        assert digest in prov and digest in html and any(digest in cell for row in rows for cell in row)
    assert str(story.run.run_id) in html and "production" in html


def test_the_report_of_a_deployment_reaches_back_to_the_data(story, token_client) -> None:
    client, _ = token_client("carla", "compliance_officer")

    report = _get(client, "json", "deployment:production:churn").json()

    assert {entry["version"] for entry in report["datasets"]} == {"v1", "v2"}


def test_the_pdf_renders_into_pages(story, token_client, tmp_path) -> None:
    need("pdftoppm")
    client, _ = token_client("audrey", "auditor")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(_get(client, "pdf").content)

    subprocess.run(
        [shutil.which("pdftoppm") or "pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )

    assert pdf.read_bytes().startswith(b"%PDF")
    assert list(tmp_path.glob("page*.png"))


def test_the_exported_zip_verifies_offline_and_a_flipped_byte_fails(story, tmp_path) -> None:
    out = tmp_path / "report.zip"
    call_command("export_lineage", SUBJECT, "--out", str(out), stdout=StringIO())
    names = set(zipfile.ZipFile(out).namelist())

    good = offline_verify(out, trusted_vkey())
    data = bytearray(out.read_bytes())
    position = data.find(b'"action":"lineage.report_export"')
    if position < 0:  # compressed: flip a byte in the middle of the archive instead
        position = len(data) // 2
    data[position] ^= 0x01
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(bytes(data))
    bad = offline_verify(flipped, trusted_vkey())

    assert {
        "report.json",
        "report.prov.json",
        "report.csv",
        "report.html",
        "report.pdf",
        "report.openlineage.json",
    } <= names
    assert "audit/entries.jsonl" in names and "audit/proofs.json" in names
    assert good.returncode == 0, good.stdout + good.stderr
    assert bad.returncode == 1, bad.stdout + bad.stderr


def test_each_export_is_an_audit_entry(story, token_client) -> None:
    client, _ = token_client("audrey", "auditor")

    _get(client, "csv")
    _get(client, "pdf")

    formats = [
        json.loads(e)["data"]["format"]
        for e in AuditEntry.objects.filter(action="lineage.report_export").values_list("entry", flat=True)
    ]
    assert formats == ["csv", "pdf"]


@pytest.mark.parametrize("role", ["data_scientist", "pipeline", "admin"])
def test_other_roles_may_not_export(role: str, story, token_client) -> None:
    client, _ = token_client(f"x-{role}", role)

    assert _get(client, "json").status_code == 403


def test_an_unknown_node_or_format_is_a_clear_4xx(story, token_client) -> None:
    client, _ = token_client("audrey", "auditor")

    unknown = _get(client, "json", "model:nope#9")
    bad_format = _get(client, "docx")

    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    assert bad_format.status_code == 400 and "format" in bad_format.json()["detail"]
    assert not AuditEntry.objects.filter(action="lineage.report_export").exists()


def test_the_lineage_page_draws_the_graph_for_a_compliance_officer(story, client, make_user) -> None:
    officer = make_user("colin", "compliance_officer", password="officer pass phrase 9")
    client.force_login(officer)

    page = client.get("/lineage/", {"nodeId": SUBJECT})

    body = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in body and "customers" in body and story.versions[0].sha256 in body


def test_the_lineage_page_refuses_a_pipeline_and_names_an_unknown_node(story, client, make_user) -> None:
    client.force_login(make_user("robot", "pipeline"))
    assert client.get("/lineage/", {"nodeId": SUBJECT}).status_code == 403
    client.force_login(make_user("ann", "auditor"))
    missing = client.get("/lineage/", {"nodeId": "model:nope#1"})
    assert missing.status_code == 404 and "nope" in missing.content.decode()


def test_the_model_and_dataset_pages_show_versions_hashes_and_deployments(story, client, make_user) -> None:
    client.force_login(make_user("ann2", "auditor"))

    models = client.get("/models/").content.decode()
    model = client.get("/models/churn/").content.decode()
    datasets = client.get("/datasets/").content.decode()

    assert "churn" in models and "high" in models
    assert story.model_version.artifact_sha256 in model and "production" in model
    assert "warehouse:customers" in datasets and "v2" in datasets
    assert client.get("/models/nope/").status_code == 404


def test_a_story_registered_through_the_api_is_in_every_report_format_and_its_zip_verifies(
    token_client, tmp_path
) -> None:
    """Acceptance: register dataset versions, the run and the model version through the API, deploy it,
    then export the report as an auditor; all six formats name what was registered."""
    scientist, _ = token_client("dana-api", "data_scientist")
    auditor, _ = token_client("audrey-api", "auditor")
    hashes = ["1" * 64, "2" * 64]
    scientist.post("/api/v1/datasets", {"namespace": "wh", "name": "loans"}, format="json")
    for number, digest in enumerate(hashes, start=1):
        created = scientist.post(
            "/api/v1/datasets/loans/versions?namespace=wh",
            {"version": f"v{number}", "uri": f"s3://wh/loans-{number}.csv", "sha256": digest},
            format="json",
        )
        assert created.status_code == 201, created.content
    run = scientist.post(
        "/api/v1/runs",
        {
            "code_version": "git:feedbeef",
            "parameters": {"max_depth": 4},
            "inputs": [
                {"namespace": "wh", "name": "loans", "version": "v1"},
                {"namespace": "wh", "name": "loans", "version": "v2"},
            ],
        },
        format="json",
    ).json()
    scientist.post("/api/v1/models", {"name": "credit", "risk_level": "high"}, format="json")
    version = scientist.post(  # only an artifact the service holds is deployed, never a reference
        "/api/v1/models/credit/versions",
        {"artifact": SimpleUploadedFile("model.onnx", onnx_bytes()), "run_id": run["run_id"]},
        format="multipart",
    )
    assert version.status_code == 201, version.content
    deployed = scientist.post(
        "/api/v1/deployments",
        {
            "model": "credit",
            "version": 1,
            "environment": "production",
            "release": approved_deploy("credit", 1, "production"),
        },
        format="json",
    )
    assert deployed.status_code == 201, deployed.content

    for fmt in ("json", "prov", "openlineage", "csv", "html", "pdf"):
        response = _get(auditor, fmt, "model:credit#1")
        assert response.status_code == 200, (fmt, response.content[:200])
        if fmt not in {"pdf", "openlineage"}:
            text = response.content.decode()
            assert all(digest in text for digest in hashes), fmt
            assert run["run_id"] in text, fmt
            assert "production" in text, fmt
    report = _get(auditor, "json", "model:credit#1").json()
    proved = {row["target"] for row in report["audit"]["entries"]}
    assert any(run["run_id"] in target for target in proved), "the run's audit entry proves the run"
    assert any(target.endswith("model:credit#1") for target in proved)
    out = tmp_path / "credit.zip"
    call_command("export_lineage", "model:credit#1", "--out", str(out), stdout=StringIO())
    assert offline_verify(out, trusted_vkey()).returncode == 0


def test_the_model_page_links_the_technical_documentation_for_those_who_may_export_it(
    story, client, make_user
) -> None:
    link = "/api/v1/reports/technical-documentation?nodeId=model:churn%231&amp;format=html"
    client.force_login(make_user("ann3", "auditor"))
    assert link in client.get("/models/churn/").content.decode()
    client.force_login(make_user("dana3", "data_scientist"))  # the export answers them 403: no link
    assert "technical-documentation" not in client.get("/models/churn/").content.decode()
