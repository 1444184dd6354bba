"""Technical documentation (EU AI Act Art. 11, Annex IV) of a trained model version (issue 20,
acceptance 3): every Annex IV section with its evidence or "no evidence recorded", in JSON, HTML, PDF
and a zip that ``python -m audit.verify`` proves; auditors and compliance officers only; each export an
audit entry."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from tests.audit.factories import offline_verify, trusted_vkey
from tests.conftest import need
from tests.documentation.story import record_quality_and_bias, trained

pytestmark = pytest.mark.django_db

SUBJECT = "model:churn#1"
URL = "/api/v1/reports/technical-documentation"
POINTS = {
    "1a": "Annex IV 1(a)",
    "1b": "Annex IV 1(b)",
    "1c": "Annex IV 1(c)",
    "1d": "Annex IV 1(d)",
    "1e": "Annex IV 1(e)",
    "1f": "Annex IV 1(f)",
    "1g": "Annex IV 1(g)",
    "1h": "Annex IV 1(h)",
    "2a": "Annex IV 2(a)",
    "2b": "Annex IV 2(b)",
    "2c": "Annex IV 2(c)",
    "2d": "Annex IV 2(d)",
    "2e": "Annex IV 2(e)",
    "2f": "Annex IV 2(f)",
    "2g": "Annex IV 2(g)",
    "2h": "Annex IV 2(h)",
    "3": "Annex IV 3",
    "4": "Annex IV 4",
    "5": "Annex IV 5",
    "6": "Annex IV 6",
    "7": "Annex IV 7",
    "8": "Annex IV 8",
    "9": "Annex IV 9",
}
NONE = "no evidence recorded"


@pytest.fixture
def story(sent: list[dict[str, Any]]) -> Any:
    people, version = trained(sent)
    people.extra["model_version"] = version
    return people


def _get(client: APIClient, fmt: str, node: str = SUBJECT) -> Any:
    return client.get(URL, {"nodeId": node, "format": fmt})


def _sections(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {section["id"]: section for section in document["sections"]}


def _text(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False)


def test_every_annex_iv_point_answers_with_its_evidence_or_says_none_is_recorded(story, token_client) -> None:
    client, _ = token_client("audrey", "auditor")
    dataset = story.extra["version"]

    response = _get(client, "json")

    assert response.status_code == 200, response.content[:300]
    document = response.json()
    sections = _sections(document)
    assert {key: one["point"] for key, one in sections.items()} == POINTS
    for section in sections.values():
        if section["evidence"]:
            assert section["status"] == "evidence recorded"
            assert all(item["source"] and item["label"] for item in section["evidence"])
        else:
            assert section["status"] == NONE
    assert sections["7"]["status"] == NONE and sections["8"]["status"] == NONE
    assert sections["1e"]["status"] == NONE and sections["1h"]["status"] == NONE
    run_node = story.extra["model_version"].run.node_id
    assert any(item["source"] == run_node for item in sections["2a"]["evidence"])
    assert any(
        item["source"] == dataset.node_id and item.get("sha256") == dataset.sha256
        for item in sections["2d"]["evidence"]
    )
    assert "git:4f2a9c1" in _text(sections["1c"]) and "accuracy" in _text(sections["2g"])
    assert "Olga Officer" in _text(sections["6"]) and "approved" in _text(sections["6"])
    assert "lawful_basis" in _text(sections["2d"])  # the release's consent check, with its result
    assert "rows_included" in _text(sections["2d"])  # the consent manifest the run applied
    assert [one["heading"] for one in document["model_card"]][:3] == [
        "Model",
        "Intended purpose",
        "Provider (owner)",
    ]
    assert (
        json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n" == response.content.decode()
    )


def test_without_a_bias_examination_the_document_says_none_is_recorded(story, token_client) -> None:
    """(A version without a quality profile: ``test_deployed_version.py``.)"""
    client, _ = token_client("carla", "compliance_officer")
    from registry.models import ModelVersion

    ModelVersion.objects.filter(pk=story.extra["model_version"].pk).update(bias_examination={})

    document = _get(client, "json").json()
    html = _get(client, "html").content.decode()

    sections = _sections(document)
    missing = "bias examination (potentially discriminatory impacts)"
    assert missing in sections["2g"]["not_recorded"]
    assert "degrees of accuracy for specific persons or groups" in sections["3"]["not_recorded"]
    card = {one["heading"]: one["text"] for one in document["model_card"]}
    assert card["Limitations"] == NONE
    assert f'{missing}: <span class="none">{NONE}</span>' in html


def test_a_stored_quality_profile_and_bias_examination_show_their_figures(story, token_client) -> None:
    client, _ = token_client("audrey", "auditor")
    digest = record_quality_and_bias(story.extra["version"], story.extra["model_version"])

    document = _get(client, "json").json()
    html = _get(client, "html").content.decode()

    sections = _sections(document)
    quality = next(item for item in sections["2d"]["evidence"] if item["label"].startswith("Data quality"))
    assert quality["sha256"] == digest and quality["facts"]["duplicate_subjects"] == 150
    assert ["tenure", "integer", "24", "0.08", "59", "1", "31", "59", "", "0"] in quality["table"]["rows"]
    assert quality["facts"]["target_classes"] == "0: 180 (0.6), 1: 120 (0.4)"
    bias = next(item for item in sections["2g"]["evidence"] if item["label"] == "Bias examination")
    assert bias["facts"]["demographic_parity_difference"] == 0.3125
    assert bias["facts"]["library"] == "fairlearn 0.13.0"
    assert ["plan", "user.financial", "yes", "basic", "20", "0.625", "0.9", "0.2"] in bias["table"]["rows"]
    assert any(item["label"] == "Bias examination" for item in sections["3"]["evidence"])
    assert "region" in _text(sections["2g"])  # an attribute skipped, with why
    card = {one["heading"]: one["text"] for one in document["model_card"]}
    assert "demographic parity difference 0.3125" in card["Bias examination"]
    assert digest in html and "0.3125" in html and "fairlearn 0.13.0" in html


def test_the_html_and_the_pdf_carry_every_section_heading(story, token_client, tmp_path: Path) -> None:
    need("pdftoppm")  # poppler-utils, which also ships pdftotext
    client, _ = token_client("audrey", "auditor")
    document = _get(client, "json").json()

    html = _get(client, "html")
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(_get(client, "pdf").content)
    text = subprocess.run(
        [shutil.which("pdftotext") or "pdftotext", "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    flat = " ".join(text.split())

    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    page = html.content.decode()
    shown = re.sub(r"<[^>]+>", "", page)
    assert "<svg" in page and "<script" not in page and "http://" not in page.split("<svg", 1)[0]
    for section in document["sections"]:
        heading = f"{section['point']} — {section['heading']}"
        assert heading in shown
        assert " ".join(heading.split()) in flat, heading
    assert "Model card" in flat and NONE in flat


def test_the_zip_verifies_offline_and_a_changed_byte_of_its_json_is_refused(
    story, token_client, tmp_path
) -> None:
    client, _ = token_client("audrey", "auditor")
    response = _get(client, "zip")
    good = tmp_path / "doc.zip"
    good.write_bytes(response.content)
    with zipfile.ZipFile(good) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    name = "technical-documentation.json"
    changed = bytearray(members[name])
    changed[changed.index(b"churn")] ^= 0x01
    bad = tmp_path / "tampered.zip"
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, bytes(changed) if member == name else content)

    proved = offline_verify(good, trusted_vkey())
    refused = offline_verify(bad, trusted_vkey())

    assert {name, "technical-documentation.html", "technical-documentation.pdf"} <= set(members)
    assert "audit/entries.jsonl" in members and "audit/proofs.json" in members
    assert proved.returncode == 0, proved.stdout + proved.stderr
    assert proved.stdout.startswith("OK:") and "match their SHA-256" in proved.stdout
    assert refused.returncode == 1 and name in refused.stdout, refused.stdout


def test_each_export_is_one_audit_entry_naming_the_node_format_and_hash(story, token_client) -> None:
    client, _ = token_client("audrey", "auditor")

    json_response = _get(client, "json")
    _get(client, "pdf")

    entries = [
        json.loads(raw)
        for raw in AuditEntry.objects.filter(action="report.technical_documentation")
        .order_by("index")
        .values_list("entry", flat=True)
    ]
    assert [entry["data"]["format"] for entry in entries] == ["json", "pdf"]
    assert entries[0]["data"]["node"] == SUBJECT and entries[0]["target"]["id"] == SUBJECT
    assert entries[0]["data"]["sha256"] == hashlib.sha256(json_response.content).hexdigest()
    assert entries[0]["actor"]["username"] == "audrey" if "username" in entries[0]["actor"] else True


@pytest.mark.parametrize("role", ["auditor", "compliance_officer"])
def test_auditors_and_compliance_officers_may_export(role: str, story, token_client) -> None:
    client, _ = token_client(f"x-{role}", role)

    assert _get(client, "json").status_code == 200


@pytest.mark.parametrize("role", ["data_scientist", "pipeline", "admin"])
def test_other_roles_may_not_export(role: str, story, token_client) -> None:
    client, _ = token_client(f"x-{role}", role)

    response = _get(client, "json")

    assert response.status_code == 403 and "auditor" in response.json()["detail"]
    assert not AuditEntry.objects.filter(action="report.technical_documentation").exists()


def test_an_anonymous_caller_is_asked_to_authenticate(story) -> None:
    response = _get(APIClient(), "json")

    assert response.status_code == 401


@pytest.mark.parametrize(
    ("node", "fmt", "status", "named"),
    [
        ("deployment:production:churn", "json", 400, "nodeId"),
        ("model:churn", "json", 400, "nodeId"),
        ("model:churn\x00#1", "json", 400, "nodeId"),
        ("model:churn#9", "json", 404, "model:churn#9"),
        ("model:nope#1", "json", 404, "model:nope#1"),
        (SUBJECT, "docx", 400, "format"),
    ],
)
def test_a_bad_node_version_or_format_is_a_json_4xx_naming_it(
    node: str, fmt: str, status: int, named: str, story, token_client
) -> None:
    client, _ = token_client("audrey", "auditor")

    response = _get(client, fmt, node)

    assert response.status_code == status, response.content[:300]
    assert named in json.dumps(response.json())
    assert not AuditEntry.objects.filter(action="report.technical_documentation").exists()


def test_the_openapi_schema_lists_the_endpoint(story, token_client) -> None:
    client, _ = token_client("audrey", "auditor")

    schema = client.get("/api/schema/", {"format": "json"})

    body = schema.json() if schema["Content-Type"].startswith("application/json") else None
    text = json.dumps(body) if body is not None else schema.content.decode()
    assert "/api/v1/reports/technical-documentation" in text
    assert "v1_reports_technical_documentation_retrieve" in text
