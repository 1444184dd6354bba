"""An erasure is visible wherever the blocked model version shows: a banner naming the privacy request
(with its link) and what it blocks on the release, model, deployment and lineage pages, and the same
notice in every lineage report format (JSON, CSV, HTML, PDF, and the zip holding them)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from audit.actors import Actor
from governance.consent.services.erasure import erasure_exemption_record
from governance.consent.services.requests import privacy_request_status_set
from registry.models import ModelVersion
from tests.approvals.factories import client_for, make_policy, train_request
from tests.console.workflow_factories import PASSWORD, Erasure, erasure_story, signed_in
from tests.registry.approved import approved_deploy

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(tmp_path: Path, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()


@pytest.fixture
def officer(make_user: Any) -> Any:
    return make_user("olivia", "compliance_officer", password=PASSWORD, full_name="Olivia Officer")


@pytest.fixture
def scientist(make_user: Any) -> Any:
    return make_user("dana", "data_scientist", password=PASSWORD, full_name="Dana Scientist")


@pytest.fixture
def story(scientist: Any, officer: Any) -> Erasure:
    return erasure_story(scientist, officer)


def _banner(html: str) -> str:
    start = html.index('id="erasure-banner"')
    return html[start : html.index("</section>", start)]


def _assert_names_the_request(text: str, story: Erasure) -> None:
    assert f'href="/privacy/requests/{story.request.pk}/"' in text
    assert f"Erasure request #{story.request.pk}" in text
    assert "model:churn#1" in text and "deployment:production:churn" in text
    assert story.version.node_id in text


@pytest.mark.parametrize(
    "path", ["/models/churn/", "/deployments/production/churn/", "/lineage/?nodeId=model:churn%231"]
)
def test_the_model_deployment_and_lineage_pages_carry_the_banner(
    path: str, scientist: Any, story: Erasure
) -> None:
    response = signed_in(scientist).get(path)

    assert response.status_code == 200
    _assert_names_the_request(_banner(response.content.decode()), story)


def test_the_release_page_of_a_blocked_version_carries_the_banner(officer: Any, story: Erasure) -> None:
    release_id = approved_deploy("churn", 1, "staging")

    html = signed_in(officer).get(f"/approvals/{release_id}/").content.decode()

    _assert_names_the_request(_banner(html), story)


def test_no_banner_once_the_request_is_denied_or_the_version_exempted(
    scientist: Any, officer: Any, story: Erasure
) -> None:
    client = signed_in(scientist)
    erasure_exemption_record(
        actor=Actor.for_user(officer),
        request=story.request,
        model_version=story.model_version,
        ground="legal_obligation",
        reason="court order",
    )

    assert "erasure-banner" not in client.get("/models/churn/").content.decode()


def test_a_denied_request_blocks_nothing_and_shows_no_banner(
    scientist: Any, officer: Any, story: Erasure
) -> None:
    privacy_request_status_set(
        actor=Actor.for_user(officer), request=story.request, status="denied", reason="not verifiable"
    )

    assert "erasure-banner" not in signed_in(scientist).get("/deployments/production/churn/").content.decode()


def _report(officer: Any, fmt: str) -> Any:
    response = client_for(officer).get("/api/v1/reports/lineage", {"nodeId": "model:churn#1", "format": fmt})
    assert response.status_code == 200
    return response


def test_every_report_format_names_the_blocking_request(officer: Any, story: Erasure) -> None:
    pk = story.request.pk

    as_json = json.loads(_report(officer, "json").content)
    rows = list(csv.reader(io.StringIO(_report(officer, "csv").content.decode())))
    html = _report(officer, "html").content.decode()
    pdf = _report(officer, "pdf").content

    block = as_json["erasure_blocks"][0]
    assert (block["request"], block["type"], block["url"]) == (pk, "erasure", f"/privacy/requests/{pk}/")
    assert block["model_versions"] == ["model:churn#1"] and block["deployments"] == [
        "deployment:production:churn"
    ]
    assert rows[1][:4] == ["erasure", f"/privacy/requests/{pk}/", "erasure request", str(pk)]
    assert "Deploying model:churn#1 is refused" in rows[1][7]
    assert html.index('id="erasure"') < html.index('id="graph"')  # first thing after the title
    _assert_names_the_request(html[html.index('id="erasure"') :], story)
    assert f"blocked-by-erasure-request-{pk}".encode() in pdf


def test_the_zip_holds_the_notice_in_each_of_its_reports(officer: Any, story: Erasure, settings: Any) -> None:
    # The factory's version names a signature bundle it never wrote; the zip copies it and its provenance.
    ModelVersion.objects.filter(pk=story.model_version.pk).update(provenance_storage_name="provenance.json")
    for name in (story.model_version.signature_storage_name, "provenance.json"):
        (Path(settings.MEDIA_ROOT) / name).write_bytes(b"{}")
    archive = zipfile.ZipFile(io.BytesIO(_report(officer, "zip").content))
    names = archive.namelist()

    def read(suffix: str) -> bytes:
        return archive.read(next(name for name in names if name.endswith(suffix)))

    assert json.loads(read("report.json"))["erasure_blocks"][0]["request"] == story.request.pk
    assert b"\r\nerasure,/privacy/requests/" in read("report.csv")
    assert b'id="erasure"' in read("report.html")
    assert f"blocked-by-erasure-request-{story.request.pk}".encode() in read("report.pdf")


def test_a_report_without_a_binding_erasure_has_no_notice(officer: Any, story: Erasure) -> None:
    privacy_request_status_set(
        actor=Actor.for_user(officer), request=story.request, status="denied", reason="not verifiable"
    )

    as_json = json.loads(_report(officer, "json").content)
    html = _report(officer, "html").content.decode()

    assert as_json["erasure_blocks"] == [] and 'id="erasure"' not in html


def test_a_training_request_on_data_holding_the_subject_names_the_request(
    scientist: Any, officer: Any, story: Erasure
) -> None:
    make_policy("train-default")
    release = train_request(scientist, story.version)

    html = signed_in(officer).get(f"/approvals/{release.pk}/").content.decode()

    banner = _banner(html)
    assert f'href="/privacy/requests/{story.request.pk}/"' in banner
    assert f"Training on {story.version.node_id} is refused" in banner
