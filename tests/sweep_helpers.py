"""Small real experiments for the sweep tests: the tiny world, a few quarters, a few runs."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "scenarios" / "tiny.yaml")

EXPLODING_RULES = '''
from ecosim.rules import register


@register("budget_allocation", "exploding")
def exploding(*args, **kwargs):
    """A budget rule that always raises (to test failed runs)."""
    raise RuntimeError("the budget office exploded")
'''


def write_experiment(directory: Path, name: str = "tiny_sweep", **changes) -> Path:
    """Write a tiny experiment (2 scenarios × 2 design points × 3 replications, 4 quarters)."""
    data = {
        "name": name,
        "description": "tiny sweep for tests",
        "scenarios": [
            TINY,
            {"file": TINY, "name": "tiny_poc", "overrides": {"budget.research_grants": 0.7,
                                                             "budget.proof_of_concept": 0.15}},
        ],
        "design": {"kind": "list", "points": [{"policy.managers.managers_per_region": 2},
                                              {"policy.managers.managers_per_region": 8}]},
        "replications": 3,
        "seed": 11,
        "steps": 4,
        "keep": "steps",
    }
    data.update(changes)
    path = Path(directory) / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_exploding_experiment(directory: Path) -> Path:
    """A tiny experiment whose second design point runs a rule that raises."""
    rules = Path(directory) / "exploding_rules.py"
    rules.write_text(EXPLODING_RULES, encoding="utf-8")
    return write_experiment(
        directory, name="exploding",
        scenarios=[{"file": TINY, "name": "tiny", "overrides": {"rules_file": str(rules)}}],
        design={"kind": "list", "points": [{"rules.budget_allocation": "fixed_shares"},
                                           {"rules.budget_allocation": "exploding"}]},
    )


def simulate_dying_once(scenario, seed=None, **kwargs):
    """``ecosim.model.simulate``, except that the first run kills its own worker process.

    The scenario's description names a directory; a marker file there records the death, so
    the retried run (in a fresh worker) simulates normally.
    """
    import os
    import signal

    from ecosim.model import simulate

    marker = Path(scenario.description) / "a-worker-died"
    if Path(scenario.description).is_dir() and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return simulate(scenario, seed=seed, **kwargs)


def worker_state() -> tuple[str | None, bool, int]:
    """What a worker process sees: its BLAS thread setting, whether the model came preloaded
    from the fork server (imported before this module was), and its process id."""
    import os
    import sys

    return os.environ.get("OMP_NUM_THREADS"), "ecosim.model" in sys.modules, os.getpid()


def simulate_known_noise(scenario, seed=None, **kwargs):
    """A stand-in model with a known answer, for the adaptive-replication tests: ``deals`` is
    100 plus a shared world term (the same for every scenario at one seed, as common random
    numbers give) plus noise of sd 10 — so its mean's 95% interval shrinks as 20/√n."""
    import types

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    world = rng.normal(0, 10)
    own = np.random.default_rng([seed, int(scenario.policy.managers.managers_per_region)]).normal(0, 10)
    return types.SimpleNamespace(summary={"deals": 100.0 + world + own}, steps=pd.DataFrame({"step": [1]}))


def simulate_with_facts_dying_once(scenario, seed=None, **kwargs):
    """``ecosim.validation.simulate_with_facts``, except that the first call kills its own worker
    process (for the calibration's retry test; the marker directory is the scenario's description)."""
    import os
    import signal

    from ecosim.validation import simulate_with_facts

    marker = Path(scenario.description) / "a-worker-died"
    if Path(scenario.description).is_dir() and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return simulate_with_facts(scenario, seed=seed, **kwargs)


def simulate_killing_its_worker(scenario, seed=None, **kwargs):
    """A model that kills its own worker process every time (a run that never survives)."""
    import os
    import signal

    os.kill(os.getpid(), signal.SIGKILL)
