"""The lever table: every policy lever at three doses, paired against the baseline.

Reads the results of ``experiments/lever_doses.yaml`` (``ecosim sweep experiments/lever_doses.yaml
--out results/lever_doses``) and prints, per lever and dose, the paired effect (variant −
baseline, same replication seed) on the lever's target outcome, on market entries and on
welfare, each with a 95% Student-t interval over the replications, and whether the effect has
the sign the mechanism predicts and grows with the dose. ``--markdown`` gives the table of
docs/VALIDATION.md; ``--check`` exits 1 when a lever's highest dose is not clear of zero in the
predicted direction (the slow test runs a reduced version of the same check).

    python experiments/lever_table.py results/lever_doses --markdown
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ecosim.store import load_runs


@dataclass(frozen=True)
class Lever:
    """A lever, its doses (scenario-name prefix) and the outcome its mechanism acts on."""

    name: str
    setting: str
    doses: tuple[str, ...]
    target: str
    direction: int  # +1: the target should rise with the dose; −1: fall
    mechanism: str  # a summary key that shows the channel


LEVERS = (
    Lever("poc_fund", "PoC fund 0 / 1.2 / 2.4 M¥ a quarter per region, on top (baseline 0.6)", ("0", "1.2", "2.4"),
          "g2_passes_academic", +1, "poc_stopped_early"),
    Lever("poc_grant", "PoC grant 0.05 / 0.2 / 0.4 M¥, fund scaled with it (baseline 0.1)", ("0.05", "0.2", "0.4"),
          "g2_passes_academic", +1, "poc_stopped_early"),
    Lever("managers", "managers_per_region 0 / 100 / 200 (baseline 50)", ("0", "100", "200"),
          "conversion_university", +1, "academic_spend_on_failures_share"),
    # skill acts through appraisal; its effect on conversion is not detectable (docs/VALIDATION.md §5)
    Lever("manager_skill", "managers.skill_mean 0.1 / 0.6 / 0.9 (baseline 0.35)", ("0.1", "0.6", "0.9"),
          "appraisal_error_academic", -1, "conversion_university"),
    Lever("manager_training", "training money 0 / 0.72 / 1.44 M¥ a quarter per region (baseline 0.36)",
          ("0", "0.72", "1.44"), "mean_manager_skill", +1, "conversion_university"),
    Lever("incentives", "incentives.transfer_weight 0.6 / 1.0 / 2.0 (baseline 0.3)", ("0.6", "1.0", "2.0"),
          "conversion_university", +1, "mean_orientation"),
    Lever("joint_subsidy", "joint_rnd.subsidy_rate 0 / 0.4 / 0.8 (baseline 0.2)", ("0.0", "0.4", "0.8"),
          "joint_projects", +1, "spending_joint_rnd"),
    Lever("fairs", "fairs.interval_quarters none / 2 / 1 (baseline 4)", ("none", "2", "1"),
          "deals_via_fair", +1, "fair_applicants"),
    # a finding, not a claim: beyond the baseline's three, more investors find no more projects
    # (deal flow binds, not capital; docs/VALIDATION.md §5), so no direction is tested
    Lever("investors", "finance.investors_per_region 0 / 6 / 12 (baseline 3)", ("0", "6", "12"),
          "deals_spin_off", 0, "market_entries_academic"),
    Lever("investor_hurdle", "finance.value_hurdle 5 / 3 / 1.5 M¥ (baseline 7)", ("5", "3", "1.5"),
          "deals_spin_off", +1, "deals_via_investor"),
    Lever("openness", "openness.cross_region_tie_probability 0 / 0.2 / 0.5 (baseline 0.05)", ("0.0", "0.2", "0.5"),
          "international_deal_share", +1, "cross_region_tie_share"),
    Lever("performance_based", "rules.budget_allocation: performance_based (baseline fixed_shares)", ("on",),
          "spending_fairs", 0, "spending_proof_of_concept"),
)
OUTCOMES = ("commercialisations", "welfare")


def paired(variant: pd.DataFrame, baseline: pd.DataFrame, metric: str) -> tuple[float, float, float, int]:
    """Mean paired difference (variant − baseline, matched on seed) and its 95% t interval."""
    joined = variant[["seed", metric]].merge(baseline[["seed", metric]], on="seed", suffixes=("", "_base"))
    d = (joined[metric] - joined[f"{metric}_base"]).to_numpy(float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return float("nan"), float("nan"), float("nan"), int(d.size)
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    return float(d.mean()), float(d.mean() - half), float(d.mean() + half), int(d.size)


def lever_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per lever and dose: effects with intervals on target, mechanism, market entries, welfare."""
    runs = runs[runs["status"] == "ok"] if "status" in runs else runs
    baseline = runs[runs["scenario"] == "baseline"]
    rows = []
    for lever in LEVERS:
        for i, dose in enumerate(lever.doses, start=1):
            variant = runs[runs["scenario"] == f"{lever.name}_{i}"]
            if variant.empty:
                continue
            row = {"lever": lever.name, "setting": lever.setting, "dose": dose, "target": lever.target,
                   "direction": lever.direction, "mechanism": lever.mechanism,
                   "baseline_target": float(baseline[lever.target].mean())}
            for label, metric in (("target", lever.target), ("mechanism", lever.mechanism),
                                  ("market", "commercialisations"), ("welfare", "welfare")):
                mean, lo, hi, n = paired(variant, baseline, metric)
                row.update({f"{label}_effect": mean, f"{label}_low": lo, f"{label}_high": hi})
                row["n"] = n
            rows.append(row)
    return pd.DataFrame(rows)


def verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Per lever: does the highest dose move the target in the predicted direction (interval clear
    of zero), and do the doses' effects rise (or fall) in order?"""
    out = []
    for lever in LEVERS:
        mine = table[table["lever"] == lever.name]
        if mine.empty or lever.direction == 0:
            continue
        top = mine.iloc[-1]
        clear = top["target_low"] > 0 if lever.direction > 0 else top["target_high"] < 0
        effects = mine["target_effect"].to_numpy() * lever.direction
        out.append({"lever": lever.name, "predicted_sign_at_top_dose": bool(clear),
                    "rises_with_dose": bool(np.all(np.diff(effects) > 0))})
    return pd.DataFrame(out)


def _fmt(mean: float, low: float, high: float) -> str:
    if not np.isfinite(mean):
        return "n/a"
    digits = 3 if max(abs(mean), abs(low), abs(high)) < 1 else 1
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def markdown(table: pd.DataFrame) -> str:
    """The lever table as Markdown."""
    head = ("| lever | dose | target (baseline mean) | effect on target | mechanism: effect | "
            "market entries | welfare, M¥ |")
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(
            f"| {r.lever} | {r.dose} | `{r.target}` ({r.baseline_target:.3g}) | "
            f"{_fmt(r.target_effect, r.target_low, r.target_high)} | `{r.mechanism}` "
            f"{_fmt(r.mechanism_effect, r.mechanism_low, r.mechanism_high)} | "
            f"{_fmt(r.market_effect, r.market_low, r.market_high)} | "
            f"{_fmt(r.welfare_effect, r.welfare_low, r.welfare_high)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--check", action="store_true", help="exit 1 if a lever misses its predicted direction")
    args = parser.parse_args(argv)
    table = lever_table(load_runs(args.results))
    print(markdown(table) if args.markdown else table.to_string())
    checks = verdicts(table)
    print()
    for r in checks.itertuples():
        print(f"- {r.lever}: predicted sign at the top dose {'yes' if r.predicted_sign_at_top_dose else 'NO'}; "
              f"rises with the dose {'yes' if r.rises_with_dose else 'no'}")
    if args.check and not checks["predicted_sign_at_top_dose"].all():
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
