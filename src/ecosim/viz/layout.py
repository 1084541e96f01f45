"""Where each node is drawn: a fixed, seeded arrangement by region and agent kind.

The positions depend only on the world's size (regions and agents of each kind per region)
and a seed, never on the ties, so they are computed once, in a few milliseconds, and stay
put from step to step and across resets of the same world. (A spring layout would take
seconds for a thousand nodes, move every node on every reset and hide the triple helix.)

Each region is a unit square panel; regions sit side by side (in a grid when there are more
than three). Inside a panel the helix reads from top to bottom: the government, the
universities and institutes, the brokers (technology managers on the left, investors on the
right), and industry (enterprises) in the bottom band.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ecosim.network import NodeKind, NodeLayout, make_layout

KIND_ORDER = (NodeKind.GOVERNMENT, NodeKind.UNIVERSITY, NodeKind.ENTERPRISE, NodeKind.MANAGER, NodeKind.INVESTOR)
"""Kinds in node-numbering order (as in :func:`ecosim.network.make_layout`)."""

PANEL_GAP = 0.12
"""Space between region panels, in panel widths."""

# The band of a panel (x0, x1, y0, y1) in which each kind is spread out.
BANDS = {
    NodeKind.GOVERNMENT: (0.40, 0.60, 0.90, 0.96),
    NodeKind.UNIVERSITY: (0.06, 0.94, 0.70, 0.84),
    NodeKind.MANAGER: (0.06, 0.72, 0.46, 0.62),
    NodeKind.INVESTOR: (0.80, 0.94, 0.46, 0.62),
    NodeKind.ENTERPRISE: (0.04, 0.96, 0.04, 0.38),
}

JITTER = 0.3
"""Random offset of a node inside its grid cell, as a share of the cell size."""


def panel_origin(region: int, regions: int) -> tuple[float, float]:
    """Lower-left corner of a region's unit panel: one row up to three regions, else a grid."""
    columns = regions if regions <= 3 else math.ceil(math.sqrt(regions))
    row, column = divmod(region, columns)
    return column * (1.0 + PANEL_GAP), -row * (1.0 + PANEL_GAP)


def spread_in_band(count: int, band: tuple[float, float, float, float], rng: np.random.Generator) -> np.ndarray:
    """``count`` points on a grid filling ``band``, each jittered inside its cell; shape (count, 2).

    The grid has about as many columns per unit width as rows per unit height, so points are
    evenly spaced whatever the band's shape.
    """
    if count == 0:
        return np.zeros((0, 2))
    x0, x1, y0, y1 = band
    width, height = x1 - x0, y1 - y0
    columns = max(1, min(count, math.ceil(math.sqrt(count * width / height))))
    rows = math.ceil(count / columns)
    index = np.arange(count)
    row, column = np.divmod(index, columns)
    cell_w, cell_h = width / columns, height / rows
    x = x0 + (column + 0.5) * cell_w
    y = y1 - (row + 0.5) * cell_h
    if count > 1:
        x = x + rng.uniform(-JITTER, JITTER, count) * cell_w
        y = y + rng.uniform(-JITTER, JITTER, count) * (cell_h if rows > 1 else 0.25 * height)
    return np.column_stack([x, y])


@lru_cache(maxsize=16)
def _cached_positions(regions: int, per_region: tuple[int, ...], seed: int) -> np.ndarray:
    layout = make_layout(regions, dict(zip(KIND_ORDER, per_region, strict=True)))
    rng = np.random.default_rng(seed)
    positions = np.zeros((layout.n_nodes, 2))
    for kind in KIND_ORDER:
        nodes = layout.nodes(kind)
        count = per_region[KIND_ORDER.index(kind)]
        for region in range(regions):
            in_region = nodes[region * count:(region + 1) * count]
            ox, oy = panel_origin(region, regions)
            points = spread_in_band(in_region.size, BANDS[kind], rng)
            positions[in_region] = points + (ox, oy)
    positions.setflags(write=False)  # shared by every caller through the cache
    return positions


def node_positions(layout: NodeLayout, seed: int = 0) -> np.ndarray:
    """Drawing positions of every node, shape (n_nodes, 2), indexed by node id.

    A pure function of the world's size and ``seed`` (cached): the same world always gets
    the same picture, and the positions never move while the model runs.

    Parameters
    ----------
    layout : the model's node numbering (``model.layout``)
    seed : seed of the small jitter that keeps nodes off a rigid grid

    Examples
    --------
    >>> from ecosim.network import make_layout
    >>> layout = make_layout(2, {0: 1, 1: 3, 2: 10, 3: 2, 4: 1})
    >>> node_positions(layout).shape
    (34, 2)
    """
    regions = int(layout.region.max()) + 1 if layout.n_nodes else 0
    per_region = tuple(layout.counts[kind] // max(regions, 1) for kind in KIND_ORDER)
    return _cached_positions(regions, per_region, int(seed))


def panel_boxes(regions: int) -> list[tuple[float, float, float, float]]:
    """The (x, y, width, height) rectangle of each region's panel."""
    return [(*panel_origin(r, regions), 1.0, 1.0) for r in range(regions)]
