"""Render a lineage report as one self-contained HTML5 page (inline CSS, inline SVG, no script).

The approvals table shows, for each electronic signature, the signer's printed name, the
date and time of signing in UTC and the meaning of the signature, the three items
21 CFR Part 11 §11.50(a) requires a signed record to display. Every value from the report
is HTML-escaped; a Content-Security-Policy meta element (CSP Level 3 §3.3) forbids scripts
and remote loads as a second line of defence. ``@media print`` rules keep table rows whole
across pages and repeat table headers (CSS Fragmentation Level 3 ``break-inside``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from registry.reports import columns
from registry.reports.erasure import erasure_detail, erasure_label
from registry.reports.svg import render_svg, xml_text
from registry.reports.types import (
    ApprovalEntry,
    ConsentSummary,
    DatasetEntry,
    DeploymentEntry,
    JSONValue,
    LineageReport,
    ModelEntry,
    RunEntry,
)

_CSS = """
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 14px; color: #000;
       background: #fff; margin: 24px auto; max-width: 1200px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 24px; margin: 0 0 4px; }
h3 { font-size: 16px; margin: 16px 0 6px; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid #333; padding-bottom: 2px; }
p.meta { margin: 2px 0; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #bbb; }
figcaption { font-size: 13px; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid #999; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #eef2f6; font-weight: bold; }
code, pre, .hash { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
.hash { word-break: break-all; overflow-wrap: anywhere; }
.meaning { font-weight: bold; text-transform: capitalize; }
.empty { color: #555; font-style: italic; }
pre.checkpoint { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid #999;
                 padding: 8px; background: #fafafa; }
ul.plain { margin: 0; padding-left: 16px; }
section.erasure { border: 3px solid #a40e26; background: #fff1f1; padding: 4px 12px; margin: 12px 0; }
section.erasure h2 { color: #a40e26; border-bottom: none; margin-top: 8px; }
dl.kv { margin: 0; display: grid; grid-template-columns: max-content 1fr; column-gap: 8px; }
dl.kv dt { font-weight: bold; } dl.kv dd { margin: 0; overflow-wrap: anywhere; }
@page { size: A4; margin: 14mm; }
@media print {
  body { margin: 0; max-width: none; padding: 0; font-size: 10.5pt; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  figure { break-inside: avoid; page-break-inside: avoid; }
  figure svg { border: none; }
  thead { display: table-header-group; }
  tr, td, th { break-inside: avoid; page-break-inside: avoid; }
  th { background: #fff; border-bottom: 2px solid #000; }
  pre.checkpoint { background: #fff; }
  a { color: #000; text-decoration: none; }
}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def format_utc(value: str | None) -> str:
    """``2024-05-02T14:03:11Z`` → ``2024-05-02 14:03:11 UTC``; unparsable text is shown unchanged.

    A naive timestamp is shown as given rather than labelled UTC, since its zone is unknown.
    """
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_consent(consent: ConsentSummary | None) -> str:
    """One-line consent summary with counts, e.g. ``Broad consent (granted 980, withdrawn 20)``."""
    if consent is None:
        return "Not applicable"
    counts = ", ".join(f"{key} {count}" for key, count in sorted(consent["counts"].items()))
    return f"{consent['summary']} ({counts})" if counts else consent["summary"]


def format_value(value: JSONValue) -> str:
    """Scalars as text; lists and objects as compact JSON (sorted keys, so output is stable)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def to_html(report: LineageReport) -> str:
    """Render the whole report as an HTML document string."""
    labels = {node["id"]: node["label"] for node in report["nodes"]}
    subject = labels.get(report["subject"], report["subject"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{xml_text(report['title'])}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{xml_text(report['title'])}</h1>",
        f'<p class="meta"><strong>Subject:</strong> {xml_text(subject)} '
        f"(<code>{xml_text(report['subject'])}</code>)</p>",
        f'<p class="meta"><strong>Generated:</strong> {_time(report["generated_at"])}</p>',
        "</header>",
        _erasure(report),
        '<section id="graph">',
        "<h2>Lineage graph</h2>",
        "<figure>",
        render_svg(report, standalone=False),
        "<figcaption>Arrows follow the W3C PROV direction, from the later item to what it depends on "
        "(a run <em>used</em> its inputs; a model version <em>wasGeneratedBy</em> its run), except "
        "<em>deployedAs</em>, which points from a model version to its deployment. "
        "The report subject has a thick outline.</figcaption>",
        "</figure>",
        "</section>",
        _datasets(report["datasets"]),
        _input_columns(report),
        _runs(report["runs"]),
        _models(report["models"]),
        _approvals(report["approvals"]),
        _deployments(report["deployments"]),
        _audit(report),
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _e(value: object) -> str:
    return xml_text("" if value is None else value)


def _time(value: str | None) -> str:
    if not value:
        return '<span class="empty">none</span>'
    return f'<time datetime="{_e(value)}">{_e(format_utc(value))}</time>'


def _hash(value: str) -> str:
    return f'<code class="hash">{_e(value)}</code>'


def _mapping(values: Mapping[str, JSONValue]) -> str:
    if not values:
        return '<span class="empty">none</span>'
    rows = "".join(
        f"<dt>{_e(key)}</dt><dd><code>{_e(format_value(value))}</code></dd>"
        for key, value in sorted(values.items())
    )
    return f'<dl class="kv">{rows}</dl>'


def _table(
    section_id: str, heading: str, headers: Sequence[str], rows: list[list[str]], *, level: int = 2
) -> str:
    head = "".join(f'<th scope="col">{_e(header)}</th>' for header in headers)
    if rows:
        body = "\n".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    else:
        body = f'<tr><td colspan="{len(headers)}" class="empty">None recorded.</td></tr>'
    return (
        f'<section id="{section_id}">\n<h{level}>{_e(heading)}</h{level}>\n'
        f"<table>\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>\n</section>"
    )


def _datasets(datasets: list[DatasetEntry]) -> str:
    rows = [
        [
            f"{_e(d['name'])}<br><small>{_e(d['namespace'])}</small>",
            _e(d["version"]),
            _hash(d["sha256"]),
            _e("" if d["rows"] is None else f"{d['rows']:,}"),
            "Yes" if d["holds_personal_data"] else "No",
            _e(format_consent(d["consent"])),
        ]
        for d in datasets
    ]
    headers = ["Dataset", "Version", "SHA-256", "Rows", "Personal data", "Consent"]
    return _table("datasets", "Datasets", headers, rows)


def _input_columns(report: LineageReport) -> str:
    """The columns behind the model versions, personal and sensitive ones flagged (``reports.columns``)."""
    if not columns.has_section(report):
        return ""
    shown, hidden = columns.shown_columns(report)
    rows = [
        [
            f"<strong>{_e(cell)}</strong>" if n == 3 else _e(cell)
            for n, cell in enumerate(columns.cells(entry))
        ]
        for entry in shown
    ]
    table = _table("input-columns", columns.SECTION_TITLE, columns.HEADERS, rows)
    note = f"<p>{_e(columns.NOTE)} <strong>{_e(columns.summary(report))}.</strong></p>"
    rest = columns.rest_note(hidden)
    table = table.replace("</h2>\n", "</h2>\n" + note + "\n", 1)
    return table + (f'\n<p class="empty">{_e(rest)}</p>' if rest else "")


def _runs(runs: list[RunEntry]) -> str:
    rows = [
        [
            f"<code>{_e(r['run_id'])}</code>",
            _e(r["job"]),
            f"{_time(r['started_at'])}<br>{_time(r['ended_at'])}",
            _e(r["started_by"]),
            f"<code>{_e(r['code_version'])}</code>",
            _mapping(r["parameters"]),
            _mapping(r["metrics"]),
        ]
        for r in runs
    ]
    headers = ["Run ID", "Job", "Started / ended", "Started by", "Code version", "Parameters", "Metrics"]
    return _table("runs", "Runs", headers, rows)


def _models(models: list[ModelEntry]) -> str:
    rows = [
        [
            _e(m["name"]),
            _e(m["version"]),
            _hash(m["sha256"]),
            _e(m["framework"]) + (f"<br/>{_e(m['artifact'])}" if m.get("artifact") else ""),
            _time(m["registered_at"]),
            _e(m["registered_by"]),
        ]
        for m in models
    ]
    headers = ["Model", "Version", "SHA-256", "Framework", "Registered", "Registered by"]
    return _table("models", "Models", headers, rows)


def _approvals(approvals: list[ApprovalEntry]) -> str:
    rows = [
        [
            _e(a["request"]),
            f"<strong>{_e(a['signer_name'])}</strong>",
            _time(a["signed_at"]),
            f'<span class="meaning">{_e(a["meaning"])}</span>',
            _e(a["comment"]),
            '<ul class="plain">' + "".join(f"<li>{_hash(h)}</li>" for h in a["covers"]) + "</ul>",
        ]
        for a in approvals
    ]
    headers = ["Request", "Signer (printed name)", "Signed (UTC)", "Meaning", "Comment", "Covers (SHA-256)"]
    table = _table("approvals", "Approvals and electronic signatures", headers, rows)
    note = (
        "<p>Each signature shows the signer's printed name, the date and time of signing (UTC) "
        "and the meaning of the signature, as 21 CFR Part 11 §11.50 requires.</p>"
    )
    return table.replace("</h2>\n", "</h2>\n" + note + "\n", 1)


def _deployments(deployments: list[DeploymentEntry]) -> str:
    rows = [
        [
            _e(d["environment"]),
            _e(d["model"]),
            _e(d["version"]),
            _time(d["deployed_at"]),
            _e(d["deployed_by"]),
            _time(d["until"]) if d["until"] else "still serving",
            f"<code>{_e(d['endpoint'])}</code>",
        ]
        for d in deployments
    ]
    headers = ["Environment", "Model", "Version", "Deployed", "Deployed by", "Until", "Endpoint"]
    return _table("deployments", "Deployments", headers, rows)


def _erasure(report: LineageReport) -> str:
    """The privacy requests that block model versions in the report, first, as a page's banner."""
    blocks = report.get("erasure_blocks") or []
    if not blocks:
        return ""
    items = "".join(
        f'<li><a href="{_e(b["url"])}">{_e(erasure_label(b))}</a> {_e(erasure_detail(b))}</li>'
        for b in blocks
    )
    return (
        '<section id="erasure" class="erasure" role="alert">\n<h2>Blocked by a privacy request</h2>\n'
        f"<ul>{items}</ul>\n</section>"
    )


def _audit(report: LineageReport) -> str:
    audit = report["audit"]
    rows = [
        [
            _e(entry["index"]),
            _e(entry["action"]),
            _time(entry["timestamp"]),
            f"<code>{_e(entry['target'])}</code>",
        ]
        for entry in audit["entries"]
    ]
    headers = ["Leaf index", "Action", "Time", "Target"]
    entries = _table("audit-entries", "Entries about this subject", headers, rows, level=3)
    return (
        '<section id="audit">\n<h2>Audit log</h2>\n'
        f"<p><strong>Log origin:</strong> <code>{_e(audit['origin'])}</code><br>"
        f"<strong>Tree size:</strong> {_e(audit['tree_size'])}</p>\n"
        "<p>Signed checkpoint (verify the entries below against it offline):</p>\n"
        f'<pre class="checkpoint">{_e(audit["checkpoint"])}</pre>\n'
        f"{entries}\n</section>"
    )
