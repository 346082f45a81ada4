"""Hand-written inline SVG charts: curves (ROC, precision-recall) and calibration plots.

Every chart is one `<svg data-plot="...">` element whose drawn series are `<path
class="series">` elements (one per curve) or `<circle class="series">` points, so a browser
test can check that each plot drew something. Coordinates are in a fixed view box; the SVG
scales with the page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

WIDTH, HEIGHT = 360, 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 46, 12, 28, 40
MAX_POINTS = 400
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")


class Series(NamedTuple):
    """One curve: float64 `[N]` x and y values in `[0, 1]`, a legend label and a dash style."""

    label: str
    x: np.ndarray
    y: np.ndarray
    dashed: bool = False


def _px(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    px = MARGIN_LEFT + np.clip(x, 0.0, 1.0) * plot_w
    py = MARGIN_TOP + (1.0 - np.clip(y, 0.0, 1.0)) * plot_h
    return px, py


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most `MAX_POINTS` points, evenly spaced by index (both ends kept)."""
    if len(x) <= MAX_POINTS:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int))
    return x[keep], y[keep]


def _frame(title: str, x_label: str, y_label: str) -> list[str]:
    """Axes, grid, ticks and labels of the unit square."""
    parts = [f'<text class="title" x="{WIDTH / 2}" y="16">{html.escape(title)}</text>']
    for tick in np.linspace(0, 1, 6):
        (gx,), (gy,) = _px(np.array([tick]), np.array([tick]))
        x0, y0 = _px(np.array([0.0]), np.array([0.0]))
        x1, y1 = _px(np.array([1.0]), np.array([1.0]))
        parts.append(
            f'<line class="grid" x1="{gx:.1f}" y1="{y1[0]:.1f}" x2="{gx:.1f}" y2="{y0[0]:.1f}"/>'
        )
        parts.append(
            f'<line class="grid" x1="{x0[0]:.1f}" y1="{gy:.1f}" x2="{x1[0]:.1f}" y2="{gy:.1f}"/>'
        )
        parts.append(f'<text class="tick" x="{gx:.1f}" y="{y0[0] + 14:.1f}">{tick:.1f}</text>')
        parts.append(
            f'<text class="tick" x="{x0[0] - 6:.1f}" y="{gy + 4:.1f}" '
            f'text-anchor="end">{tick:.1f}</text>'
        )
    parts.append(
        f'<rect class="axes" x="{MARGIN_LEFT}" y="{MARGIN_TOP}" '
        f'width="{WIDTH - MARGIN_LEFT - MARGIN_RIGHT}" '
        f'height="{HEIGHT - MARGIN_TOP - MARGIN_BOTTOM}"/>'
    )
    parts.append(
        f'<text class="label" x="{(WIDTH + MARGIN_LEFT) / 2}" y="{HEIGHT - 6}">'
        f"{html.escape(x_label)}</text>"
    )
    parts.append(
        f'<text class="label" transform="translate(12,{(HEIGHT + MARGIN_TOP) / 2}) rotate(-90)">'
        f"{html.escape(y_label)}</text>"
    )
    return parts


def _legend(labels: Sequence[str]) -> list[str]:
    parts = []
    for i, label in enumerate(labels):
        y = MARGIN_TOP + 14 + 14 * i
        x = WIDTH - MARGIN_RIGHT - 8
        color = COLORS[i % len(COLORS)]
        parts.append(
            f'<text class="legend" x="{x}" y="{y}" fill="{color}" text-anchor="end">'
            f"{html.escape(label)}</text>"
        )
    return parts


def _svg(plot_id: str, parts: list[str]) -> str:
    body = "".join(parts)
    return (
        f'<svg class="chart" data-plot="{html.escape(plot_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'xmlns="http://www.w3.org/2000/svg" role="img">{body}</svg>'
    )


def curve_chart(
    plot_id: str,
    title: str,
    x_label: str,
    y_label: str,
    series: Sequence[Series],
    diagonal: bool = False,
) -> str:
    """An SVG line chart on the unit square (ROC: `diagonal=True` draws chance).

    Args:
        plot_id: the `data-plot` attribute.
        title: the chart's title.
        x_label: the x axis label.
        y_label: the y axis label.
        series: the curves, drawn in order (colours cycle through `COLORS`).
        diagonal: draw the `y = x` line.

    Returns:
        The `<svg>` element's markup.
    """
    parts = _frame(title, x_label, y_label)
    if diagonal:
        (x0, x1), (y0, y1) = _px(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
        parts.append(f'<line class="chance" x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}"/>')
    for i, item in enumerate(series):
        x, y = _thin(np.asarray(item.x, np.float64), np.asarray(item.y, np.float64))
        finite = np.isfinite(x) & np.isfinite(y)
        px, py = _px(x[finite], y[finite])
        if not len(px):
            continue
        points = " L".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
        dash = ' stroke-dasharray="5,3"' if item.dashed else ""
        parts.append(
            f'<path class="series" d="M{points}" stroke="{COLORS[i % len(COLORS)]}"{dash}>'
            f"<title>{html.escape(item.label)}</title></path>"
        )
    parts.extend(_legend([item.label for item in series]))
    return _svg(plot_id, parts)


def calibration_chart(
    plot_id: str, title: str, predicted: np.ndarray, observed: np.ndarray, weight: np.ndarray
) -> str:
    """An SVG calibration plot: one circle per bucket (area by weight) and the `y = x` line.

    Args:
        plot_id: the `data-plot` attribute.
        title: the chart's title.
        predicted: float64 `[C]` mean predicted probability per bucket, in `[0, 1]`.
        observed: float64 `[C]` observed positive rate per bucket, in `[0, 1]`.
        weight: float64 `[C]` weighted example count per bucket (> 0).

    Returns:
        The `<svg>` element's markup.
    """
    parts = _frame(title, "mean predicted probability", "observed positive rate")
    (x0, x1), (y0, y1) = _px(np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    parts.append(f'<line class="chance" x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}"/>')
    if len(weight):
        radius = 2.0 + 6.0 * np.sqrt(weight / weight.max())
        px, py = _px(predicted, observed)
        for cx, cy, r, w, p, o in zip(px, py, radius, weight, predicted, observed, strict=True):
            parts.append(
                f'<circle class="series" cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}">'
                f"<title>predicted {p:.3f}, observed {o:.3f}, weight {w:.4g}</title></circle>"
            )
    return _svg(plot_id, parts)
