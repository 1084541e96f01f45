"""Shared fixtures for the model and command-line tests.

The worlds here are tiny (two regions, a handful of universities, 60 enterprises per region)
so that a run of 8–16 quarters takes a fraction of a second.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ecosim.scenario import Scenario, apply_overrides, load_scenario

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
TINY = SCENARIOS / "tiny.yaml"
# The console script of the Python running the tests (its venv's, wherever that venv lives).
ECOSIM = Path(sys.executable).with_name("ecosim")

SMALL_WORLD = {
    "world.enterprises_per_region": 60,
    "world.universities_per_region": 2,
    "world.institutes_per_region": 0,
    "policy.managers.managers_per_region": 5,
    "steps": 8,
}
"""The contract's tiny world: overrides that make any scenario fast."""


def small_scenario(**overrides) -> Scenario:
    """The tiny scenario with ``steps=12`` and dotted-key overrides passed as ``a__b=value``."""
    dotted = {"steps": 12}
    dotted.update({key.replace("__", "."): value for key, value in overrides.items()})
    return load_scenario(TINY, dotted)


def listing(path: Path) -> set[str]:
    """Every entry below ``path`` (relative names), to check that nothing new appeared."""
    return {str(p.relative_to(path)) for p in path.rglob("*")} if path.exists() else set()


@pytest.fixture
def tiny() -> Scenario:
    """The shipped tiny scenario, 12 quarters."""
    return small_scenario()


@pytest.fixture
def default_small() -> Scenario:
    """The built-in defaults shrunk to the contract's small world (8 quarters)."""
    return apply_overrides(Scenario(), SMALL_WORLD)


@pytest.fixture(scope="session")
def tiny_model():
    """A tiny model run for 12 quarters with seed 3 (shared; do not mutate)."""
    from ecosim.model import EcosystemModel

    model = EcosystemModel(small_scenario(), seed=3)
    for _ in range(12):
        model.step()
    return model


class PaidAttempts:
    """Every gate attempt the payers paid for in a model's run, with its hidden technical outcome.

    Use as a context manager around building and stepping a model: it wraps
    ``ecosim.model.attempt_gates`` and ``ecosim.transfer.gate_outcomes`` to record, for each
    attempt that was funded, the technology's row, field, gate and whether it was viable.
    """

    def __init__(self):
        self.rows: list[np.ndarray] = []
        self.field: list[np.ndarray] = []
        self.gate: list[np.ndarray] = []
        self.viable: list[np.ndarray] = []
        self._due = None

    def __enter__(self):
        import ecosim.model
        from ecosim import transfer

        self._patch = pytest.MonkeyPatch()
        real_attempt, real_outcomes = ecosim.model.attempt_gates, transfer.gate_outcomes

        def attempt(model):
            t = model.pipeline.table
            rows = model.pipeline.due()
            self._due = (rows, t.col("field")[rows].astype(int), t.col("gate")[rows].astype(int))
            real_attempt(model)

        def outcomes(funded, viable, matched):
            rows, field, gate = self._due
            self.rows.append(rows[funded])
            self.field.append(field[funded])
            self.gate.append(gate[funded])
            self.viable.append(viable[funded])
            return real_outcomes(funded, viable, matched)

        self._patch.setattr(ecosim.model, "attempt_gates", attempt)
        self._patch.setattr(transfer, "gate_outcomes", outcomes)
        return self

    def __exit__(self, *exc):
        self._patch.undo()

    def technical_failures(self, model, gate: int) -> tuple[int, float, float]:
        """At ``gate``, over the distinct technologies whose attempt there was paid for (the first
        paid attempt; a PoC-tested technology is left out at G2, where its test already told):
        the technical failures seen, the number expected from the fields' ``1 − T``, and the
        binomial standard deviation of that number."""
        rows, field, g, viable = (np.concatenate(x) if x else np.zeros(0, int)
                                  for x in (self.rows, self.field, self.gate, self.viable))
        at = g == gate
        rows, field, viable = rows[at], field[at], viable[at].astype(bool)
        _, first = np.unique(rows, return_index=True)
        rows, field, viable = rows[first], field[first], viable[first]
        if gate == 1:
            t = model.pipeline.table
            untested = ~(t.col("revealed_g2")[rows] | t.col("stopped_by_poc")[rows])
            field, viable = field[untested], viable[untested]
        success = model.pipeline.technical_success[field, gate]
        return int((~viable).sum()), float((1 - success).sum()), float(np.sqrt((success * (1 - success)).sum()))
