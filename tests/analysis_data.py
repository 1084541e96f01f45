"""A small real sweep for the analysis, plot and report tests, built with the model itself.

Two scenarios of the tiny world (the lead's tiny overrides, 8 quarters): ``baseline`` and
``more_managers`` (four times the technology managers), 4 replications each with common random
numbers (replication i has the same seed in both), in the layout of ``ecosim.store``'s tables.
"""

from __future__ import annotations

import functools

import pandas as pd

TINY = {
    "world.enterprises_per_region": 60,
    "world.universities_per_region": 2,
    "world.institutes_per_region": 0,
    "policy.managers.managers_per_region": 5,
    "steps": 8,
}
SCENARIOS = {"baseline": {}, "more_managers": {"policy.managers.managers_per_region": 20}}
SEEDS = (1001, 1002, 1003, 1004)


@functools.cache
def small_sweep() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, steps) tables of the small sweep; computed once per test session."""
    from ecosim.model import simulate
    from ecosim.scenario import load_scenario

    runs, steps = [], []
    for name, overrides in SCENARIOS.items():
        scenario = load_scenario("scenarios/baseline.yaml", {**TINY, **overrides})
        for replication, seed in enumerate(SEEDS):
            result = simulate(scenario, seed=seed)
            ids = {"run_id": f"{name}-{replication}", "scenario": name, "point": 0, "replication": replication,
                   "seed": seed}
            runs.append({**ids, "status": "ok", **result.summary})
            steps.append(result.steps.assign(**ids))
    return pd.DataFrame(runs), pd.concat(steps, ignore_index=True)
