"""Project choice: which disclosures a technology manager takes on when a slot is free.

Called per manager with free capacity. Returns positions into the candidate arrays, best
first; the manager takes up to ``slots`` of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecosim.rules import register


@dataclass
class ProjectChoiceInputs:
    """Disclosures a manager can take on.

    Attributes
    ----------
    appraised_value : the owner's appraisal V̂ of each candidate, M¥
    same_field : whether the candidate is in the manager's field
    trl : readiness of each candidate
    age_quarters : quarters since disclosure
    skill : the manager's skill s
    slots : free capacity
    rng : the model's random generator
    """

    appraised_value: np.ndarray
    same_field: np.ndarray
    trl: np.ndarray
    age_quarters: np.ndarray
    skill: float
    slots: int
    rng: np.random.Generator


@register("project_choice", "highest_value")
def highest_value(x: ProjectChoiceInputs) -> np.ndarray:
    """Take the candidates with the highest appraised value, own field counted double."""
    score = x.appraised_value * np.where(x.same_field, 2.0, 1.0)
    return np.argsort(-score, kind="stable")[: x.slots]


@register("project_choice", "field_first")
def field_first(x: ProjectChoiceInputs) -> np.ndarray:
    """Only own-field candidates, newest first (a specialist who knows their niche)."""
    own = np.flatnonzero(x.same_field)
    order = own[np.argsort(x.age_quarters[own], kind="stable")]
    return order[: x.slots]


@register("project_choice", "random")
def random_choice(x: ProjectChoiceInputs) -> np.ndarray:
    """Take candidates at random (no scouting judgement)."""
    n = x.appraised_value.size
    return x.rng.permutation(n)[: x.slots]
