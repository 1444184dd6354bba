"""The lineage graph people use on the page: it fits its figure (viewBox, width 100%), every node is a
link to its page, the subject is highlighted, zoom and pan come from a static script; the exported SVG
and the PDF drawing are unchanged in size and carry no links."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.test import Client

from registry.reports.assemble import lineage_report_build
from registry.reports.pdf import to_pdf
from registry.reports.svg import render_svg
from tests.registry.factories import Story, build_story

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def story(make_user: Any) -> Story:
    return build_story(make_user("dana", "data_scientist", full_name="Dana Scientist"))


def _page_svg(make_user: Any, node: str) -> tuple[str, str]:
    client = Client()
    client.force_login(make_user("ada", "auditor"))
    response = client.get("/lineage/", {"nodeId": node})
    assert response.status_code == 200
    html = response.content.decode()
    return html, html[html.index("<svg") : html.index("</svg>") + len("</svg>")]


def test_the_graph_scales_to_its_figure_and_keeps_its_size_in_the_view_box(
    make_user: Any, story: Story
) -> None:
    _, svg = _page_svg(make_user, "model:churn#1")
    root = ET.fromstring(svg)  # noqa: S314 - our own output

    assert root.get("width") == "100%" and root.get("height") is None
    _, _, width, height = (float(v) for v in (root.get("viewBox") or "").split())
    for rect in root.iter(f"{SVG}rect"):  # every box, the deployment's and the legend's swatches inside
        x, y = float(rect.get("x", 0)), float(rect.get("y", 0))
        assert x >= 0 and y >= 0
        assert (
            x + float(rect.get("width", 0)) <= width + 0.5
            and y + float(rect.get("height", 0)) <= height + 0.5
        )
    assert "Deployment" in svg and "Legend" in svg


def test_each_node_is_a_link_to_its_page_and_the_subject_is_marked(make_user: Any, story: Story) -> None:
    _, svg = _page_svg(make_user, "model:churn#1")
    root = ET.fromstring(svg)  # noqa: S314 - our own output

    links = {a.get("href"): a for a in root.iter(f"{SVG}a")}
    assert "/models/churn/" in links
    assert "/deployments/production/churn/" in links
    assert "/datasets/?q=customers" in links
    assert f"/runs/?q={story.run.run_id}" in links
    subject = links["/models/churn/"]
    assert "subject" in (subject.get("class") or "") and subject.get("aria-current") == "page"
    assert root.get("role") == "group"  # links inside stay reachable (an img role would hide them)
    assert len(list(root.iter(f"{SVG}a"))) == len(lineage_report_build(subject="model:churn#1")["nodes"])


def test_zoom_and_pan_come_from_a_static_script_and_nothing_is_inline(make_user: Any, story: Story) -> None:
    html, _ = _page_svg(make_user, "deployment:production:churn")

    assert re.search(r'<script src="/static/registry/lineage\.js[^"]*" defer></script>', html)
    assert "<script>" not in html and " style=" not in html and "<style" not in html
    assert 'data-zoom="in"' in html and 'data-pan="left"' in html and 'tabindex="0"' in html


def test_the_exported_svg_and_pdf_keep_their_drawing_without_links(story: Story) -> None:
    report = lineage_report_build(subject="model:churn#1")

    standalone = ET.fromstring(render_svg(report).split("?>", 1)[1])  # noqa: S314 - our own output
    inline = render_svg(report, standalone=False)

    assert standalone.get("width", "").isdigit() and standalone.get("height", "").isdigit()
    assert standalone.get("role") == "img" and not list(standalone.iter(f"{SVG}a"))
    assert "<a " not in inline and 'class="subject-ring"' in inline
    assert to_pdf(report).startswith(b"%PDF")
