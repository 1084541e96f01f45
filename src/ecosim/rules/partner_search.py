"""Partner search: which enterprises a technology can reach at a gate attempt.

Called once per quarter for all technologies attempting a gate. Returns pairs
``(position, enterprise)``: ``position`` indexes the attempting technologies, ``enterprise``
is an enterprise index (0 … n_enterprises−1). Duplicates are allowed and counted once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ecosim.rules import register


@dataclass
class SearchInputs:
    """What a search rule can use.

    Attributes
    ----------
    network_reach : function returning the pairs reachable through ties: the holder's
        enterprise neighbours, its manager's contacts and contacts made at fairs
    tech_region : region of each attempting technology's holder
    enterprise_region : region of every enterprise
    cross_region_probability : openness: chance a searched contact is in another region
    extra_contacts : contacts a wider search adds per technology
    rng : the model's random generator
    """

    network_reach: Callable[[], tuple[np.ndarray, np.ndarray]]
    tech_region: np.ndarray
    enterprise_region: np.ndarray
    cross_region_probability: float
    extra_contacts: int
    rng: np.random.Generator


@register("partner_search", "network")
def network(x: SearchInputs) -> tuple[np.ndarray, np.ndarray]:
    """Reach only enterprises tied to the holder, its manager or met at a fair."""
    return x.network_reach()


@register("partner_search", "regional_only")
def regional_only(x: SearchInputs) -> tuple[np.ndarray, np.ndarray]:
    """Network reach, but contacts in other regions are ignored (a closed economy)."""
    pos, ent = x.network_reach()
    keep = x.enterprise_region[ent] == x.tech_region[pos]
    return pos[keep], ent[keep]


@register("partner_search", "wide_search")
def wide_search(x: SearchInputs) -> tuple[np.ndarray, np.ndarray]:
    """Network reach plus ``extra_contacts`` random enterprises per technology (a public listing).

    Each extra contact is in another region with the openness probability.
    """
    pos, ent = x.network_reach()
    n_tech, k = x.tech_region.size, x.extra_contacts
    if n_tech == 0 or k == 0:
        return pos, ent
    regions = np.unique(x.enterprise_region)
    extra_pos = np.repeat(np.arange(n_tech), k)
    home = x.tech_region[extra_pos]
    cross = x.rng.random(extra_pos.size) < x.cross_region_probability
    target = home.copy()
    if regions.size > 1:
        shift = x.rng.integers(1, regions.size, size=extra_pos.size)
        target[cross] = (home[cross] + shift[cross]) % regions.size
    order = np.argsort(x.enterprise_region, kind="stable")
    starts = np.searchsorted(x.enterprise_region[order], target, side="left")
    ends = np.searchsorted(x.enterprise_region[order], target, side="right")
    sizes = ends - starts
    has = sizes > 0
    pick = starts[has] + (x.rng.random(has.sum()) * sizes[has]).astype(np.int64)
    return np.concatenate([pos, extra_pos[has]]), np.concatenate([ent, order[pick]])
