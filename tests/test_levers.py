"""Every policy lever moves its target outcome the way its mechanism says (reduced lever table).

The full lever table (docs/VALIDATION.md §5, ``experiments/lever_doses.yaml``: three doses, 30
paired replications, 60 quarters) has 1,050 runs; this slow test runs each lever's highest dose
against the baseline on the experiment's own 30 common-random-number replications (the same
root seed, so the same seeds as the table) and checks the sign of the paired effect on the
lever's target outcome with a 95% interval. The PoC fund's effect (+13 of 270 G2 passes at the
top dose) needs the 30: at 16 replications its interval reached below zero. The levers, doses
and targets are the ones of ``experiments/lever_table.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = ROOT / "experiments" / "lever_doses.yaml"
REPLICATIONS = 30
STEPS = 60
ROOT_SEED = yaml.safe_load(EXPERIMENT.read_text())["seed"]  # the table's seeds


def _lever_module():
    spec = importlib.util.spec_from_file_location("lever_table", ROOT / "experiments" / "lever_table.py")
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their class's module up in sys.modules while the module executes
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def _variants() -> dict[str, dict]:
    entries = yaml.safe_load(EXPERIMENT.read_text())["scenarios"]
    return {e["name"]: e.get("overrides", {}) for e in entries}


def _runs(overrides: dict) -> np.ndarray:
    from ecosim.scenario import apply_overrides, load_scenario
    from ecosim.validation import run_replications

    scenario = apply_overrides(load_scenario(ROOT / "scenarios" / "baseline.yaml"), {**overrides, "steps": STEPS})
    return run_replications(scenario, replications=REPLICATIONS, root_seed=ROOT_SEED, workers=2)


@pytest.fixture(scope="module")
def baseline_runs():
    return _runs({})


LEVERS = [pytest.param(lever, id=lever.name) for lever in _lever_module().LEVERS if lever.direction != 0]


@pytest.mark.slow
@pytest.mark.parametrize("lever", LEVERS)
def test_lever_moves_its_target_in_the_predicted_direction(lever, baseline_runs):
    top = _runs(_variants()[f"{lever.name}_{len(lever.doses)}"])
    assert list(top["seed"]) == list(baseline_runs["seed"])  # common random numbers: paired by seed
    difference = (top[lever.target] - baseline_runs[lever.target]).to_numpy(float)
    mean = difference.mean()
    half = stats.t.ppf(0.975, difference.size - 1) * difference.std(ddof=1) / np.sqrt(difference.size)
    low, high = (mean - half, mean + half)
    assert (low > 0) if lever.direction > 0 else (high < 0), (
        f"{lever.name}: {lever.target} moved {mean:+.4g} [{low:+.4g}, {high:+.4g}] at dose {lever.doses[-1]}; "
        f"expected {'up' if lever.direction > 0 else 'down'}"
    )
