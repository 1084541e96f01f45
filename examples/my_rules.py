"""An example rules file: two rules of my own, registered under new names.

Use it without touching ecosim's code::

    ecosim run scenarios/tiny.yaml --rules examples/my_rules.py \\
        --set rules.adoption=fit_seekers --set rules.project_choice=ripe_first

or name it in a scenario file (``rules_file: ../examples/my_rules.py``, relative to the
scenario file) together with ``rules: {adoption: fit_seekers, project_choice: ripe_first}``.
Each rule is a copy of a built-in one with a line changed (docs/RULES.md walks through it).
"""

from __future__ import annotations

import numpy as np

from ecosim.rules import register
from ecosim.rules.adoption import AdoptionCandidates, value_hurdle
from ecosim.rules.project_choice import ProjectChoiceInputs


@register("adoption", "fit_seekers")
def fit_seekers(c: AdoptionCandidates) -> np.ndarray:
    """Like ``value_hurdle``, but an enterprise only cares about technologies that fit its need.

    Reads the appraised value, the enterprise's hurdle and the fit; returns a willingness in
    [0, 1] per (technology, enterprise) pair: the ``value_hurdle`` willingness, set to 0
    where the fit is below one half.
    """
    return np.where(c.fit >= 0.5, value_hurdle(c), 0.0)


@register("project_choice", "ripe_first")
def ripe_first(x: ProjectChoiceInputs) -> np.ndarray:
    """Take the most mature candidates first (highest TRL), ties broken by appraised value.

    Reads the candidates' TRL and appraised value; returns positions into the candidate
    arrays, best first, at most ``slots`` of them.
    """
    order = np.lexsort((-x.appraised_value, -x.trl.astype(float)))
    return order[: x.slots]
