"""Write the PROVISIONAL posterior ``experiments/posterior/default.parquet`` (issue 13).

This is not a calibration. It draws 200 particles uniformly within ±10% of the default
scenario's values of the nine free parameters that ``ecosim calibrate`` estimates, with
uneven weights (a Dirichlet draw), so that experiments over posterior draws can be built,
checked and tested before the real posterior exists. The lead replaces the file with the
``posterior.parquet`` that ``ecosim calibrate experiments/calibration.yaml`` writes.

Run from the repository root::

    python experiments/posterior/make_provisional.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ecosim.experiment import dotted_value
from ecosim.scenario import Scenario

FREE_PARAMETERS = (
    "universities.transfer_budget_per_quarter",
    "universities.metric_disclosure_value_penalty",
    "technology.matching_lambda",
    "technology.funding_slope",
    "technology.log_value_sigma",
    "enterprises.development_budget_share",
    "enterprises.joint_proposal_rate",
    "policy.finance.value_hurdle",
    "policy.managers.learning_rate",
)
PARTICLES = 200
SEED = 20261213
OUT = Path(__file__).with_name("default.parquet")


def provisional_posterior(particles: int = PARTICLES, seed: int = SEED) -> pd.DataFrame:
    """``particles`` rows: each free parameter uniform on its default ±10%, and uneven weights summing to 1."""
    rng = np.random.default_rng(seed)
    defaults = Scenario().model_dump(mode="json")
    columns = {}
    for key in FREE_PARAMETERS:
        centre = float(dotted_value(defaults, key))
        columns[key] = rng.uniform(0.9 * centre, 1.1 * centre, particles)
    weights = rng.dirichlet(np.full(particles, 2.0))  # uneven: ESS about two thirds of the particles
    columns["weight"] = weights / weights.sum()
    return pd.DataFrame(columns)


if __name__ == "__main__":
    frame = provisional_posterior()
    frame.to_parquet(OUT, index=False)
    ess = 1.0 / float((frame["weight"] ** 2).sum())
    print(f"wrote {OUT}: {len(frame)} particles, effective sample size {ess:.0f}")
