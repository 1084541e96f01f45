"""Enterprise adoption: how willing a reachable enterprise is to take a technology.

Called once per quarter with every (technology, enterprise) pair that a gate attempt can
reach. Returns a willingness in [0, 1] per pair; matching is then
``M = 1 − exp(−λ Σ fit·A·willingness)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecosim.rules import register


@dataclass
class AdoptionCandidates:
    """(technology, enterprise) pairs, one entry per pair.

    Attributes
    ----------
    appraised_value : what the candidate adopter believes the technology is worth (its own appraisal), M¥
    trl : readiness of the technology
    fit : cosine of technology knowledge and enterprise need, manager-raised, in [0, 1]
    absorptive_capacity : the enterprise's A in [0, 1]
    hurdle_log : ln of the value the enterprise needs to bother, M¥
    size : the enterprise's size (mean 1)
    rng : the model's random generator (every rule's inputs carry it; it is left out only
        when a rule is called outside a model, e.g. in a test with hand-made inputs)
    """

    appraised_value: np.ndarray
    trl: np.ndarray
    fit: np.ndarray
    absorptive_capacity: np.ndarray
    hurdle_log: np.ndarray
    size: np.ndarray
    rng: np.random.Generator | None = None


def _logistic(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@register("adoption", "value_hurdle")
def value_hurdle(c: AdoptionCandidates) -> np.ndarray:
    """Willing when the appraised value clears the enterprise's profit hurdle (smoothly)."""
    return _logistic(2.0 * (np.log(c.appraised_value) - c.hurdle_log))


@register("adoption", "risk_averse")
def risk_averse(c: AdoptionCandidates) -> np.ndarray:
    """Like ``value_hurdle`` but early-stage technologies are discounted: willingness × ((TRL−2)/7)²."""
    maturity = np.clip((c.trl - 2.0) / 7.0, 0.0, 1.0) ** 2
    return value_hurdle(c) * maturity


@register("adoption", "big_firms_first")
def big_firms_first(c: AdoptionCandidates) -> np.ndarray:
    """Large enterprises lower their hurdle with size; small ones hardly adopt external technology."""
    return _logistic(2.0 * (np.log(c.appraised_value) - c.hurdle_log + np.log(c.size)))
