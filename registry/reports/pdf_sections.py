"""The PDF report's tables: datasets, runs, models, approvals (signer, time and meaning of each
signature, 21 CFR Part 11 §11.50(a)), deployments and audit entries. Tables repeat their header row
and split across pages; SHA-256 digests are set in a small monospace font, 32 hex digits to a line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from registry.reports import columns
from registry.reports.html import format_consent, format_utc, format_value
from registry.reports.svg import (
    xml_text,
)
from registry.reports.types import JSONValue, LineageReport

MAX_MAPPING_ITEMS = 30  # parameters/metrics shown per run; the rest are counted, not listed
MAX_VALUE_CHARS = 200  # so one enormous parameter cannot make a table row taller than a page


def escape(value: object) -> str:
    """Text for a ReportLab paragraph (its mini-markup is XML)."""
    return xml_text("" if value is None else value)


def _hash_text(digest: str) -> str:
    # 32 hex digits per line: a SHA-256 takes exactly two lines in the hash column.
    chunks = [digest[i : i + 32] for i in range(0, len(digest), 32)] or [""]
    return "<br/>".join(escape(chunk) for chunk in chunks)


def _mapping_text(values: Mapping[str, JSONValue]) -> str:
    if not values:
        return "<i>none</i>"
    items = sorted(values.items())
    lines = []
    for key, value in items[:MAX_MAPPING_ITEMS]:
        text = format_value(value)
        if len(text) > MAX_VALUE_CHARS:
            text = text[: MAX_VALUE_CHARS - 1] + "…"
        lines.append(f"<b>{escape(key)}</b>: {escape(text)}")
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
    title = [CondPageBreak(45 * mm), Paragraph(escape(heading), styles["h2"])]
    if not rows:
        return [*title, Paragraph("<i>None recorded.</i>", styles["body"])]
    data: list[list[Flowable]] = [[Paragraph(escape(h), styles["head"]) for h in headers]]
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
            f"{escape(d['name'])}<br/><font size='7'>{escape(d['namespace'])}</font>",
            escape(d["version"]),
            _hash_text(d["sha256"]),
            escape("" if d["rows"] is None else f"{d['rows']:,}"),
            "Yes" if d["holds_personal_data"] else "No",
            escape(format_consent(d["consent"])),
        ]
        for d in report["datasets"]
    ]
    headers = ["Dataset", "Version", "SHA-256", "Rows", "Personal data", "Consent"]
    widths = _fixed_hash_widths([105, 42, 0, 55, 45, 110], 2, width)
    return _table("Datasets", headers, rows, widths, styles, mono_columns=(2,))


def _input_columns(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    """The columns behind the model versions, personal and sensitive ones flagged (``reports.columns``)."""
    if not columns.has_section(report):
        return []
    shown, hidden = columns.shown_columns(report)
    rows = [
        [f"<b>{escape(cell)}</b>" if n == 3 else escape(cell) for n, cell in enumerate(columns.cells(entry))]
        for entry in shown
    ]
    flow = _table(
        columns.SECTION_TITLE, columns.HEADERS, rows, _scaled([110, 40, 115, 50, 185], width), styles
    )
    note = Paragraph(f"{escape(columns.NOTE)} <b>{escape(columns.summary(report))}.</b>", styles["small"])
    rest = [Paragraph(escape(columns.rest_note(hidden)), styles["small"])] if hidden else []
    return [*flow[:2], note, Spacer(1, 2 * mm), *flow[2:], *rest]


def _runs(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    rows = [
        [
            escape(r["run_id"]),
            escape(r["job"]),
            f"{escape(format_utc(r['started_at']) or 'not started')}<br/>"
            f"{escape(format_utc(r['ended_at']) or 'running')}",
            escape(r["started_by"]),
            escape(r["code_version"]),
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
            escape(m["name"]),
            escape(m["version"]),
            _hash_text(m["sha256"]),
            escape(m["framework"]) + (f"<br/>{escape(m['artifact'])}" if m.get("artifact") else ""),
            escape(format_utc(m["registered_at"])),
            escape(m["registered_by"]),
        ]
        for m in report["models"]
    ]
    headers = ["Model", "Version", "SHA-256", "Framework", "Registered", "Registered by"]
    widths = _fixed_hash_widths([105, 45, 0, 65, 80, 70], 2, width)
    return _table("Models", headers, rows, widths, styles, mono_columns=(2,))


def _approvals(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    rows = [
        [
            escape(a["request"]),
            f"<b>{escape(a['signer_name'])}</b>",
            escape(format_utc(a["signed_at"])),
            f"<b>{escape(a['meaning'].capitalize())}</b>",
            escape(a["comment"]),
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
            escape(d["environment"]),
            escape(d["model"]),
            escape(d["version"]),
            escape(format_utc(d["deployed_at"])),
            escape(d["deployed_by"]),
            escape(format_utc(d["until"])) if d["until"] else "still serving",
            escape(d["endpoint"]),
        ]
        for d in report["deployments"]
    ]
    headers = ["Environment", "Model", "Version", "Deployed (UTC)", "Deployed by", "Until (UTC)", "Endpoint"]
    widths = _scaled([66, 78, 42, 78, 65, 78, 105], width)
    return _table("Deployments", headers, rows, widths, styles)


def _audit(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    audit = report["audit"]
    checkpoint = "<br/>".join(escape(line) or "&nbsp;" for line in audit["checkpoint"].split("\n"))
    rows = [
        [
            escape(entry["index"]),
            escape(entry["action"]),
            escape(format_utc(entry["timestamp"])),
            escape(entry["target"]),
        ]
        for entry in audit["entries"]
    ]
    widths = _scaled([50, 120, 110, 230], width)
    return [
        CondPageBreak(60 * mm),
        Paragraph("Audit log", styles["h2"]),
        Paragraph(
            f"<b>Log origin:</b> {escape(audit['origin'])}<br/>"
            f"<b>Tree size:</b> {escape(audit['tree_size'])}",
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


def table_sections(report: LineageReport, styles: dict[str, ParagraphStyle], width: float) -> list[Flowable]:
    """Every table of the report, in reading order, for a frame ``width`` wide."""
    return [
        *_datasets(report, styles, width),
        *_input_columns(report, styles, width),
        *_runs(report, styles, width),
        *_models(report, styles, width),
        *_approvals(report, styles, width),
        *_deployments(report, styles, width),
        *_audit(report, styles, width),
    ]
