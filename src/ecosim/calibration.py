"""Calibration: search the free parameters for the point whose replications best reproduce the facts.

The search is a simulated method of moments over a space-filling design, run as an
ordinary sweep:

1. an experiment file (``experiments/calibration.yaml``) lists the free parameters and
   their plausible ranges as a Latin hypercube design (``scipy.stats.qmc`` through
   :mod:`ecosim.experiment`), with a few replications per point; replication ``r`` has the
   same seed at every point (common random numbers), so points differ by their parameters,
   not by their luck;
2. :func:`run_calibration` runs it with :func:`ecosim.executors.run_sweep`, using
   :func:`ecosim.validation.simulate_with_facts` so every stored run carries the facts'
   measures (``fact_*`` columns);
3. :func:`score_points` averages each point's replications and measures the distance of
   each fact's mean to its target range, in units of the range's half-width (0 inside):
   ``d_k = max(low_k − m_k, m_k − high_k, 0) / h_k``; the point's distance is ``Σ d_k²``
   (an identity-weighted method-of-moments objective with interval targets).

The best point's values are written into the scenario defaults (``ecosim/scenario.py``) by
hand, with a comment citing the facts, and checked with ``ecosim validate`` (30 replications).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ecosim.validation import FACTS, Fact

VALIDATION_MODEL = "ecosim.validation:simulate_with_facts"
"""The ``module:function`` a calibration sweep runs (simulate plus the facts' measures)."""


def half_width(fact: Fact) -> float:
    """The scale of a fact's distance: half the target range, or half the bound for "at least"."""
    if math.isinf(fact.high):
        return max(abs(fact.low) / 2, 1e-9)
    return max((fact.high - fact.low) / 2, 1e-9)


def fact_distance(fact: Fact, value: float) -> float:
    """How far ``value`` lies outside the fact's range, in half-widths (0 inside; inf if NaN)."""
    if not np.isfinite(value):
        return math.inf
    outside = max(fact.low - value, value - fact.high, 0.0)
    return outside / half_width(fact)


def score_points(runs: pd.DataFrame, facts: tuple[Fact, ...] = FACTS,
                 parameters: list[str] | None = None) -> pd.DataFrame:
    """Average each design point's replications and score it against the facts.

    Parameters
    ----------
    runs : one row per run with ``point``, ``status`` and the ``fact_*`` columns
        (:func:`ecosim.store.load_runs` of a calibration sweep)
    facts : the targets
    parameters : the varied parameter columns to carry into the result

    Returns
    -------
    DataFrame
        One row per point, best first: the parameters, ``distance`` (``Σ d_k²``),
        ``outside`` (number of facts outside their range), then per fact the mean
        (``<id>``) and the distance (``d_<id>``).
    """
    ok = runs[runs["status"] == "ok"] if "status" in runs else runs
    parameters = parameters or []
    rows = []
    for point, group in ok.groupby("point", sort=True):
        row: dict[str, float] = {"point": int(point), "replications": len(group)}
        for p in parameters:
            row[p] = group[p].iloc[0]
        total, outside = 0.0, 0
        for fact in facts:
            mean = float(np.nanmean(group[fact.measure].to_numpy(float))) if fact.measure in group else math.nan
            d = fact_distance(fact, mean)
            row[fact.id] = mean
            row[f"d_{fact.id}"] = d
            total += d * d
            outside += d > 0
        row["distance"] = total
        row["outside"] = outside
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    first = ["point", "replications", *parameters, "distance", "outside"]
    rest = [c for c in frame.columns if c not in first]
    return frame[first + rest].sort_values(["distance", "outside"], kind="stable").reset_index(drop=True)


def run_calibration(experiment_path: str | Path, out: str | Path, workers: int | None = 2,
                    resume: bool = False, progress=None) -> pd.DataFrame:
    """Run the calibration experiment as a sweep and return :func:`score_points` of its runs.

    Parameters
    ----------
    experiment_path : the calibration experiment (e.g. ``experiments/calibration.yaml``)
    out : results directory of the sweep
    workers : worker processes
    resume : complete a sweep already in ``out``
    progress : passed to :func:`ecosim.executors.run_sweep`
    """
    from ecosim.executors import run_sweep
    from ecosim.experiment import load_experiment
    from ecosim.store import load_runs

    experiment = load_experiment(experiment_path)
    run_sweep(experiment, out, executor="process", workers=workers, resume=resume, progress=progress,
              model=VALIDATION_MODEL)
    return score_points(load_runs(out), parameters=experiment.parameters)


def format_ranking(scores: pd.DataFrame, top: int = 5, facts: tuple[Fact, ...] = FACTS) -> str:
    """The ``top`` points as text: parameters, total distance and each fact's mean (``*`` outside)."""
    if scores.empty:
        return "no finished runs"
    lines = []
    params = [c for c in scores.columns
              if c not in {"point", "replications", "distance", "outside"}
              and c not in {f.id for f in facts} and not c.startswith("d_")]
    for _, row in scores.head(top).iterrows():
        lines.append(f"point {int(row['point'])}: distance {row['distance']:.3f}, {int(row['outside'])} facts outside "
                     f"({int(row['replications'])} replications)")
        lines.append("  " + ", ".join(f"{p} = {row[p]:.4g}" for p in params))
        lines.append("  " + ", ".join(
            f"{f.id} {row[f.id]:.3g}{'*' if row[f'd_{f.id}'] > 0 else ''}" for f in facts))
    return "\n".join(lines)


SENSITIVITY_OUTPUTS = (
    "fact_conversion_university",
    "fact_conversion_joint",
    "fact_conversion_enterprise",
    "fact_licences_per_disclosure",
    "fact_top10_value_share",
    "fact_poc_cohort_conversion",
    "commercialisations",
    "welfare_per_public_yuan",
)
"""Main outputs whose sensitivity to the free parameters docs/VALIDATION.md summarises."""


def run_sensitivity(experiment_path: str | Path, out: str | Path, workers: int | None = 2, resume: bool = False,
                    outputs: tuple[str, ...] = SENSITIVITY_OUTPUTS) -> pd.DataFrame:
    """Run a Sobol' experiment over the free parameters (with the facts' measures) and return its indices.

    Runs the sweep with :func:`ecosim.validation.simulate_with_facts` and analyses it with
    :func:`ecosim.analysis.sensitivity` (SALib): first-order ``S1`` and total ``ST`` indices
    with bootstrap intervals, one row per output and parameter.
    """
    from ecosim.analysis import sensitivity
    from ecosim.executors import run_sweep
    from ecosim.experiment import load_experiment
    from ecosim.store import load_index, load_runs

    experiment = load_experiment(experiment_path)
    if experiment.design_kind != "sobol":
        from ecosim.errors import InputError

        raise InputError(f"a sensitivity experiment needs a sobol design, not {experiment.design_kind}",
                         source=str(experiment_path), key="design.kind")
    run_sweep(experiment, out, executor="process", workers=workers, resume=resume, model=VALIDATION_MODEL)
    return sensitivity(load_runs(out), load_index(out)["problem"], "sobol", metrics=list(outputs))
