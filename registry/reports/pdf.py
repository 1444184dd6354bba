"""Render a lineage report as an A4 PDF with ReportLab (pure Python, no system libraries).

The content matches the HTML rendering: a cover section, the lineage graph drawn with
ReportLab graphics from the same layered layout as the SVG (on a landscape A4 page, so the
box labels stay at a readable size), then the datasets, runs, models, approvals,
deployments and audit tables. Tables repeat their header row and split across pages;
SHA-256 digests are set in a small monospace font, 32 hex digits to a line. Every page
carries "Page n of N".

Approvals show the signer's printed name, the UTC date and time of signing and the meaning
of the signature, as 21 CFR Part 11 §11.50(a) requires. Arrows follow the W3C PROV direction
(PROV-DM §5), as in the SVG.

The document is built with ReportLab's ``invariant`` mode, so the same report always gives
byte-identical output (no creation timestamp or random document id in the file).
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
)

from registry.reports.erasure import erasure_sentence
from registry.reports.html import format_utc
from registry.reports.pdf_graph import font_names, graph_drawing
from registry.reports.pdf_sections import escape, table_sections
from registry.reports.types import LineageReport

PAGE_MARGIN = 15 * mm


def to_pdf(report: LineageReport) -> bytes:
    """Render the report as PDF bytes."""
    # Two passes: the first only counts pages, so that every footer can say "Page n of N"
    # without subclassing ReportLab's canvas.
    _, pages = _build(report, total_pages=None)
    pdf, _ = _build(report, total_pages=pages)
    return pdf


def _build(report: LineageReport, *, total_pages: int | None) -> tuple[bytes, int]:
    regular, bold = font_names()
    styles = _styles(regular, bold)
    buffer = io.BytesIO()
    portrait_size = A4
    landscape_size = landscape(A4)
    doc = BaseDocTemplate(
        buffer,
        pagesize=landscape_size,
        leftMargin=PAGE_MARGIN,
        rightMargin=PAGE_MARGIN,
        topMargin=PAGE_MARGIN,
        bottomMargin=PAGE_MARGIN + 6 * mm,
        title=report["title"],
        subject=f"Lineage report for {report['subject']}",
        # Readers and search tools show the document's keywords: a blocked version says so there too.
        keywords=" ".join(
            f"blocked-by-{b['type']}-request-{b['request']}" for b in report.get("erasure_blocks") or []
        ),
        author="model-governance",
        creator="model-governance registry.reports.pdf",
        invariant=1,
    )
    footer = f"{report['title']} · generated {format_utc(report['generated_at'])}"
    if len(footer) > 110:
        footer = footer[:109] + "…"
    pages_seen = [0]

    def draw_footer(canvas: Any, _doc: Any) -> None:
        number = canvas.getPageNumber()
        pages_seen[0] = max(pages_seen[0], number)
        width = canvas._pagesize[0]
        canvas.saveState()
        canvas.setFont(regular, 8)
        canvas.setFillColor(colors.black)
        canvas.drawString(PAGE_MARGIN, PAGE_MARGIN - 2 * mm, footer)
        label = f"Page {number} of {total_pages}" if total_pages else f"Page {number}"
        canvas.drawRightString(width - PAGE_MARGIN, PAGE_MARGIN - 2 * mm, label)
        canvas.restoreState()

    # The first template listed is the first page's: landscape, for the header and the graph.
    doc.addPageTemplates(
        [
            PageTemplate(
                id="landscape", frames=[_frame(landscape_size)], pagesize=landscape_size, onPage=draw_footer
            ),
            PageTemplate(
                id="portrait", frames=[_frame(portrait_size)], pagesize=portrait_size, onPage=draw_footer
            ),
        ]
    )
    doc.build(_story(report, styles))
    return buffer.getvalue(), pages_seen[0]


def _story(report: LineageReport, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    portrait_width = A4[0] - 2 * PAGE_MARGIN
    landscape_size = landscape(A4)
    landscape_width = landscape_size[0] - 2 * PAGE_MARGIN
    frame_height = landscape_size[1] - 2 * PAGE_MARGIN - 6 * mm

    labels = {node["id"]: node["label"] for node in report["nodes"]}
    audit = report["audit"]
    counts = (
        f"{len(report['datasets'])} dataset version(s) · {len(report['runs'])} run(s) · "
        f"{len(report['models'])} model version(s) · {len(report['approvals'])} approval(s) · "
        f"{len(report['deployments'])} deployment(s) · audit log {escape(audit['origin'])}, "
        f"tree size {escape(audit['tree_size'])}"
    )
    # The first page is landscape: header, then the graph, which needs the width more than the
    # tables do. What the header leaves of the page height is what the graph may use.
    blocks = report.get("erasure_blocks") or []
    header_allowance = 58 * mm + 16 * mm * min(len(blocks), 3)
    notices = [
        Paragraph(
            "<font color='#a40e26'><b>Blocked by a privacy request:</b></font> "
            + escape(erasure_sentence(b)),
            styles["body"],
        )
        for b in blocks
    ]
    return [
        Paragraph(escape(report["title"]), styles["title"]),
        Paragraph(
            f"<b>Subject:</b> {escape(labels.get(report['subject'], report['subject']))} "
            f"(<font face='Courier'>{escape(report['subject'])}</font>)",
            styles["body"],
        ),
        Paragraph(f"<b>Generated:</b> {escape(format_utc(report['generated_at']))}", styles["body"]),
        Paragraph(f"<b>Contents:</b> {counts}", styles["body"]),
        *notices,
        Paragraph("Lineage graph", styles["h2"]),
        Paragraph(
            "Arrows follow the W3C PROV direction, from the later item to what it depends on "
            "(a run <i>used</i> its inputs; a model version <i>wasGeneratedBy</i> its run), except "
            "<i>deployedAs</i>, which points from a model version to its deployment. "
            "The report subject has a thick outline.",
            styles["small"],
        ),
        Spacer(1, 3 * mm),
        graph_drawing(report, landscape_width, frame_height - header_allowance),
        NextPageTemplate("portrait"),
        PageBreak(),
        *table_sections(report, styles, portrait_width),
    ]


def _frame(size: tuple[float, float]) -> Frame:
    return Frame(
        PAGE_MARGIN,
        PAGE_MARGIN + 6 * mm,
        size[0] - 2 * PAGE_MARGIN,
        size[1] - 2 * PAGE_MARGIN - 6 * mm,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )


def _styles(regular: str, bold: str) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=11.5, textColor=colors.black)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=bold, fontSize=18, leading=22, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2", parent=body, fontName=bold, fontSize=13, leading=16, spaceBefore=10, spaceAfter=4
        ),
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=10),
        "head": ParagraphStyle("head", parent=body, fontName=bold, fontSize=8, leading=10),
        "mono": ParagraphStyle("mono", parent=body, fontName="Courier", fontSize=7, leading=8.5),
        "pre": ParagraphStyle("pre", parent=body, fontName="Courier", fontSize=7.5, leading=9.5),
    }
