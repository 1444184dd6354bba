"""Render the lineage graph of a report as a standalone SVG 1.1 document.

Boxes are coloured by node type (light fills, dark outlines, black text, so the picture
survives a monochrome printer), edges are drawn in the W3C PROV direction (PROV-DM §5: from
the later thing to the earlier thing it depends on; ``deployedAs`` from model version to
deployment) with an arrowhead marker, and a legend explains both. Every piece of report text
is XML-escaped and stripped of characters XML 1.0 (§2.2 ``Char``) does not allow, because
labels come from users and pipelines.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from registry.reports.layout import Layout, Point, compute_layout
from registry.reports.types import LineageReport

BOX_WIDTH = 200.0
BOX_HEIGHT = 64.0
LAYER_GAP = 330.0
ROW_GAP = 100.0
MARGIN = 28.0
LABEL_CHARS = 22  # what fits on one line of a box at the label font size
LABEL_LINES = 2
FONT_FAMILY = "DejaVu Sans, Helvetica, Arial, sans-serif"
# Below this many edges, each edge carries its relation name; above it labels would only clutter.
EDGE_LABEL_LIMIT = 60


@dataclass(frozen=True)
class NodeStyle:
    """How one node type is drawn (shared by the SVG and PDF renderers)."""

    title: str
    fill: str
    stroke: str


@dataclass(frozen=True)
class EdgeStyle:
    """How one relation is drawn; ``dash`` is an SVG ``stroke-dasharray`` or empty."""

    colour: str
    dash: str
    caption: str


NODE_STYLES: dict[str, NodeStyle] = {
    "dataset": NodeStyle("Dataset", "#e3f2fd", "#1565c0"),
    "dataset_version": NodeStyle("Dataset version", "#bbdefb", "#0d47a1"),
    "job": NodeStyle("Job", "#f3e5f5", "#6a1b9a"),
    "run": NodeStyle("Run", "#ffe0b2", "#e65100"),
    "model": NodeStyle("Model", "#e8f5e9", "#2e7d32"),
    "model_version": NodeStyle("Model version", "#c8e6c9", "#1b5e20"),
    "deployment": NodeStyle("Deployment", "#fff59d", "#8d6e00"),
}
UNKNOWN_NODE_STYLE = NodeStyle("Other", "#eeeeee", "#424242")

EDGE_STYLES: dict[str, EdgeStyle] = {
    "used": EdgeStyle("#0d47a1", "", "used (run → input)"),
    "wasGeneratedBy": EdgeStyle("#bf360c", "", "wasGeneratedBy (output → run)"),
    "wasDerivedFrom": EdgeStyle("#37474f", "8 4", "wasDerivedFrom (derived → source)"),
    "deployedAs": EdgeStyle("#1b5e20", "", "deployedAs (model version → deployment)"),
    "versionOf": EdgeStyle("#616161", "2 4", "versionOf (version → dataset/model)"),
}
UNKNOWN_EDGE_STYLE = EdgeStyle("#424242", "4 4", "other")

_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean_text(value: object) -> str:
    """``str(value)`` without the characters XML 1.0 forbids (they would make the file unparsable)."""
    return _XML_INVALID.sub("\ufffd", "" if value is None else str(value))


def xml_text(value: object) -> str:
    """Escape for XML/HTML character data and double-quoted attribute values alike."""
    return escape(clean_text(value), {'"': "&quot;", "'": "&#39;"})


def node_style(node_type: str) -> NodeStyle:
    """The style for a node type, with a neutral fallback for types this module does not know."""
    return NODE_STYLES.get(node_type, UNKNOWN_NODE_STYLE)


def edge_style(relation: str) -> EdgeStyle:
    """The style for a relation, with a neutral fallback."""
    return EDGE_STYLES.get(relation, UNKNOWN_EDGE_STYLE)


def wrap_label(label: str, width: int = LABEL_CHARS, lines: int = LABEL_LINES) -> list[str]:
    """Wrap a label into at most ``lines`` lines, ending with an ellipsis if it was cut short."""
    text = " ".join(clean_text(label).split()) or "(unnamed)"
    wrapped = textwrap.wrap(text, width=width, break_long_words=True, break_on_hyphens=True)
    if len(wrapped) <= lines:
        return wrapped
    kept = wrapped[:lines]
    kept[-1] = kept[-1][: width - 1].rstrip() + "…"
    return kept


def graph_layout(report: LineageReport) -> Layout:
    """The layout both drawing renderers use, so the SVG and the PDF show the same picture."""
    return compute_layout(report["nodes"], report["edges"], layer_gap=LAYER_GAP, row_gap=ROW_GAP)


def edge_route(points: tuple[Point, ...]) -> list[Point]:
    """Turn a route between node centres into one between the facing sides of the two boxes."""
    route = list(points)
    if len(route) < 2:
        return route
    (x0, y0), (x1, _) = route[0], route[1]
    route[0] = (x0 + (BOX_WIDTH / 2 if x1 > x0 else -BOX_WIDTH / 2), y0)
    (xa, _), (xb, yb) = route[-2], route[-1]
    route[-1] = (xb + (-BOX_WIDTH / 2 if xa < xb else BOX_WIDTH / 2), yb)
    return route


def curve_path(route: list[Point]) -> str:
    """An SVG path through the points, each leg a cubic Bézier with horizontal tangents."""
    if not route:
        return ""
    x, y = route[0]
    parts = [f"M{x:.1f},{y:.1f}"]
    for nx, ny in route[1:]:
        mid = (x + nx) / 2
        parts.append(f"C{mid:.1f},{y:.1f} {mid:.1f},{ny:.1f} {nx:.1f},{ny:.1f}")
        x, y = nx, ny
    return " ".join(parts)


NodeLink = Callable[[str, str], str]  # (node id, node type) → URL, "" for none


def render_svg(report: LineageReport, *, standalone: bool = True, link: NodeLink | None = None) -> str:
    """Render the report's graph as SVG text.

    With ``standalone`` the result is a complete file (XML declaration and a visible heading);
    without it, a bare ``<svg>`` element to inline into HTML, which shows its own heading and scales it
    to its container (``width="100%"``, the drawing's size kept in ``viewBox``). With ``link`` each node
    is an ``<a>`` to the URL it gives (the console's lineage page; keyboard-focusable, named by its
    ``<title>``).
    """
    layout = graph_layout(report)
    heading_height = 56.0 if standalone else 0.0

    graph_width = layout.width + BOX_WIDTH
    graph_height = layout.height + BOX_HEIGHT
    legend_lines, legend_height = _legend(report, max(graph_width, 760.0))
    width = max(graph_width, 760.0) + 2 * MARGIN
    height = heading_height + graph_height + legend_height + 3 * MARGIN
    # Layout coordinates are box centres starting at 0; shift them into the drawing area.
    dx = MARGIN + BOX_WIDTH / 2 + (width - 2 * MARGIN - graph_width) / 2
    dy = MARGIN + heading_height + BOX_HEIGHT / 2

    def at(point: Point) -> Point:
        return (point[0] + dx, point[1] + dy)

    out = _svg_head(report, width, height, standalone=standalone, interactive=link is not None)
    out += _svg_edges(layout, at)
    out += _svg_nodes(report, layout, at, link)
    legend_top = dy - BOX_HEIGHT / 2 + graph_height + MARGIN
    out.append(f'<g class="legend" font-size="12" transform="translate({MARGIN:.0f},{legend_top:.1f})">')
    out.extend(legend_lines)
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _svg_head(
    report: LineageReport, width: float, height: float, *, standalone: bool, interactive: bool = False
) -> list[str]:
    """The opening ``<svg>``, its title, one arrow marker per relation, the white page and (standalone)
    the visible heading. Inline, the drawing scales to its container's width (its own size stays in
    ``viewBox``, which the lineage page's zoom and pan move); with links it is a group, not an image,
    so that the links inside stay reachable."""
    out: list[str] = []
    if standalone:
        out.append('<?xml version="1.0" encoding="UTF-8"?>')
    size = (
        f'width="{width:.0f}" height="{height:.0f}"'
        if standalone
        else f'width="100%" data-width="{width:.0f}" data-height="{height:.0f}" '
        'preserveAspectRatio="xMidYMid meet"'
    )
    role = "group" if interactive else "img"
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" {size} '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="{role}" aria-labelledby="lineage-title" '
        f'font-family="{FONT_FAMILY}" class="lineage-graph">'
    )
    out.append(f'<title id="lineage-title">{xml_text(report["title"])}</title>')
    out.append("<defs>")
    for relation, style in [*EDGE_STYLES.items(), ("other", UNKNOWN_EDGE_STYLE)]:
        out.append(
            f'<marker id="arrow-{relation}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
            f'markerHeight="8" markerUnits="userSpaceOnUse" orient="auto">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{style.colour}"/></marker>'
        )
    out.append("</defs>")
    out.append(f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>')
    if standalone:
        out.append(
            f'<text x="{MARGIN:.0f}" y="{MARGIN + 20:.0f}" font-size="20" font-weight="bold" fill="#000000">'
            f"{xml_text(report['title'])}</text>"
        )
        out.append(
            f'<text x="{MARGIN:.0f}" y="{MARGIN + 42:.0f}" font-size="13" fill="#000000">'
            f"Generated {xml_text(report['generated_at'])} · arrows follow W3C PROV "
            f"(from the later item to what it depends on)</text>"
        )
    return out


def _svg_edges(layout: Layout, at: Callable[[Point], Point]) -> list[str]:
    """Each edge as a curve with its relation's colour, dash and arrow; their names when few enough."""
    out: list[str] = []
    show_edge_labels = len(layout.edges) <= EDGE_LABEL_LIMIT
    out.append('<g class="edges" fill="none">')
    for routed in layout.edges:
        style = edge_style(routed.relation)
        marker = routed.relation if routed.relation in EDGE_STYLES else "other"
        route = [at(p) for p in edge_route(routed.points)]
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        out.append(
            f'<path d="{curve_path(route)}" stroke="{style.colour}" stroke-width="1.8"{dash} '
            f'marker-end="url(#arrow-{marker})"><title>{xml_text(routed.source)} '
            f"{xml_text(routed.relation)} {xml_text(routed.target)}</title></path>"
        )
    out.append("</g>")
    if show_edge_labels:
        out.append('<g class="edge-labels" font-size="12" text-anchor="middle">')
        for routed in layout.edges:
            route = [at(p) for p in edge_route(routed.points)]
            (ax, ay), (bx, by) = _middle_leg(route)
            # White halo under the text keeps it legible where it crosses a line.
            out.append(
                f'<text x="{(ax + bx) / 2:.1f}" y="{(ay + by) / 2 - 5:.1f}" fill="#000000" '
                f'stroke="#ffffff" stroke-width="4" paint-order="stroke" stroke-linejoin="round">'
                f"{xml_text(routed.relation)}</text>"
            )
        out.append("</g>")
    return out


def _svg_nodes(
    report: LineageReport, layout: Layout, at: Callable[[Point], Point], link: NodeLink | None = None
) -> list[str]:
    """A rounded box per node: its type (and "subject"), its wrapped label and a tooltip naming it;
    with ``link``, the box is a link to the node's page."""
    labels = {node["id"]: node for node in report["nodes"]}
    out: list[str] = []
    out.append('<g class="nodes">')
    for node_id, (cx, cy) in layout.positions.items():
        node = labels[node_id]
        look = node_style(node["type"])
        x, y = at((cx - BOX_WIDTH / 2, cy - BOX_HEIGHT / 2))
        is_subject = node_id == report["subject"]
        url = link(node_id, node["type"]) if link is not None else ""
        subject_class = " subject" if is_subject else ""
        if url:
            current = ' aria-current="page"' if is_subject else ""
            out.append(f'<a href="{xml_text(url)}" class="node-link{subject_class}"{current}>')
        out.append(f'<g class="node node-{xml_text(node["type"])}{subject_class}">')
        out.append(f"<title>{xml_text(node['label'])} ({xml_text(look.title)}, {xml_text(node_id)})</title>")
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_WIDTH:.0f}" height="{BOX_HEIGHT:.0f}" rx="8" ry="8" '
            f'fill="{look.fill}" stroke="{look.stroke}" stroke-width="{3.5 if is_subject else 1.5}"/>'
        )
        if is_subject:  # a second, outer outline: the subject stands out in colour and in monochrome
            out.append(
                f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="{BOX_WIDTH + 12:.0f}" '
                f'height="{BOX_HEIGHT + 12:.0f}" rx="12" ry="12" fill="none" stroke="#b71c1c" '
                f'stroke-width="3" stroke-dasharray="6 3" class="subject-ring"/>'
            )
        caption = look.title + (" · subject" if is_subject else "")
        out.append(
            f'<text x="{x + 10:.1f}" y="{y + 17:.1f}" font-size="12" fill="#000000">'
            f"{xml_text(caption)}</text>"
        )
        for line_no, line in enumerate(wrap_label(node["label"])):
            out.append(
                f'<text x="{x + 10:.1f}" y="{y + 36 + 17 * line_no:.1f}" font-size="14" font-weight="bold" '
                f'fill="#000000">{xml_text(line)}</text>'
            )
        out.append("</g></a>" if url else "</g>")
    out.append("</g>")
    return out


def _middle_leg(route: list[Point]) -> tuple[Point, Point]:
    if len(route) < 2:
        point = route[0] if route else (0.0, 0.0)
        return point, point
    middle = (len(route) - 1) // 2
    return route[middle], route[middle + 1]


def _legend(report: LineageReport, width: float) -> tuple[list[str], float]:
    """Legend items for the node types and relations present, wrapped into rows of ``width``."""
    node_types = list(dict.fromkeys(node["type"] for node in report["nodes"]))
    relations = list(dict.fromkeys(edge["relation"] for edge in report["edges"]))
    items: list[tuple[float, Callable[[float, float], str]]] = []
    for node_type in node_types:
        style = node_style(node_type)
        items.append((34 + 7.2 * len(style.title), _node_swatch(style)))
    for relation in relations:
        caption = edge_style(relation).caption if relation in EDGE_STYLES else relation
        items.append((50 + 6.8 * len(caption), _edge_swatch(relation, caption)))

    lines = ['<text x="0" y="0" font-size="13" font-weight="bold" fill="#000000">Legend</text>']
    x, y, row_height = 0.0, 12.0, 24.0
    for item_width, draw in items:
        if x > 0 and x + item_width > width:
            x, y = 0.0, y + row_height
        lines.append(draw(x, y))
        x += item_width + 18
    return lines, y + row_height + 8


def _node_swatch(style: NodeStyle) -> Callable[[float, float], str]:
    def draw(x: float, y: float) -> str:
        return (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="22" height="14" rx="3" fill="{style.fill}" '
            f'stroke="{style.stroke}" stroke-width="1.5"/>'
            f'<text x="{x + 28:.1f}" y="{y + 12:.1f}" fill="#000000">{xml_text(style.title)}</text>'
        )

    return draw


def _edge_swatch(relation: str, caption: str) -> Callable[[float, float], str]:
    style = edge_style(relation)
    marker = relation if relation in EDGE_STYLES else "other"
    dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""

    def draw(x: float, y: float) -> str:
        return (
            f'<path d="M{x:.1f},{y + 7:.1f} h30" stroke="{style.colour}" stroke-width="1.8"{dash} '
            f'fill="none" marker-end="url(#arrow-{marker})"/>'
            f'<text x="{x + 40:.1f}" y="{y + 12:.1f}" fill="#000000">{xml_text(caption)}</text>'
        )

    return draw
