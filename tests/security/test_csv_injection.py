"""CSV injection: what a pipeline writes into lineage (dataset names, job names, dataset facets) comes
out of every CSV export defused, so an auditor's spreadsheet shows it as text instead of running it.

OWASP "CSV Injection": a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return (also
after leading spaces) is a formula; ``governance/core/csv_out.py`` prefixes it with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.actors import Actor
from governance.core.csv_out import FORMULA_TRIGGERS, csv_text, neutralise_cell
from tests.consent.factories import personal_dataset

ROOT = Path(__file__).resolve().parents[2]
HYPERLINK = '=HYPERLINK("http://x","y")'
DDE = "+1+cmd|' /C calc'!A0"
AT = "@SUM(1)"
MINUS = "-2+3"
TAB = "\t=1+1"
SPACED = "  =1+1"
PAYLOADS = (HYPERLINK, DDE, AT, MINUS, TAB, SPACED)
RUN_ID = "0190a3c2-5d1e-7b8a-9c4f-2e6d8a1b3c5d"
PRODUCER = "https://github.com/acme/pipelines/tree/main/train"
SPEC = "https://openlineage.io/spec"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _facet(**fields: Any) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": f"{SPEC}/facets/custom.json", **fields}


def _version(value: str) -> dict[str, Any]:
    return {
        "datasetVersion": {
            "_producer": PRODUCER,
            "_schemaURL": f"{SPEC}/facets/1-0-1/DatasetVersionDatasetFacet.json",
            "datasetVersion": value,
        }
    }


def _event() -> dict[str, Any]:
    """One COMPLETE RunEvent: the personal dataset ``default:customers`` read with hostile facets,
    hostile dataset and job names, written to a dataset named like a formula."""
    customers_facets = {
        **_version("v1"),
        "retention": _facet(values=[HYPERLINK]),
        "dataSubjectCategories": _facet(values=[DDE]),
        "recipients": _facet(values=[AT]),
    }
    inputs = [{"namespace": "default", "name": "customers", "facets": customers_facets}]
    inputs += [{"namespace": "default", "name": name, "facets": _version("v1")} for name in (MINUS, TAB, AT)]
    return {
        "eventTime": "2024-06-01T08:00:00+00:00",
        "producer": PRODUCER,
        "schemaURL": f"{SPEC}/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "eventType": "COMPLETE",
        "run": {"runId": RUN_ID, "facets": {}},
        "job": {"namespace": MINUS, "name": DDE, "facets": {}},
        "inputs": inputs,
        "outputs": [{"namespace": "default", "name": HYPERLINK, "facets": _version("v1")}],
    }


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def _assert_defused(text: str, expected: tuple[str, ...]) -> None:
    """No cell a spreadsheet would run, and each expected payload there, defused by an apostrophe."""
    cells = _cells(text)
    live = [
        cell
        for cell in cells
        if cell.lstrip(" \t\r\n").startswith(FORMULA_TRIGGERS) and not _NUMBER.fullmatch(cell)
    ]
    assert live == []
    for payload in expected:
        assert "'" + payload in cells, (payload, cells)


@pytest.fixture
def ingested(token_client: Any, make_user: Any, settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    personal_dataset(Actor.for_user(make_user("dana", "data_scientist")))
    pipeline, _ = token_client("nightly", "pipeline")
    response = pipeline.post("/api/v1/lineage", _event(), format="json")
    assert response.status_code in (200, 201), response.content


@pytest.fixture
def auditor(token_client: Any) -> APIClient:
    client, _ = token_client("aude", "auditor")
    return client


@pytest.mark.django_db
@pytest.mark.usefixtures("ingested")
def test_records_of_processing_csv_defuses_facets_a_pipeline_set(auditor: APIClient) -> None:
    response = auditor.get("/api/v1/records-of-processing", {"format": "csv"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    _assert_defused(response.content.decode(), (HYPERLINK, DDE, AT))


@pytest.mark.django_db
@pytest.mark.usefixtures("ingested")
def test_lineage_report_csv_and_the_csv_in_its_zip_defuse_names_a_pipeline_sent(auditor: APIClient) -> None:
    texts = []
    for node in (f"dataset:default:{HYPERLINK}#v1", f"run:{RUN_ID}"):
        response = auditor.get("/api/v1/reports/lineage", {"nodeId": node, "format": "csv"})
        assert response.status_code == 200, response.content[:300]
        texts.append(response.content.decode())
        bundle = auditor.get("/api/v1/reports/lineage", {"nodeId": node, "format": "zip"})
        assert bundle.status_code == 200
        with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
            texts.append(archive.read("report.csv").decode())
    for text in texts:
        _assert_defused(text, ())
    _assert_defused(texts[0], (HYPERLINK, MINUS, TAB, AT))
    _assert_defused(texts[2], (f"{MINUS}/{DDE}",))  # the run's row names its job: namespace/name


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_trigger_gets_an_apostrophe_and_reads_back_whole(payload: str) -> None:
    assert neutralise_cell(payload) == "'" + payload
    [[header], [cell]] = csv.reader(io.StringIO(csv_text(["h"], [[payload]]), newline=""))
    assert (header, cell) == ("h", "'" + payload)


@pytest.mark.parametrize("number", ["-1.5", "+3", "-2e-3", "0", "-.5", 7, -1.25])
def test_plain_numbers_stay_numbers(number: object) -> None:
    assert neutralise_cell(number) == str(number)


@pytest.mark.parametrize(("value", "text"), [(None, ""), ("plain", "plain"), ("a=b", "a=b"), ("", "")])
def test_other_cells_are_left_alone(value: object, text: str) -> None:
    assert neutralise_cell(value) == text


_WRITES_CSV = re.compile(
    r"\bcsv\s*\.\s*(?:writer|DictWriter)\b|\bfrom\s+csv\s+import\b[^\n]*\b(?:writer|DictWriter)\b"
)
_ALLOWED = {
    "governance/core/csv_out.py",  # the one writer for files people open
    "governance/consent/rewrite.py",  # training data rewritten without a subject: copied faithfully
}


@pytest.mark.xdist_group("architecture")  # reads the tree test_architecture writes a module into
def test_no_module_but_the_neutralising_one_writes_csv() -> None:
    writers = sorted(
        str(path.relative_to(ROOT))
        for package in ("governance", "registry", "audit")
        for path in (ROOT / package).rglob("*.py")
        if _WRITES_CSV.search(path.read_text(encoding="utf-8"))
    )
    assert [path for path in writers if path not in _ALLOWED] == []
    assert "governance/core/csv_out.py" in writers  # the check still sees writers
