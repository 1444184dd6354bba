"""Drift over time as an SVG line chart, free of Django: no JavaScript, safe to inline in a page.

One line per feature (its PSI at each check), the alarm threshold as a dashed red line. Every text is
XML-escaped: feature names come from datasets, not from us.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final
from xml.sax.saxutils import escape

WIDTH: Final = 720
HEIGHT: Final = 300
LEFT, RIGHT, TOP, BOTTOM = 50, 170, 20, 40
COLOURS: Final = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


# long: one SVG template (frame, axis labels, threshold, lines, legend) reads best top to bottom.
def line_chart(
    times: Sequence[datetime],
    series: Mapping[str, Sequence[float | None]],
    *,
    threshold: float,
    title: str = "PSI per feature",
) -> str:
    """An SVG of ``series`` (name → one value per time, None for a gap) against ``times``."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [value for line in series.values() for value in line if value is not None]
    top = max([threshold * 1.5, *values]) or 1.0

    def x(index: int) -> float:
        return LEFT + (plot_w * index / (len(times) - 1) if len(times) > 1 else plot_w / 2)

    def y(value: float) -> float:
        return TOP + plot_h * (1 - min(value, top) / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#d0d7de"/>',
    ]
    for step in range(5):
        value = top * step / 4
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(value) + 4:.1f}" font-size="10" text-anchor="end">{value:.2f}</text>'
        )
    ty = y(threshold)
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#a40e26" '
        f'stroke-dasharray="6 4" class="threshold"/>'
        f'<text x="{LEFT + plot_w + 4}" y="{ty + 4:.1f}" font-size="10" fill="#a40e26">'
        f"threshold {threshold:g}</text>"
    )
    if times:
        parts.extend(
            f'<text x="{x(index):.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="10" text-anchor="middle">'
            f"{escape(times[index].strftime('%m-%d %H:%M'))}</text>"
            for index in sorted({0, len(times) - 1})
        )
    for number, (name, line) in enumerate(series.items()):
        colour = COLOURS[number % len(COLOURS)]
        points = [f"{x(index):.1f},{y(value):.1f}" for index, value in enumerate(line) if value is not None]
        if len(points) > 1:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{" ".join(points)}">'
                f"<title>{escape(name)}</title></polyline>"
            )
        for point in points:
            cx, cy = point.split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
        legend_y = TOP + 14 * number + 10
        parts.append(
            f'<rect x="{LEFT + plot_w + 4}" y="{legend_y + 10}" width="10" height="3" fill="{colour}"/>'
            f'<text x="{LEFT + plot_w + 18}" y="{legend_y + 15}" font-size="10" class="legend">'
            f"{escape(name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
