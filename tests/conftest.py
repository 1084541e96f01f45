"""Shared fixtures for the model and command-line tests.

The worlds here are tiny (two regions, a handful of universities, 60 enterprises per region)
so that a run of 8–16 quarters takes a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ecosim.scenario import Scenario, apply_overrides, load_scenario

REPO = Path(__file__).resolve().parent.parent
SCENARIOS = REPO / "scenarios"
TINY = SCENARIOS / "tiny.yaml"
ECOSIM = REPO / ".venv" / "bin" / "ecosim"

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
