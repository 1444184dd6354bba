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
from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.graphics.shapes import Drawing, Group, Path, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from registry.reports.html import format_consent, format_utc, format_value
from registry.reports.svg import (
    BOX_HEIGHT,
    BOX_WIDTH,
    EDGE_STYLES,
    edge_route,
    edge_style,
    graph_layout,
    node_style,
    wrap_label,
    xml_text,
)
from registry.reports.types import JSONValue, LineageReport

PAGE_MARGIN = 15 * mm
MAX_MAPPING_ITEMS = 30  # parameters/metrics shown per run; the rest are counted, not listed
MAX_VALUE_CHARS = 200  # so one enormous parameter cannot make a table row taller than a page

_fonts: tuple[str, str] | None = None


def _font_names() -> tuple[str, str]:
    """Regular and bold font names: Bitstream Vera (shipped inside ReportLab, so no system fonts
    are needed) for its Unicode coverage beyond the WinAnsi-only standard Helvetica."""
    global _fonts
    if _fonts is None:
        try:
            if "GovVera" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("GovVera", "Vera.ttf"))
                pdfmetrics.registerFont(TTFont("GovVera-Bold", "VeraBd.ttf"))
            _fonts = ("GovVera", "GovVera-Bold")
        except Exception:  # a ReportLab build without its bundled fonts: fall back to the core 14
            _fonts = ("Helvetica", "Helvetica-Bold")
    return _fonts


def to_pdf(report: LineageReport) -> bytes:
    """Render the report as PDF bytes."""
    # Two passes: the first only counts pages, so that every footer can say "Page n of N"
    # without subclassing ReportLab's canvas.
    _, pages = _build(report, total_pages=None)
    pdf, _ = _build(report, total_pages=pages)
    return pdf


def _build(report: LineageReport, *, total_pages: int | None) -> tuple[bytes, int]:
    regular, bold = _font_names()
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
        f"{len(report['deployments'])} deployment(s) · audit log {_e(audit['origin'])}, "
        f"tree size {_e(audit['tree_size'])}"
    )
    # The first page is landscape: header, then the graph, which needs the width more than the
    # tables do. What the header leaves of the page height is what the graph may use.
    header_allowance = 58 * mm
    return [
        Paragraph(_e(report["title"]), styles["title"]),
        Paragraph(
            f"<b>Subject:</b> {_e(labels.get(report['subject'], report['subject']))} "
            f"(<font face='Courier'>{_e(report['subject'])}</font>)",
            styles["body"],
        ),
        Paragraph(f"<b>Generated:</b> {_e(format_utc(report['generated_at']))}", styles["body"]),
        Paragraph(f"<b>Contents:</b> {counts}", styles["body"]),
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
        *_datasets(report, styles, portrait_width),
        *_runs(report, styles, portrait_width),
        *_models(report, styles, portrait_width),
        *_approvals(report, styles, portrait_width),
        *_deployments(report, styles, portrait_width),
        *_audit(report, styles, portrait_width),
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


def _e(value: object) -> str:
    return xml_text("" if value is None else value)


def _hash_text(digest: str) -> str:
    # 32 hex digits per line: a SHA-256 takes exactly two lines in the hash column.
    chunks = [digest[i : i + 32] for i in range(0, len(digest), 32)] or [""]
    return "<br/>".join(_e(chunk) for chunk in chunks)


def _mapping_text(values: Mapping[str, JSONValue]) -> str:
    if not values:
        return "<i>none</i>"
    items = sorted(values.items())
    lines = []
    for key, value in items[:MAX_MAPPING_ITEMS]:
        text = format_value(value)
        if len(text) > MAX_VALUE_CHARS:
            text = text[: MAX_VALUE_CHARS - 1] + "…"
        lines.append(f"<b>{_e(key)}</b>: {_e(text)}")
    if len(items) > MAX_MAPPING_ITEMS:
        lines.append(f"<i>… and {len(items) - MAX_MAPPING_ITEMS} more</i>")
    return "<br/>".join(lines)


def _table(
    heading: str,
    headers: Sequence[str],
    rows: list[list[str]],
    widths: Sequence[float],
    styles: dict[str, ParagraphStyle],
    mono_columns: Sequence[int] = (),
) -> list[Flowable]:
    # Start a new page rather than leave a heading (and at most a row) stranded at a page foot.
    title = [CondPageBreak(45 * mm), Paragraph(_e(heading), styles["h2"])]
    if not rows:
        return [*title, Paragraph("<i>None recorded.</i>", styles["body"])]
    data: list[list[Flowable]] = [[Paragraph(_e(h), styles["head"]) for h in headers]]
    data.extend(
        [
            Paragraph(cell, styles["mono"] if column in mono_columns else styles["cell"])
            for column, cell in enumerate(row)
        ]
        for row in rows
    )
    table = Table(data, colWidths=list(widths), repeatRows=1, splitByRow=1, splitInRow=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf0")),
                ("LINEBELOW", (0, 0), (-1, 0), 1.2, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return [*title, table]


def _scaled(widths: Sequence[float], total: float) -> list[float]:
    factor = total / sum(widths)
    return [w * factor for w in widths]


def _datasets(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    rows = [
        [
            f"{_e(d['name'])}<br/><font size='7'>{_e(d['namespace'])}</font>",
            _e(d["version"]),
            _hash_text(d["sha256"]),
            _e("" if d["rows"] is None else f"{d['rows']:,}"),
            "Yes" if d["holds_personal_data"] else "No",
            _e(format_consent(d["consent"])),
        ]
        for d in report["datasets"]
    ]
    headers = ["Dataset", "Version", "SHA-256", "Rows", "Personal data", "Consent"]
    widths = _fixed_hash_widths([105, 42, 0, 55, 45, 110], 2, width)
    return _table("Datasets", headers, rows, widths, styles, mono_columns=(2,))


def _runs(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    rows = [
        [
            _e(r["run_id"]),
            _e(r["job"]),
            f"{_e(format_utc(r['started_at']) or 'not started')}<br/>"
            f"{_e(format_utc(r['ended_at']) or 'running')}",
            _e(r["started_by"]),
            _e(r["code_version"]),
            _mapping_text(r["parameters"]),
            _mapping_text(r["metrics"]),
        ]
        for r in report["runs"]
    ]
    headers = [
        "Run ID",
        "Job",
        "Started / ended (UTC)",
        "Started by",
        "Code version",
        "Parameters",
        "Metrics",
    ]
    widths = _scaled([78, 70, 80, 58, 62, 85, 78], width)
    return _table("Runs", headers, rows, widths, styles)


def _models(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    rows = [
        [
            _e(m["name"]),
            _e(m["version"]),
            _hash_text(m["sha256"]),
            _e(m["framework"]) + (f"<br/>{_e(m['artifact'])}" if m.get("artifact") else ""),
            _e(format_utc(m["registered_at"])),
            _e(m["registered_by"]),
        ]
        for m in report["models"]
    ]
    headers = ["Model", "Version", "SHA-256", "Framework", "Registered", "Registered by"]
    widths = _fixed_hash_widths([105, 45, 0, 65, 80, 70], 2, width)
    return _table("Models", headers, rows, widths, styles, mono_columns=(2,))


def _approvals(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    rows = [
        [
            _e(a["request"]),
            f"<b>{_e(a['signer_name'])}</b>",
            _e(format_utc(a["signed_at"])),
            f"<b>{_e(a['meaning'].capitalize())}</b>",
            _e(a["comment"]),
            "<br/>".join(_hash_text(h) for h in a["covers"]) or "<i>nothing</i>",
        ]
        for a in report["approvals"]
    ]
    headers = ["Request", "Signer (printed name)", "Signed (UTC)", "Meaning", "Comment", "Covers (SHA-256)"]
    widths = _fixed_hash_widths([60, 80, 72, 52, 100, 0], 5, width)
    flow = _table("Approvals and electronic signatures", headers, rows, widths, styles, mono_columns=(5,))
    note = Paragraph(
        "Each signature shows the signer's printed name, the date and time of signing (UTC) and the "
        "meaning of the signature, as 21 CFR Part 11 §11.50 requires.",
        styles["small"],
    )
    return [*flow[:2], note, Spacer(1, 2 * mm), *flow[2:]]


def _deployments(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    rows = [
        [
            _e(d["environment"]),
            _e(d["model"]),
            _e(d["version"]),
            _e(format_utc(d["deployed_at"])),
            _e(d["deployed_by"]),
            _e(format_utc(d["until"])) if d["until"] else "still serving",
            _e(d["endpoint"]),
        ]
        for d in report["deployments"]
    ]
    headers = ["Environment", "Model", "Version", "Deployed (UTC)", "Deployed by", "Until (UTC)", "Endpoint"]
    widths = _scaled([66, 78, 42, 78, 65, 78, 105], width)
    return _table("Deployments", headers, rows, widths, styles)


def _audit(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    audit = report["audit"]
    checkpoint = "<br/>".join(_e(line) or "&nbsp;" for line in audit["checkpoint"].split("\n"))
    rows = [
        [_e(entry["index"]), _e(entry["action"]), _e(format_utc(entry["timestamp"])), _e(entry["target"])]
        for entry in audit["entries"]
    ]
    widths = _scaled([50, 120, 110, 230], width)
    return [
        CondPageBreak(60 * mm),
        Paragraph("Audit log", styles["h2"]),
        Paragraph(
            f"<b>Log origin:</b> {_e(audit['origin'])}<br/><b>Tree size:</b> {_e(audit['tree_size'])}",
            styles["body"],
        ),
        Spacer(1, 2 * mm),
        Paragraph("Signed checkpoint (verify the entries below against it offline):", styles["body"]),
        Spacer(1, 1 * mm),
        Paragraph(checkpoint, styles["pre"]),
        *_table(
            "Entries about this subject",
            ["Leaf index", "Action", "Time (UTC)", "Target"],
            rows,
            widths,
            styles,
        ),
    ]


def _fixed_hash_widths(widths: list[float], hash_column: int, total: float) -> list[float]:
    """Give the hash column exactly what 32 Courier digits at 7 pt need; share out the rest."""
    hash_width = pdfmetrics.stringWidth("0" * 32, "Courier", 7) + 8
    others = _scaled([w for i, w in enumerate(widths) if i != hash_column], total - hash_width)
    others.insert(hash_column, hash_width)
    return others


# --- the graph --------------------------------------------------------------------------

_LABEL_SIZE = 15.0
_CAPTION_SIZE = 12.5
_EDGE_LABEL_SIZE = 12.0


def graph_drawing(report: LineageReport, max_width: float, max_height: float) -> Drawing:
    """Draw the lineage graph as a ReportLab ``Drawing`` scaled to fit ``max_width`` x ``max_height``.

    Uses the SVG renderer's layout, colours and label wrapping, so both show the same picture.
    """
    regular, bold = _font_names()
    layout = graph_layout(report)
    nodes = {node["id"]: node for node in report["nodes"]}
    margin = 10.0
    graph_width = layout.width + BOX_WIDTH
    legend, legend_height = _legend_group(report, regular, max(graph_width, 700.0))
    content_width = max(graph_width, 700.0) + 2 * margin
    content_height = layout.height + BOX_HEIGHT + legend_height + 3 * margin
    scale = min(max_width / content_width, max_height / content_height, 1.0)

    # Layout y grows downwards (as in SVG); PDF y grows upwards, so flip around the top edge.
    top = content_height - margin - BOX_HEIGHT / 2
    left = margin + BOX_WIDTH / 2 + (content_width - 2 * margin - graph_width) / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return left + x, top - y

    group = Group()
    for routed in layout.edges:
        style = edge_style(routed.relation)
        route = [at(x, y) for x, y in edge_route(routed.points)]
        if len(route) < 2:
            continue
        colour = colors.HexColor(style.colour)
        dash = [float(part) for part in style.dash.split()] if style.dash else None
        group.add(_bezier_path(route, colour, dash))
        (ex, ey), (px, _) = route[-1], route[-2]
        direction = 1.0 if ex >= px else -1.0
        group.add(
            Polygon(
                [ex, ey, ex - 10 * direction, ey + 4.5, ex - 10 * direction, ey - 4.5],
                fillColor=colour,
                strokeColor=colour,
                strokeWidth=0.5,
            )
        )
    if len(layout.edges) <= 60:
        for routed in layout.edges:
            route = [at(x, y) for x, y in edge_route(routed.points)]
            if len(route) < 2:
                continue
            middle = (len(route) - 1) // 2
            (ax, ay), (bx, by) = route[middle], route[middle + 1]
            text_width = pdfmetrics.stringWidth(routed.relation, regular, _EDGE_LABEL_SIZE)
            mx, my = (ax + bx) / 2, (ay + by) / 2 + 4
            group.add(
                Rect(mx - text_width / 2 - 2, my - 3, text_width + 4, _EDGE_LABEL_SIZE + 2, **_WHITE_BOX)
            )
            group.add(
                String(
                    mx, my, routed.relation, fontName=regular, fontSize=_EDGE_LABEL_SIZE, textAnchor="middle"
                )
            )

    for node_id, (cx, cy) in layout.positions.items():
        node = nodes[node_id]
        look = node_style(node["type"])
        x, y = at(cx - BOX_WIDTH / 2, cy + BOX_HEIGHT / 2)
        is_subject = node_id == report["subject"]
        group.add(
            Rect(
                x,
                y,
                BOX_WIDTH,
                BOX_HEIGHT,
                rx=8,
                ry=8,
                fillColor=colors.HexColor(look.fill),
                strokeColor=colors.HexColor(look.stroke),
                strokeWidth=3.5 if is_subject else 1.5,
            )
        )
        caption = look.title + (" · subject" if is_subject else "")
        group.add(String(x + 9, y + BOX_HEIGHT - 16, caption, fontName=regular, fontSize=_CAPTION_SIZE))
        for line_no, line in enumerate(wrap_label(node["label"], width=20)):
            group.add(
                String(
                    x + 9,
                    y + BOX_HEIGHT - 35 - 16 * line_no,
                    line,
                    fontName=bold,
                    fontSize=_LABEL_SIZE,
                )
            )

    legend.translate(margin, margin + legend_height - 14)
    group.add(legend)
    group.scale(scale, scale)
    drawing = Drawing(content_width * scale, content_height * scale)
    drawing.add(group)
    return drawing


_WHITE_BOX: dict[str, Any] = {"fillColor": colors.white, "strokeColor": None, "strokeWidth": 0}


def _bezier_path(route: list[tuple[float, float]], colour: colors.Color, dash: list[float] | None) -> Path:
    # Same curve as the SVG (curve_path): horizontal tangents at every point of the route.
    path = Path(strokeColor=colour, strokeWidth=1.8, fillColor=None, strokeDashArray=dash)
    x, y = route[0]
    path.moveTo(x, y)
    for nx, ny in route[1:]:
        mid = (x + nx) / 2
        path.curveTo(mid, y, mid, ny, nx, ny)
        x, y = nx, ny
    return path


def _legend_group(report: LineageReport, font: str, width: float) -> tuple[Group, float]:
    """Legend for the node types and relations present, in rows no wider than ``width``.

    Coordinates are relative to the legend's top-left corner, growing downwards as negative y.
    """
    group = Group()
    group.add(String(0, 0, "Legend", fontName=font, fontSize=13))
    x, y, row_height = 0.0, -22.0, 22.0
    size = 12.0
    for node_type in dict.fromkeys(node["type"] for node in report["nodes"]):
        look = node_style(node_type)
        item_width = 30 + pdfmetrics.stringWidth(look.title, font, size)
        if x > 0 and x + item_width > width:
            x, y = 0.0, y - row_height
        group.add(
            Rect(
                x,
                y - 2,
                22,
                13,
                rx=3,
                ry=3,
                fillColor=colors.HexColor(look.fill),
                strokeColor=colors.HexColor(look.stroke),
                strokeWidth=1.5,
            )
        )
        group.add(String(x + 28, y, look.title, fontName=font, fontSize=size))
        x += item_width + 18
    for relation in dict.fromkeys(edge["relation"] for edge in report["edges"]):
        style = edge_style(relation)
        caption = style.caption.replace("→", "to") if relation in EDGE_STYLES else relation
        item_width = 42 + pdfmetrics.stringWidth(caption, font, size)
        if x > 0 and x + item_width > width:
            x, y = 0.0, y - row_height
        colour = colors.HexColor(style.colour)
        dash = [float(part) for part in style.dash.split()] if style.dash else None
        group.add(_bezier_path([(x, y + 4), (x + 30, y + 4)], colour, dash))
        group.add(Polygon([x + 32, y + 4, x + 24, y + 8, x + 24, y], fillColor=colour, strokeColor=colour))
        group.add(String(x + 38, y, caption, fontName=font, fontSize=size))
        x += item_width + 18
    return group, -y + row_height
