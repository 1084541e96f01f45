"""``ecosim bench``: how fast the model runs, how it scales, and a yardstick to compare machines.

Each world size runs in a fresh subprocess so that its peak memory is its own. The yardstick
is a trivial Mesa model with the same number of agents doing a one-line step through
``shuffle_do``, timed in the same process as the comparison, so the figures can be compared
across machines: ``ratio = ecosim µs per agent-step / yardstick µs per agent-step``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import mesa

from ecosim.scenario import Scenario, apply_overrides, load_scenario


def scaled_scenario(base: Scenario, factor: int) -> Scenario:
    """The baseline world with every population (and the budget) multiplied by ``factor``.

    Network measures are taken every 20 quarters in worlds of 10× and more, as a user of such a
    world would set them (betweenness is the costliest measure).
    """
    w, pol = base.world, base.policy
    overrides = {
        "world.universities_per_region": w.universities_per_region * factor,
        "world.institutes_per_region": w.institutes_per_region * factor,
        "world.enterprises_per_region": w.enterprises_per_region * factor,
        "policy.managers.managers_per_region": pol.managers.managers_per_region * factor,
        "policy.finance.investors_per_region": pol.finance.investors_per_region * factor,
        "budget.per_quarter": base.budget.per_quarter * factor,
    }
    if factor >= 10:
        overrides["outputs.network_measures_every_quarters"] = 20
    return apply_overrides(base, overrides)


def measure_world(scenario_path: str | None, factor: int, seed: int = 1) -> dict[str, float]:
    """Build and run one world; wall times, agents, ties and peak memory of this process."""
    from ecosim.model import EcosystemModel

    base = load_scenario(scenario_path) if scenario_path else Scenario()
    scenario = scaled_scenario(base, factor)
    start = time.perf_counter()
    model = EcosystemModel(scenario, seed=seed)
    built = time.perf_counter()
    for _ in range(scenario.steps):
        model.step()
    done = time.perf_counter()
    agents = scenario.n_agents
    run = done - built
    return {
        "factor": factor,
        "agents": agents,
        "ties_end": len(model.network.ties),
        "technologies": model.pipeline.table.n,
        "steps": scenario.steps,
        "build_s": built - start,
        "run_s": run,
        "total_s": done - start,
        "us_per_agent_step": 1e6 * run / (agents * scenario.steps),
        "us_per_agent_and_tie_step": 1e6 * run / ((agents + len(model.network.ties)) * scenario.steps),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


class _YardstickAgent(mesa.Agent):
    def step(self) -> None:
        self.counter += 1


class YardstickModel(mesa.Model):
    """A trivial Mesa model: ``n`` agents, each adding one to a counter per step."""

    def __init__(self, n: int, seed: int = 1):
        super().__init__(rng=seed)
        for agent in _YardstickAgent.create_agents(self, n):
            agent.counter = 0

    def step(self) -> None:
        self.agents.shuffle_do("step")


def yardstick(n_agents: int, steps: int) -> float:
    """µs per agent-step of the trivial Mesa model."""
    model = YardstickModel(n_agents)
    start = time.perf_counter()
    for _ in range(steps):
        model.step()
    return 1e6 * (time.perf_counter() - start) / (n_agents * steps)


def run_bench(scenario_path: str | None = None, factors: tuple[int, ...] = (1, 10, 100), echo=print) -> list[dict]:
    """Measure each world size in its own subprocess, with the yardstick beside it."""
    rows = []
    for factor in factors:
        command = [sys.executable, "-m", "ecosim.bench", str(factor)] + ([scenario_path] if scenario_path else [])
        out = subprocess.run(command, check=True, capture_output=True, text=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["yardstick_us_per_agent_step"] = yardstick(row["agents"], min(row["steps"], 20))
        row["ratio_to_yardstick"] = row["us_per_agent_step"] / row["yardstick_us_per_agent_step"]
        rows.append(row)
        echo(
            f"{factor:>4}x  agents {row['agents']:>8,}  ties(end) {row['ties_end']:>8,}  "
            f"technologies {row['technologies']:>8,}  build {row['build_s']:6.2f} s  run {row['run_s']:7.2f} s  "
            f"{row['us_per_agent_step']:6.2f} µs/agent-step  ({row['us_per_agent_and_tie_step']:5.2f} µs per agent+tie)  "
            f"peak {row['peak_rss_mb']:7.0f} MB  yardstick {row['yardstick_us_per_agent_step']:.2f} µs  "
            f"ratio {row['ratio_to_yardstick']:.0f}x"
        )
    return rows


if __name__ == "__main__":
    factor = int(sys.argv[1])
    path = sys.argv[2] if len(sys.argv) > 2 else None
    print(json.dumps(measure_world(path, factor)))
