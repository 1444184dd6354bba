"""The technical documentation as one self-contained HTML5 page: inline CSS and the lineage graph as
inline SVG (``registry.reports.svg``), no script, no remote loads (a CSP meta element forbids them, as
in the lineage report). Every value is HTML-escaped."""

from __future__ import annotations

from typing import Any

from governance.documentation.evidence import text
from governance.documentation.types import NO_EVIDENCE, CardEntry, Evidence, Section, TechnicalDocument
from registry.reports.svg import render_svg, xml_text
from registry.reports.types import LineageReport

_CSS = """
:root { color-scheme: light; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 14px; color: #000;
       background: #fff; margin: 24px auto; max-width: 1200px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid #333; padding-bottom: 2px; }
h3 { font-size: 15px; margin: 14px 0 4px; }
.point { color: #1a4d80; }
p.meta { margin: 2px 0; }
.status { font-weight: bold; }
.none { color: #8a1c1c; font-style: italic; }
figure { margin: 0; } figure svg { max-width: 100%; height: auto; border: 1px solid #bbb; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid #999; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eef2f6; }
code, pre, .hash { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
.hash { word-break: break-all; overflow-wrap: anywhere; }
dl.kv { margin: 0; display: grid; grid-template-columns: max-content 1fr; column-gap: 8px; }
dl.kv dt { font-weight: bold; } dl.kv dd { margin: 0; overflow-wrap: anywhere; }
pre.checkpoint { white-space: pre-wrap; overflow-wrap: anywhere; border: 1px solid #999; padding: 8px; }
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; max-width: none; font-size: 10.5pt; }
  h2, h3 { break-after: avoid; } tr { break-inside: avoid; } thead { display: table-header-group; } }
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _e(value: Any) -> str:
    return xml_text(text(value))


def to_html(document: TechnicalDocument) -> str:
    """Render the whole document as an HTML document string."""
    audit = document.get("audit") or {}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(document.get('title'))}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(document.get('title'))}</h1>",
        f'<p class="meta"><strong>Subject:</strong> <code>{_e(document.get("subject"))}</code></p>',
        f'<p class="meta"><strong>Answers:</strong> {_e(document.get("regulation"))}</p>',
        f'<p class="meta"><strong>Generated:</strong> {_e(document.get("generated_at"))}</p>',
        '<p class="meta">Each section cites the Annex IV point it answers and shows only what the service '
        f'recorded; where it recorded nothing it says <span class="none">{NO_EVIDENCE}</span>.</p>',
        "</header>",
        _card(document.get("model_card") or []),
        *(_section(one, document) for one in document.get("sections") or []),
        '<section id="audit">',
        "<h2>Audit log</h2>",
        f"<p><strong>Log origin:</strong> <code>{_e(audit.get('origin'))}</code>; "
        f"<strong>tree size:</strong> {_e(audit.get('tree_size'))}</p>",
        f'<pre class="checkpoint">{_e(audit.get("checkpoint"))}</pre>',
        "</section>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _card(entries: list[CardEntry]) -> str:
    rows = "".join(
        f"<tr><th scope='row'>{_e(one.get('heading'))}</th><td>{_value(one.get('text'))}</td>"
        f"<td>{'<br>'.join(f'<code>{_e(s)}</code>' for s in one.get('sources') or [])}</td></tr>"
        for one in entries
    )
    return (
        '<section id="model-card">\n<h2>Model card</h2>\n<table><thead><tr><th>Item</th><th>Recorded</th>'
        f"<th>Sources</th></tr></thead><tbody>{rows}</tbody></table>\n</section>"
    )


def _value(value: Any) -> str:
    return f'<span class="none">{NO_EVIDENCE}</span>' if value == NO_EVIDENCE else _e(value)


def _section(section: Section, document: TechnicalDocument) -> str:
    evidence = section.get("evidence") or []
    parts = [
        f'<section id="annex-iv-{_e(section.get("id"))}">',
        f'<h2><span class="point">{_e(section.get("point"))}</span> — {_e(section.get("heading"))}</h2>',
    ]
    if not evidence:
        parts.append(f'<p class="status none">{NO_EVIDENCE}</p>')
    if section.get("id") == "2c" and (document.get("lineage") or {}).get("nodes"):
        parts.append(f"<figure>{render_svg(lineage_of(document), standalone=False)}</figure>")
    parts.extend(_evidence(one) for one in evidence)
    missing = section.get("not_recorded") or []
    if missing:
        items = "".join(f'<li>{_e(one)}: <span class="none">{NO_EVIDENCE}</span></li>' for one in missing)
        parts.append(f"<p>Not recorded by the service:</p><ul>{items}</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _evidence(evidence: Evidence) -> str:
    parts = [
        f"<h3>{_e(evidence.get('label'))}</h3>",
        f'<p class="meta">Source: <code>{_e(evidence.get("source"))}</code>'
        + (f' · SHA-256 <code class="hash">{_e(evidence["sha256"])}</code>' if evidence.get("sha256") else "")
        + "</p>",
    ]
    facts = evidence.get("facts") or {}
    if facts:
        rows = "".join(f"<dt>{_e(key)}</dt><dd>{_e(value)}</dd>" for key, value in sorted(facts.items()))
        parts.append(f'<dl class="kv">{rows}</dl>')
    table = evidence.get("table")
    if table:
        head = "".join(f"<th scope='col'>{_e(one)}</th>" for one in table.get("headers") or [])
        body = "".join(
            "<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>"
            for row in table.get("rows") or []
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "\n".join(parts)


def lineage_of(document: TechnicalDocument) -> LineageReport:
    """A lineage report holding only what the graph drawing reads (title, subject, nodes, edges)."""
    lineage = document["lineage"]
    return {  # type: ignore[typeddict-item]
        "title": f"Lineage of {document['subject']}",
        "subject": document["subject"],
        "generated_at": document["generated_at"],
        "nodes": lineage["nodes"],
        "edges": lineage["edges"],
    }
