"""Small SVG building blocks: documents, axes with ticks, bars, lines and legends.

The page's pictures are SVG text built on the server and drawn by the browser. On this
project's machines a matplotlib PNG of the network takes 0.3–0.5 s to render, far over the
tenth of a second a step may take; building the same picture as SVG text takes a few
milliseconds. (Solara's Altair charts would load Vega from a CDN, which a classroom machine
may not reach.) The functions return strings; :mod:`ecosim.viz.drawing` puts them together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np

FONT = "font-family: 'DejaVu Sans', Arial, sans-serif"
AXIS_COLOUR = "#555"
GRID_COLOUR = "#e3e3e3"


def text(x: float, y: float, content: str, *, size: float = 11, anchor: str = "start", weight: str = "normal",
         colour: str = "#222", baseline: str = "auto", rotate: float | None = None, css_class: str | None = None) -> str:
    """A ``<text>`` element (``content`` is escaped)."""
    transform = f' transform="rotate({rotate:.0f} {x:.1f} {y:.1f})"' if rotate is not None else ""
    klass = f' class="{css_class}"' if css_class else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{colour}" dominant-baseline="{baseline}"{transform}{klass}>{escape(content)}</text>')


def document(width: float, height: float, body: Sequence[str], *, title: str, css_class: str) -> str:
    """A complete ``<svg>`` that scales to its container's width, with an accessible title."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'width="100%" preserveAspectRatio="xMidYMid meet" style="{FONT}; max-height: 80vh" role="img">'
            f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def nice_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not math.isfinite(low) or not math.isfinite(high) or high <= low:
        high = low + 1.0
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    stop = math.ceil(high / step) * step
    return np.arange(start, stop + step / 2, step)


def format_tick(value: float) -> str:
    """A tick label: integers without decimals, large numbers with a k or M suffix."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


class Axes:
    """A plotting box: data ranges mapped onto a pixel rectangle, with a y axis and grid.

    Parameters
    ----------
    left, top, width, height : the plot area in pixels
    x_range, y_range : data ranges (y ticks are rounded outwards)
    """

    def __init__(self, left: float, top: float, width: float, height: float,
                 x_range: tuple[float, float], y_range: tuple[float, float]):
        self.left, self.top, self.width, self.height = left, top, width, height
        self.y_ticks = nice_ticks(*y_range)
        self.y_low, self.y_high = float(self.y_ticks[0]), float(self.y_ticks[-1])
        self.x_low, self.x_high = x_range if x_range[1] > x_range[0] else (x_range[0], x_range[0] + 1.0)

    def x(self, value: np.ndarray | float) -> np.ndarray:
        """Pixel x of data x."""
        return self.left + (np.asarray(value, float) - self.x_low) / (self.x_high - self.x_low) * self.width

    def y(self, value: np.ndarray | float) -> np.ndarray:
        """Pixel y of data y."""
        return self.top + self.height - (np.asarray(value, float) - self.y_low) / (self.y_high - self.y_low) * self.height

    def frame(self, *, title: str = "", y_label: str = "") -> list[str]:
        """Grid lines, y tick labels, the baseline, the title and the y label."""
        parts = []
        for tick in self.y_ticks:
            y = float(self.y(tick))
            parts.append(f'<line x1="{self.left:.1f}" y1="{y:.1f}" x2="{self.left + self.width:.1f}" y2="{y:.1f}" '
                         f'stroke="{GRID_COLOUR}" stroke-width="1"/>')
            parts.append(text(self.left - 4, y, format_tick(tick), size=9, anchor="end", baseline="middle",
                              colour=AXIS_COLOUR))
        bottom = self.top + self.height
        parts.append(f'<line x1="{self.left:.1f}" y1="{bottom:.1f}" x2="{self.left + self.width:.1f}" y2="{bottom:.1f}" '
                     f'stroke="{AXIS_COLOUR}" stroke-width="1"/>')
        if title:
            parts.append(text(self.left + self.width / 2, self.top - 8, title, size=11, anchor="middle", weight="bold"))
        if y_label:
            parts.append(text(self.left - 34, self.top + self.height / 2, y_label, size=9, anchor="middle",
                              colour=AXIS_COLOUR, rotate=-90))
        return parts

    def x_ticks(self, values: Sequence[float], labels: Sequence[str]) -> list[str]:
        """Labels under the plot at data positions ``values``."""
        bottom = self.top + self.height
        return [text(float(self.x(v)), bottom + 12, label, size=9, anchor="middle", colour=AXIS_COLOUR)
                for v, label in zip(values, labels, strict=True)]


def stacked_bars(axes: Axes, categories: int, stacks: Sequence[tuple[str, np.ndarray, str]],
                 css_class: str, *, label_totals: bool = False) -> list[str]:
    """Bars at x = 0 … categories−1, one stacked layer per (label, values, colour)."""
    parts = []
    width = axes.width / categories * 0.6
    bottom = np.zeros(categories)
    for label, values, colour in stacks:
        values = np.asarray(values, float)
        for i in range(categories):
            if values[i] <= 0:
                continue
            y_top, y_bottom = float(axes.y(bottom[i] + values[i])), float(axes.y(bottom[i]))
            x = float(axes.x(i)) - width / 2
            parts.append(f'<rect class="{css_class}" data-layer="{escape(label)}" data-value="{values[i]:g}" '
                         f'x="{x:.1f}" y="{y_top:.1f}" width="{width:.1f}" height="{max(y_bottom - y_top, 0.5):.1f}" '
                         f'fill="{colour}"><title>{escape(label)}: {values[i]:g}</title></rect>')
        bottom += values
    if label_totals:
        for i in range(categories):
            parts.append(text(float(axes.x(i)), float(axes.y(bottom[i])) - 3, f"{bottom[i]:g}", size=9, anchor="middle"))
    return parts


def polyline(axes: Axes, x: np.ndarray, y: np.ndarray, colour: str, css_class: str, label: str,
             metric: str | None = None) -> str:
    """A line through the points (x, y) in data units; ``label`` and ``metric`` (the series' name)
    are kept as ``data-series`` and ``data-metric`` attributes."""
    if len(x) == 0:
        return ""
    px, py = axes.x(x), axes.y(y)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
    named = f' data-metric="{escape(metric)}"' if metric else ""
    return (f'<polyline class="{css_class}" data-series="{escape(label)}"{named} points="{points}" fill="none" '
            f'stroke="{colour}" stroke-width="1.8" stroke-linejoin="round"/>')


def legend(x: float, y: float, entries: Sequence[tuple[str, str]], *, row_height: float = 14,
           columns: int = 1, column_width: float = 120) -> list[str]:
    """Colour swatches with labels, in ``columns`` columns starting at (x, y)."""
    parts = []
    for i, (label, colour) in enumerate(entries):
        row, column = divmod(i, columns)
        cx, cy = x + column * column_width, y + row * row_height
        parts.append(f'<rect x="{cx:.1f}" y="{cy - 5:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(text(cx + 14, cy, label, size=9, baseline="middle"))
    return parts
