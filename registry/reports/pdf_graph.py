"""The lineage graph of the PDF report, drawn with ReportLab graphics from the SVG renderer's layered
layout, colours and label wrapping, so both show the same picture. Arrows follow the W3C PROV
direction (PROV-DM §5). Also the report's fonts, which the document and the drawing share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reportlab.graphics.shapes import Drawing, Group, Path, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from registry.reports.layout import Layout
from registry.reports.svg import (
    BOX_HEIGHT,
    BOX_WIDTH,
    EDGE_STYLES,
    edge_route,
    edge_style,
    graph_layout,
    node_style,
    wrap_label,
)
from registry.reports.types import LineageReport

_fonts: tuple[str, str] | None = None


def font_names() -> tuple[str, str]:
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


_LABEL_SIZE = 15.0
_CAPTION_SIZE = 12.5
_EDGE_LABEL_SIZE = 12.0


def graph_drawing(report: LineageReport, max_width: float, max_height: float) -> Drawing:
    """Draw the lineage graph as a ReportLab ``Drawing`` scaled to fit ``max_width`` x ``max_height``.

    Uses the SVG renderer's layout, colours and label wrapping, so both show the same picture.
    """
    regular, bold = font_names()
    layout = graph_layout(report)
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
    _draw_edges(group, layout, at)
    if len(layout.edges) <= 60:
        _draw_edge_labels(group, layout, at, regular)
    _draw_nodes(group, report, layout, at, (regular, bold))
    legend.translate(margin, margin + legend_height - 14)
    group.add(legend)
    group.scale(scale, scale)
    drawing = Drawing(content_width * scale, content_height * scale)
    drawing.add(group)
    return drawing


Place = Callable[[float, float], tuple[float, float]]


def _draw_edges(group: Group, layout: Layout, at: Place) -> None:
    """Each edge as a curve in its relation's colour and dash, with an arrow head at its end."""
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


def _draw_edge_labels(group: Group, layout: Layout, at: Place, font: str) -> None:
    """The relation's name at the middle of each edge, on a white box so crossing lines stay readable."""
    for routed in layout.edges:
        route = [at(x, y) for x, y in edge_route(routed.points)]
        if len(route) < 2:
            continue
        middle = (len(route) - 1) // 2
        (ax, ay), (bx, by) = route[middle], route[middle + 1]
        text_width = pdfmetrics.stringWidth(routed.relation, font, _EDGE_LABEL_SIZE)
        mx, my = (ax + bx) / 2, (ay + by) / 2 + 4
        group.add(Rect(mx - text_width / 2 - 2, my - 3, text_width + 4, _EDGE_LABEL_SIZE + 2, **_WHITE_BOX))
        group.add(
            String(mx, my, routed.relation, fontName=font, fontSize=_EDGE_LABEL_SIZE, textAnchor="middle")
        )


def _draw_nodes(
    group: Group, report: LineageReport, layout: Layout, at: Place, fonts: tuple[str, str]
) -> None:
    """A rounded box per node: its type (and "subject" for the report's subject) and its wrapped label."""
    regular, bold = fonts
    nodes = {node["id"]: node for node in report["nodes"]}
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
