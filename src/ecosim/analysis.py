"""Statistics on sweep results: summaries, paired comparisons, decompositions, sensitivity.

Every function takes the tidy tables that :mod:`ecosim.store` loads (pandas DataFrames) and
returns a tidy DataFrame, so notebooks, the ``ecosim compare`` and ``ecosim report`` commands
use the same numbers. Nothing here imports Mesa or touches files.

The unit of analysis is a *condition*: one scenario, or one design point of a scenario when a
scenario has several (labelled ``"scenario[point]"``). Replications of a condition are
independent runs; the same replication index has the same seed in every condition (common
random numbers), so two conditions are compared pair by pair whenever their seeds match.

Randomness (bootstrap resampling) comes from a ``seed`` argument turned into a generator per
table cell, so every number is reproducible and does not depend on which other metrics were
asked for.

Examples
--------
>>> import pandas as pd
>>> runs = pd.DataFrame({
...     "scenario": ["baseline"] * 3 + ["poc_fund"] * 3, "point": 0,
...     "replication": [0, 1, 2] * 2, "seed": [11, 12, 13] * 2, "status": "ok",
...     "deals": [10.0, 12.0, 11.0, 14.0, 15.0, 15.5]})
>>> table = compare(runs, baseline="baseline", metrics=["deals"])
>>> row = table.iloc[0]
>>> row["condition"], row["metric"], round(float(row["difference"]), 3), bool(row["paired"]), row["verdict"]
('poc_fund', 'deals', 3.833, True, 'better')
"""

from __future__ import annotations

import contextlib
import difflib
import math
import warnings
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ecosim.scenario import CAUSES, GATES, OWNER_TYPES

# --------------------------------------------------------------------------------------------
# What the metrics mean: direction, tails, units
# --------------------------------------------------------------------------------------------

HIGHER_IS_BETTER = 1
LOWER_IS_BETTER = -1
NEUTRAL = 0

_LOWER_IS_BETTER_PREFIXES = ("fail_", "failed", "shelved", "time_to_", "failed_attempts_", "appraisal_error_")
_LOWER_IS_BETTER = {"public_spending", "public_money_allocated", "publications_forgone", "researchers_per_manager"}
_NEUTRAL = {
    "technologies", "in_research", "in_pipeline", "top10_value_share", "mean_orientation",
    "network_density", "manager_betweenness", "cross_region_tie_share", "at_G1", "at_G2", "at_G3",
    "at_G4", "trl3_share_at_disclosure", "trl4_share_at_disclosure", "fair_selection_rate",
    "joint_share_of_disclosures", "university_share_of_disclosures", "enterprise_rd_share",
    "poc_funded", "international_deal_share",
}


def metric_direction(metric: str, directions: Mapping[str, int] | None = None) -> int:
    """Which way is "better" for a metric: +1 higher is better, −1 lower is better, 0 neither.

    Failures, shelved technologies, times to transfer or market, publications forgone and
    public money spent are better lower; stocks and descriptive shares (network density, value
    concentration, technologies in the pipeline) have no better direction; every other metric
    (deals, conversions, welfare, income, ...) is better higher.

    Parameters
    ----------
    metric : a metric name (summary key)
    directions : overrides, metric name -> +1, −1 or 0

    Returns
    -------
    int
        +1, −1 or 0.

    Examples
    --------
    >>> metric_direction("deals"), metric_direction("fail_G2_funding"), metric_direction("network_density")
    (1, -1, 0)
    >>> metric_direction("public_spending", {"public_spending": 0})
    0
    """
    if directions and metric in directions:
        value = int(directions[metric])
        if value not in (HIGHER_IS_BETTER, LOWER_IS_BETTER, NEUTRAL):
            raise ValueError(f"direction of {metric!r} must be +1, -1 or 0, got {value}")
        return value
    if metric in _LOWER_IS_BETTER or metric.startswith(_LOWER_IS_BETTER_PREFIXES):
        return LOWER_IS_BETTER
    if metric in _NEUTRAL:
        return NEUTRAL
    return HIGHER_IS_BETTER


HEAVY_TAILED_METRICS = frozenset(
    {"welfare", "licensing_income", "welfare_per_public_yuan", "commercialisations", "at_market"}
)
"""Metrics whose run-to-run distribution is heavy-tailed (value is log-normal, FACTS F7): their
mean intervals are bootstrapped (studentized), their paired test is Wilcoxon's signed-rank test and
their summaries lead with the median."""


def is_heavy_tailed(metric: str, heavy_tailed: Iterable[str] | None = None) -> bool:
    """Whether ``metric`` is treated as heavy-tailed (``heavy_tailed`` replaces the default set)."""
    return metric in (HEAVY_TAILED_METRICS if heavy_tailed is None else set(heavy_tailed))


GATE_NAMES = {
    "G1": "G1 proof of concept",
    "G2": "G2 validation (valley of death)",
    "G3": "G3 pilot and scale-up",
    "G4": "G4 market entry",
}
"""Readable gate names for tables and figures."""

_LABELS = {
    "disclosures": "Invention disclosures",
    "publications": "Publications",
    "deals": "Deals (technologies converted)",
    "commercialisations": "Technologies reaching market",
    "shelved": "Technologies shelved",
    "failed": "Technologies failed at a gate",
    "welfare": "Welfare from products on the market",
    "licensing_income": "Licensing income",
    "public_spending": "Public money spent",
    "public_money_allocated": "Public money allocated",
    "welfare_per_public_yuan": "Welfare per yuan of public money",
    "network_density": "Network density",
    "manager_betweenness": "Technology managers' betweenness",
    "triple_helix_synergy": "Triple-helix synergy",
    "top10_value_share": "Share of value in the top 10% of technologies",
    "licences_per_disclosure": "Licences per academic disclosure",
    "startups_per_disclosure": "Start-ups per academic disclosure",
    "enterprise_rd_share": "Enterprises' share of R&D spending",
    "medicine_g1_to_market": "Medicine: share entering G1 that reach market",
    "international_deal_share": "Share of deals across regions",
    "publications_forgone": "Publications forgone",
    "time_to_transfer_median": "Median time to transfer",
    "time_to_transfer_p90": "90th percentile of time to transfer",
    "time_to_market_median": "Median time to market",
    "time_to_market_p90": "90th percentile of time to market",
    "poc_cohort_conversion": "Conversion of PoC-funded technologies",
    "researchers_per_manager": "Researchers per technology manager",
}


def metric_label(metric: str) -> str:
    """A readable name for a metric, e.g. ``"Failures at G2 validation (valley of death): funding"``.

    Examples
    --------
    >>> metric_label("conversion_joint")
    'Conversion rate of joint (university–enterprise) technologies'
    >>> metric_label("deals_spin_off")
    'Deals by spin-off'
    """
    if metric in _LABELS:
        return _LABELS[metric]
    parts = metric.split("_")
    if metric.startswith("fail_") and len(parts) == 3 and parts[1] in GATE_NAMES:
        return f"Failures at {GATE_NAMES[parts[1]]}: {parts[2]}"
    owners = {"university": "university", "joint": "joint (university–enterprise)", "enterprise": "enterprise"}
    for prefix, text in (
        ("cohort_conversion_", "5-year cohort conversion rate of {} technologies"),
        ("conversion_", "Conversion rate of {} technologies"),
        ("disclosures_", "Disclosures owned by {}"),
    ):
        if metric.startswith(prefix) and metric[len(prefix):] in owners:
            return text.format(owners[metric[len(prefix):]])
    if metric.startswith("deals_"):
        return "Deals by " + metric[len("deals_"):].replace("_", " ").replace("spin off", "spin-off")
    if metric.startswith("at_") and metric[3:] in GATE_NAMES:
        return f"Technologies waiting at {GATE_NAMES[metric[3:]]}"
    if metric.startswith("failed_attempts_"):
        return "Failed gate attempts: " + metric[len("failed_attempts_"):]
    return metric.replace("_", " ").capitalize()


def metric_unit(metric: str) -> str:
    """The unit of a per-run metric (money in M¥, time in quarters, counts per run, shares 0–1).

    Examples
    --------
    >>> metric_unit("welfare"), metric_unit("deals"), metric_unit("conversion_joint")
    ('M¥', 'technologies per run', 'share, 0–1')
    """
    if metric in {"welfare", "licensing_income", "public_spending", "public_money_allocated"}:
        return "M¥"
    if metric == "welfare_per_public_yuan":
        return "M¥ welfare per M¥ public money"
    if metric.startswith("time_to_"):
        return "quarters"
    if metric in {"publications", "publications_forgone"}:
        return "publications per run"
    if metric == "researchers_per_manager":
        return "researchers"
    if metric in {"network_density", "manager_betweenness", "triple_helix_synergy", "mean_orientation",
                  "mean_manager_skill"}:
        return "index, 0–1"
    if (
        "conversion" in metric
        or metric.endswith(("_share", "_rate", "_per_disclosure", "_to_market"))
        or "_share_" in metric
    ):
        return "share, 0–1"
    if metric.startswith(("appraisal_error_",)):
        return "mean |log error|"
    if metric.startswith("failed_attempts_"):
        return "gate attempts per run"
    return "technologies per run"


def metric_axis_label(metric: str) -> str:
    """``"label (unit)"`` for an axis."""
    return f"{metric_label(metric)} ({metric_unit(metric)})"


# --------------------------------------------------------------------------------------------
# Tables in
# --------------------------------------------------------------------------------------------

ID_COLUMNS = ("run_id", "scenario", "point", "replication", "seed", "status", "condition")
"""Columns of the runs table that identify a run rather than measure it."""

_BOOKKEEPING = {"elapsed_seconds", "duration_seconds", "wall_seconds", "duration_s", "steps", "attempt",
                "worker", "pid", "started", "finished", "error", "version"}


def metric_columns(runs: pd.DataFrame) -> list[str]:
    """The metric columns of a runs (or steps) table: numeric, not identifiers, not parameters.

    Varied parameters are stored under their dotted key (``"policy.poc.grant_size"``), so any
    column with a dot is a parameter.
    """
    skip = set(ID_COLUMNS) | _BOOKKEEPING | {"step", "year", "quarter"}
    return [
        c for c in runs.columns
        if c not in skip and "." not in str(c) and pd.api.types.is_numeric_dtype(runs[c])
        and not pd.api.types.is_bool_dtype(runs[c])
    ]


def parameter_columns(runs: pd.DataFrame) -> list[str]:
    """The varied-parameter columns (dotted keys) of a runs table."""
    return [c for c in runs.columns if "." in str(c)]


def ok_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that finished (``status == "ok"``), with a ``condition`` column added."""
    table = runs if "status" not in runs.columns else runs[runs["status"] == "ok"]
    return with_conditions(table)


def with_conditions(table: pd.DataFrame) -> pd.DataFrame:
    """Add a ``condition`` column: the scenario name, or ``"scenario[point]"`` when a scenario
    has several design points. A table that already has one is returned as is."""
    if "condition" in table.columns:
        return table
    table = table.copy()
    if "point" not in table.columns:
        table["condition"] = table["scenario"].astype(str)
        return table
    points = table.groupby("scenario", sort=False)["point"].nunique()
    several = table["scenario"].map(points) > 1
    table["condition"] = np.where(
        several,
        table["scenario"].astype(str) + "[" + table["point"].astype(str) + "]",
        table["scenario"].astype(str),
    )
    return table


def conditions(table: pd.DataFrame) -> list[str]:
    """Condition labels in the order they first appear."""
    return list(dict.fromkeys(with_conditions(table)["condition"]))


def nearest_names(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The known names closest to a misspelt one (for error messages)."""
    return difflib.get_close_matches(name, list(known), n=n, cutoff=0.5)


# --------------------------------------------------------------------------------------------
# Intervals
# --------------------------------------------------------------------------------------------

def _rng(seed: int | np.random.SeedSequence | None, *names: str) -> np.random.Generator:
    """A generator for one table cell, derived from the root seed and the cell's names."""
    if isinstance(seed, np.random.SeedSequence):
        root = seed.entropy
    else:
        root = 0 if seed is None else int(seed)
    keys = [zlib.crc32(n.encode()) for n in names]
    return np.random.default_rng(np.random.SeedSequence([root, *keys]))


def _finite(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[np.isfinite(array)]


def t_interval(values: Any, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval for the mean of ``values`` (NaNs dropped).

    Returns ``(nan, nan)`` with fewer than two values; a zero-width interval when all values
    are equal.

    Examples
    --------
    >>> low, high = t_interval([1.0, 2.0, 3.0])
    >>> round(low, 3), round(high, 3)
    (-0.484, 4.484)
    """
    x = _finite(values)
    if x.size < 2:
        return (math.nan, math.nan)
    mean = float(x.mean())
    sd = float(x.std(ddof=1))
    if sd == 0.0:
        return (mean, mean)
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1)) * sd / math.sqrt(x.size)
    return (mean - half, mean + half)


def median_interval(values: Any, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval for the median from order statistics.

    The interval ``[x_(j), x_(k)]`` with ranks from the Binomial(n, 1/2) distribution covers the
    true median with probability at least ``confidence`` for any continuous distribution (for
    small n the exact level is higher; with n < 6 no 95% interval exists and the sample range is
    returned, whose level is 1 − 2^(1−n)).

    Examples
    --------
    >>> median_interval(range(1, 21))
    (6.0, 15.0)
    """
    x = np.sort(_finite(values))
    n = x.size
    if n < 2:
        return (math.nan, math.nan)
    alpha = 1 - confidence
    # largest j with P(Bin(n, 1/2) < j) <= alpha/2  (1-based rank of the lower bound)
    j = int(stats.binom.ppf(alpha / 2, n, 0.5))
    if stats.binom.cdf(j - 1, n, 0.5) > alpha / 2:
        j -= 1
    j = max(j, 1)
    k = n - j + 1
    return (float(x[j - 1]), float(x[k - 1]))


def studentized_bootstrap_interval(
    values: Any,
    other: Any | None = None,
    confidence: float = 0.95,
    rng: np.random.Generator | int | None = 0,
    n_resamples: int = 2000,
) -> tuple[float, float]:
    """Bootstrap-t interval for a mean, or for a difference of two means (``other − values``).

    The studentized bootstrap resamples ``t* = (θ* − θ̂) / se*`` and inverts its quantiles. For
    skewed, heavy-tailed data (log-normal welfare) it covers the true mean far more often than
    the t interval or the BCa percentile bootstrap at the replication counts of a sweep (see
    ``docs/ANALYSIS.md`` for measured coverage). NaNs must already be removed.

    Examples
    --------
    >>> low, high = studentized_bootstrap_interval([1.0, 2.0, 4.0, 8.0, 16.0], rng=1)
    >>> bool(low < 6.2 < high)
    True
    """
    x = np.asarray(values, dtype=float)
    y = None if other is None else np.asarray(other, dtype=float)
    if x.size < 2 or (y is not None and y.size < 2):
        return (math.nan, math.nan)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)

    def estimate(samples: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        means = [s.mean(axis=-1) for s in samples]
        variances = [s.var(axis=-1, ddof=1) / s.shape[-1] for s in samples]
        theta = means[0] if len(samples) == 1 else means[1] - means[0]
        return theta, np.sqrt(sum(variances))

    samples = [x] if y is None else [x, y]
    theta, se = (float(v) for v in estimate(samples))
    if se == 0.0:
        return (theta, theta)
    resampled = [s[generator.integers(0, s.size, size=(n_resamples, s.size))] for s in samples]
    theta_star, se_star = estimate(resampled)
    usable = se_star > 0
    t_star = (theta_star[usable] - theta) / se_star[usable]
    lower_t, upper_t = np.quantile(t_star, [(1 - confidence) / 2, (1 + confidence) / 2])
    return (theta - float(upper_t) * se, theta - float(lower_t) * se)


def mean_interval(
    values: Any, confidence: float = 0.95, heavy_tailed: bool = False, rng: np.random.Generator | int | None = 0
) -> tuple[float, float, str]:
    """Confidence interval for a mean: t-based, or studentized bootstrap for heavy-tailed metrics.

    Returns ``(low, high, method)`` with method ``"t"`` or ``"bootstrap-t"``.
    """
    x = _finite(values)
    if heavy_tailed:
        low, high = studentized_bootstrap_interval(x, confidence=confidence, rng=rng)
        return (low, high, "bootstrap-t")
    low, high = t_interval(x, confidence)
    return (low, high, "t")


# --------------------------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------------------------

def summarise(
    runs: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
    quantiles: Sequence[float] = (0.05, 0.25, 0.75, 0.95),
    seed: int = 0,
    heavy_tailed: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Per condition and metric: n, mean with its interval, sd, median with its interval, quantiles.

    Parameters
    ----------
    runs : the runs table (:func:`ecosim.store.load_runs`); failed runs are left out
    metrics : metric columns (default: all)
    confidence : interval level
    quantiles : quantiles to report, as columns ``q05``, ``q25``, ...
    seed : bootstrap seed
    heavy_tailed : metrics treated as heavy-tailed (default :data:`HEAVY_TAILED_METRICS`)

    Returns
    -------
    DataFrame
        condition, metric, n, mean, mean_low, mean_high, mean_ci_method, sd, median,
        median_low, median_high, q.. columns, heavy_tailed. NaN values of a metric (undefined
        in a run, e.g. a time to market when nothing reached market) are left out of its n.
    """
    table = ok_runs(runs)
    metrics = list(metrics) if metrics is not None else metric_columns(table)
    rows = []
    for condition, group in table.groupby("condition", sort=False):
        for metric in metrics:
            x = _finite(group[metric])
            heavy = is_heavy_tailed(metric, heavy_tailed)
            row: dict[str, Any] = {"condition": condition, "metric": metric, "n": int(x.size)}
            if x.size:
                low, high, method = mean_interval(x, confidence, heavy, _rng(seed, str(condition), metric))
                mlow, mhigh = median_interval(x, confidence)
                row.update(
                    mean=float(x.mean()), mean_low=low, mean_high=high, mean_ci_method=method,
                    sd=float(x.std(ddof=1)) if x.size > 1 else math.nan,
                    median=float(np.median(x)), median_low=mlow, median_high=mhigh,
                )
                for q in quantiles:
                    row[f"q{round(q * 100):02d}"] = float(np.quantile(x, q))
            row["heavy_tailed"] = heavy
            rows.append(row)
    columns = ["condition", "metric", "n", "mean", "mean_low", "mean_high", "mean_ci_method", "sd", "median",
               "median_low", "median_high", *[f"q{round(q * 100):02d}" for q in quantiles], "heavy_tailed"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------
# Paired comparisons
# --------------------------------------------------------------------------------------------

def adjust_pvalues(p_values: Any, method: str = "holm") -> np.ndarray:
    """Adjust p-values for multiple comparisons; NaNs stay NaN and are not counted.

    ``"holm"`` (Holm–Bonferroni) controls the family-wise error rate; ``"bh"``
    (Benjamini–Hochberg) the false discovery rate; ``"none"`` leaves them.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03, float("nan")]).round(3).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.isfinite(p)
    q = p[valid]
    if q.size == 0:
        return out
    if method == "none":
        out[valid] = q
    elif method == "bh":
        out[valid] = stats.false_discovery_control(q, method="bh")
    elif method == "holm":
        m = q.size
        order = np.argsort(q, kind="stable")
        stepped = np.maximum.accumulate((m - np.arange(m)) * q[order])
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(stepped, 1.0)
        out[valid] = adjusted
    else:
        raise ValueError(f"unknown correction {method!r}; use 'holm', 'bh' or 'none'")
    return out


def _pairing(base: pd.DataFrame, other: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, bool]:
    """Row positions that pair two conditions' runs by replication, and whether they are paired.

    Runs pair when both conditions have at least two common replication indices and every
    common replication has the same seed in both (common random numbers). Otherwise every run
    of each side is used, unpaired.
    """
    if {"replication", "seed"} <= set(base.columns) and len(base) and len(other):
        rb = pd.Index(base["replication"].to_numpy())
        ro = pd.Index(other["replication"].to_numpy())
        if rb.is_unique and ro.is_unique:
            common = rb.intersection(ro)
            ib, io = rb.get_indexer(common), ro.get_indexer(common)
            seeds_match = np.array_equal(base["seed"].to_numpy()[ib], other["seed"].to_numpy()[io])
            if len(common) >= 2 and seeds_match:
                return (ib, io, True)
    return (np.arange(len(base)), np.arange(len(other)), False)


def _paired_values(
    base: pd.DataFrame, other: pd.DataFrame, columns: Sequence[str], pairing: tuple[np.ndarray, np.ndarray, bool]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Values of ``columns`` on each side, NaN rows dropped (jointly for paired data)."""
    ib, io, paired = pairing
    b = [base[c].to_numpy(float)[ib] for c in columns]
    s = [other[c].to_numpy(float)[io] for c in columns]
    if paired:
        keep = np.logical_and.reduce([np.isfinite(a) for a in (*b, *s)])
        return ([a[keep] for a in b], [a[keep] for a in s])
    keep_b = np.logical_and.reduce([np.isfinite(a) for a in b])
    keep_s = np.logical_and.reduce([np.isfinite(a) for a in s])
    return ([a[keep_b] for a in b], [a[keep_s] for a in s])


def _ratio_interval(
    b: np.ndarray, s: np.ndarray, paired: bool, confidence: float, rng: np.random.Generator, n_resamples: int = 2000
) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(s) / mean(b), resampling pairs together if paired."""
    if np.ptp(b) == 0 and np.ptp(s) == 0:
        ratio = float(s.mean() / b.mean())
        return (ratio, ratio)
    idx_b = rng.integers(0, b.size, size=(n_resamples, b.size))
    idx_s = idx_b if paired else rng.integers(0, s.size, size=(n_resamples, s.size))
    mean_b = b[idx_b].mean(axis=1)
    mean_s = s[idx_s].mean(axis=1)
    usable = mean_b != 0
    ratios = mean_s[usable] / mean_b[usable]
    if ratios.size < n_resamples / 2:
        return (math.nan, math.nan)
    low, high = np.quantile(ratios, [(1 - confidence) / 2, (1 + confidence) / 2])
    return (float(low), float(high))


def compare_pair(
    baseline_values: Any,
    scenario_values: Any,
    paired: bool,
    confidence: float = 0.95,
    heavy_tailed: bool = False,
    rng: np.random.Generator | int | None = 0,
    n_resamples: int = 2000,
) -> dict[str, Any]:
    """Compare one metric between a baseline and a scenario.

    Paired data (common random numbers: same seeds, same order) use the paired t-test and a
    t interval for the mean difference, or for heavy-tailed metrics Wilcoxon's signed-rank test
    and a studentized bootstrap interval. Unpaired data use Welch's t-test and interval, or the
    Mann–Whitney U test and a studentized bootstrap interval.

    Returns
    -------
    dict
        n_baseline, n_scenario, baseline_mean, scenario_mean, difference, difference_low,
        difference_high, ratio, ratio_low, ratio_high, p_value, test, effect_size, effect_size_kind.
        The ratio is scenario mean / baseline mean with a bootstrap interval (NaN when the
        baseline mean is 0). The effect size is Cohen's d_z (paired: mean difference over the
        standard deviation of the differences) or Hedges' g (unpaired).
    """
    b = np.asarray(baseline_values, dtype=float)
    s = np.asarray(scenario_values, dtype=float)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    out: dict[str, Any] = {
        "n_baseline": int(b.size), "n_scenario": int(s.size),
        "baseline_mean": float(b.mean()) if b.size else math.nan,
        "scenario_mean": float(s.mean()) if s.size else math.nan,
    }
    out["difference"] = out["scenario_mean"] - out["baseline_mean"]
    nan_fields = dict(difference_low=math.nan, difference_high=math.nan, ratio=math.nan, ratio_low=math.nan,
                      ratio_high=math.nan, p_value=math.nan, effect_size=math.nan)
    out["test"] = ("wilcoxon" if heavy_tailed else "paired t") if paired else ("mann-whitney" if heavy_tailed else "welch t")
    out["effect_size_kind"] = "d_z" if paired else "hedges_g"
    if b.size < 2 or s.size < 2:
        out.update(nan_fields)
        return out
    if out["baseline_mean"] != 0:
        out["ratio"] = out["scenario_mean"] / out["baseline_mean"]
        out["ratio_low"], out["ratio_high"] = _ratio_interval(b, s, paired, confidence, generator, n_resamples)
    else:
        out.update(ratio=math.nan, ratio_low=math.nan, ratio_high=math.nan)

    if paired:
        d = s - b
        sd = float(d.std(ddof=1))
        if sd == 0.0:
            # a deterministic difference: no sampling uncertainty at all
            out.update(difference_low=out["difference"], difference_high=out["difference"],
                       p_value=1.0 if out["difference"] == 0 else 0.0,
                       effect_size=0.0 if out["difference"] == 0 else math.copysign(math.inf, out["difference"]))
            return out
        out["effect_size"] = float(d.mean()) / sd
        if heavy_tailed:
            out["difference_low"], out["difference_high"] = _robust_interval(
                studentized_bootstrap_interval(d, confidence=confidence, rng=generator, n_resamples=n_resamples),
                out["difference"], t_interval(d, confidence))
            out["p_value"] = float(stats.wilcoxon(d).pvalue) if np.any(d != 0) else 1.0
        else:
            out["difference_low"], out["difference_high"] = t_interval(d, confidence)
            with _near_constant_data_is_fine():
                out["p_value"] = float(stats.ttest_rel(s, b).pvalue)
        return out

    vb, vs = float(b.var(ddof=1)), float(s.var(ddof=1))
    pooled = math.sqrt(((b.size - 1) * vb + (s.size - 1) * vs) / (b.size + s.size - 2))
    if pooled == 0.0:
        out.update(difference_low=out["difference"], difference_high=out["difference"],
                   p_value=1.0 if out["difference"] == 0 else 0.0,
                   effect_size=0.0 if out["difference"] == 0 else math.copysign(math.inf, out["difference"]))
        return out
    correction = 1 - 3 / (4 * (b.size + s.size) - 9)
    out["effect_size"] = out["difference"] / pooled * correction
    se = math.sqrt(vb / b.size + vs / s.size)
    welch_df = se**4 / ((vb / b.size) ** 2 / (b.size - 1) + (vs / s.size) ** 2 / (s.size - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, welch_df)) * se
    welch = (out["difference"] - half, out["difference"] + half)
    if heavy_tailed:
        out["difference_low"], out["difference_high"] = _robust_interval(
            studentized_bootstrap_interval(b, s, confidence=confidence, rng=generator, n_resamples=n_resamples),
            out["difference"], welch)
        out["p_value"] = float(stats.mannwhitneyu(s, b).pvalue)
    else:
        out["difference_low"], out["difference_high"] = welch
        with _near_constant_data_is_fine():
            out["p_value"] = float(stats.ttest_ind(s, b, equal_var=False).pvalue)
    return out


def _robust_interval(
    bootstrap: tuple[float, float], estimate: float, fallback: tuple[float, float]
) -> tuple[float, float]:
    """The bootstrap-t interval, unless a tiny, lumpy sample made it degenerate (not containing
    the estimate, or NaN): then the t interval."""
    low, high = bootstrap
    if math.isfinite(low) and math.isfinite(high) and low < estimate < high:
        return bootstrap
    return fallback


@contextlib.contextmanager
def _near_constant_data_is_fine() -> Iterator[None]:
    """Silence scipy's precision-loss warning for nearly constant samples: exactly constant
    ones are handled before the test, and for the rest the statistic is still right."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Precision loss occurred", category=RuntimeWarning)
        yield


VERDICTS = ("better", "worse", "higher", "lower", "no detectable difference", "not enough data")
"""Possible verdicts: better/worse for metrics with a direction, higher/lower for neutral ones."""


def verdict(difference: float, p_adjusted: float, direction: int, alpha: float = 0.05) -> str:
    """The word for one comparison: "better", "worse" (or "higher"/"lower" for metrics without a
    better direction), "no detectable difference", or "not enough data".

    Examples
    --------
    >>> verdict(2.0, 0.001, +1), verdict(2.0, 0.001, -1), verdict(2.0, 0.2, +1), verdict(-1.0, 0.01, 0)
    ('better', 'worse', 'no detectable difference', 'lower')
    """
    if not math.isfinite(p_adjusted) or not math.isfinite(difference):
        return "not enough data"
    if p_adjusted >= alpha or difference == 0:
        return "no detectable difference"
    sign = 1 if difference > 0 else -1
    if direction == NEUTRAL:
        return "higher" if sign > 0 else "lower"
    return "better" if sign * direction > 0 else "worse"


DEFAULT_COMPARE_METRICS = (
    "deals", "commercialisations", "conversion_university", "conversion_joint", "conversion_enterprise",
    "licences_per_disclosure", "startups_per_disclosure", "welfare", "public_spending",
    "welfare_per_public_yuan", "failed", "shelved", "publications", "time_to_transfer_median",
)
"""Metrics that ``ecosim compare`` shows when none are named (those present in the results)."""


def default_metrics(runs: pd.DataFrame) -> list[str]:
    """The headline metrics present in ``runs`` (all metrics if none of the headline ones are)."""
    present = set(metric_columns(runs))
    chosen = [m for m in DEFAULT_COMPARE_METRICS if m in present]
    return chosen or metric_columns(runs)


def default_baseline(runs: pd.DataFrame) -> str:
    """The condition called ``baseline`` if there is one, else the first condition."""
    names = conditions(ok_runs(runs))
    if not names:
        raise ValueError("no finished runs")
    return "baseline" if "baseline" in names else names[0]


def compare(
    runs: pd.DataFrame,
    baseline: str | None = None,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
    alpha: float = 0.05,
    correction: str = "holm",
    seed: int = 0,
    directions: Mapping[str, int] | None = None,
    heavy_tailed: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Compare every condition with a baseline on every metric.

    Pairs replications by seed (common random numbers) when the seeds match, otherwise falls
    back to unpaired tests and says so in the ``paired`` and ``test`` columns. p-values are
    adjusted across all conditions × metrics of the table (``correction``: ``"holm"`` controls
    the chance of any false "better"/"worse" at ``alpha``; ``"bh"`` the false discovery rate).

    Parameters
    ----------
    runs : runs table; failed runs are left out
    baseline : baseline condition (default: :func:`default_baseline`)
    metrics : metrics to compare (default: :func:`default_metrics`)
    confidence : interval level (intervals are not adjusted for multiplicity)
    alpha : significance level for the verdict, applied to adjusted p-values
    correction : ``"holm"``, ``"bh"`` or ``"none"``
    seed : bootstrap seed
    directions : overrides of :func:`metric_direction`
    heavy_tailed : metrics treated as heavy-tailed (default :data:`HEAVY_TAILED_METRICS`)

    Returns
    -------
    DataFrame
        One row per condition × metric: condition, baseline, metric, n, paired, baseline_mean,
        scenario_mean, difference, difference_low, difference_high, relative_change (%),
        relative_low, relative_high, ratio, ratio_low, ratio_high, test, p_value, p_adjusted,
        effect_size, effect_size_kind, direction, verdict.
    """
    table = ok_runs(runs)
    metrics = list(metrics) if metrics is not None else default_metrics(table)
    unknown = [m for m in metrics if m not in table.columns]
    if unknown:
        raise KeyError(f"unknown metrics {unknown}")
    rows = []
    for name, reference, values in _against_baseline(table, baseline):
        for metric in metrics:
            (b,), (s,), paired = values([metric])
            heavy = is_heavy_tailed(metric, heavy_tailed)
            result = compare_pair(b, s, paired, confidence, heavy, _rng(seed, name, metric))
            rows.append({"condition": name, "baseline": reference, "metric": metric,
                         "n": min(result["n_baseline"], result["n_scenario"]), "paired": paired, **result})
    columns = ["condition", "baseline", "metric", "n", "paired", "baseline_mean", "scenario_mean", "difference",
               "difference_low", "difference_high", "relative_change", "relative_low", "relative_high", "ratio",
               "ratio_low", "ratio_high", "test", "p_value", "p_adjusted", "effect_size", "effect_size_kind",
               "direction", "verdict"]
    if not rows:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(rows)
    frame["relative_change"] = 100 * (frame["ratio"] - 1)
    frame["relative_low"] = 100 * (frame["ratio_low"] - 1)
    frame["relative_high"] = 100 * (frame["ratio_high"] - 1)
    frame["p_adjusted"] = adjust_pvalues(frame["p_value"], correction)
    frame["direction"] = [metric_direction(m, directions) for m in frame["metric"]]
    frame["verdict"] = [
        verdict(d, p, direction, alpha)
        for d, p, direction in zip(frame["difference"], frame["p_adjusted"], frame["direction"], strict=True)
    ]
    return frame[columns]


# --------------------------------------------------------------------------------------------
# Where the difference comes from
# --------------------------------------------------------------------------------------------

FAILURE_COLUMNS = tuple(f"fail_{g}_{c}" for g in GATES for c in CAUSES)
"""The 12 failure counts, gate × cause."""


def failures_by_gate_cause(runs: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Mean failures per run by gate × cause for every condition, with t intervals.

    Returns
    -------
    DataFrame
        condition, gate, cause, n, mean, low, high, share (of the condition's failures).
    """
    table = ok_runs(runs)
    _require(table, FAILURE_COLUMNS, "failure decomposition")
    rows = []
    for condition, group in table.groupby("condition", sort=False):
        total = float(group[list(FAILURE_COLUMNS)].sum(axis=1).mean())
        for gate in GATES:
            for cause in CAUSES:
                x = _finite(group[f"fail_{gate}_{cause}"])
                low, high = t_interval(x, confidence)
                mean = float(x.mean()) if x.size else math.nan
                rows.append({"condition": condition, "gate": gate, "cause": cause, "n": int(x.size), "mean": mean,
                             "low": low, "high": high, "share": mean / total if total > 0 else math.nan})
    return pd.DataFrame(rows)


def failure_decomposition(
    runs: pd.DataFrame, baseline: str | None = None, confidence: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """The "valley of death" decomposition: change in failures by gate × cause against a baseline.

    For every condition other than the baseline and every gate × cause, the paired (or, with
    different seeds, unpaired) mean change in failures per run with its interval, and the
    share of the condition's total change in failures that this cell carries.

    Returns
    -------
    DataFrame
        condition, baseline, gate, cause, baseline_mean, scenario_mean, difference,
        difference_low, difference_high, share_of_change, paired.
    """
    table = ok_runs(runs)
    _require(table, FAILURE_COLUMNS, "failure decomposition")
    comparison = compare(table, baseline, list(FAILURE_COLUMNS), confidence, correction="none", seed=seed,
                         heavy_tailed=())
    if comparison.empty:
        return pd.DataFrame(columns=["condition", "baseline", "gate", "cause", "baseline_mean", "scenario_mean",
                                     "difference", "difference_low", "difference_high", "share_of_change", "paired"])
    parts = comparison["metric"].str.split("_", expand=True)
    comparison = comparison.assign(gate=parts[1], cause=parts[2])
    total = comparison.groupby("condition")["difference"].transform(lambda d: d.abs().sum())
    comparison["share_of_change"] = np.where(total > 0, comparison["difference"].abs() / total, np.nan)
    return comparison[["condition", "baseline", "gate", "cause", "baseline_mean", "scenario_mean", "difference",
                       "difference_low", "difference_high", "share_of_change", "paired"]].reset_index(drop=True)


def conversion_by_owner(runs: pd.DataFrame, confidence: float = 0.95, cohort: bool = False) -> pd.DataFrame:
    """Conversion rate by owner type (university, joint, enterprise) per condition, with t intervals
    (clipped to [0, 1]).

    Parameters
    ----------
    cohort : use the 5-year cohort rates (``cohort_conversion_*``) instead of all-time rates

    Returns
    -------
    DataFrame
        condition, owner, n, mean, low, high.
    """
    table = ok_runs(runs)
    prefix = "cohort_conversion_" if cohort else "conversion_"
    _require(table, [prefix + o for o in OWNER_TYPES], "conversion by owner type")
    rows = []
    for condition, group in table.groupby("condition", sort=False):
        for owner in OWNER_TYPES:
            x = _finite(group[prefix + owner])
            low, high = t_interval(x, confidence)
            # a rate lies in [0, 1]; clipping the interval to it never lowers coverage
            low, high = (max(low, 0.0), min(high, 1.0)) if math.isfinite(low) else (low, high)
            rows.append({"condition": condition, "owner": owner, "n": int(x.size),
                         "mean": float(x.mean()) if x.size else math.nan, "low": low, "high": high})
    return pd.DataFrame(rows)


FUNNEL_STAGES = ("disclosures", "deals", "commercialisations")
"""Stages of the conversion funnel: disclosed, converted (first transfer), reached market."""


def conversion_funnel(
    runs: pd.DataFrame, stages: Sequence[str] = FUNNEL_STAGES, confidence: float = 0.95
) -> pd.DataFrame:
    """Mean count per run at each funnel stage per condition, with intervals and the share of
    the first stage that reaches each stage.

    Returns
    -------
    DataFrame
        condition, stage, n, mean, low, high, share_of_first.
    """
    table = ok_runs(runs)
    _require(table, stages, "conversion funnel")
    rows = []
    for condition, group in table.groupby("condition", sort=False):
        disclosed = _finite(group[stages[0]])
        first = float(disclosed.mean()) if disclosed.size else math.nan
        for stage in stages:
            x = _finite(group[stage])
            low, high = t_interval(x, confidence)
            mean = float(x.mean()) if x.size else math.nan
            rows.append({"condition": condition, "stage": stage, "n": int(x.size), "mean": mean, "low": low,
                         "high": high, "share_of_first": mean / first if first > 0 else math.nan})
    return pd.DataFrame(rows)


def cost_effectiveness(
    runs: pd.DataFrame,
    baseline: str | None = None,
    outcomes: Sequence[str] = ("welfare", "deals", "commercialisations"),
    cost: str = "public_spending",
    confidence: float = 0.95,
    seed: int = 0,
    n_resamples: int = 2000,
) -> pd.DataFrame:
    """Extra outcome per extra unit of public money, each condition against the baseline.

    The incremental cost-effectiveness ratio ``Δoutcome / Δcost`` (difference of means), with a
    paired bootstrap interval (pairs of replications resampled together when seeds match). When
    the cost difference is not clearly away from zero the ratio is unstable: the interval is
    left NaN and ``note`` says so.

    Returns
    -------
    DataFrame
        condition, baseline, outcome, extra_outcome, extra_outcome_low, extra_outcome_high,
        extra_cost, extra_cost_low, extra_cost_high, per_unit_cost, per_unit_low,
        per_unit_high, paired, note. Money in M¥; per_unit_cost is outcome units per M¥.
    """
    table = ok_runs(runs)
    _require(table, [*outcomes, cost], "cost-effectiveness")
    rows = []
    for name, reference, values in _against_baseline(table, baseline):
        for outcome in outcomes:
            b, s, paired = values([outcome, cost])
            arrays = [*b, *s]
            rng = _rng(seed, name, outcome, "cost")
            row = _icer(arrays, paired, confidence, rng, n_resamples)
            rows.append({"condition": name, "baseline": reference, "outcome": outcome, **row, "paired": paired})
    return pd.DataFrame(rows)


def _against_baseline(table: pd.DataFrame, baseline: str | None):
    """For each condition but the baseline: (name, baseline, values), where ``values(columns)``
    returns the baseline's and the condition's arrays for those columns, matched replication by
    replication when their seeds pair up, and whether they do."""
    names = conditions(table)
    baseline = default_baseline(table) if baseline is None else baseline
    if baseline not in names:
        raise KeyError(f"unknown baseline {baseline!r}; conditions are {names}")
    groups = {name: group for name, group in table.groupby("condition", sort=False)}
    for name in names:
        if name == baseline:
            continue
        pairing = _pairing(groups[baseline], groups[name])

        def values(columns, name=name, pairing=pairing):
            b, s = _paired_values(groups[baseline], groups[name], columns, pairing)
            return b, s, pairing[2]

        yield name, baseline, values


def _icer(
    arrays: list[np.ndarray], paired: bool, confidence: float, rng: np.random.Generator, n_resamples: int
) -> dict[str, Any]:
    bo, bc, so, sc = arrays
    out: dict[str, Any] = {}
    if min(a.size for a in arrays) < 2:
        return {"extra_outcome": math.nan, "extra_outcome_low": math.nan, "extra_outcome_high": math.nan,
                "extra_cost": math.nan, "extra_cost_low": math.nan, "extra_cost_high": math.nan,
                "per_unit_cost": math.nan, "per_unit_low": math.nan, "per_unit_high": math.nan,
                "note": "fewer than 2 replications"}
    # resample replication indices once and compute all three statistics on the same resamples
    if paired:
        idx = rng.integers(0, bo.size, size=(n_resamples, bo.size))
        idx_b = idx_s = idx
    else:
        idx_b = rng.integers(0, bo.size, size=(n_resamples, bo.size))
        idx_s = rng.integers(0, so.size, size=(n_resamples, so.size))
    d_out = so[idx_s].mean(axis=1) - bo[idx_b].mean(axis=1)
    d_cost = sc[idx_s].mean(axis=1) - bc[idx_b].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    extra_outcome = float(so.mean() - bo.mean())
    extra_cost = float(sc.mean() - bc.mean())
    out["extra_outcome"] = extra_outcome
    out["extra_outcome_low"], out["extra_outcome_high"] = (float(v) for v in np.percentile(d_out, [tail, 100 - tail]))
    out["extra_cost"] = extra_cost
    out["extra_cost_low"], out["extra_cost_high"] = (float(v) for v in np.percentile(d_cost, [tail, 100 - tail]))
    cost_clear = out["extra_cost_low"] > 0 or out["extra_cost_high"] < 0
    out["per_unit_cost"] = extra_outcome / extra_cost if extra_cost != 0 else math.nan
    if cost_clear:
        # the cost interval excludes 0, so resamples with no cost difference at all are rare;
        # they have no ratio and are left out
        usable = d_cost != 0
        ratio = d_out[usable] / d_cost[usable]
        out["per_unit_low"], out["per_unit_high"] = (float(v) for v in np.percentile(ratio, [tail, 100 - tail]))
        out["note"] = "" if extra_cost > 0 else "saves public money"
    else:
        out["per_unit_low"] = out["per_unit_high"] = math.nan
        out["note"] = "public spending not clearly different from baseline; ratio unstable"
    return out


def _require(table: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise KeyError(f"{what} needs the columns {missing}, which the results do not have")


# --------------------------------------------------------------------------------------------
# Global sensitivity (SALib)
# --------------------------------------------------------------------------------------------

def _salib_names(problem: Mapping[str, Any]) -> list[str]:
    groups = problem.get("groups")
    if groups:
        return list(dict.fromkeys(groups))
    return list(problem["names"])


def _infer_second_order(n_points: int, d: int) -> bool:
    """Whether a Saltelli/Sobol sample of ``n_points`` rows over ``d`` inputs has the second-order
    block: N(2D+2) rows with it, N(D+2) without, N a power of two (SALib's requirement)."""
    def base_size(per: int) -> int:
        return n_points // per if n_points % per == 0 else 0

    with_second, without = base_size(2 * d + 2), base_size(d + 2)
    power_of_two = [n > 0 and n & (n - 1) == 0 for n in (with_second, without)]
    if power_of_two[0] != power_of_two[1]:
        return power_of_two[0]
    if bool(with_second) != bool(without):
        return bool(with_second)
    raise ValueError(
        f"cannot tell whether the Sobol design ({n_points} points, {d} inputs) has second-order "
        "terms; give calc_second_order")


def design_outputs(runs: pd.DataFrame, metric: str) -> np.ndarray:
    """Per design point (in point order) the mean of ``metric`` over its ok replications."""
    table = runs if "status" not in runs.columns else runs[runs["status"] == "ok"]
    return table.groupby("point")[metric].mean().sort_index().to_numpy(float)


def sensitivity(
    runs: pd.DataFrame,
    problem: Mapping[str, Any],
    method: str,
    metrics: Sequence[str] | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    calc_second_order: bool | None = None,
    num_resamples: int = 1000,
) -> pd.DataFrame:
    """Global sensitivity indices of each metric from a Sobol or Morris design, with SALib.

    The runs table must hold one scenario and every design point ``0 .. N-1`` of the SALib
    sample (column ``point``, in sample order) and the varied parameters under the names of
    ``problem["names"]``; replications of a point are averaged. Metrics that are constant or
    undefined (NaN) at some point are skipped and reported in the ``note`` column.

    Parameters
    ----------
    runs : runs table of a sobol/morris sweep
    problem : SALib problem dict (``names``, ``bounds``, optionally ``groups``, ``num_levels``,
        ``calc_second_order``, ``num_points``), as in the sweep's index
    method : ``"sobol"`` or ``"morris"``
    metrics : metrics to analyse (default: all)
    confidence : level of the indices' bootstrap intervals
    seed : SALib bootstrap seed
    calc_second_order : Sobol only; default from ``problem["calc_second_order"]`` or inferred
        from the number of points (Saltelli: N(2D+2) with second order, N(D+2) without)
    num_resamples : bootstrap resamples

    Returns
    -------
    DataFrame
        Sobol: metric, parameter, S1, S1_low, S1_high, ST, ST_low, ST_high, note.
        Morris: metric, parameter, mu_star, mu_star_low, mu_star_high, mu, sigma, note.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    if method not in ("sobol", "morris"):
        raise ValueError(f"sensitivity needs a sobol or morris design, not {method!r}")
    table = runs if "status" not in runs.columns else runs[runs["status"] == "ok"]
    if "scenario" in table.columns and table["scenario"].nunique() > 1:
        raise ValueError("the runs hold several scenarios; analyse one scenario's design at a time")
    metrics = list(metrics) if metrics is not None else metric_columns(table)
    names = _salib_names(problem)
    d = len(names)
    points = np.sort(table["point"].unique())
    n_points = int(points.size)
    missing_points = n_points and (points[0] != 0 or points[-1] != n_points - 1)
    expected = problem.get("num_points")
    if missing_points or (expected and int(expected) != n_points):
        raise ValueError(
            f"the design has {expected or 'more'} points but only {n_points} have finished runs; "
            "sensitivity needs every point")
    rows: list[dict[str, Any]] = []
    salib_problem = {k: v for k, v in problem.items() if k in ("names", "bounds", "groups", "num_vars", "dists")}
    salib_problem.setdefault("num_vars", len(problem["names"]))
    if method == "sobol":
        if calc_second_order is None:
            calc_second_order = problem.get("calc_second_order")
        if calc_second_order is None:
            calc_second_order = _infer_second_order(n_points, d)
        per = (2 * d + 2) if calc_second_order else (d + 2)
        if n_points % per:
            raise ValueError(f"a Sobol design over {d} inputs has a multiple of {per} points, not {n_points}")
    else:
        x = table.groupby("point")[list(problem["names"])].first().sort_index().to_numpy(float)
    for metric in metrics:
        y = design_outputs(table, metric)
        note = ""
        if not np.all(np.isfinite(y)):
            note = "undefined (NaN) at some design points"
        elif np.ptp(y) == 0:
            note = "constant over the design"
        if note:
            for name in names:
                rows.append({"metric": metric, "parameter": name, "note": note})
            continue
        if method == "sobol":
            with np.errstate(divide="ignore", invalid="ignore"):
                result = sobol_analyze.analyze(
                    salib_problem, y, calc_second_order=calc_second_order, num_resamples=num_resamples,
                    conf_level=confidence, seed=seed)
            for i, name in enumerate(names):
                s1, s1c, st, stc = (float(result[k][i]) for k in ("S1", "S1_conf", "ST", "ST_conf"))
                rows.append({"metric": metric, "parameter": name, "S1": s1, "S1_low": s1 - s1c, "S1_high": s1 + s1c,
                             "ST": st, "ST_low": st - stc, "ST_high": st + stc, "note": ""})
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                result = morris_analyze.analyze(
                    salib_problem, x, y, num_resamples=num_resamples, conf_level=confidence,
                    num_levels=int(problem.get("num_levels", 4)), seed=seed)
            for i, name in enumerate(names):
                mu_star, conf = float(result["mu_star"][i]), float(result["mu_star_conf"][i])
                rows.append({"metric": metric, "parameter": name, "mu_star": mu_star, "mu_star_low": mu_star - conf,
                             "mu_star_high": mu_star + conf, "mu": float(result["mu"][i]),
                             "sigma": float(result["sigma"][i]), "note": ""})
    columns = (["metric", "parameter", "S1", "S1_low", "S1_high", "ST", "ST_low", "ST_high", "note"]
               if method == "sobol" else
               ["metric", "parameter", "mu_star", "mu_star_low", "mu_star_high", "mu", "sigma", "note"])
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------
# Time series across replications
# --------------------------------------------------------------------------------------------

def time_series_bands(
    steps: pd.DataFrame, metrics: Sequence[str] | None = None, low: float = 0.05, high: float = 0.95,
    cumulative: bool = False,
) -> pd.DataFrame:
    """Median and a quantile band across replications, per condition, step and metric.

    Parameters
    ----------
    steps : the per-step table (:func:`ecosim.store.load_steps`); runs with status other than
        ``"ok"`` are left out if a status column is present
    metrics : step columns (default: all)
    low, high : band quantiles (default 5% and 95%)
    cumulative : band the running total of each flow over the run instead of the per-step value

    Returns
    -------
    DataFrame
        condition, step, metric, n, median, low, high, mean, cumulative.
    """
    table = ok_runs(steps)
    metrics = list(metrics) if metrics is not None else metric_columns(table)
    _require(table, metrics, "time series")
    table = table.sort_values(["condition", "replication", "step"])
    frames = []
    for metric in metrics:
        values = table[metric]
        if cumulative:
            values = table.groupby(["condition", "replication"], sort=False)[metric].cumsum()
        frame = table[["condition", "step"]].assign(value=values.to_numpy(float))
        grouped = frame.groupby(["condition", "step"], sort=False)["value"]
        out = grouped.agg(n="count", median="median", mean="mean")
        out["low"] = grouped.quantile(low)
        out["high"] = grouped.quantile(high)
        out = out.reset_index()
        out.insert(2, "metric", metric)
        out["cumulative"] = cumulative
        frames.append(out[BAND_COLUMNS])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BAND_COLUMNS)


BAND_COLUMNS = ["condition", "step", "metric", "n", "median", "low", "high", "mean", "cumulative"]
