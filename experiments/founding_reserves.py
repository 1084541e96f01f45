"""Do the founding reserves make the first measured years run hot? Market entries by window.

The payers' development funds (transfer offices, enterprises; ``ecosim.funding``) are founded
full: ``technology.reserve_quarters`` quarters of inflow. This probe founds them at a share of
that cap instead (``technology.founding_reserve_share``, the only change) and prints market entries per quarter, averaged over seeds, in successive
20-quarter windows, with the aggregate fill of the funds (balance ÷ cap over payers) at the end
of each window. docs/VALIDATION.md §4 has the table and what it says.

    python experiments/founding_reserves.py --seeds 16 --fills 1 0.75 0 --markdown
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np

WINDOW = 20


def one(args: tuple[int, float, int]) -> tuple[np.ndarray, np.ndarray]:
    """Market entries per quarter and the funds' aggregate fill per quarter for one seed."""
    from ecosim.model import EcosystemModel
    from ecosim.scenario import Scenario, apply_overrides

    seed, fill, steps = args
    model = EcosystemModel(apply_overrides(Scenario(), {"steps": steps, "technology.founding_reserve_share": fill}),
                           seed=seed)
    funds = model.funds
    payers = funds.cap > 0
    fills = np.empty(steps)
    for q in range(steps):
        model.step()
        fills[q] = funds.balance[payers].sum() / funds.cap[payers].sum()
    entries = model.step_table()["commercialisations"].to_numpy(float)
    return entries, fills


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--steps", type=int, default=140)
    parser.add_argument("--fills", type=float, nargs="+", default=[1.0, 0.75, 0.0],
                        help="founding balance as a share of each fund's cap (1 = the model)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    windows = args.steps // WINDOW
    header = ["founding funds"] + [f"{w * WINDOW + 1}–{(w + 1) * WINDOW}" for w in range(windows)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    with ProcessPoolExecutor(args.workers) as pool:
        for fill in args.fills:
            runs = list(pool.map(one, [(seed, fill, args.steps) for seed in range(1, args.seeds + 1)]))
            entries = np.array([r[0] for r in runs])[:, : windows * WINDOW].reshape(args.seeds, windows, WINDOW)
            fills = np.array([r[1] for r in runs])[:, WINDOW - 1:: WINDOW][:, :windows]
            cells = [f"{e:.2f} (fill {f:.2f})" for e, f in zip(entries.mean(axis=(0, 2)), fills.mean(axis=0), strict=True)]
            lines.append(f"| {fill:g} of the cap | " + " | ".join(cells) + " |")
    print("\n".join(lines) if args.markdown else "\n".join(line.replace("|", " ") for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
