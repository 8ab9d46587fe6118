"""Plots as inline SVG text, drawn in Python: no script, no fonts or files from elsewhere.

Every function returns one ``<svg>`` element for an HTML page. Labels are escaped, so names
taken from configs or data cannot inject markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

WIDTH, HEIGHT = 520, 260
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 58, 16, 26, 44
PALETTE = ("#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563")


def format_tick(value: float) -> str:
    """A short label for an axis value: no trailing zeros, scientific only for extreme magnitudes."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6 or magnitude < 1e-3:
        return f"{value:.2g}"
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values covering ``[low, high]`` (1, 2 or 5 times a power of ten apart)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 5, 10)), key=lambda candidate: abs(candidate - raw))
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9 and math.isfinite(value):
        if value >= low - step * 1e-9:
            ticks.append(round(value, 12))
        value += step
    return ticks


@dataclass(frozen=True)
class _Frame:
    """Maps data coordinates to the plot area of an SVG of fixed size."""

    x_low: float
    x_high: float
    y_low: float
    y_high: float
    width: int = WIDTH
    height: int = HEIGHT

    def x(self, value: float) -> float:
        span = self.x_high - self.x_low or 1.0
        return MARGIN_LEFT + (value - self.x_low) / span * (self.width - MARGIN_LEFT - MARGIN_RIGHT)

    def y(self, value: float) -> float:
        span = self.y_high - self.y_low or 1.0
        return self.height - MARGIN_BOTTOM - (value - self.y_low) / span * (self.height - MARGIN_TOP - MARGIN_BOTTOM)


def _open(kind: str, title: str, width: int = WIDTH, height: int = HEIGHT) -> list[str]:
    label = escape(title)
    return [
        f'<svg class="plot {kind}" role="img" aria-label="{label}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{label}</title>",
        f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" class="plot-title">{label}</text>',
    ]


def _axes(frame: _Frame, x_ticks: Sequence[float], y_ticks: Sequence[float], x_label: str, y_label: str) -> list[str]:
    bottom = frame.height - MARGIN_BOTTOM
    right = frame.width - MARGIN_RIGHT
    parts = [
        f'<line class="axis" x1="{MARGIN_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}"/>',
        f'<line class="axis" x1="{MARGIN_LEFT}" y1="{MARGIN_TOP}" x2="{MARGIN_LEFT}" y2="{bottom}"/>',
    ]
    for tick in x_ticks:
        x = frame.x(tick)
        parts.append(f'<line class="tick" x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{escape(format_tick(tick))}</text>')
    for tick in y_ticks:
        y = frame.y(tick)
        parts.append(f'<line class="grid" x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}"/>')
        parts.append(
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(format_tick(tick))}</text>'
        )
    middle = MARGIN_LEFT + (right - MARGIN_LEFT) / 2
    parts.append(f'<text x="{middle:.1f}" y="{frame.height - 8}" text-anchor="middle">{escape(x_label)}</text>')
    centre = MARGIN_TOP + (bottom - MARGIN_TOP) / 2
    parts.append(
        f'<text x="14" y="{centre:.1f}" text-anchor="middle" transform="rotate(-90 14 {centre:.1f})">'
        f"{escape(y_label)}</text>"
    )
    return parts


def histogram_svg(values: Sequence[float] | np.ndarray, title: str, x_label: str = "score", bins: int = 20) -> str:
    """A histogram of ``values`` (finite numbers); an empty plot that says so when there are none."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    parts = _open("histogram", title)
    if data.size == 0:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no scored samples</text></svg>')
        return "".join(parts)
    low, high = float(data.min()), float(data.max())
    if not math.isfinite(high - low):
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">values too far apart to plot</text></svg>'
        )
        return "".join(parts)
    scale = max(abs(low), abs(high), 1.0)
    if high - low < scale * 1e-9:  # one value, or values too close for 20 distinct float bins
        half = max(0.5, scale * 1e-6)
        biggest = float(np.finfo(float).max)
        low, high = max(low - half, -biggest), min(high + half, biggest)
    counts, edges = np.histogram(data, bins=bins, range=(low, high))
    top = int(counts.max())
    frame = _Frame(low, high, 0.0, float(top))
    parts += _axes(frame, nice_ticks(low, high), nice_ticks(0, top, 4), x_label, "samples")
    for count, left, right in zip(counts, edges[:-1], edges[1:]):
        if not count:
            continue
        x0, x1 = frame.x(float(left)), frame.x(float(right))
        y = frame.y(float(count))
        label = f"{format_tick(float(left))} to {format_tick(float(right))}: {int(count)} samples"
        parts.append(
            f'<rect class="bar" x="{x0 + 0.5:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 1, 0.5):.1f}" '
            f'height="{frame.y(0) - y:.1f}"><title>{escape(label)}</title></rect>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_plot_svg(
    series: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    title: str,
    x_label: str,
    y_label: str,
    diagonal: bool = False,
) -> str:
    """Curves through ``(x, y)`` points, one per ``(label, xs, ys)``; ``diagonal`` adds y = x (chance in ROC)."""
    xs_all = [float(v) for _, xs, _ in series for v in xs if math.isfinite(float(v))]
    ys_all = [float(v) for _, _, ys in series for v in ys if math.isfinite(float(v))]
    parts = _open("curve", title)
    if not xs_all or not ys_all:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">no points</text></svg>')
        return "".join(parts)
    x_low, x_high = min(xs_all), max(xs_all)
    y_low, y_high = min(ys_all), max(ys_all)
    if diagonal:
        x_low = y_low = min(x_low, y_low)
        x_high = y_high = max(x_high, y_high)
    frame = _Frame(x_low, x_high, y_low, y_high)
    parts += _axes(frame, nice_ticks(x_low, x_high), nice_ticks(y_low, y_high), x_label, y_label)
    if diagonal:
        parts.append(
            f'<line class="reference" x1="{frame.x(x_low):.1f}" y1="{frame.y(y_low):.1f}" '
            f'x2="{frame.x(x_high):.1f}" y2="{frame.y(y_high):.1f}"/>'
        )
    for index, (label, xs, ys) in enumerate(series):
        points = " ".join(
            f"{frame.x(float(x)):.1f},{frame.y(float(y)):.1f}"
            for x, y in zip(xs, ys)
            if math.isfinite(float(x)) and math.isfinite(float(y))
        )
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<polyline class="line" fill="none" stroke="{colour}" points="{points}"><title>{escape(label)}</title>'
            "</polyline>"
        )
        if len(series) > 1:
            y = MARGIN_TOP + 14 * index + 8
            parts.append(f'<text x="{WIDTH - MARGIN_RIGHT - 4}" y="{y}" text-anchor="end" fill="{colour}">')
            parts.append(f"{escape(label)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def interval_plot_svg(rows: Sequence[tuple[str, float | None, Sequence[float] | None]], title: str) -> str:
    """Points with 95% intervals, one row each, around a line at zero (differences against a baseline)."""
    height = MARGIN_TOP + MARGIN_BOTTOM + 24 * max(len(rows), 1)
    width = WIDTH + 120
    known = [v for _, value, ci in rows for v in [value, *(ci or [])] if v is not None and math.isfinite(v)]
    parts = _open("intervals", title, width, height)
    low, high = (min([*known, 0.0]), max([*known, 0.0])) if known else (-1.0, 1.0)
    if high == low:
        low, high = low - 1.0, high + 1.0
    pad = (high - low) * 0.05
    left_margin = MARGIN_LEFT + 120
    span = width - left_margin - MARGIN_RIGHT

    def x(value: float) -> float:
        return left_margin + (value - (low - pad)) / (high - low + 2 * pad) * span

    bottom = height - MARGIN_BOTTOM
    parts.append(f'<line class="reference" x1="{x(0):.1f}" y1="{MARGIN_TOP}" x2="{x(0):.1f}" y2="{bottom}"/>')
    for tick in nice_ticks(low, high):
        parts.append(
            f'<text x="{x(tick):.1f}" y="{bottom + 16}" text-anchor="middle">{escape(format_tick(tick))}</text>'
        )
    for index, (label, value, ci) in enumerate(rows):
        y = MARGIN_TOP + 24 * index + 12
        parts.append(f'<text x="{left_margin - 8}" y="{y + 4}" text-anchor="end">{escape(label)}</text>')
        if ci:
            parts.append(f'<line class="interval" x1="{x(ci[0]):.1f}" y1="{y}" x2="{x(ci[1]):.1f}" y2="{y}"/>')
        if value is not None:
            parts.append(f'<circle class="point" cx="{x(value):.1f}" cy="{y}" r="4"><title>{escape(label)}</title>')
            parts.append("</circle>")
    parts.append("</svg>")
    return "".join(parts)
