"""Screening every scenario parameter: one at a time, with common random numbers.

Does every parameter move some output? ``write`` builds ``experiments/screening_oat.yaml``
from the scenario schema: the baseline plus one variant per numeric parameter (every leaf of
``ecosim.scenario.Scenario`` that is a number or a tuple of numbers), moved to a test value
inside its bounds — ×1.5 of the default (ints: at least +1; zero defaults: a small positive
value), tuples element-wise, probability tuples and field shares shifted so they still sum to
one — all on the same replication seeds. ``analyse`` reads the sweep and reports, per
parameter, whether the runs are bit-identical to the baseline (a dead parameter), and the
largest paired change among the headline outputs in units of the baseline's run-to-run
standard deviation.

    python experiments/screening_oat.py write
    ecosim sweep experiments/screening_oat.yaml --out results/screening_oat
    python experiments/screening_oat.py analyse results/screening_oat [--markdown]

Rule names (categorical) are screened by the rules' own tests, not here.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import typing
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel

HERE = Path(__file__).resolve().parent
EXPERIMENT = HERE / "screening_oat.yaml"
HEADLINE = (
    "disclosures", "publications", "deals", "commercialisations", "welfare", "public_spending",
    "conversion_university", "conversion_joint", "conversion_enterprise", "licences_per_disclosure",
    "startups_per_disclosure", "g2_passes_academic", "joint_projects", "mean_manager_skill", "mean_orientation",
    "international_deal_share", "network_density", "appraisal_error_academic", "academic_spend_on_failures_share",
    "deals_via_fair", "deals_via_manager", "fair_applicants", "poc_funded", "cohort_conversion_university",
    "researchers_per_manager", "time_to_transfer_median", "manager_betweenness",
)
SKIP = {"seed", "steps", "name", "description", "rules_file"}


def _bounds(field) -> tuple[float, float]:
    low, high = -math.inf, math.inf
    for item in field.metadata:
        for attr, kind in (("ge", "low"), ("gt", "low"), ("le", "high"), ("lt", "high")):
            value = getattr(item, attr, None)
            if value is not None:
                if kind == "low":
                    low = max(low, value)
                else:
                    high = min(high, value)
    args = typing.get_args(field.annotation)
    for arg in args:  # Annotated[float, Field(...)] elements of a tuple
        for meta in getattr(arg, "__metadata__", ()):
            for m in getattr(meta, "metadata", [meta]):
                for attr, kind in (("ge", "low"), ("gt", "low"), ("le", "high"), ("lt", "high")):
                    value = getattr(m, attr, None)
                    if value is not None:
                        low, high = (max(low, value), high) if kind == "low" else (low, min(high, value))
    return low, high


def _moved(value: float, low: float, high: float, integer: bool) -> float:
    if value == 0:
        new = 1 if integer else min(0.1, high)
    else:
        new = value * 1.5
        if integer:
            new = max(int(round(new)), int(value) + 1)
    if new > high:  # at the top of its range: move down instead
        new = value * 0.5 if value > 0 else low
        if integer:
            new = min(int(new), int(value) - 1)
    return int(new) if integer else float(round(new, 6))


def variants() -> dict[str, dict[str, object]]:
    """One override mapping per parameter: dotted key → test value."""
    from ecosim.scenario import Scenario

    base = Scenario()
    out: dict[str, dict[str, object]] = {}

    def walk(model: BaseModel, prefix: str) -> None:
        for name, field in type(model).model_fields.items():
            key = f"{prefix}{name}"
            if name in SKIP and not prefix:
                continue
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value, key + ".")
            elif isinstance(value, dict) and key == "fields":
                for field_name, profile in value.items():
                    walk_field(profile, f"fields.{field_name}.")
            elif isinstance(value, bool) or isinstance(value, str) or value is None:
                continue
            elif isinstance(value, (int, float)):
                low, high = _bounds(field)
                out[key] = {key: _moved(value, low, high, isinstance(value, int))}
            elif isinstance(value, tuple):
                low, high = _bounds(field)
                if key == "technology.disclosure_trl_probs":
                    out[key] = {key: [0.05, 0.40, 0.42, 0.13]}  # readier disclosures, still summing to 1
                elif key == "policy.proof_of_concept.trl_window":
                    out[key] = {key: [value[0], min(value[1] + 1, 9)]}
                else:
                    integer = isinstance(value[0], int)
                    out[key] = {key: [_moved(v, low, high, integer) for v in value]}

    def walk_field(profile: BaseModel, prefix: str) -> None:
        out[prefix + "log_value_mean"] = {prefix + "log_value_mean": round(profile.log_value_mean + 0.5, 6)}
        out[prefix + "technical_success"] = {
            prefix + "technical_success": [round(min(1.0, v * 1.15), 6) for v in profile.technical_success]}
        # shares must sum to one: move 0.05 from this field to the largest other field
        others = {n: p.share for n, p in base.fields.items() if prefix != f"fields.{n}."}
        largest = max(others, key=others.get)
        out[prefix + "share"] = {prefix + "share": round(profile.share + 0.05, 6),
                                 f"fields.{largest}.share": round(others[largest] - 0.05, 6)}

    walk(base, "")
    # budget shares sum to one: the research grants give up what another instrument gains
    for key in [k for k in out if k.startswith("budget.") and k not in ("budget.per_quarter", "budget.research_grants")]:
        gained = out[key][key] - getattr(base.budget, key.split(".")[1])
        out[key]["budget.research_grants"] = round(base.budget.research_grants - gained, 6)
    out["budget.research_grants"] = {"budget.research_grants": 0.7, "budget.per_quarter": round(12.0 * 0.9, 6)}
    return out


def write(replications: int = 2, steps: int = 40) -> None:
    """Write the experiment file."""
    lines = [
        "# Question: does every scenario parameter move some output? One variant per numeric parameter",
        "# (generated by experiments/screening_oat.py from the schema), each on the same seeds as the",
        "# baseline (common random numbers). Analyse: python experiments/screening_oat.py analyse RESULTS",
        "name: screening_oat",
        "description: One-at-a-time screening of every numeric scenario parameter (common random numbers).",
        "scenarios:",
        "  - file: ../scenarios/baseline.yaml",
        "    name: baseline",
    ]
    for i, (key, overrides) in enumerate(variants().items()):
        lines.append("  - file: ../scenarios/baseline.yaml")
        lines.append(f"    name: p{i:03d}_{key.replace('.', '_')[:80]}")
        lines.append("    overrides:")
        for k, v in overrides.items():
            lines.append(f"      {k}: {json.dumps(v)}")
    lines += [f"replications: {replications}", "seed: 20261204", f"steps: {steps}", "keep: summary"]
    EXPERIMENT.write_text("\n".join(lines) + "\n")
    print(f"wrote {EXPERIMENT} ({len(lines)} lines)")


def analyse(results: str) -> pd.DataFrame:
    """Per parameter: identical to the baseline?, outputs changed, largest change in baseline SDs."""
    from ecosim.store import load_runs

    runs = load_runs(results)
    runs = runs[runs["status"] == "ok"] if "status" in runs else runs
    keys = {f"p{i:03d}_{k.replace('.', '_')[:80]}": k for i, k in enumerate(variants())}
    baseline = runs[runs["scenario"] == "baseline"].set_index("seed").sort_index()
    numeric = [c for c in baseline.columns if pd.api.types.is_numeric_dtype(baseline[c])]
    sd = baseline[list(HEADLINE)].std(ddof=1).replace(0, np.nan)
    rows = []
    for name, key in keys.items():
        variant = runs[runs["scenario"] == name].set_index("seed").sort_index()
        if variant.empty:
            continue
        common = variant.index.intersection(baseline.index)
        a, b = variant.loc[common, numeric], baseline.loc[common, numeric]
        changed = [c for c in numeric if not np.array_equal(a[c].to_numpy(), b[c].to_numpy(), equal_nan=True)]
        diff = (a[list(HEADLINE)] - b[list(HEADLINE)]).mean() / sd
        top = diff.abs().sort_values(ascending=False)
        rows.append({"parameter": key, "identical": not changed, "outputs_changed": len(changed),
                     "largest": top.index[0] if top.notna().any() else "", "largest_sd": float(top.iloc[0])
                     if top.notna().any() else 0.0})
    return pd.DataFrame(rows).sort_values("largest_sd")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write")
    w.add_argument("--replications", type=int, default=2)
    w.add_argument("--steps", type=int, default=40)
    a = sub.add_parser("analyse")
    a.add_argument("results")
    a.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "write":
        write(args.replications, args.steps)
        return 0
    table = analyse(args.results)
    if args.markdown:
        print("| parameter | identical to baseline | outputs changed | largest headline change (baseline SDs) |")
        print("|---|---|---|---|")
        for r in table.itertuples():
            print(f"| `{r.parameter}` | {'**yes**' if r.identical else 'no'} | {r.outputs_changed} | "
                  f"`{r.largest}` {r.largest_sd:.2f} |")
    else:
        print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
