"""The technical documentation as an A4 PDF with ReportLab, text extractable (pdftotext): the model
card, then one heading per Annex IV point with its evidence, the lineage graph drawn as in the lineage
report (``registry.reports.pdf_graph``), and the audit checkpoint. Built in ReportLab's ``invariant``
mode, so the same document always gives the same bytes; every page says "Page n"."""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from governance.documentation.evidence import text
from governance.documentation.render_html import lineage_of
from governance.documentation.types import NO_EVIDENCE, Evidence, Section, TechnicalDocument
from registry.reports.pdf_graph import font_names, graph_drawing
from registry.reports.svg import xml_text

MARGIN = 15 * mm
WIDTH = A4[0] - 2 * MARGIN
MAX_CELL = 300  # characters per table cell, so no single cell outgrows a page


def _e(value: Any, limit: int | None = None) -> str:
    shown = text(value)
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return xml_text(shown)


def to_pdf(document: TechnicalDocument) -> bytes:
    regular, bold = font_names()
    styles = _styles(regular, bold)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=str(document.get("title", "")),
        subject=f"Annex IV technical documentation of {document.get('subject', '')}",
        author="model-governance",
        creator="model-governance governance.documentation.render_pdf",
        invariant=1,
    )

    def footer(canvas: Any, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(regular, 8)
        canvas.drawString(MARGIN, MARGIN - 2 * mm, _e(document.get("title"), 100))
        canvas.drawRightString(A4[0] - MARGIN, MARGIN - 2 * mm, f"Page {canvas.getPageNumber()}")
        canvas.restoreState()

    doc.build(_story(document, styles), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _story(document: TechnicalDocument, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    audit = document.get("audit") or {}
    story: list[Flowable] = [
        Paragraph(_e(document.get("title")), styles["title"]),
        Paragraph(f"<b>Subject:</b> {_e(document.get('subject'))}", styles["body"]),
        Paragraph(f"<b>Answers:</b> {_e(document.get('regulation'))}", styles["body"]),
        Paragraph(f"<b>Generated:</b> {_e(document.get('generated_at'))}", styles["body"]),
        Paragraph(
            "Each section cites the Annex IV point it answers and shows only what the service recorded; "
            f"where it recorded nothing it says <i>{NO_EVIDENCE}</i>.",
            styles["small"],
        ),
        Paragraph("Model card", styles["h2"]),
        _table(
            ["Item", "Recorded", "Sources"],
            [
                [one.get("heading"), one.get("text"), ", ".join(one.get("sources") or [])]
                for one in document.get("model_card") or []
            ],
            styles,
        ),
    ]
    for section in document.get("sections") or []:
        story.extend(_section(section, document, styles))
    story += [
        CondPageBreak(40 * mm),
        Paragraph("Audit log", styles["h2"]),
        Paragraph(
            f"Log origin {_e(audit.get('origin'))}, tree size {_e(audit.get('tree_size'))}", styles["body"]
        ),
        Paragraph(_e(audit.get("checkpoint")).replace("\n", "<br/>"), styles["mono"]),
    ]
    return story


def _section(
    section: Section, document: TechnicalDocument, styles: dict[str, ParagraphStyle]
) -> list[Flowable]:
    flow: list[Flowable] = [
        CondPageBreak(30 * mm),
        Paragraph(f"{_e(section.get('point'))} — {_e(section.get('heading'))}", styles["h2"]),
    ]
    evidence = section.get("evidence") or []
    if not evidence:
        flow.append(Paragraph(f"<i>{NO_EVIDENCE}</i>", styles["body"]))
    if section.get("id") == "2c" and (document.get("lineage") or {}).get("nodes"):
        flow.append(graph_drawing(lineage_of(document), WIDTH, 110 * mm))
    for one in evidence:
        flow.extend(_evidence(one, styles))
    flow.extend(
        Paragraph(f"{_e(missing)}: <i>{NO_EVIDENCE}</i>", styles["small"])
        for missing in section.get("not_recorded") or []
    )
    return flow


def _evidence(evidence: Evidence, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    source = f"Source: {_e(evidence.get('source'))}"
    if evidence.get("sha256"):
        source += f" · SHA-256 {_e(evidence['sha256'])}"
    flow: list[Flowable] = [
        CondPageBreak(25 * mm),  # no item heading stranded at a page foot
        Paragraph(_e(evidence.get("label")), styles["h3"]),
        Paragraph(source, styles["small"]),
    ]
    facts = evidence.get("facts") or {}
    if facts:
        flow.append(_table(["Fact", "Value"], [[key, value] for key, value in sorted(facts.items())], styles))
    table = evidence.get("table")
    if table and table.get("rows"):
        flow.append(_table(list(table.get("headers") or []), list(table.get("rows") or []), styles))
    flow.append(Spacer(1, 2 * mm))
    return flow


def _table(headers: list[str], rows: list[list[Any]], styles: dict[str, ParagraphStyle]) -> Table:
    columns = max(1, len(headers), *(len(row) for row in rows))
    cell = styles["cell"] if columns <= 6 else styles["tiny"]
    # Ragged stored rows are padded: ReportLab needs every row as wide as the table.
    data = [[Paragraph(_e(one), styles["head"]) for one in [*headers, *[""] * (columns - len(headers))]]]
    data += [
        [Paragraph(_e(value, MAX_CELL), cell) for value in [*row, *[""] * (columns - len(row))]]
        for row in rows
    ]
    widths = [WIDTH * 0.3, WIDTH * 0.7] if columns == 2 else [WIDTH / columns] * columns
    table = Table(data, colWidths=widths, repeatRows=1, splitByRow=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
            ]
        )
    )
    return table


def _styles(regular: str, bold: str) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=regular, fontSize=9, leading=11.5)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontName=bold, fontSize=17, leading=21, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2", parent=body, fontName=bold, fontSize=12.5, leading=15, spaceBefore=10, spaceAfter=4
        ),
        "h3": ParagraphStyle("h3", parent=body, fontName=bold, fontSize=9.5, leading=12, spaceBefore=5),
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.5, wordWrap="CJK"),
        "tiny": ParagraphStyle("tiny", parent=body, fontSize=6.5, leading=8, wordWrap="CJK"),
        "head": ParagraphStyle("head", parent=body, fontName=bold, fontSize=7.5, leading=9.5),
        "mono": ParagraphStyle("mono", parent=body, fontName="Courier", fontSize=7, leading=8.5),
    }
