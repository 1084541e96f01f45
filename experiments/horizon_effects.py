"""A lever's effect along its causal chain in two windows: quarters 21–60 and 121–160.

Reads the lever table's runs (``experiments/lever_doses.yaml``, measured in quarters 21–60) and
the late-window runs (``experiments/lever_doses_late.yaml``, the same top doses measured in
quarters 121–160) and prints, for one variant, the paired effect (variant − baseline, same
replication seed) with its 95% Student-t interval in each window, on the metrics of the chain
from research to market. A metric whose effect changes sign between the windows is where the
long-run answer departs from the short-run one (docs/VALIDATION.md §4 uses it for incentive
reform).

    python experiments/horizon_effects.py results/lever_doses results/lever_doses_late \\
        --variant incentives_3 --markdown
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ecosim import metric_catalogue
from ecosim.store import load_runs

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from lever_table import paired  # noqa: E402  (the lever table's paired effect, one definition)

# From research to market: what groups do, what payers fund, where technologies stop, what arrives.
CHAIN = (
    "mean_orientation", "publications", "disclosures_university", "disclosures_joint", "disclosures_enterprise",
    "deals", "conversion_university", "conversion_enterprise",
    "gate_spending_university", "gate_spending_enterprise",
    "attempts_fund_short_university", "attempts_fund_short_joint", "attempts_fund_short_enterprise",
    "fail_G2_funding", "fail_G3_funding", "fail_G4_funding", "shelved",
    "market_entries_academic", "commercialisations", "welfare",
)


def horizon_table(early, late, variant: str, metrics=CHAIN) -> list[dict]:
    """One row per metric: baseline mean and paired effect [95%] in each window."""
    rows = []
    for metric in metrics:
        row = {"metric": metric}
        for label, runs in (("early", early), ("late", late)):
            runs = runs[runs["status"] == "ok"] if "status" in runs else runs
            base, var = runs[runs["scenario"] == "baseline"], runs[runs["scenario"] == variant]
            if metric not in runs or var.empty:
                row.update({f"{label}_base": np.nan, f"{label}": (np.nan, np.nan, np.nan, 0)})
                continue
            row[f"{label}_base"] = float(base[metric].mean())
            row[label] = paired(var, base, metric)
        rows.append(row)
    return rows


def _cell(base: float, effect: tuple[float, float, float, int]) -> str:
    mean, low, high, _ = effect
    if not np.isfinite(mean):
        return "n/a"
    digits = 3 if max(abs(mean), abs(low), abs(high)) < 1 else 1
    share = f" ({100 * mean / base:+.0f}%)" if base else ""
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]{share}"


def markdown(rows: list[dict]) -> str:
    """The table as Markdown; a sign that flips between the windows (both intervals clear of 0) is marked."""
    lines = ["| metric | baseline 21–60 | effect 21–60 | baseline 121–160 | effect 121–160 | flips |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        (_, lo1, hi1, _), (_, lo2, hi2, _) = r["early"], r["late"]
        flips = (lo1 > 0 and hi2 < 0) or (hi1 < 0 and lo2 > 0)
        label = metric_catalogue.entry(r["metric"]).label if metric_catalogue.known(r["metric"]) else r["metric"]
        lines.append(f"| {label} (`{r['metric']}`) | {r['early_base']:.4g} | {_cell(r['early_base'], r['early'])} | "
                     f"{r['late_base']:.4g} | {_cell(r['late_base'], r['late'])} | {'**yes**' if flips else ''} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("early", help="results of experiments/lever_doses.yaml")
    parser.add_argument("late", help="results of experiments/lever_doses_late.yaml")
    parser.add_argument("--variant", default="incentives_3")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    rows = horizon_table(load_runs(args.early), load_runs(args.late), args.variant)
    if args.markdown:
        print(markdown(rows))
    else:
        for r in rows:
            print(f"{r['metric']:34s} {_cell(r['early_base'], r['early']):>40s} {_cell(r['late_base'], r['late']):>40s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
