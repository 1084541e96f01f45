"""What a calibration found: the posterior summary, the posterior-predictive check, figures, calibration.md.

Plain functions over the posterior table (parameters and ``weight``):

- :func:`posterior_summary` — per parameter: prior range, weighted mean, 90% credible interval
  (weighted 5% and 95% quantiles) and whether the data pin it down. The rule
  (:data:`IDENTIFIED_SHARE`): a parameter is *identified* when its 90% interval is narrower
  than half its prior range; otherwise the targets say little about it and its posterior is
  mostly its prior.
- :func:`predictive_check` — ``draws`` parameter vectors drawn from the posterior by weight,
  each simulated once with a fresh seed; per target its range, the predicted mean, 5–95%
  interval and the share of runs inside the range.
- :func:`write_report` writes ``predictive.csv``, ``predictive_runs.csv``, the figures
  (``posterior_marginals.png``, ``posterior_pairs.png``, ``predictive.png``) and
  ``calibration.md`` into the calibration directory.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ecosim.calibration import Calibration, Target

IDENTIFIED_SHARE = 0.5
"""A parameter is identified when its 90% credible interval is narrower than this share of its prior range."""


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q`` quantile of ``values`` with ``weights`` (inverse of the weighted empirical CDF).

    Examples
    --------
    >>> weighted_quantile(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.6, 0.2]), 0.5)
    2.0
    """
    order = np.argsort(values, kind="stable")
    v, w = np.asarray(values, float)[order], np.asarray(weights, float)[order]
    cumulative = np.cumsum(w) / w.sum()
    return float(v[min(np.searchsorted(cumulative, q, side="left"), len(v) - 1)])


def posterior_summary(posterior: pd.DataFrame, priors: dict[str, tuple[float, float]],
                      known: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per parameter: prior, posterior mean, 90% interval, interval ÷ prior width, identified.

    ``known`` (simulate-and-recover) adds the known value and whether the 90% interval holds it.
    """
    w = posterior["weight"].to_numpy(float)
    rows = []
    for key, (low, high) in priors.items():
        values = posterior[key].to_numpy(float)
        q05, q95 = weighted_quantile(values, w, 0.05), weighted_quantile(values, w, 0.95)
        share = (q95 - q05) / (high - low)
        row: dict[str, Any] = {"parameter": key, "prior_low": low, "prior_high": high,
                               "mean": float(np.average(values, weights=w)), "q05": q05, "q95": q95,
                               "width_share": share, "identified": bool(share < IDENTIFIED_SHARE)}
        if known is not None:
            row["known"] = known[key]
            row["known_inside"] = bool(q05 <= known[key] <= q95)
        rows.append(row)
    return pd.DataFrame(rows)


def predictive_runs(calibration: Calibration, posterior: pd.DataFrame, handle) -> pd.DataFrame:
    """Simulate ``calibration.predictive_draws`` posterior draws once each (fresh seeds) on ``handle``'s executor."""
    from ecosim.calibration import run_tasks
    from ecosim.experiment import replication_seeds
    from ecosim.posterior import posterior_draws

    # the draws of an experiment over this posterior with the calibration's seed (one way to draw)
    chosen = posterior_draws(posterior["weight"].to_numpy(float), calibration.predictive_draws, calibration.seed)
    draws = posterior.iloc[chosen].drop(columns="weight").reset_index(drop=True)
    seeds = replication_seeds(calibration.seed + 1, len(draws))
    measures = tuple(t.measure for t in calibration.targets)
    tasks = [(calibration.scenario, dict(row), seed, measures, calibration.model)
             for (_, row), seed in zip(draws.iterrows(), seeds, strict=True)]
    runs = pd.DataFrame(run_tasks(handle, tasks, "a predictive-check run"))
    return pd.concat([draws, runs], axis=1).assign(seed=seeds)


def predictive_check(runs: pd.DataFrame, targets: list[Target]) -> pd.DataFrame:
    """Per target: its range, predicted mean, 5–95% interval and share of runs inside (NaN runs count outside)."""
    rows = []
    for t in targets:
        values = runs[t.measure].to_numpy(float)
        finite = values[np.isfinite(values)]
        inside = (values >= t.low) & (values <= t.high)
        mean = float(finite.mean()) if len(finite) else math.nan
        rows.append({"target": t.id, "measure": t.measure, "low": t.low, "high": t.high, "mean": mean,
                     "q05": float(np.quantile(finite, 0.05)) if len(finite) else math.nan,
                     "q95": float(np.quantile(finite, 0.95)) if len(finite) else math.nan,
                     "share_inside": float(inside.mean()), "mean_inside": bool(t.low <= mean <= t.high),
                     "runs": len(values), "unmeasured": int(len(values) - len(finite))})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- figures


def marginals_plot(posterior: pd.DataFrame, priors: dict[str, tuple[float, float]],
                   known: dict[str, float] | None = None) -> Figure:
    """Weighted histogram of each parameter's posterior over its prior range (flat line: the prior)."""
    keys = list(priors)
    columns = min(3, len(keys))
    rows = math.ceil(len(keys) / columns)
    fig = Figure(figsize=(4 * columns, 2.8 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns)).ravel()
    w = posterior["weight"].to_numpy(float)
    for ax, key in zip(axes, keys, strict=False):
        low, high = priors[key]
        ax.hist(posterior[key], bins=20, range=(low, high), weights=w, density=True, color="tab:blue", alpha=0.7,
                label="posterior")
        ax.axhline(1 / (high - low), color="grey", linestyle="--", label="prior")
        if known is not None:
            ax.axvline(known[key], color="tab:red", label="known value")
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("value")
        ax.set_ylabel("density")
    for ax in axes[len(keys):]:
        ax.set_axis_off()
    axes[0].legend(fontsize=8)
    fig.suptitle("Posterior of each parameter (weighted particles of the last generation)")
    return fig


def pairs_plot(posterior: pd.DataFrame, priors: dict[str, tuple[float, float]]) -> Figure:
    """Pairwise scatter of the particles (area ∝ weight) over the prior box; marginals on the diagonal."""
    keys = list(priors)
    n = len(keys)
    fig = Figure(figsize=(1.9 * n + 1, 1.9 * n + 1), layout="constrained")
    axes = np.array(fig.subplots(n, n, squeeze=False))
    w = posterior["weight"].to_numpy(float)
    size = 4 + 200 * w / w.max()
    for i, ky in enumerate(keys):
        for j, kx in enumerate(keys):
            ax = axes[i, j]
            if i == j:
                ax.hist(posterior[kx], bins=15, range=priors[kx], weights=w, color="tab:blue", alpha=0.7)
            elif j < i:
                ax.scatter(posterior[kx], posterior[ky], s=size, alpha=0.4, color="tab:blue", linewidths=0)
                ax.set_ylim(*priors[ky])
            else:
                ax.set_axis_off()
                continue
            ax.set_xlim(*priors[kx])
            ax.tick_params(labelsize=6)
            if i == n - 1:
                ax.set_xlabel(kx.rsplit(".", 1)[-1], fontsize=7)
            if j == 0:
                ax.set_ylabel(ky.rsplit(".", 1)[-1], fontsize=7)
    fig.suptitle("Posterior pairs (dot area ∝ weight; axes span the priors)")
    return fig


def predictive_plot(check: pd.DataFrame) -> Figure:
    """Each target's predicted 5–95% interval and mean against its target range, on a scale of half-widths."""
    from ecosim.calibration import half_width

    fig = Figure(figsize=(7, 0.5 * len(check) + 1.5), layout="constrained")
    ax = fig.subplots()
    for y, row in enumerate(check.itertuples()):
        centre = row.low if math.isinf(row.high) else (row.low + row.high) / 2
        scale = half_width(row.low, row.high)

        def z(v: float, centre: float = centre, scale: float = scale) -> float:
            return (v - centre) / scale

        high = z(row.high) if math.isfinite(row.high) else 4.0
        ax.barh(y, high - z(row.low), left=z(row.low), height=0.6, color="tab:green", alpha=0.25,
                label="target range" if y == 0 else None)
        ax.plot([z(row.q05), z(row.q95)], [y, y], color="tab:blue", linewidth=2,
                label="predicted 5–95%" if y == 0 else None)
        ax.plot(z(row.mean), y, "o", color="tab:blue", label="predicted mean" if y == 0 else None)
    ax.set_yticks(range(len(check)), [f"{r.target} ({r.share_inside:.0%} inside)" for r in check.itertuples()])
    ax.invert_yaxis()
    ax.set_xlabel("distance from the target range's centre, in half-widths (≥ targets: from the bound)")
    ax.set_title("Posterior-predictive check")
    ax.legend(fontsize=8, loc="lower right")
    return fig


# ---------------------------------------------------------------- the report


def _fmt(x: float) -> str:
    if isinstance(x, float) and math.isinf(x):
        return "∞"
    return f"{x:.4g}"


def calibration_markdown(calibration: Calibration, index: dict[str, Any], generations: pd.DataFrame,
                         summary: pd.DataFrame, check: pd.DataFrame) -> str:
    """The text of ``calibration.md``."""
    last = generations.iloc[-1]
    wall = float(generations["wall_seconds"].sum())
    lines = [
        f"# Calibration `{calibration.name}`", "",
        calibration.description, "",
        f"ABC-SMC (pyabc) over {len(calibration.parameters)} parameters against {len(calibration.targets)} "
        f"targets; population {calibration.population_size}, seed {calibration.seed}, ecosim "
        f"{index.get('ecosim_version')}.", "",
        f"- Budget: {calibration.simulations:,} simulations, at most {calibration.populations} generations; "
        f"used {int(generations['simulations'].sum()):,} simulations in {len(generations)} generations.",
        f"- Stopped: {index.get('stopped_because')}.",
        f"- Wall time of the generations: {wall / 60:.1f} min.",
        f"- Last generation: ε = {_fmt(float(last['epsilon']))}, acceptance {last['acceptance_rate']:.1%}, "
        f"effective sample size {last['ess']:.0f} of {int(last['accepted'])}.", "",
        "## Parameters", "",
        f"A parameter is *pinned down* by the targets when its 90% credible interval is narrower than "
        f"{IDENTIFIED_SHARE:.0%} of its prior range; otherwise its posterior is close to its prior and "
        "policy answers should be read over its whole range.", "",
    ]
    has_known = "known" in summary
    header = "| parameter | prior | posterior mean | 90% interval | interval ÷ prior | pinned down |"
    rule = "|---|---|---|---|---|---|"
    if has_known:
        header += " known value | inside 90% |"
        rule += "---|---|"
    lines += [header, rule]
    for r in summary.itertuples():
        line = (f"| `{r.parameter}` | [{_fmt(r.prior_low)}, {_fmt(r.prior_high)}] | {_fmt(r.mean)} | "
                f"[{_fmt(r.q05)}, {_fmt(r.q95)}] | {r.width_share:.0%} | {'yes' if r.identified else 'no'} |")
        if has_known:
            line += f" {_fmt(r.known)} | {'yes' if r.known_inside else 'no'} |"
        lines.append(line)
    identified = [r.parameter for r in summary.itertuples() if r.identified]
    rest = [r.parameter for r in summary.itertuples() if not r.identified]
    lines += ["", f"Pinned down: {', '.join(f'`{p}`' for p in identified) or 'none'}.",
              f"Not pinned down: {', '.join(f'`{p}`' for p in rest) or 'none'}.", "",
              "## Posterior-predictive check", "",
              f"{int(check['runs'].iloc[0]) if len(check) else 0} fresh simulations, each at one posterior draw "
              "(drawn by weight) with its own seed.", "",
              "| target | range | predicted mean | 5–95% | share inside | mean inside |", "|---|---|---|---|---|---|"]
    for r in check.itertuples():
        lines.append(f"| {r.target} | [{_fmt(r.low)}, {_fmt(r.high)}] | {_fmt(r.mean)} | "
                     f"[{_fmt(r.q05)}, {_fmt(r.q95)}] | {r.share_inside:.0%} | {'yes' if r.mean_inside else 'NO'} |")
    lines += ["", "Files: `posterior.parquet`, `generations.csv`, `predictive.csv`, `predictive_runs.csv`, "
              "`posterior_marginals.png`, `posterior_pairs.png`, `predictive.png`, `abc.db` (pyabc's history).", ""]
    return "\n".join(lines)


def write_report(out: Path, calibration: Calibration, handle) -> dict[str, Any]:
    """Run the predictive check on ``handle``'s executor and write its table, the figures and calibration.md."""
    import json

    from ecosim.store import _atomic_write

    out = Path(out)
    index = json.loads((out / "calibration.json").read_text())
    posterior = pd.read_parquet(out / "posterior.parquet")
    generations = pd.read_csv(out / "generations.csv")
    known = calibration.targets_from["parameters"] if calibration.targets_from else None
    summary = posterior_summary(posterior, calibration.parameters, known)
    runs = predictive_runs(calibration, posterior, handle)
    check = predictive_check(runs, calibration.targets)

    def csv(name: str, frame: pd.DataFrame) -> None:
        _atomic_write(out / name, lambda f: f.write(frame.to_csv(index=False).encode()))

    csv("predictive_runs.csv", runs)
    csv("predictive.csv", check)
    csv("posterior_summary.csv", summary)
    for name, fig in (("posterior_marginals.png", marginals_plot(posterior, calibration.parameters, known)),
                      ("posterior_pairs.png", pairs_plot(posterior, calibration.parameters)),
                      ("predictive.png", predictive_plot(check))):
        _atomic_write(out / name, lambda f, fig=fig: fig.savefig(f, format="png", dpi=110))
    text = calibration_markdown(calibration, index, generations, summary, check)
    _atomic_write(out / "calibration.md", lambda f: f.write(text.encode()))
    return {"summary": summary, "predictive": check}
