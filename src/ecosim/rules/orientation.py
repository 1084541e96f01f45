"""Orientation update: how a university's research groups move between publishing and products.

A rule is called once per university per quarter with an :class:`OrientationInputs` and
returns the groups' new orientations ``a ∈ [0, 1]`` (0 = publish, the "bookshelf"; 1 =
products with enterprises, the "goods shelf").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecosim.rules import register


@dataclass
class OrientationInputs:
    """What a university's groups see when they reconsider their orientation.

    Attributes
    ----------
    orientation : current orientations of the groups, shape (groups,)
    publication_payoff : evaluation payoff per unit of publishing effort (the publication weight)
    transfer_payoff : payoff per unit of product effort (transfer weight, deals and the
        inventors' share of licensing income the university has seen, smoothed)
    peer_mean : mean orientation of all groups in the region
    learning_rate : η, how fast groups follow payoffs
    peer_weight : weight of peers in the update
    rng : the model's random generator (for stochastic rules)
    """

    orientation: np.ndarray
    publication_payoff: float
    transfer_payoff: float
    peer_mean: float
    learning_rate: float
    peer_weight: float
    rng: np.random.Generator


@register("orientation", "payoff_imitation")
def payoff_imitation(x: OrientationInputs) -> np.ndarray:
    """Move toward the payoff-weighted target share of product effort, and toward peers.

    The target is ``transfer / (transfer + publication)`` payoff: groups put effort where
    their evaluations reward it. Peers pull each group toward the regional mean.
    """
    total = x.publication_payoff + x.transfer_payoff
    target = x.transfer_payoff / total if total > 0 else x.orientation
    a = x.orientation
    a = a + x.learning_rate * ((1 - x.peer_weight) * (target - a) + x.peer_weight * (x.peer_mean - a))
    return np.clip(a, 0.0, 1.0)


@register("orientation", "fixed")
def fixed(x: OrientationInputs) -> np.ndarray:
    """Groups never change orientation (a world without incentive effects)."""
    return x.orientation.copy()


@register("orientation", "myopic_best_response")
def myopic_best_response(x: OrientationInputs) -> np.ndarray:
    """Each quarter a few groups jump fully to whichever shelf pays more now.

    A share ``learning_rate`` of groups reconsiders; they choose a = 1 if transfer pays more
    than publishing, else a = 0. Produces polarised departments.
    """
    a = x.orientation.copy()
    reconsider = x.rng.random(a.size) < x.learning_rate
    a[reconsider] = 1.0 if x.transfer_payoff > x.publication_payoff else 0.0
    return a
