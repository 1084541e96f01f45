"""Where does the research groups' orientation settle, and how far from it does a run start?

The groups' orientation follows the evaluation payoff of transfer, which grows with the
university's deals per disclosure, which grows with the orientation (docs/VALIDATION.md §4).
To find the loop's fixed point without waiting for it, each run holds the orientation fixed
(the ``fixed`` orientation rule, every group starting at ``universities.orientation_mean`` =
a) and measures, over quarters 51–100, the orientation the payoff-imitation rule would aim for
at that a: ``transfer ÷ (transfer + publication)`` payoff, averaged over universities. The
fixed point a* is where that target equals a (linear interpolation between the levels); the
slope of the target in a is the loop's gain.

    python experiments/orientation_fixed_point.py --seeds 4 --markdown
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy import stats

LEVELS = (0.25, 0.30, 0.35, 0.40, 0.45)
QUARTERS = 100
FROM = 51


def one(args: tuple[float, int]) -> tuple[float, float, float]:
    """(a, mean deals per disclosure, mean target orientation) of one run held at orientation a."""
    from ecosim.agents.university import DEAL_BONUS
    from ecosim.experiment import replication_seeds
    from ecosim.model import EcosystemModel
    from ecosim.scenario import Scenario, apply_overrides

    level, index = args
    scenario = apply_overrides(Scenario(), {"steps": QUARTERS, "rules.orientation": "fixed",
                                            "universities.orientation_mean": level})
    inc = scenario.policy.incentives
    model = EcosystemModel(scenario, seed=replication_seeds(20261203, index + 1)[index])
    deals, targets = [], []
    for quarter in range(1, QUARTERS + 1):
        model.step()
        if quarter >= FROM:
            dpd = np.array([u.deals_per_disclosure for u in model.university_agents])
            ipd = np.array([u.income_per_disclosure for u in model.university_agents])
            transfer = inc.transfer_weight * (1.0 + DEAL_BONUS * dpd) + inc.inventor_share * ipd
            deals.append(dpd.mean())
            targets.append((transfer / (transfer + inc.publication_weight)).mean())
    return level, float(np.mean(deals)), float(np.mean(targets))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(one, [(a, i) for a in LEVELS for i in range(args.seeds)]))
    lines = ["| orientation held at a | deals per disclosure | target orientation (95% interval) | target − a |",
             "|---|---|---|---|"]
    means = []
    for level in LEVELS:
        dpd = np.array([r[1] for r in rows if r[0] == level])
        target = np.array([r[2] for r in rows if r[0] == level])
        half = stats.t.ppf(0.975, target.size - 1) * target.std(ddof=1) / np.sqrt(target.size)
        means.append(target.mean())
        lines.append(f"| {level:.2f} | {dpd.mean():.4f} | {target.mean():.3f} ({target.mean() - half:.3f}–"
                     f"{target.mean() + half:.3f}) | {target.mean() - level:+.3f} |")
    gap = np.array(means) - np.array(LEVELS)
    gain = np.polyfit(LEVELS, means, 1)[0]
    crossing = np.flatnonzero(np.diff(np.sign(gap)) != 0)
    if crossing.size:
        i = crossing[0]
        fixed = LEVELS[i] + gap[i] * (LEVELS[i + 1] - LEVELS[i]) / (gap[i] - gap[i + 1])
        verdict = f"fixed point a* ≈ {fixed:.3f}"
    else:
        verdict = "no fixed point between the levels"
    lines.append("")
    lines.append(f"{verdict}; gain (slope of the target in a) {gain:.2f}; {args.seeds} seeds, quarters {FROM}–{QUARTERS}.")
    print("\n".join(lines) if args.markdown else "\n".join(lines).replace("|", " "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
