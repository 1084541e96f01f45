"""Do the patterns drift over a long run? The facts measured in successive 40-quarter windows.

For each seed, the same trajectory is measured at the end of quarters 60, 100, 140, 180 and 200
with the window set to the last 40 quarters (``outputs.burn_in_quarters = end − 40``): a run is
deterministic given its seed, so a longer run repeats the shorter one's quarters and only the
window moves. Prints each pattern's mean over seeds per window, with a 95% t interval, and
writes the table as Markdown with ``--markdown``.

    python experiments/steady_state.py --seeds 6 --markdown [--set KEY=VALUE ...]
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import yaml
from scipy import stats

ENDS = (60, 100, 140, 180, 200)
WINDOW = 40


def one(args: tuple[int, int, dict[str, object]]) -> dict[str, float]:
    from ecosim.experiment import replication_seeds
    from ecosim.scenario import Scenario, apply_overrides
    from ecosim.validation import simulate_with_facts

    index, end, overrides = args
    seed = replication_seeds(20261205, index + 1)[index]
    scenario = apply_overrides(Scenario(), {**overrides, "steps": end, "outputs.burn_in_quarters": end - WINDOW})
    summary = simulate_with_facts(scenario, seed=seed).summary
    summary["end"] = end
    return summary


def main(argv: list[str] | None = None) -> int:
    from ecosim.validation import FACTS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario value (YAML value), e.g. universities.orientation_mean=0.3")
    args = parser.parse_args(argv)
    overrides = {key: yaml.safe_load(value) for key, _, value in (item.partition("=") for item in args.set)}
    jobs = [(i, end, overrides) for i in range(args.seeds) for end in ENDS]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(one, jobs))
    patterns = [f for f in FACTS if not f.input]
    extra = ["mean_manager_skill", "deals", "commercialisations"]
    header = ["fact", "target"] + [f"quarters {e - WINDOW + 1}–{e}" for e in ENDS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, label, target in [(f.measure, f.id, f.target_text()) for f in patterns] + [(k, k, "") for k in extra]:
        cells = []
        for end in ENDS:
            values = np.array([r[key] for r in rows if r["end"] == end], dtype=float)
            values = values[np.isfinite(values)]
            mean = values.mean()
            half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size)
            cells.append(f"{mean:.3g} ({mean - half:.3g}–{mean + half:.3g})")
        lines.append("| " + " | ".join([label, target] + cells) + " |")
    print("\n".join(lines) if args.markdown else "\n".join(lines).replace("|", " "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
