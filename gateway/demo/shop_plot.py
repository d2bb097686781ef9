# SPDX-License-Identifier: Apache-2.0
"""The simulation's plot, written as SVG by hand: cumulative reward and regret per arm over time.

No plotting dependency: a chart of a few polylines is a page of markup. Panels share the x
axis (visitors in arrival order), two to a row; within a row each curve keeps its colour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

COLOURS = ("#6b7280", "#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed")
WIDTH, ROW_H, PANEL_W, PANEL_H, LEFT, TOP = 1000, 430, 400, 300, 70, 50


@dataclass(frozen=True)
class Series:
    """One arm's curve: (x, y) points with x ascending."""

    name: str
    points: Sequence[tuple[float, float]]


def _ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks, value = [], 0.0
    while value < top + step * 0.999:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _number(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"


@dataclass(frozen=True)
class Panel:
    """One chart: a title, its curves, the y axis' label."""

    title: str
    series: Sequence[Series]
    y_label: str


def _panel(x0: float, top: float, panel: Panel, x_max: float) -> list[str]:
    series = panel.series
    y_max = max((y for s in series for _, y in s.points), default=0.0)
    yt = _ticks(y_max)
    xt = _ticks(x_max)
    y_top, x_top = yt[-1] or 1.0, xt[-1] or 1.0

    def px(x: float) -> float:
        return x0 + x / x_top * PANEL_W

    def py(y: float) -> float:
        return top + PANEL_H - y / y_top * PANEL_H

    out = [
        f'<text x="{x0 + PANEL_W / 2}" y="{top - 18}" text-anchor="middle" font-size="15">{escape(panel.title)}</text>',
        f'<rect x="{x0}" y="{top}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#999"/>',
    ]
    for v in yt:
        y = py(v)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + PANEL_W}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_number(v)}</text>')
    for v in xt:
        x = px(v)
        label = f'<text x="{x:.1f}" y="{top + PANEL_H + 16}" text-anchor="middle" font-size="11">'
        out.append(f"{label}{_number(v)}</text>")
    out.append(
        f'<text x="{x0 + PANEL_W / 2}" y="{top + PANEL_H + 36}" text-anchor="middle" font-size="12">'
        "visitors (arrival order)</text>"
    )
    out.append(
        f'<text transform="translate({x0 - 48},{top + PANEL_H / 2}) rotate(-90)" text-anchor="middle" '
        f'font-size="12">{escape(panel.y_label)}</text>'
    )
    for i, s in enumerate(series):
        if not s.points:
            continue
        pts = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in [(0.0, 0.0), *s.points])
        colour = COLOURS[i % len(COLOURS)]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>')
    return out


def svg_plot(panels: Sequence[Panel], x_max: float, title: str) -> str:
    """The picture: panels two to a row, each row with a legend naming its curves."""
    rows = [panels[i : i + 2] for i in range(0, len(panels), 2)]
    height = ROW_H * len(rows)
    body = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f"<title>{escape(title)}</title>",
    ]
    for r, row in enumerate(rows):
        top = TOP + r * ROW_H
        for c, panel in enumerate(row):
            body += _panel(LEFT + c * (PANEL_W + 90), top, panel, x_max)
        y = top + PANEL_H + 58
        widest = max(row, key=lambda panel: len(panel.series))  # colours go by position in a panel
        for i, s in enumerate(widest.series):
            x = LEFT + i * 230
            colour = COLOURS[i % len(COLOURS)]
            body.append(f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{colour}" stroke-width="3"/>')
            body.append(f'<text x="{x + 30}" y="{y + 4}" font-size="12">{escape(s.name)}</text>')
    body.append("</svg>")
    return "\n".join(body) + "\n"
