"""Where does the default world settle? The founding values that start a run at rest.

A run starts from a founding world. State that only settles over a long run — the research
groups' orientation, the universities' beliefs about what a disclosure brings, the enterprise
ties their past deals left, enterprises' absorptive capacity — would make the measured window
ride a slow drift (docs/VALIDATION.md §4). The scenario's founding values are set where a long
run of the default world settles; this script measures that, so the founding values can be
checked and re-measured after a model change:

- ``universities.orientation_mean``: the groups' mean orientation;
- ``university.SETTLED_DEALS_PER_DISCLOSURE`` and ``SETTLED_INCOME_PER_DISCLOSURE``: the
  universities' smoothed beliefs;
- ``enterprises.founding_deal_ties_per_university``: a university's living ties to enterprises
  beyond ``university_ties_per_university``;
- the gain of absorptive capacity over its founding value (it should settle within the burn-in).

Each is averaged over quarters 101–200 (every 10th quarter) of 200-quarter runs, and printed
beside the founding value, with the value at quarters 21–60 (the measured window) to show
whether it moves.

    python experiments/settled_state.py --seeds 4 [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import yaml
from scipy import stats

QUARTERS = 200
SETTLED_FROM = 101
WINDOW = (21, 60)
MEASURES = ("orientation", "deals_per_disclosure", "income_per_disclosure", "extra_university_ties",
            "absorptive_gain")


def one(args: tuple[int, dict[str, object]]) -> dict[str, dict[str, float]]:
    """Per measure: its mean in the window and over the settled quarters of one run."""
    from ecosim.experiment import replication_seeds
    from ecosim.model import EcosystemModel
    from ecosim.network import NodeKind
    from ecosim.scenario import Scenario, apply_overrides

    index, overrides = args
    scenario = apply_overrides(Scenario(), {**overrides, "steps": QUARTERS})
    model = EcosystemModel(scenario, seed=replication_seeds(20261204, index + 1)[index])
    kind = model.layout.kind
    universities = len(model.university_agents)
    samples: dict[str, list[tuple[int, float]]] = {m: [] for m in MEASURES}
    for quarter in range(1, QUARTERS + 1):
        model.step()
        if quarter % 10 and quarter not in WINDOW:
            continue
        ties = model.network.ties
        u, v = ties.u[ties.alive], ties.v[ties.alive]
        to_enterprise = ((kind[u] == NodeKind.UNIVERSITY) & (kind[v] == NodeKind.ENTERPRISE)) | (
            (kind[v] == NodeKind.UNIVERSITY) & (kind[u] == NodeKind.ENTERPRISE))
        pop = model.enterprises
        values = {
            "orientation": model.groups.orientation.mean(),
            "deals_per_disclosure": np.mean([a.deals_per_disclosure for a in model.university_agents]),
            "income_per_disclosure": np.mean([a.income_per_disclosure for a in model.university_agents]),
            "extra_university_ties": to_enterprise.sum() / universities
            - scenario.enterprises.university_ties_per_university,
            "absorptive_gain": (pop.absorptive_capacity - pop.initial_absorptive_capacity).mean(),
        }
        for name, value in values.items():
            samples[name].append((quarter, float(value)))
    out = {}
    for name, pairs in samples.items():
        q = np.array([p[0] for p in pairs])
        x = np.array([p[1] for p in pairs])
        out[name] = {"window": float(x[(q >= WINDOW[0]) & (q <= WINDOW[1])].mean()),
                     "settled": float(x[q >= SETTLED_FROM].mean())}
    return out


def founding_values(overrides: dict[str, object]) -> dict[str, float]:
    """The founding values the scenario (and the university agent) start from."""
    from ecosim.agents.university import SETTLED_DEALS_PER_DISCLOSURE, SETTLED_INCOME_PER_DISCLOSURE
    from ecosim.scenario import Scenario, apply_overrides

    s = apply_overrides(Scenario(), overrides)
    return {"orientation": s.universities.orientation_mean,
            "deals_per_disclosure": SETTLED_DEALS_PER_DISCLOSURE,
            "income_per_disclosure": SETTLED_INCOME_PER_DISCLOSURE,
            "extra_university_ties": s.enterprises.founding_deal_ties_per_university,
            "absorptive_gain": 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario value (YAML value)")
    args = parser.parse_args(argv)
    overrides = {key: yaml.safe_load(value) for key, _, value in (item.partition("=") for item in args.set)}
    with ProcessPoolExecutor(args.workers) as pool:
        runs = list(pool.map(one, [(i, overrides) for i in range(args.seeds)]))
    founding = founding_values(overrides)
    lines = ["| measure | founding value | quarters 21–60 | quarters 101–200 (95% interval) |", "|---|---|---|---|"]
    for name in MEASURES:
        window = np.array([r[name]["window"] for r in runs])
        settled = np.array([r[name]["settled"] for r in runs])
        half = stats.t.ppf(0.975, settled.size - 1) * settled.std(ddof=1) / np.sqrt(settled.size)
        lines.append(f"| {name} | {founding[name]:.3g} | {window.mean():.3g} | "
                     f"{settled.mean():.3g} ({settled.mean() - half:.3g}–{settled.mean() + half:.3g}) |")
    print("\n".join(lines))
    print(f"\n{args.seeds} seeds, {QUARTERS} quarters.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
