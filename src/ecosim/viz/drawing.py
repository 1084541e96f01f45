"""The visualiser's pictures, as plain functions from a model (or its step table) to SVG text.

Nothing here knows about Solara, so the same functions serve the browser page, a notebook
(``IPython.display.SVG(network_svg(...))``) and the tests.

- :func:`network_svg` — the ecosystem's network: agent kinds by colour and shape, node size
  by activity, tie kinds by colour and line style, one panel per region, on the fixed
  positions of :func:`ecosim.viz.layout.node_positions`. When a region has more enterprises
  than can be read, only the most active are drawn and the rest are counted in the legend.
- :func:`pipeline_svg` — technologies waiting at each gate now, and failures so far by gate
  and cause.
- :func:`time_series_svg` — disclosures, deals and market entries per quarter; welfare and
  public spending per quarter; each series labelled from :mod:`ecosim.metric_catalogue`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecosim import metric_catalogue
from ecosim.network import NODE_KINDS, NodeKind, TieKind
from ecosim.scenario import CAUSES, GATES
from ecosim.viz import svg
from ecosim.viz.layout import panel_boxes

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel


@dataclass(frozen=True)
class KindStyle:
    """How one kind of agent is drawn."""

    label: str
    colour: str
    shape: str  # "star", "square", "circle", "triangle" or "diamond"
    base_radius: float  # pixels, for a node that has done nothing yet


KIND_STYLES = {
    NodeKind.GOVERNMENT: KindStyle("government", "#d62728", "star", 9.0),
    NodeKind.UNIVERSITY: KindStyle("university / institute", "#1f77b4", "square", 4.5),
    NodeKind.MANAGER: KindStyle("technology manager", "#ff7f0e", "triangle", 3.5),
    NodeKind.INVESTOR: KindStyle("investor", "#9467bd", "diamond", 4.0),
    NodeKind.ENTERPRISE: KindStyle("enterprise", "#2ca02c", "circle", 2.2),
}
"""Colour, shape and size of each agent kind (node kind codes of :mod:`ecosim.network`)."""


@dataclass(frozen=True)
class TieStyle:
    """How one kind of tie is drawn."""

    label: str
    colour: str
    dash: str  # SVG stroke-dasharray ("" for solid)
    width: float
    opacity: float


TIE_STYLES = {
    TieKind.COLLABORATION: TieStyle("collaboration", "#9a9a9a", "", 0.6, 0.3),
    TieKind.LICENCE: TieStyle("licence (deal)", "#2ca02c", "", 1.6, 0.9),
    TieKind.BROKERAGE: TieStyle("brokerage", "#ff7f0e", "4 2", 0.8, 0.4),
    TieKind.FINANCE: TieStyle("finance", "#9467bd", "1 2", 1.0, 0.7),
}
"""Colour and line style of each tie kind (tie kind codes of :mod:`ecosim.network`)."""

CAUSE_COLOURS = {"technical": "#7f7f7f", "funding": "#d62728", "matching": "#1f77b4"}
"""Colour of each failure cause (as in the run figures)."""

GATE_LABELS = {"G1": "G1 concept", "G2": "G2 validation", "G3": "G3 pilot", "G4": "G4 market"}

MAX_ENTERPRISES_PER_REGION = 80
"""Enterprises drawn per region at most; the less active rest are counted, not drawn."""

SIZE_GROWTH = 1.3
"""The busiest node of a kind is drawn (1 + SIZE_GROWTH) times its kind's base size.

Sizes are relative within a kind: a university owns hundreds of technologies and an
enterprise a handful, so one absolute scale would hide either the universities' neighbours
or the enterprises' differences.
"""

NETWORK_PANEL_PIXELS = 300.0
"""Width in pixels of one region's panel."""

LEGEND_WIDTH = 180.0


# ------------------------------------------------------------------ what to draw


def node_activity(model: EcosystemModel) -> np.ndarray:
    """How many technologies each node has taken part in so far, indexed by node id.

    A technology counts once for each distinct node that owned it, adopted it (the deal
    partner), brokered it (its technology manager) or backed it (its investor).
    """
    t = model.pipeline.table
    n = model.layout.n_nodes
    owner, partner = t.col("owner"), t.col("partner")
    manager, investor = t.col("manager"), t.col("investor")
    counted = [
        owner[owner >= 0],
        partner[(partner >= 0) & (partner != owner) & (partner != investor)],
        manager[manager >= 0],
        investor[investor >= 0],
    ]
    return np.bincount(np.concatenate(counted).astype(np.int64), minlength=n)[:n]


def enterprises_to_draw(model: EcosystemModel, activity: np.ndarray,
                        per_region: int = MAX_ENTERPRISES_PER_REGION) -> np.ndarray:
    """Node ids of the enterprises worth drawing: in each region the ``per_region`` most active.

    Activity (:func:`node_activity`) ranks first, then ties to universities, managers and
    investors (an enterprise's reach), then the lower node id, so the choice is deterministic.
    """
    layout = model.layout
    nodes = layout.nodes(NodeKind.ENTERPRISE)
    if nodes.size == 0:
        return nodes
    ties = model.network.ties
    alive = ties.alive
    u, v = ties.u[alive], ties.v[alive]
    ku, kv = layout.kind[u], layout.kind[v]
    outside = np.concatenate([v[(ku != NodeKind.ENTERPRISE) & (kv == NodeKind.ENTERPRISE)], u[(kv != NodeKind.ENTERPRISE) & (ku == NodeKind.ENTERPRISE)]])
    reach = np.bincount(outside, minlength=layout.n_nodes)[nodes]
    region = layout.region[nodes]
    chosen = []
    for r in np.unique(region):
        in_region = np.flatnonzero(region == r)
        if in_region.size <= per_region:
            chosen.append(nodes[in_region])
            continue
        # lexsort: last key first — activity, then reach, both descending, then node id
        order = np.lexsort((in_region, -reach[in_region], -activity[nodes[in_region]]))
        chosen.append(np.sort(nodes[in_region[order[:per_region]]]))
    return np.concatenate(chosen)


def node_radius(model: EcosystemModel, activity: np.ndarray) -> np.ndarray:
    """Marker radius of every node (pixels): its kind's base size, grown with √activity.

    ``base · (1 + SIZE_GROWTH · √(activity / busiest of the kind))``; governments keep their size.
    """
    kind = model.layout.kind
    radius = np.zeros(activity.size)
    for code, style in KIND_STYLES.items():
        mine = kind == code
        busiest = activity[mine].max() if mine.any() else 0
        share = np.sqrt(activity[mine] / busiest) if busiest > 0 and code != NodeKind.GOVERNMENT else 0.0
        radius[mine] = style.base_radius * (1.0 + SIZE_GROWTH * share)
    return radius


def visible_ties(model: EcosystemModel, drawn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Living ties whose both ends are drawn: arrays (u, v, kind, crosses regions)."""
    ties = model.network.ties
    alive = ties.alive
    is_drawn = np.zeros(model.layout.n_nodes, dtype=bool)
    is_drawn[drawn] = True
    u, v = ties.u[alive], ties.v[alive]
    keep = is_drawn[u] & is_drawn[v]
    return u[keep], v[keep], ties.kind[alive][keep], ties.cross[alive][keep]


# ------------------------------------------------------------------ the network


def _shape(shape: str, x: float, y: float, r: float) -> str:
    """SVG element (without closing) of a marker of radius ``r`` centred at (x, y)."""
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}"'
    if shape == "square":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}"'
    if shape == "diamond":
        points = [(x, y - r * 1.2), (x + r, y), (x, y + r * 1.2), (x - r, y)]
    elif shape == "triangle":
        points = [(x, y - r * 1.2), (x + r * 1.1, y + r * 0.8), (x - r * 1.1, y + r * 0.8)]
    elif shape == "star":
        angles = np.pi / 2 + np.arange(10) * np.pi / 5
        radii = np.where(np.arange(10) % 2 == 0, r, r * 0.45)
        points = list(zip(x + radii * np.cos(angles), y - radii * np.sin(angles), strict=True))
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return '<polygon points="' + " ".join(f"{a:.1f},{b:.1f}" for a, b in points) + '"'


def _marker_icon(style: KindStyle, x: float, y: float) -> str:
    return _shape(style.shape, x, y, 5.0) + f' fill="{style.colour}"/>'


def network_svg(model: EcosystemModel, positions: np.ndarray, *,
                max_enterprises_per_region: int = MAX_ENTERPRISES_PER_REGION) -> str:
    """The network of ``model`` as SVG, drawn on the fixed ``positions``.

    Every agent that is not an enterprise is drawn; enterprises up to
    ``max_enterprises_per_region`` per region (the most active, :func:`enterprises_to_draw`).
    Each node is an element with class ``node node-<kind>`` and a tooltip; ties are one path
    per tie kind (class ``tie tie-<kind>``); ties that cross regions run between the panels
    and the legend counts them.

    Parameters
    ----------
    model : the ecosystem model
    positions : node positions from :func:`ecosim.viz.layout.node_positions`
    max_enterprises_per_region : how many enterprises to draw per region at most
    """
    from ecosim.viz.events import node_name

    layout = model.layout
    regions = int(layout.region.max()) + 1
    boxes = panel_boxes(regions)
    x_min, x_max = -0.04, max(x + w for x, _, w, _ in boxes) + 0.04
    y_min, y_max = min(y for _, y, _, _ in boxes) - 0.04, 1.15
    scale = NETWORK_PANEL_PIXELS
    width = (x_max - x_min) * scale + LEGEND_WIDTH
    height = (y_max - y_min) * scale

    def px(x):
        return (np.asarray(x) - x_min) * scale

    def py(y):
        return (y_max - np.asarray(y)) * scale

    body = []
    for r, (x, y, w, h) in enumerate(boxes):
        body.append(f'<rect class="region" x="{px(x - 0.02):.1f}" y="{py(y + h + 0.02):.1f}" '
                    f'width="{(w + 0.04) * scale:.1f}" height="{(h + 0.04) * scale:.1f}" rx="6" '
                    f'fill="#f4f6fa" stroke="#c9d1e0"/>')
        body.append(svg.text(float(px(x)), float(py(y + h + 0.035)), f"Region {r + 1}", size=13, weight="bold",
                             colour="#4a5568", css_class="region-label"))

    activity = node_activity(model)
    enterprises = enterprises_to_draw(model, activity, max_enterprises_per_region)
    drawn = np.concatenate([np.flatnonzero(layout.kind != NodeKind.ENTERPRISE), enterprises])
    u, v, kind, cross = visible_ties(model, drawn)
    xy = np.column_stack([px(positions[:, 0]), py(positions[:, 1])])
    for code, style in TIE_STYLES.items():
        mask = kind == code
        if not mask.any():
            continue
        d = " ".join(f"M{a:.1f} {b:.1f}L{c:.1f} {e:.1f}" for a, b, c, e in
                     np.column_stack([xy[u[mask]], xy[v[mask]]]))
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        body.append(f'<path class="tie tie-{style.label.split()[0]}" data-count="{int(mask.sum())}" d="{d}" fill="none" '
                    f'stroke="{style.colour}" stroke-width="{style.width}" stroke-opacity="{style.opacity}"{dash}/>')

    radius = node_radius(model, activity)
    for code in (NodeKind.ENTERPRISE, NodeKind.INVESTOR, NodeKind.MANAGER, NodeKind.UNIVERSITY, NodeKind.GOVERNMENT):
        style = KIND_STYLES[code]
        nodes = drawn[layout.kind[drawn] == code]
        if nodes.size == 0:
            continue
        body.append(f'<g class="nodes nodes-{NODE_KINDS[code]}" fill="{style.colour}" stroke="white" stroke-width="0.6">')
        for node in nodes.tolist():
            r = radius[node]
            tip = f"{node_name(model, node)} · {activity[node]} technologies"
            body.append(_shape(style.shape, xy[node, 0], xy[node, 1], r)
                        + f' class="node node-{NODE_KINDS[code]}" data-node="{node}"><title>{escape(tip)}</title>'
                        + ("</circle>" if style.shape == "circle" else "</rect>" if style.shape == "square" else "</polygon>"))
        body.append("</g>")

    hidden = int(layout.counts[NodeKind.ENTERPRISE] - enterprises.size)
    lx, ly = width - LEGEND_WIDTH + 12, 24.0
    body.append(svg.text(lx, ly, "Agents", size=12, weight="bold"))
    for i, style in enumerate(KIND_STYLES.values()):
        y = ly + 18 + 16 * i
        body.append(_marker_icon(style, lx + 6, y))
        body.append(svg.text(lx + 18, y, style.label, size=11, baseline="middle"))
    ly += 18 + 16 * len(KIND_STYLES) + 12
    body.append(svg.text(lx, ly, "Ties", size=12, weight="bold"))
    for i, style in enumerate(TIE_STYLES.values()):
        y = ly + 18 + 16 * i
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        body.append(f'<line x1="{lx:.1f}" y1="{y:.1f}" x2="{lx + 14:.1f}" y2="{y:.1f}" stroke="{style.colour}" '
                    f'stroke-width="{max(style.width, 1.5)}"{dash}/>')
        body.append(svg.text(lx + 18, y, style.label, size=11, baseline="middle"))
    ly += 18 + 16 * len(TIE_STYLES) + 10
    notes = ["Size: technologies owned,", "adopted, brokered or backed,", "relative to the busiest", "of its kind.",
             f"{int(cross.sum())} drawn ties cross regions."]
    if hidden:
        notes += [f"{hidden:,} less active enterprises", "are not drawn."]
    for i, line in enumerate(notes):
        body.append(svg.text(lx, ly + 14 * i, line, size=10, colour="#444",
                             css_class="hidden-note" if "not drawn" in line or "less active" in line else None))
    title = f"The ecosystem's network at quarter {model.steps}"
    body.insert(0, svg.text(8, 16, title, size=13, weight="bold"))
    return svg.document(width, height, body, title=title, css_class="ecosim-network-svg")


# ------------------------------------------------------------------ charts


def gate_failures(steps: pd.DataFrame) -> dict[str, np.ndarray]:
    """Failures so far by cause, each an array over the four gates."""
    return {cause: np.array([steps[f"fail_{g}_{cause}"].sum() if len(steps) else 0 for g in GATES], dtype=float)
            for cause in CAUSES}


def waiting_at_gates(steps: pd.DataFrame) -> np.ndarray:
    """Technologies waiting at each gate after the last quarter (zeros before the first)."""
    return np.array([steps[f"at_{g}"].iloc[-1] if len(steps) else 0 for g in GATES], dtype=float)


def pipeline_svg(steps: pd.DataFrame) -> str:
    """Technologies waiting at each gate now (left) and failures so far by gate and cause (right).

    Failures at the late gates (G3 pilot, G4 market) are about a hundred times fewer than at
    G1 and G2, so the right side has two panels, each on its own scale, and every bar is labelled.

    Parameters
    ----------
    steps : the model's per-step table (``model.step_table()``); may be empty before the first step
    """
    width, height = 560.0, 300.0
    waiting = waiting_at_gates(steps)
    failures = gate_failures(steps)
    total_failed = sum(failures.values())
    quarter = int(steps["step"].iloc[-1]) if len(steps) else 0
    body = [svg.text(8, 16, f"The pipeline at quarter {quarter}", size=13, weight="bold")]
    left = svg.Axes(50, 54, 170, 190, (-0.5, 3.5), (0, max(1.12 * float(waiting.max()), 1.0)))
    body += left.frame(title="waiting at each gate now", y_label="technologies")
    body += svg.stacked_bars(left, 4, [("waiting", waiting, "#4c78a8")], "bar-waiting", label_totals=True)
    body += left.x_ticks(range(4), [GATE_LABELS[g].split()[0] for g in GATES])
    body.append(svg.text(410, 22, "failed so far, by cause", size=11, anchor="middle", weight="bold"))
    body.append(svg.text(410, 34, "(each pair of gates on its own scale)", size=9, anchor="middle", colour="#555"))
    for first, left_px in ((0, 285), (2, 435)):
        pair = slice(first, first + 2)
        axes = svg.Axes(left_px, 54, 100, 190, (-0.5, 1.5), (0, max(1.12 * float(total_failed[pair].max()), 1.0)))
        body += axes.frame(title=f"{GATES[first]}–{GATES[first + 1]}")
        body += svg.stacked_bars(axes, 2, [(c, failures[c][pair], CAUSE_COLOURS[c]) for c in CAUSES], "bar-failed",
                                 label_totals=True)
        body += axes.x_ticks(range(2), [GATES[first], GATES[first + 1]])
    body += svg.legend(285, 278, [(c, CAUSE_COLOURS[c]) for c in CAUSES], columns=3, column_width=70)
    body.append(svg.text(50, 278, "G1 concept · G2 validation", size=9, colour="#555"))
    body.append(svg.text(50, 290, "G3 pilot · G4 market", size=9, colour="#555"))
    return svg.document(width, height, body, title=f"The pipeline at quarter {quarter}", css_class="ecosim-pipeline-svg")


SERIES_PANELS: tuple[tuple[str, ...], ...] = (
    ("disclosures",),
    ("deals",),
    ("commercialisations",),
    ("welfare", "public_spending"),
)
"""The time-series panels, each the step-table columns drawn on one scale: deals (~25 a quarter)
and market entries (~2) would hug zero on the axis of disclosures (~380).

Labels, units and panel titles come from :mod:`ecosim.metric_catalogue` (:func:`series_label`,
:func:`series_panel_title`), so the page names a quantity as the report and the notebooks do."""

SERIES_COLOURS = {
    "disclosures": "#4c78a8",
    "deals": "#f58518",
    "commercialisations": "#54a24b",
    "welfare": "#54a24b",
    "public_spending": "#e45756",
}
"""The line colour of each series of :data:`SERIES_PANELS`."""


def series_label(column: str) -> str:
    """The catalogue's label of a step-table column; a column the catalogue lacks is an error
    (a chart must not invent a name for a quantity)."""
    if not metric_catalogue.known(column):
        raise KeyError(f"{column!r} is not in the metric catalogue (ecosim.metric_catalogue): declare it there")
    return metric_catalogue.entry(column).label


def series_panel_title(columns: Sequence[str]) -> str:
    """A panel's title: ``"label (unit per quarter)"`` for one series; the shared per-quarter unit
    for several (the legend names each line)."""
    for column in columns:
        series_label(column)
    entries = [metric_catalogue.entry(column) for column in columns]
    if len(entries) == 1:
        return entries[0].per_step_axis_label()
    units = {entry.per_step_unit() for entry in entries}
    if len(units) != 1:
        raise ValueError(f"series {list(columns)} have different units ({sorted(units)}): give each its own panel")
    return units.pop()


GHOST_STYLE = 'stroke-dasharray="4 3" opacity="0.45"'


def _series(steps: pd.DataFrame | None, column: str) -> tuple[np.ndarray, np.ndarray]:
    if steps is None or not len(steps) or column not in steps:
        return np.zeros(0), np.zeros(0)
    return steps["step"].to_numpy(dtype=float) / 4.0, steps[column].to_numpy(dtype=float)


def time_series_svg(steps: pd.DataFrame, ghost: pd.DataFrame | None = None,
                    marks: Sequence[tuple[int, str]] = ()) -> str:
    """Disclosures, deals, market entries (each on its own scale) and money per quarter, over the years.

    Parameters
    ----------
    steps : the model's per-step table (``model.step_table()``); may be empty before the first step
    ghost : the previous run's per-step table, drawn dashed and faint behind this run's lines
    marks : (step, text) of changes made while the model ran; each is a vertical line with a number
    """
    width, panel_height, gap = 560.0, 62.0, 30.0
    height = 46 + len(SERIES_PANELS) * (panel_height + gap) + 10
    years, _ = _series(steps, "step")
    ghost_years, _ = _series(ghost, "step")
    end = max([float(years.max()) if years.size else 0.0, float(ghost_years.max()) if ghost_years.size else 0.0, 1.0])
    x_range = (0.0, end)
    title = "Activity over time" + (" — dashed: the previous run" if ghost is not None and len(ghost) else "")
    body = [svg.text(8, 16, title, size=13, weight="bold")]
    ticks = svg.nice_ticks(*x_range, count=6)
    ticks = ticks[(ticks >= x_range[0]) & (ticks <= x_range[1])]
    for index, series in enumerate(SERIES_PANELS):
        top = 46 + index * (panel_height + gap)
        now = {column: _series(steps, column)[1] for column in series}
        before = {column: _series(ghost, column)[1] for column in series}
        peak = max([float(v.max()) for v in (*now.values(), *before.values()) if v.size] + [1.0])
        axes = svg.Axes(58, top, 480, panel_height, x_range, (0.0, peak))
        body += axes.frame(y_label="")
        body.append(svg.text(62, top - 6, series_panel_title(series), size=9, colour="#555", weight="bold",
                             css_class="series-title"))
        for column in series:
            label, colour = series_label(column), SERIES_COLOURS[column]
            money = metric_catalogue.entry(column).unit == metric_catalogue.MONEY
            if before[column].size:
                ghost_line = svg.polyline(axes, ghost_years, before[column], colour, "line-ghost", label, column)
                body.append(ghost_line.replace("/>", f" {GHOST_STYLE}/>"))
            body.append(svg.polyline(axes, years, now[column], colour, "line-money" if money else "line-count",
                                     label, column))
        for number, (step, text) in enumerate(marks, start=1):
            x = float(axes.x(step / 4.0))
            body.append(f'<line class="change-mark" data-step="{step}" x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" '
                        f'y2="{top + panel_height:.1f}" stroke="#7b3294" stroke-width="1.2" stroke-dasharray="2 2">'
                        f"<title>{escape(text)}</title></line>")
            body.append(svg.text(x + 2, top + 9, f"⚑{number}", size=9, colour="#7b3294"))
        body += axes.x_ticks(ticks, [svg.format_tick(t) for t in ticks])
        if len(series) > 1:
            body += svg.legend(150, top - 9, [(series_label(c), SERIES_COLOURS[c]) for c in series], columns=2,
                               column_width=200)
    body.append(svg.text(298, height - 4, "simulated years", size=9, anchor="middle", colour="#555"))
    return svg.document(width, height, body, title="Activity over time", css_class="ecosim-timeseries-svg")
