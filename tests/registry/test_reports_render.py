"""Renderers of the lineage report: SVG, PROV-JSON, CSV, HTML and PDF, all from one fixture."""

from __future__ import annotations

import copy
import csv
import html
import io
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from registry.reports.html import to_html
from registry.reports.layout import compute_layout, layered_layout
from registry.reports.pdf import to_pdf
from registry.reports.prov import qualified_name, to_prov_json
from registry.reports.svg import render_svg
from registry.reports.tabular import COLUMNS, to_csv
from registry.reports.types import LineageReport, ReportEdge, ReportNode

SVG_NS = "{http://www.w3.org/2000/svg}"
HOSTILE_LABEL = 'labs <script>alert(1)</script> & "quoted" extract'
FORMULA_NAME = "=cmd|' /C calc'!A0"
VISITS_SHA = "3b7e1c0a9f4d2e8b6a5c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a"
LABS_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
MODEL_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def make_report() -> LineageReport:
    """2 dataset versions -> 1 run -> 1 model version -> 2 deployments, 2 approvals, 3 audit entries."""
    nodes: list[ReportNode] = [
        {
            "id": "dsv:visits@3",
            "type": "dataset_version",
            "label": "patients.visits v3",
            "attributes": {"format": "parquet"},
        },
        {"id": "dsv:labs@7", "type": "dataset_version", "label": HOSTILE_LABEL, "attributes": {}},
        {
            "id": "run:0c847daa-238e-4eca-8054-5583bb212d29",
            "type": "run",
            "label": "train-readmission #42",
            "attributes": {"gpu": False, "retries": 0},
        },
        {
            "id": "mv:readmission@1.4.0",
            "type": "model_version",
            "label": "readmission-risk 1.4.0",
            "attributes": {"auc": 0.871},
        },
        {"id": "dep:staging", "type": "deployment", "label": "staging", "attributes": {}},
        {"id": "dep:production", "type": "deployment", "label": "production (eu-west)", "attributes": {}},
    ]
    edges: list[ReportEdge] = [
        {"source": "run:0c847daa-238e-4eca-8054-5583bb212d29", "target": "dsv:visits@3", "relation": "used"},
        {"source": "run:0c847daa-238e-4eca-8054-5583bb212d29", "target": "dsv:labs@7", "relation": "used"},
        {
            "source": "mv:readmission@1.4.0",
            "target": "run:0c847daa-238e-4eca-8054-5583bb212d29",
            "relation": "wasGeneratedBy",
        },
        {"source": "mv:readmission@1.4.0", "target": "dsv:visits@3", "relation": "wasDerivedFrom"},
        {"source": "mv:readmission@1.4.0", "target": "dep:staging", "relation": "deployedAs"},
        {"source": "mv:readmission@1.4.0", "target": "dep:production", "relation": "deployedAs"},
    ]
    return {
        "title": "Lineage of readmission-risk 1.4.0",
        "subject": "mv:readmission@1.4.0",
        "generated_at": "2024-06-03T09:15:00Z",
        "nodes": nodes,
        "edges": edges,
        "datasets": [
            {
                "node": "dsv:visits@3",
                "name": "patients.visits",
                "namespace": "postgres://warehouse:5432",
                "version": "3",
                "sha256": VISITS_SHA,
                "rows": 1_204_311,
                "holds_personal_data": True,
                "consent": {
                    "summary": "Broad research consent",
                    "counts": {"granted": 11980, "withdrawn": 20},
                },
            },
            {
                "node": "dsv:labs@7",
                "name": FORMULA_NAME,
                "namespace": "s3://lab-exports",
                "version": "7",
                "sha256": LABS_SHA,
                "rows": None,
                "holds_personal_data": False,
                "consent": None,
            },
        ],
        "runs": [
            {
                "node": "run:0c847daa-238e-4eca-8054-5583bb212d29",
                "run_id": "0c847daa-238e-4eca-8054-5583bb212d29",
                "job": "ml-pipelines/train-readmission",
                "started_at": "2024-06-01T08:00:00Z",
                "ended_at": "2024-06-01T09:42:10Z",
                "started_by": "airflow-scheduler",
                "code_version": "git:4f2a9c1",
                "parameters": {"learning_rate": 0.05, "max_depth": 6, "features": ["age", "visits"]},
                "metrics": {"auc": 0.871, "brier": 0.112},
            }
        ],
        "models": [
            {
                "node": "mv:readmission@1.4.0",
                "name": "readmission-risk",
                "version": "1.4.0",
                "sha256": MODEL_SHA,
                "framework": "scikit-learn 1.5",
                "registered_at": "2024-06-01T10:05:00Z",
                "registered_by": "Priya Natarajan",
            }
        ],
        "approvals": [
            {
                "request": "AR-2024-017",
                "signer_name": "Dr. Jane Roe",
                "signed_at": "2024-06-02T14:03:11Z",
                "meaning": "approved",
                "comment": "Validated against the hold-out cohort.",
                "covers": [VISITS_SHA, LABS_SHA, MODEL_SHA],
            },
            {
                "request": "AR-2024-017",
                "signer_name": "Sam O'Neil",
                "signed_at": "2024-06-02T16:20:00Z",
                "meaning": "reviewed",
                "comment": "-1 finding, closed",
                "covers": [MODEL_SHA],
            },
        ],
        "deployments": [
            {
                "node": "dep:staging",
                "environment": "staging",
                "model": "readmission-risk",
                "version": "1.4.0",
                "deployed_at": "2024-06-02T17:00:00Z",
                "deployed_by": "Priya Natarajan",
                "until": "2024-06-03T08:00:00Z",
                "endpoint": "https://staging.models.example.org/v1/readmission-risk",
            },
            {
                "node": "dep:production",
                "environment": "production",
                "model": "readmission-risk",
                "version": "1.4.0",
                "deployed_at": "2024-06-03T08:30:00Z",
                "deployed_by": "Luis García",
                "until": None,
                "endpoint": "https://models.example.org/v1/readmission-risk",
            },
        ],
        "audit": {
            "origin": "governance.example.org/audit",
            "tree_size": 1289,
            "checkpoint": (
                "governance.example.org/audit\n1289\nq2VbN0ZqYh1c3w9m4V2f7Lk8aPp0sR6tU1xY5zB3dE=\n\n"
                "\u2014 governance.example.org/audit Az3kQ1m9pYb4cT0Xw8Nf2LhR5sVuE6gJ7iK=\n"
            ),
            "entries": [
                {
                    "index": 1201,
                    "action": "model.register",
                    "timestamp": "2024-06-01T10:05:00Z",
                    "target": "mv:1",
                },
                {
                    "index": 1244,
                    "action": "approval.sign",
                    "timestamp": "2024-06-02T14:03:11Z",
                    "target": "ar:17",
                },
                {
                    "index": 1288,
                    "action": "deployment.create",
                    "timestamp": "2024-06-03T08:30:00Z",
                    "target": "dep:9",
                },
            ],
        },
    }


def big_graph(count: int) -> tuple[list[ReportNode], list[ReportEdge]]:
    """A binary derivation tree with back edges (cycles), a self-loop and a dangling edge."""
    nodes: list[ReportNode] = [
        {"id": f"n{i}", "type": "dataset_version", "label": f"node {i}", "attributes": {}}
        for i in range(count)
    ]
    edges: list[ReportEdge] = []
    for i in range(1, count):
        parent = f"n{(i - 1) // 2}"
        edges.append({"source": f"n{i}", "target": parent, "relation": "wasDerivedFrom"})
        if i % 50 == 0:
            edges.append({"source": "n0", "target": f"n{i}", "relation": "wasDerivedFrom"})  # closes a cycle
    edges.append({"source": "n3", "target": "n3", "relation": "wasDerivedFrom"})
    edges.append({"source": "n4", "target": "missing", "relation": "used"})
    return nodes, edges


# --- layout -------------------------------------------------------------------------------


def test_layout_places_inputs_then_run_then_model_then_deployments_left_to_right() -> None:
    report = make_report()
    positions = layered_layout(report["nodes"], report["edges"])
    x = {node_id: point[0] for node_id, point in positions.items()}
    run, model = "run:0c847daa-238e-4eca-8054-5583bb212d29", "mv:readmission@1.4.0"
    assert x["dsv:visits@3"] == x["dsv:labs@7"] < x[run] < x[model] < x["dep:staging"] == x["dep:production"]


def test_layout_is_deterministic_and_survives_cycles_self_loops_and_dangling_edges() -> None:
    nodes, edges = big_graph(300)
    first = compute_layout(nodes, edges)
    second = compute_layout(list(nodes), list(edges))
    assert first.positions == second.positions
    assert len(first.positions) == 300
    assert len(set(first.positions.values())) == 300, "two nodes share a position"
    assert first.reversed_edges, "the cycles should have been broken by reversing edges"
    reversed_pairs = set(first.reversed_edges)
    for edge in edges:
        upstream, downstream = edge["target"], edge["source"]  # wasDerivedFrom points back in time
        known = upstream in first.layers and downstream in first.layers and upstream != downstream
        if known and (upstream, downstream) not in reversed_pairs:
            assert first.layers[upstream] < first.layers[downstream], edge


def test_layout_routes_long_edges_through_intermediate_layers() -> None:
    report = make_report()
    layout = compute_layout(report["nodes"], report["edges"])
    derived = next(edge for edge in layout.edges if edge.relation == "wasDerivedFrom")
    assert len(derived.points) == 3  # model version -> (virtual point in the run layer) -> dataset
    assert derived.points[0] == layout.positions["mv:readmission@1.4.0"]
    assert derived.points[-1] == layout.positions["dsv:visits@3"]


# --- SVG ----------------------------------------------------------------------------------


def test_svg_parses_as_xml_and_carries_every_node_label_escaped() -> None:
    report = make_report()
    svg = render_svg(report)
    root = ET.fromstring(svg)  # noqa: S314 - parsing our own output, no external entities
    assert root.tag == f"{SVG_NS}svg"
    width, height = float(root.attrib["width"]), float(root.attrib["height"])
    assert root.attrib["viewBox"] == f"0 0 {width:.0f} {height:.0f}"
    titles = [element.text or "" for element in root.iter(f"{SVG_NS}title")]
    for node in report["nodes"]:
        assert any(node["label"] in title for title in titles), node["label"]
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;" in svg


def test_svg_has_arrow_markers_and_a_legend_and_readable_fonts() -> None:
    svg = render_svg(make_report())
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    markers = {marker.attrib["id"] for marker in root.iter(f"{SVG_NS}marker")}
    assert {"arrow-used", "arrow-wasGeneratedBy", "arrow-deployedAs"} <= markers
    paths_with_markers = [p for p in root.iter(f"{SVG_NS}path") if "marker-end" in p.attrib]
    assert len(paths_with_markers) >= len(make_report()["edges"])
    assert any(group.attrib.get("class") == "legend" for group in root.iter(f"{SVG_NS}g"))
    sizes = [float(size) for size in re.findall(r'font-size="([0-9.]+)"', svg)]
    assert min(sizes) >= 12
    assert all(fill in {"#000000"} for fill in re.findall(r'<text[^>]*fill="([^"]+)"', svg))


def test_svg_strips_characters_that_xml_forbids() -> None:
    report = make_report()
    report["nodes"][0]["label"] = "bad\x00label\x1b"
    ET.fromstring(render_svg(report))  # noqa: S314 - our own output


# --- PROV-JSON ----------------------------------------------------------------------------

_REFERENCE_KEYS = (
    "prov:activity",
    "prov:entity",
    "prov:agent",
    "prov:generatedEntity",
    "prov:usedEntity",
    "prov:specificEntity",
    "prov:generalEntity",
    "prov:influencee",
    "prov:influencer",
)


def test_prov_json_has_entities_activities_and_the_lineage_relations() -> None:
    doc = to_prov_json(make_report())
    json.dumps(doc)  # must be plain JSON
    assert doc["prefix"]["gov"]
    entity, activity = doc["entity"], doc["activity"]
    visits, labs = qualified_name("dsv:visits@3"), qualified_name("dsv:labs@7")
    model, run = (
        qualified_name("mv:readmission@1.4.0"),
        qualified_name("run:0c847daa-238e-4eca-8054-5583bb212d29"),
    )
    assert entity[visits]["gov:sha256"] == VISITS_SHA
    assert entity[visits]["prov:type"] == {"$": "gov:DatasetVersion", "type": "xsd:QName"}
    assert entity[model]["gov:sha256"] == MODEL_SHA
    assert activity[run]["prov:startTime"] == "2024-06-01T08:00:00Z"
    assert activity[run]["prov:endTime"] == "2024-06-01T09:42:10Z"
    assert activity[qualified_name("dep:production")]["prov:startTime"] == "2024-06-03T08:30:00Z"

    used = {(r["prov:activity"], r["prov:entity"]) for r in doc["used"].values()}
    assert {(run, visits), (run, labs), (qualified_name("dep:staging"), model)} <= used
    generated = [(r["prov:entity"], r["prov:activity"]) for r in doc["wasGeneratedBy"].values()]
    assert generated == [(model, run)]
    derived = [(r["prov:generatedEntity"], r["prov:usedEntity"]) for r in doc["wasDerivedFrom"].values()]
    assert derived == [(model, visits)]
    agents = {record.get("prov:label") for record in doc["agent"].values()}
    assert {"Dr. Jane Roe", "Sam O'Neil", "airflow-scheduler", "ml-pipelines/train-readmission"} <= agents
    associated = {(r["prov:activity"], r["prov:agent"]) for r in doc["wasAssociatedWith"].values()}
    assert (run, qualified_name("agent_airflow-scheduler")) in associated


def test_prov_json_declares_every_identifier_it_references() -> None:
    doc = to_prov_json(make_report())
    raw = json.loads(json.dumps(doc))
    declared = set(raw["entity"]) | set(raw["activity"]) | set(raw["agent"])
    relation_sections = [key for key in raw if key not in {"prefix", "entity", "activity", "agent"}]
    assert {"used", "wasGeneratedBy", "wasAssociatedWith", "wasDerivedFrom"} <= set(relation_sections)
    for section in relation_sections:
        for rel_id, record in raw[section].items():
            assert rel_id.startswith("_:")
            for key in _REFERENCE_KEYS:
                if key in record:
                    assert record[key] in declared, (section, key, record[key])
    qname = re.compile(r"^gov:[A-Za-z0-9_%][A-Za-z0-9_%.\-]*$")
    for ident in declared:
        assert qname.match(ident), ident
        assert not ident.endswith(".")


def test_qualified_names_escape_characters_not_allowed_in_prov_n() -> None:
    assert qualified_name("a b/c") == "gov:a%20b%2Fc"
    assert qualified_name("-lead.trail.") == "gov:%2Dlead.trail%2E"
    assert qualified_name("café") == "gov:caf%C3%A9"
    assert qualified_name("x:y") != qualified_name("x/y")


# --- CSV ----------------------------------------------------------------------------------


def test_csv_round_trips_through_csv_reader_with_one_row_per_item() -> None:
    report = make_report()
    rows = list(csv.reader(io.StringIO(to_csv(report), newline="")))
    assert tuple(rows[0]) == COLUMNS
    assert all(len(row) == len(COLUMNS) for row in rows)
    sections = [row[0] for row in rows[1:]]
    assert (
        sections == ["dataset"] * 2 + ["run", "model"] + ["approval"] * 2 + ["deployment"] * 2 + ["audit"] * 4
    )
    checkpoint = next(row for row in rows if row[0] == "audit" and row[2] == "checkpoint")
    assert checkpoint[7] == report["audit"]["checkpoint"]  # multi-line text survives quoting
    model = next(row for row in rows if row[0] == "model")
    assert model[4] == MODEL_SHA
    assert model[5] == "2024-06-01T10:05:00Z"


def test_csv_neutralises_cells_a_spreadsheet_would_run_as_formulas() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(make_report()), newline="")))
    labs = next(row for row in rows if row[0] == "dataset" and row[1] == "dsv:labs@7")
    assert labs[2] == "'" + FORMULA_NAME
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


# --- HTML ---------------------------------------------------------------------------------


def test_html_shows_hashes_signers_meanings_and_never_raw_script() -> None:
    report = make_report()
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page
    text = html.unescape(page)
    for digest in (VISITS_SHA, LABS_SHA, MODEL_SHA):
        assert digest in page
    for approval in report["approvals"]:
        assert approval["signer_name"] in text
        assert f'<span class="meaning">{approval["meaning"]}</span>' in page
    assert "2024-06-02 14:03:11 UTC" in page
    assert "§11.50" in page
    assert "Broad research consent" in page
    assert "git:4f2a9c1" in page
    assert '<pre class="checkpoint">governance.example.org/audit\n1289\n' in page
    assert "<svg" in page and "<?xml" not in page
    assert "@media print" in page and "break-inside: avoid" in page


def test_html_escapes_every_text_field() -> None:
    report = make_report()
    marker = '<img src=x onerror="alert(1)">'
    report["title"] = marker
    report["runs"][0]["parameters"] = {marker: marker}
    report["approvals"][0]["comment"] = marker
    report["audit"]["checkpoint"] = marker
    page = to_html(report)
    assert "<img" not in page
    assert page.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") >= 5


# --- PDF ----------------------------------------------------------------------------------


def test_pdf_is_a_pdf_and_deterministic() -> None:
    report = make_report()
    pdf = to_pdf(report)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert to_pdf(copy.deepcopy(report)) == pdf


def test_pdf_renders_to_page_images_when_pdftoppm_is_available(tmp_path: Path) -> None:
    pdf_path = tmp_path / "report.pdf"
    pdf_path.write_bytes(to_pdf(make_report()))
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    subprocess.run(
        [pdftoppm, "-png", "-r", "50", str(pdf_path), str(tmp_path / "page")], check=True, timeout=120
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2  # landscape header and graph, then the portrait tables
    assert all(page.stat().st_size > 1000 for page in pages)


def test_every_renderer_copes_with_an_empty_report_and_a_large_graph() -> None:
    empty = make_report()
    empty["nodes"], empty["edges"], empty["datasets"], empty["runs"] = [], [], [], []
    empty["models"], empty["approvals"], empty["deployments"] = [], [], []
    empty["audit"]["entries"] = []
    nodes, edges = big_graph(200)
    large = make_report()
    large["nodes"], large["edges"] = nodes, edges
    for report in (empty, large):
        ET.fromstring(render_svg(report))  # noqa: S314 - our own output
        assert to_prov_json(report)["prefix"]
        assert to_csv(report).startswith("section,")
        assert "</html>" in to_html(report)
        assert to_pdf(report).startswith(b"%PDF-")
