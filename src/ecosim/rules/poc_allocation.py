"""Proof-of-concept allocation: which eligible technologies get a PoC grant this quarter.

Called per region with the eligible candidates and the fund's money. Returns positions into
the candidate arrays in the order they are funded; the model pays grants in that order while
money lasts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecosim.rules import register


@dataclass
class PocInputs:
    """Candidates for a PoC grant.

    Attributes
    ----------
    appraised_value : V̂, M¥ (the manager's appraisal if one is attached, else the owner's)
    trl : readiness
    age_quarters : quarters since disclosure
    managed : whether a technology manager is attached
    budget : money in the fund, M¥
    grant_size : grant per technology, M¥
    threshold_log : minimum ln V̂ the fund considers
    rng : the model's random generator
    """

    appraised_value: np.ndarray
    trl: np.ndarray
    age_quarters: np.ndarray
    managed: np.ndarray
    budget: float
    grant_size: float
    threshold_log: float
    rng: np.random.Generator


@register("poc_allocation", "by_appraised_value")
def by_appraised_value(x: PocInputs) -> np.ndarray:
    """Fund the highest appraised values above the threshold first (selection by merit)."""
    ok = np.flatnonzero(np.log(x.appraised_value) >= x.threshold_log)
    return ok[np.argsort(-x.appraised_value[ok], kind="stable")]


@register("poc_allocation", "lottery")
def lottery(x: PocInputs) -> np.ndarray:
    """Fund eligible technologies above the threshold in random order (no selection effect)."""
    ok = np.flatnonzero(np.log(x.appraised_value) >= x.threshold_log)
    return x.rng.permutation(ok)


@register("poc_allocation", "first_come")
def first_come(x: PocInputs) -> np.ndarray:
    """Fund the oldest eligible disclosures first, whatever their value."""
    return np.argsort(-x.age_quarters, kind="stable")
