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

import difflib
import math
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ecosim import metric_catalogue as catalogue
from ecosim.scenario import CAUSES, GATES, OWNER_TYPES

# --------------------------------------------------------------------------------------------
# What the metrics mean: read from the metric catalogue, never guessed from a name
# --------------------------------------------------------------------------------------------

HIGHER_IS_BETTER = catalogue.HIGHER
LOWER_IS_BETTER = catalogue.LOWER
NEUTRAL = catalogue.NEITHER


def metric_direction(metric: str, directions: Mapping[str, int] | None = None) -> int:
    """Which way is "better" for a metric: +1 higher is better, −1 lower is better, 0 neither.

    The direction is declared in :mod:`ecosim.metric_catalogue`; a metric not declared there
    has no direction (and so never gets a better/worse verdict).

    Parameters
    ----------
    metric : a metric name (summary key)
    directions : overrides, metric name -> +1, −1 or 0

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
    return catalogue.entry(metric).direction


HEAVY_TAILED_METRICS = frozenset(name for name, m in catalogue.CATALOGUE.items() if m.heavy_tailed)
"""Metrics the catalogue declares heavy-tailed: their change is estimated as a ratio of means on
the log scale, and their summaries lead with the median."""


def is_heavy_tailed(metric: str, heavy_tailed: Iterable[str] | None = None) -> bool:
    """Whether ``metric`` is treated as heavy-tailed (``heavy_tailed`` replaces the catalogue's set)."""
    return metric in (HEAVY_TAILED_METRICS if heavy_tailed is None else set(heavy_tailed))


GATE_NAMES = catalogue.GATE_NAMES
"""Readable gate names for tables and figures."""


def metric_label(metric: str) -> str:
    """The catalogue's readable name of a metric.

    Examples
    --------
    >>> metric_label("conversion_joint")
    'Conversion rate of joint (university–enterprise) technologies'
    >>> metric_label("deals_spin_off")
    'Deals by spin-off'
    """
    return catalogue.entry(metric).label


def metric_unit(metric: str) -> str:
    """The catalogue's unit of a per-run metric.

    Examples
    --------
    >>> metric_unit("welfare"), metric_unit("deals"), metric_unit("conversion_joint")
    ('M¥', 'technologies per run', 'share, 0–1')
    """
    return catalogue.entry(metric).unit


def metric_axis_label(metric: str) -> str:
    """``"label (unit)"`` for an axis."""
    return catalogue.entry(metric).axis_label


# --------------------------------------------------------------------------------------------
# Tables in
# --------------------------------------------------------------------------------------------

ID_COLUMNS = ("run_id", "scenario", "point", "replication", "seed", "status", "condition", "posterior_draw")
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
    """The varied-parameter columns (dotted keys) of a runs table: a design's, not a posterior's.

    The values a run drew from a posterior are stored as ``posterior.<key>`` (see
    :func:`posterior_columns`); they vary within a condition, so they are not design parameters.
    """
    return [c for c in runs.columns if "." in str(c) and not str(c).startswith("posterior.")]


def posterior_columns(runs: pd.DataFrame) -> list[str]:
    """The ``posterior.<key>`` columns: the posterior values each run used (empty without a posterior)."""
    return [c for c in runs.columns if str(c).startswith("posterior.")]


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
                entry = catalogue.entry(metric)
                if math.isfinite(low):
                    low, high = _clip(low, high, entry.low, entry.high)
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


# The one estimator per metric ---------------------------------------------------------------

DIFFERENCE_METHOD = "difference of means"
"""How every difference-of-means row's ``method`` begins; the rest names its interval."""
RATIO_METHOD = "ratio of means (log scale)"
"""How every ratio-of-means row's ``method`` begins; the rest names its interval."""
PAIRED_T = "paired t"
WELCH_T = "Welch t"
BOOTSTRAP_T = "bootstrap-t"
DELTA_T = "delta-method t"
SIGN_FLIP = "sign-flip test"
NO_SPREAD = "no interval: the same in every replication"
"""The names of the intervals a ``method`` can give (see :func:`interval_method`)."""


def interval_method(estimator: str, sources: tuple[str, str] | str) -> str:
    """The ``method`` of a comparison row: the estimator and the interval its bounds came from,
    e.g. ``"difference of means: paired t"`` or, when a ratio's lower and upper bounds came from
    different intervals of the union (:func:`estimate_change`),
    ``"ratio of means (log scale): lower bound sign-flip test, upper bound bootstrap-t"``.

    Examples
    --------
    >>> interval_method(RATIO_METHOD, (BOOTSTRAP_T, BOOTSTRAP_T))
    'ratio of means (log scale): bootstrap-t'
    """
    if isinstance(sources, str):
        return f"{estimator}: {sources}"
    low, high = sources
    if low == high:
        return f"{estimator}: {low}"
    return f"{estimator}: lower bound {low}, upper bound {high}"


def _widest(candidates: Sequence[tuple[float, str]], lower: bool) -> tuple[float, str]:
    """The widest of several bounds, with the name of the interval it came from (the first
    named on a tie)."""
    best = candidates[0]
    for value, name in candidates[1:]:
        if (value < best[0]) if lower else (value > best[0]):
            best = (value, name)
    return best


def _clip(low: float, high: float, lo: float | None, hi: float | None) -> tuple[float, float]:
    if lo is not None:
        low, high = max(low, lo), max(high, lo)
    if hi is not None:
        low, high = min(low, hi), min(high, hi)
    return low, high


def _log_ratio(b: np.ndarray, s: np.ndarray, paired: bool) -> tuple[Any, Any]:
    """``log(mean s / mean b)`` and its delta-method standard error, over the last axis."""
    mb, ms = b.mean(axis=-1), s.mean(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):  # a resample with a zero mean has no ratio
        return _log_ratio_terms(b, s, mb, ms, paired)


def _log_ratio_terms(b: np.ndarray, s: np.ndarray, mb: Any, ms: Any, paired: bool) -> tuple[Any, Any]:
    if paired:
        terms = s / ms[..., None] - b / mb[..., None]
        se = terms.std(axis=-1, ddof=1) / math.sqrt(b.shape[-1])
    else:
        se = np.sqrt(s.var(axis=-1, ddof=1) / (s.shape[-1] * ms**2) + b.var(axis=-1, ddof=1) / (b.shape[-1] * mb**2))
    return np.log(ms / mb), se


def _sign_flips(n: int, rng: np.random.Generator, draws: int = 20_000) -> np.ndarray:
    """All 2^n sign patterns for n ≤ 14, else ``draws`` random ones (rows of ±1)."""
    if n <= 14:
        codes = np.arange(2**n)[:, None] >> np.arange(n)[None, :] & 1
        return 1.0 - 2.0 * codes
    return rng.choice([-1.0, 1.0], size=(draws, n))


def _sign_flip_interval(
    b: np.ndarray, s: np.ndarray, confidence: float, estimate: float, rng: np.random.Generator
) -> tuple[float, float, float]:
    """The paired sign-flip test of ``mean(s) = θ·mean(b)`` inverted over θ, on the log scale.

    Returns (low log θ, high log θ, p-value at θ = 1). A bound is ±inf when no θ on that side can
    be rejected at this level with so few pairs (e.g. 2^n sign patterns cannot reach it).
    """
    signs = _sign_flips(b.size, rng)
    alpha = 1 - confidence

    def p_value(log_theta: float) -> float:
        d = s - math.exp(log_theta) * b
        observed = abs(d.mean())
        flipped = np.abs(signs @ d) / d.size
        return float(np.mean(flipped >= observed - 1e-12 * max(1.0, observed)))

    def bound(direction: float) -> float:
        step = 0.05
        inside = estimate
        outside = estimate + direction * step
        while p_value(outside) >= alpha:
            inside, step = outside, step * 2
            outside = estimate + direction * step
            if step > 50:
                return direction * math.inf
        for _ in range(40):
            middle = (inside + outside) / 2
            if p_value(middle) >= alpha:
                inside = middle
            else:
                outside = middle
        return inside

    return bound(-1.0), bound(+1.0), p_value(0.0)


def estimate_change(
    baseline_values: Any,
    scenario_values: Any,
    paired: bool,
    confidence: float = 0.95,
    heavy_tailed: bool = False,
    value_range: tuple[float | None, float | None] = (None, None),
    rng: np.random.Generator | int | None = 0,
    n_resamples: int = 2000,
) -> dict[str, Any]:
    """The change of one metric from a baseline to a scenario, estimated once, by one method.

    - **Ordinary metrics**: the difference of means, with a t interval (paired: of the
      replication-by-replication differences under common random numbers; unpaired: Welch).
    - **Heavy-tailed metrics** (welfare, market entries, ...): the ratio of means on the log
      scale, ``log(mean_s / mean_b)``, with a delta-method standard error (paired: from the
      linearised per-pair terms ``s_i/mean_s − b_i/mean_b``); its interval is the studentized
      bootstrap (bootstrap-t, pairs resampled together) of that statistic, widened where needed
      to the delta-method t interval and, for paired data, to the inverted exact sign-flip test
      of ``mean(s) = θ·mean(b)``; then exponentiated, so a ratio is always positive. The p-value
      is the largest of the three, so it is below α exactly when the interval excludes 1. When a mean is not positive the ratio is
      undefined and the difference method is used instead (``method`` says so).

    ``method`` names the estimator and the interval its bounds came from
    (:func:`interval_method`): ``"difference of means: paired t"`` or ``": Welch t"``; for a
    ratio the part of the union that set each bound (``bootstrap-t``, ``delta-method t`` or
    ``sign-flip test``); ``"...: no interval: the same in every replication"`` without spread.

    Every other view is derived from that one interval, so that all outputs agree: the change
    in % is ``100·(ratio − 1)`` (ratio method) or ``100·difference / baseline mean`` (difference
    method), and the difference in the metric's unit is ``baseline mean · (ratio − 1)`` (ratio
    method). The p-value tests the same statistic, so a verdict at level α is given exactly when
    the ``1 − α`` interval excludes no change. Intervals are clipped to the metric's range
    (``value_range``; a difference of a metric in [L, H] lies in [L − H, H − L]).

    When every replication gives the same difference (or ratio) there is no sampling variation
    to estimate: ``same_every_replication`` is True, the interval is that value and the p-value
    is NaN (never 0).

    Returns
    -------
    dict
        n_baseline, n_scenario, baseline_mean, scenario_mean, method, estimator ("difference" or
        "ratio"), difference,
        difference_low, difference_high, ratio, ratio_low, ratio_high, relative_change,
        relative_low, relative_high, p_value, same_every_replication, statistic_scale
        (the estimate on the scale the interval was made: difference or log ratio),
        half_width (on that scale), effect_size (d_z paired, Hedges' g unpaired).

    Examples
    --------
    >>> out = estimate_change([10, 12, 11], [14, 15, 15.5], paired=True)
    >>> out["method"], round(out["difference"], 3), round(out["relative_change"], 1)
    ('difference of means: paired t', 3.833, 34.8)
    """
    b = _finite(baseline_values) if not paired else np.asarray(baseline_values, dtype=float)
    s = _finite(scenario_values) if not paired else np.asarray(scenario_values, dtype=float)
    nan = math.nan
    out: dict[str, Any] = {
        "n_baseline": int(b.size), "n_scenario": int(s.size),
        "baseline_mean": float(b.mean()) if b.size else nan, "scenario_mean": float(s.mean()) if s.size else nan,
        "method": interval_method(DIFFERENCE_METHOD, PAIRED_T if paired else WELCH_T), "estimator": "difference",
        "difference": nan, "difference_low": nan, "difference_high": nan,
        "ratio": nan, "ratio_low": nan, "ratio_high": nan, "relative_change": nan, "relative_low": nan,
        "relative_high": nan, "p_value": nan, "same_every_replication": False, "statistic_scale": nan,
        "half_width": nan, "effect_size": nan,
    }
    if b.size < 2 or s.size < 2:
        out["method"] = interval_method(DIFFERENCE_METHOD, "no interval: fewer than two values on a side")
        return out
    mb, ms = out["baseline_mean"], out["scenario_mean"]
    out["difference"] = ms - mb
    use_ratio = heavy_tailed and mb > 0 and ms > 0
    out["estimator"] = "ratio" if use_ratio else "difference"
    if heavy_tailed and not use_ratio:
        out["method"] += " (a ratio needs positive means)"
    if use_ratio:
        estimate, se = _log_ratio(b, s, paired)
        spread = float(se)
        estimate, se = float(estimate), float(se)
        if paired:
            df = s.size - 1
        else:
            vs, vb = float(s.var(ddof=1)) / (s.size * ms**2), float(b.var(ddof=1)) / (b.size * mb**2)
            df = (vs + vb) ** 2 / (vs**2 / (s.size - 1) + vb**2 / (b.size - 1)) if vs + vb > 0 else 1.0
    elif paired:
        d = s - b
        estimate = float(d.mean())
        spread = float(d.std(ddof=1))
        se, df = spread / math.sqrt(d.size), d.size - 1
    else:
        estimate = out["difference"]
        vs, vb = float(s.var(ddof=1)) / s.size, float(b.var(ddof=1)) / b.size
        se = spread = math.sqrt(vs + vb)
        df = (vs + vb) ** 2 / (vs**2 / (s.size - 1) + vb**2 / (b.size - 1)) if vs + vb > 0 else 1.0
    out["statistic_scale"] = estimate
    if spread == 0.0:
        out["same_every_replication"] = True
        out["method"] = interval_method(RATIO_METHOD if use_ratio else DIFFERENCE_METHOD, NO_SPREAD)
        half = 0.0
    else:
        half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
        out["p_value"] = float(2 * stats.t.sf(abs(estimate) / se, df))
    if use_ratio and spread > 0:
        # the studentized bootstrap of the log ratio (pairs resampled together under common random
        # numbers), never narrower than the delta-method t interval on either side
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        resamples = max(n_resamples, math.ceil(40 / (1 - confidence)))
        idx_b = generator.integers(0, b.size, size=(resamples, b.size))
        idx_s = idx_b if paired else generator.integers(0, s.size, size=(resamples, s.size))
        est_star, se_star = _log_ratio(b[idx_b], s[idx_s], paired)
        usable = np.isfinite(est_star) & np.isfinite(se_star) & (se_star > 0)
        t_star = (est_star[usable] - estimate) / se_star[usable]
        q_low, q_high = np.quantile(t_star, [(1 - confidence) / 2, (1 + confidence) / 2])
        lows = [(estimate - float(q_high) * se, BOOTSTRAP_T), (estimate - half, DELTA_T)]
        highs = [(estimate - float(q_low) * se, BOOTSTRAP_T), (estimate + half, DELTA_T)]
        t0 = estimate / se
        p_boot = float(min(1.0, 2 * min(np.mean(t_star >= t0), np.mean(t_star <= t0))))
        out["p_value"] = max(out["p_value"], p_boot)
        if paired:
            # and never narrower than the exact sign-flip interval: under common random numbers the
            # pairs' differences s_i − θ·b_i are symmetric about 0 at the true ratio θ, so inverting
            # the sign-flip test keeps the stated level even in the far tails a family needs
            flip_low, flip_high, p_flip = _sign_flip_interval(b, s, confidence, estimate, generator)
            lows.append((flip_low, SIGN_FLIP))
            highs.append((flip_high, SIGN_FLIP))
            out["p_value"] = max(out["p_value"], p_flip)
        (low_log, low_source), (high_log, high_source) = _widest(lows, True), _widest(highs, False)
        # the row names the interval each bound came from: the union is only as wide as its widest part
        out["method"] = interval_method(RATIO_METHOD, (low_source, high_source))
    else:
        low_log, high_log = estimate - half, estimate + half
    # the half-width that projects the replications needed: the delta-method t interval's
    out["half_width"] = half
    if paired and spread > 0 and not use_ratio:
        out["effect_size"] = estimate / spread
    elif not paired:
        pooled = math.sqrt(((b.size - 1) * b.var(ddof=1) + (s.size - 1) * s.var(ddof=1)) / (b.size + s.size - 2))
        if pooled > 0:
            out["effect_size"] = out["difference"] / pooled * (1 - 3 / (4 * (b.size + s.size) - 9))
    lo, hi = value_range
    if use_ratio:
        # an interval from 2 lumpy replications can span hundreds of e-folds: keep it finite
        ratio_low = 0.0 if low_log == -math.inf else math.exp(max(low_log, -700.0))
        ratio_high = math.inf if high_log == math.inf else math.exp(min(high_log, 700.0))
        out.update(ratio=ms / mb, ratio_low=ratio_low, ratio_high=ratio_high)
        out["difference_low"], out["difference_high"] = mb * (ratio_low - 1), mb * (ratio_high - 1)
    else:
        low, high = estimate - half, estimate + half
        if lo is not None and hi is not None:
            low, high = _clip(low, high, lo - hi, hi - lo)
        out["difference_low"], out["difference_high"] = low, high
        if mb > 0 and (lo is None or lo >= 0):
            out["difference_low"] = max(low, -mb) if lo is not None else low
            out.update(ratio=ms / mb, ratio_low=1 + out["difference_low"] / mb, ratio_high=1 + high / mb)
        elif mb != 0:
            out.update(ratio=ms / mb, ratio_low=1 + min(low / mb, high / mb), ratio_high=1 + max(low / mb, high / mb))
    if math.isfinite(out["ratio"]):
        out["relative_change"] = 100 * (out["ratio"] - 1)
        out["relative_low"] = 100 * (out["ratio_low"] - 1)
        out["relative_high"] = 100 * (out["ratio_high"] - 1)
    return out


def replications_needed(n: int, estimate: float, half_width: float, target_half_width: float | None = None) -> float:
    """Replications needed, at the current spread, for an interval of half-width ``half_width``
    (from ``n`` replications) to exclude zero around ``estimate`` — or, with
    ``target_half_width``, to shrink to that half-width. Half-widths shrink as 1/√n.

    Examples
    --------
    >>> replications_needed(5, estimate=1.0, half_width=2.0)
    20
    >>> replications_needed(10, estimate=0.0, half_width=1.0, target_half_width=0.5)
    40
    """
    target = abs(estimate) if target_half_width is None else target_half_width
    if not (math.isfinite(half_width) and math.isfinite(target)) or target <= 0:
        return math.inf
    return max(n, math.ceil(n * (half_width / target) ** 2))


VERDICTS = ("better", "worse", "higher", "lower", "no change larger than the precision target",
            "identical in every replication", "the same difference in every replication",
            "undecided", "not enough data", "descriptive")
"""Possible verdicts. Only primary outcomes get better/worse (higher/lower for metrics without a
better direction); every other metric is "descriptive"."""


def verdict(
    row: Mapping[str, Any], direction: int, primary: bool = True, precision: float = 0.05
) -> str:
    """The word for one comparison row (a dict from :func:`estimate_change` with its interval).

    - ``not enough data``: fewer than two usable values on a side;
    - ``identical in every replication`` / ``the same difference in every replication``: no
      sampling variation, so no test (never "p = 0");
    - ``descriptive``: not a primary outcome, so no verdict (the interval is shown);
    - ``better`` / ``worse`` (``higher`` / ``lower`` without a better direction): the interval,
      at the family-wise level, excludes no change;
    - ``no change larger than the precision target``: the interval includes no change and its
      half-width is below ``precision`` of the baseline mean;
    - ``undecided``: the interval includes no change and is wider than that.

    Examples
    --------
    >>> verdict({"difference": 2.0, "difference_low": 0.5, "difference_high": 3.5, "baseline_mean": 10,
    ...          "same_every_replication": False, "n_baseline": 5, "n_scenario": 5}, +1)
    'better'
    """
    if min(row.get("n_baseline", 0), row.get("n_scenario", 0)) < 2 or not math.isfinite(row["difference"]):
        return "not enough data"
    if row.get("same_every_replication"):
        if row["difference"] == 0:
            return "identical in every replication"
        return "the same difference in every replication"
    if not primary:
        return "descriptive"
    low, high = row["difference_low"], row["difference_high"]
    if low > 0 or high < 0:
        sign = 1 if low > 0 else -1
        if direction == NEUTRAL:
            return "higher" if sign > 0 else "lower"
        return "better" if sign * direction > 0 else "worse"
    base = abs(row["baseline_mean"])
    if base > 0 and max(abs(low), abs(high)) <= precision * base:
        return "no change larger than the precision target"
    return "undecided"


def verdict_words(verdict_name: str, replications_needed: float = math.nan, precision: float = math.nan) -> str:
    """The words every output prints for a verdict (tables, console, notebooks, report; the CSV
    and the figures' legends hold the verdict itself, whose words these extend).

    - ``undecided`` → ``"undecided: needs about 369 replications"`` (the replications at which
      an interval of today's spread would clear no change), ``"undecided: needs more than 10,000
      replications"`` or ``"undecided: no change seen at all"``;
    - ``no change larger than the precision target`` → ``"no change larger than ±5% of the
      baseline"`` (the interval lies within ±``precision`` of the baseline mean);
    - ``descriptive`` → ``"descriptive (no test)"``; any other verdict is its own word.

    Examples
    --------
    >>> verdict_words("undecided", 368.6), verdict_words("no change larger than the precision target", precision=0.05)
    ('undecided: needs about 368 replications', 'no change larger than ±5% of the baseline')
    """
    if verdict_name == "undecided":
        if math.isfinite(replications_needed) and replications_needed > 10_000:
            return "undecided: needs more than 10,000 replications"
        if math.isfinite(replications_needed):
            return f"undecided: needs about {int(replications_needed):,} replications"
        return "undecided: no change seen at all"
    if verdict_name == "no change larger than the precision target":
        if math.isfinite(precision):
            return f"no change larger than ±{precision:.0%} of the baseline"
        return verdict_name
    if verdict_name == "descriptive":
        return "descriptive (no test)"
    return verdict_name


DEFAULT_COMPARE_METRICS = (
    "deals", "commercialisations", "welfare", "public_spending", "welfare_per_public_yuan",
    "conversion_university", "conversion_joint", "conversion_enterprise", "licences_per_disclosure",
    "startups_per_disclosure", "failed", "shelved", "publications", "time_to_transfer_median",
)
"""Metrics that ``ecosim compare`` shows when none are named (those present in the results)."""


def default_metrics(runs: pd.DataFrame) -> list[str]:
    """The headline metrics present in ``runs`` (all metrics if none of the headline ones are)."""
    present = set(metric_columns(runs))
    chosen = [m for m in DEFAULT_COMPARE_METRICS if m in present]
    return chosen or metric_columns(runs)


def default_primary(runs: pd.DataFrame) -> list[str]:
    """The catalogue's headline outcomes present in ``runs`` (the default primary outcomes)."""
    present = set(runs.columns)
    return [m for m in catalogue.primary_defaults() if m in present]


def default_baseline(runs: pd.DataFrame) -> str:
    """The condition called ``baseline`` if there is one, else the first condition."""
    names = conditions(ok_runs(runs))
    if not names:
        raise ValueError("no finished runs")
    return "baseline" if "baseline" in names else names[0]


CORRECTIONS = ("bonferroni", "none")


# --------------------------------------------------------------------------------------------
# Probability over the posterior that a policy beats the baseline
# --------------------------------------------------------------------------------------------

def probability_better(
    baseline_values: Any, scenario_values: Any, direction: int, weights: Any = None, confidence: float = 0.95,
) -> dict[str, float]:
    """The probability over the posterior that a scenario beats the baseline, with a Jeffreys interval.

    Each pair ``i`` (one replication: one posterior draw and one seed, shared by both
    conditions) scores 1 when its difference ``scenario_i − baseline_i`` is in the better
    ``direction`` (+1 higher is better, −1 lower is better), ½ when it is a tie, 0 otherwise;
    the probability is the weighted share ``Σ wᵢ·scoreᵢ / Σ wᵢ`` (equal weights by default:
    posterior draws resampled by weight each weigh the same). It says in what share of the
    plausible worlds (parameter values the posterior holds plausible, each with its own chance
    events) the policy does better; it is not a p-value.

    The interval says how precisely ``N`` pairs pin that share down: the Jeffreys interval, the
    ``Beta(x + ½, n − x + ½)`` quantiles with ``n`` the effective number of pairs
    (Kish's ``(Σw)² / Σw²``, ``N`` for equal weights) and ``x = p·n``; its lower end is 0 when
    ``p = 0`` and its upper end 1 when ``p = 1``.

    Parameters
    ----------
    baseline_values, scenario_values : paired outcomes (same length, same draw and seed per position)
    direction : +1 or −1 (a metric with no better direction, 0, gets NaN)
    weights : the pairs' weights (≥ 0; default equal)
    confidence : level of the interval

    Returns
    -------
    dict
        ``probability``, ``low``, ``high``, ``n`` (pairs) and ``n_effective``.

    Examples
    --------
    >>> r = probability_better([1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 1.0, 0.0], +1)
    >>> r["probability"], r["n"]
    (0.625, 4)
    >>> probability_better([1.0, 1.0], [2.0, 0.0], +1, weights=[3.0, 1.0])["probability"]
    0.75
    """
    b = np.asarray(baseline_values, dtype=float)
    s = np.asarray(scenario_values, dtype=float)
    if b.shape != s.shape:
        raise ValueError(f"paired values differ in length: {b.shape} and {s.shape}")
    w = np.ones_like(b) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != b.shape or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite, ≥ 0 and one per pair")
    keep = np.isfinite(b) & np.isfinite(s) & (w > 0)
    b, s, w = b[keep], s[keep], w[keep]
    nan = math.nan
    if direction == 0 or not len(b):
        return {"probability": nan, "low": nan, "high": nan, "n": int(len(b)), "n_effective": nan}
    difference = (s - b) * np.sign(direction)
    score = np.where(difference > 0, 1.0, np.where(difference == 0, 0.5, 0.0))
    probability = float(np.sum(w * score) / np.sum(w))
    n_effective = float(np.sum(w) ** 2 / np.sum(w**2))
    x = probability * n_effective
    tail = (1 - confidence) / 2
    low = 0.0 if probability <= 0 else float(stats.beta.ppf(tail, x + 0.5, n_effective - x + 0.5))
    high = 1.0 if probability >= 1 else float(stats.beta.ppf(1 - tail, x + 0.5, n_effective - x + 0.5))
    return {"probability": probability, "low": low, "high": high, "n": int(len(b)), "n_effective": n_effective}


POSTERIOR_DRAW = "posterior_draw"
"""The runs-table column of the posterior draw a run used (:data:`ecosim.posterior.DRAW_COLUMN`)."""


def from_posterior(runs: pd.DataFrame) -> bool:
    """True when the runs come from posterior draws (their table has a ``posterior_draw`` column)."""
    return POSTERIOR_DRAW in runs.columns and bool(runs[POSTERIOR_DRAW].notna().any())


def compare(
    runs: pd.DataFrame,
    baseline: str | None = None,
    metrics: Sequence[str] | None = None,
    primary: Sequence[str] | None = None,
    confidence: float = 0.95,
    alpha: float = 0.05,
    correction: str = "bonferroni",
    precision: float = 0.05,
    seed: int = 0,
    directions: Mapping[str, int] | None = None,
    heavy_tailed: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Compare every condition with a baseline on every metric: one estimate and interval each.

    Each row's change is estimated once by :func:`estimate_change` (the metric's catalogue
    entry chooses the method). **Primary outcomes** (``primary``; default
    :func:`default_primary`) are one family: with ``correction="bonferroni"`` their intervals are
    simultaneous ``1 − alpha/m`` intervals over the m = conditions × primary outcomes
    comparisons, and a verdict (better/worse) is given exactly when that interval excludes no
    change, so the chance of any false verdict stays below ``alpha``. Every other metric is
    **descriptive**: a ``confidence`` interval and no verdict.

    Parameters
    ----------
    runs : runs table; failed runs are left out
    baseline : baseline condition (default: :func:`default_baseline`)
    metrics : metrics to show (default: :func:`default_metrics`; primary outcomes are added)
    primary : the primary outcomes (default: the catalogue's headline family present)
    confidence : level of the descriptive intervals
    alpha : family-wise error rate of the primary verdicts
    correction : ``"bonferroni"`` (simultaneous intervals) or ``"none"`` (each primary interval
        at ``1 − alpha``)
    precision : a primary interval that includes no change but is narrower than this share of the
        baseline mean reads "no change larger than the precision target"
    seed : seed of the bootstrap (heavy-tailed metrics); each cell derives its own stream
    directions : overrides of :func:`metric_direction`
    heavy_tailed : metrics treated as heavy-tailed (default: the catalogue's)

    Returns
    -------
    DataFrame
        One row per condition × metric: condition, baseline, metric, role (primary/descriptive),
        n, paired, level, method, baseline_mean, scenario_mean, difference, difference_low,
        difference_high, relative_change (%), relative_low, relative_high, ratio, ratio_low,
        ratio_high, p_value, p_adjusted, same_every_replication, replications_needed,
        effect_size, direction, verdict, precision (the target behind "no change beyond the
        precision target"), p_better, p_better_low, p_better_high (when the runs come from
        posterior draws: for each primary outcome with a better direction, the probability over
        the posterior that the condition beats the baseline and its ``confidence`` Jeffreys
        interval, :func:`probability_better`; NaN otherwise), same_in_every_run (the metric had
        one value in every run of both scenarios; see :func:`constant_metrics`).
    """
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; use one of {CORRECTIONS}")
    table = ok_runs(runs)
    primary = list(primary) if primary is not None else default_primary(table)
    metrics = list(metrics) if metrics is not None else default_metrics(table)
    metrics = list(dict.fromkeys([*primary, *metrics]))
    unknown = [m for m in metrics if m not in table.columns]
    if unknown:
        raise KeyError(f"unknown metrics {unknown}")
    contrasts = list(_against_baseline(table, baseline))
    posterior = from_posterior(table)
    family_size = max(1, len(contrasts) * len(primary))
    primary_level = 1 - (alpha / family_size if correction == "bonferroni" else alpha)
    rows = []
    for name, reference, values in contrasts:
        for metric in metrics:
            (b,), (s,), paired = values([metric])
            entry = catalogue.entry(metric)
            is_primary = metric in primary
            level = primary_level if is_primary else confidence
            result = estimate_change(b, s, paired, level, is_heavy_tailed(metric, heavy_tailed),
                                     (entry.low, entry.high), rng=_rng(seed, name, metric))
            direction = metric_direction(metric, directions)
            row = {"condition": name, "baseline": reference, "metric": metric,
                   "role": "primary" if is_primary else "descriptive",
                   "n": min(result["n_baseline"], result["n_scenario"]), "paired": paired, "level": level, **result,
                   "direction": direction}
            scale = family_size if correction == "bonferroni" else 1
            row["p_adjusted"] = (min(1.0, row["p_value"] * scale)
                                 if is_primary and math.isfinite(row["p_value"]) else math.nan)
            row["replications_needed"] = replications_needed(row["n"], result["statistic_scale"],
                                                             result["half_width"])
            if result.get("estimator") == "ratio" and paired:
                # the sign-flip test's smallest p-value is 2/2^n: below that many pairs no
                # verdict is possible at this level, whatever the effect
                fewest = math.floor(math.log2(2 / (1 - level))) + 1
                row["replications_needed"] = max(row["replications_needed"], fewest)
            row["verdict"] = verdict(row, direction, is_primary, precision)
            row["precision"] = precision
            both = np.concatenate([_finite(b), _finite(s)])
            row["same_in_every_run"] = bool(both.size and np.all(both == both[0]))
            row.update(_posterior_probability(values, metric, direction, is_primary and posterior, confidence))
            rows.append(row)
    columns = ["condition", "baseline", "metric", "role", "n", "paired", "level", "method", "baseline_mean",
               "scenario_mean", "difference", "difference_low", "difference_high", "relative_change",
               "relative_low", "relative_high", "ratio", "ratio_low", "ratio_high", "p_value", "p_adjusted",
               "same_every_replication", "replications_needed", "effect_size", "direction", "verdict", "precision",
               "p_better", "p_better_low", "p_better_high", "same_in_every_run"]
    return pd.DataFrame(rows, columns=columns)


def constant_metrics(comparison: pd.DataFrame) -> dict[str, float]:
    """Metrics with the same value in every run of every compared scenario (e.g. a median time
    to transfer of 4.00 quarters in all 240 runs), with that value: nothing to compare, so
    outputs say so once instead of a forest panel and a "+0.00%, identical" row per policy."""
    if comparison.empty or "same_in_every_run" not in comparison.columns:
        return {}
    flags = comparison.groupby("metric", sort=False)["same_in_every_run"].all()
    return {str(m): float(comparison.loc[comparison["metric"] == m, "baseline_mean"].iloc[0])
            for m, constant in flags.items() if constant}


def _posterior_probability(values, metric: str, direction: int, wanted: bool, confidence: float) -> dict[str, float]:
    """``p_better`` and its interval for one contrast (NaN unless ``wanted`` and the pairs share their draws)."""
    nan = {"p_better": math.nan, "p_better_low": math.nan, "p_better_high": math.nan}
    if not wanted or direction == 0:
        return nan
    (draw_b, b), (draw_s, s), paired = values([POSTERIOR_DRAW, metric])
    if not paired or not np.array_equal(draw_b, draw_s):
        return nan
    result = probability_better(b, s, direction, confidence=confidence)
    return {"p_better": result["probability"], "p_better_low": result["low"], "p_better_high": result["high"]}


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
    runs: pd.DataFrame, baseline: str | None = None, confidence: float = 0.95
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
    comparison = compare(table, baseline, list(FAILURE_COLUMNS), primary=[], confidence=confidence,
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
    cohort : use the cohort rates (``cohort_conversion_*``: converted within ``outputs.cohort_window_quarters``
        of disclosure) instead of the rates by the end of the run

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


def ratio_interval(
    numerator: tuple[float, float], denominator: tuple[float, float],
) -> tuple[float, float]:
    """The interval of ``numerator / denominator`` implied by the two printed intervals: the
    range of ``n / d`` over ``n`` in ``numerator`` and ``d`` in ``denominator``.

    It holds whenever both intervals hold, so its confidence is at least
    ``1 − (1 − level_n) − (1 − level_d)`` (Bonferroni), and it excludes 0 exactly when the
    numerator's interval does: a ratio can never look clearer than the numbers it divides.
    ``(nan, nan)`` when the denominator's interval includes 0 (the ratio can then be ±∞), a
    denominator bound is not finite, or a bound is missing (NaN). A numerator interval that is
    unbounded on one side (a sign-flip interval from few pairs) gives a ratio interval unbounded
    on that side.

    Examples
    --------
    >>> ratio_interval((30.0, 60.0), (10.0, 20.0))
    (1.5, 6.0)
    >>> ratio_interval((-3.0, 90.0), (70.0, 80.0))
    (-0.04285714285714286, 1.2857142857142858)
    >>> ratio_interval((-3.0, math.inf), (70.0, 80.0))
    (-0.04285714285714286, inf)
    """
    n_low, n_high = (float(v) for v in numerator)
    d_low, d_high = (float(v) for v in denominator)
    if (any(math.isnan(v) for v in (n_low, n_high)) or not (math.isfinite(d_low) and math.isfinite(d_high))
            or d_low <= 0 <= d_high):
        return math.nan, math.nan
    corners = [n / d for n in (n_low, n_high) for d in (d_low, d_high)]
    return min(corners), max(corners)


def cost_effectiveness(
    comparison: pd.DataFrame,
    outcomes: Sequence[str] | None = None,
    cost: str = "public_spending",
) -> pd.DataFrame:
    """Cost per extra outcome and extra outcome per extra M¥, each condition against the baseline.

    The extra outcome and the extra cost, with their intervals, are **read from** ``comparison``
    (the table of :func:`compare`), so they are the same numbers as in the comparison table,
    the forest plot and the prose. The two ratios ``Δcost / Δoutcome`` (M¥ per extra unit of
    outcome) and ``Δoutcome / Δcost`` get the interval :func:`ratio_interval` derives from those
    two printed intervals (confidence at least ``ratio_level``), but only when the denominator's
    interval excludes zero; otherwise the ratio can be ±∞ and ``note`` says so. A ratio's
    interval therefore includes 0 exactly when its numerator's does.

    Parameters
    ----------
    comparison : :func:`compare`'s table, holding the outcomes and ``cost`` (every number
        comes from it; the ratio intervals need no resampling)
    outcomes : outcomes (default: the comparison's primary outcomes)
    cost : the cost metric (default: the public money spent)

    Returns
    -------
    DataFrame
        condition, baseline, outcome, level, extra_outcome, extra_outcome_low, extra_outcome_high,
        extra_cost, extra_cost_low, extra_cost_high, cost_per_extra, cost_per_extra_low,
        cost_per_extra_high, per_unit_cost, per_unit_low, per_unit_high, cost_level (the level of
        the extra cost's interval: its own comparison row's), ratio_level (the confidence both
        ratios' intervals have at least), paired, note.
    """
    columns = ["condition", "baseline", "outcome", "level", "extra_outcome", "extra_outcome_low",
               "extra_outcome_high", "extra_cost", "extra_cost_low", "extra_cost_high", "cost_per_extra",
               "cost_per_extra_low", "cost_per_extra_high", "per_unit_cost", "per_unit_low", "per_unit_high",
               "cost_level", "ratio_level", "paired", "note"]
    if comparison.empty:
        return pd.DataFrame(columns=columns)
    if outcomes is None:
        outcomes = list(dict.fromkeys(comparison.loc[comparison["role"] == "primary", "metric"]))
    if cost not in set(comparison["metric"]):
        raise KeyError(f"cost-effectiveness needs {cost!r} in the comparison table")
    indexed = comparison.set_index(["condition", "metric"])
    rows = []
    for condition in dict.fromkeys(comparison["condition"]):
        c = indexed.loc[(condition, cost)]
        for outcome in outcomes:
            o = indexed.loc[(condition, outcome)]
            row: dict[str, Any] = {
                "condition": condition, "baseline": o["baseline"], "outcome": outcome, "level": o["level"],
                "extra_outcome": o["difference"], "extra_outcome_low": o["difference_low"],
                "extra_outcome_high": o["difference_high"], "extra_cost": c["difference"],
                "extra_cost_low": c["difference_low"], "extra_cost_high": c["difference_high"],
                "cost_level": c["level"],
                "ratio_level": max(0.0, 1 - (1 - float(o["level"])) - (1 - float(c["level"]))),
                "paired": bool(o["paired"]), "note": ""}
            outcome_interval = (row["extra_outcome_low"], row["extra_outcome_high"])
            cost_interval = (row["extra_cost_low"], row["extra_cost_high"])
            notes = []
            for key, num, den, num_interval, den_interval, what in (
                ("cost_per_extra", row["extra_cost"], row["extra_outcome"], cost_interval, outcome_interval,
                 "the outcome"),
                ("per_unit", row["extra_outcome"], row["extra_cost"], outcome_interval, cost_interval,
                 "public spending"),
            ):
                point = f"{key}_cost" if key == "per_unit" else key
                row[point] = num / den if den else math.nan
                row[f"{key}_low"], row[f"{key}_high"] = ratio_interval(num_interval, den_interval)
                if math.isnan(row[f"{key}_low"]):
                    notes.append(f"{what} not clearly different from the baseline: no interval for the ratio")
            if row["extra_cost"] < 0 and row["extra_cost_high"] < 0:
                notes.append("saves public money")
            row["note"] = "; ".join(notes)
            rows.append(row)
    return pd.DataFrame(rows, columns=columns)


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
                # μ* is a mean of absolute values: its interval cannot go below 0
                rows.append({"metric": metric, "parameter": name, "mu_star": mu_star,
                             "mu_star_low": max(0.0, mu_star - conf),
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


# --------------------------------------------------------------------------------------------
# Designs over parameters: response surfaces, not point-versus-point-0 verdicts
# --------------------------------------------------------------------------------------------

def design_point_means(
    runs: pd.DataFrame, metrics: Sequence[str], confidence: float = 0.95, seed: int = 0,
    heavy_tailed: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Per scenario and design point: the varied parameters' values and each metric's mean over
    the replications with its interval (the method of :func:`summarise`).

    Returns
    -------
    DataFrame
        scenario, point, label (the parameter values, e.g. ``"PoC share = 0.05, managers = 50"``),
        the parameter columns, then for each metric ``<metric>``, ``<metric>_low``,
        ``<metric>_high`` and ``n``.
    """
    table = ok_runs(runs)
    parameters = parameter_columns(table)
    rows = []
    for (scenario, point), group in table.groupby(["scenario", "point"], sort=True):
        row: dict[str, Any] = {"scenario": scenario, "point": int(point), "n": len(group)}
        for p in parameters:
            row[p] = group[p].iloc[0]
        row["label"] = point_label({p: row[p] for p in parameters})
        for metric in metrics:
            x = _finite(group[metric])
            entry = catalogue.entry(metric)
            mean = float(x.mean()) if x.size else math.nan
            low, high, _ = mean_interval(x, confidence, is_heavy_tailed(metric, heavy_tailed),
                                         _rng(seed, str(scenario), str(point), metric))
            if math.isfinite(low):
                low, high = _clip(low, high, entry.low, entry.high)
            row.update({metric: mean, f"{metric}_low": low, f"{metric}_high": high})
        rows.append(row)
    return pd.DataFrame(rows)


def parameter_label(key: str) -> str:
    """A short readable name of a varied parameter: its last dotted part, spaces for underscores.

    Examples
    --------
    >>> parameter_label("policy.managers.managers_per_region")
    'managers per region'
    """
    return str(key).split(".")[-1].replace("_", " ")


def point_label(values: Mapping[str, Any]) -> str:
    """A design point named by its parameter values (``"proof of concept = 0.05, ..."``)."""
    parts = []
    for key, value in values.items():
        text = f"{value:.3g}" if isinstance(value, float) else str(value)
        parts.append(f"{parameter_label(key)} = {text}")
    return ", ".join(parts)


def regression_sensitivity(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Standardised regression coefficients of each metric's design-point means on the varied
    parameters (for LHS designs: the sign and size of each parameter's linear main effect, in
    standard deviations of the output per standard deviation of the parameter), with the R² that
    says how much of the variation a linear model explains. Coefficients have t intervals.

    Returns
    -------
    DataFrame
        metric, parameter, src, src_low, src_high, r_squared, note.
    """
    means = design_point_means(runs, metrics)
    parameters = [p for p in parameter_columns(ok_runs(runs)) if means[p].nunique() > 1]
    rows = []
    for metric in metrics:
        frame = means[[*parameters, metric]].dropna()
        y = frame[metric].to_numpy(float)
        note = ""
        if len(frame) <= len(parameters) + 2:
            note = "too few design points for a regression"
        elif np.ptp(y) == 0:
            note = "constant over the design"
        if note:
            rows.extend({"metric": metric, "parameter": p, "note": note} for p in parameters)
            continue
        x = frame[parameters].to_numpy(float)
        xz = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
        yz = (y - y.mean()) / y.std(ddof=1)
        design = np.column_stack([np.ones(len(yz)), xz])
        coef, *_ = np.linalg.lstsq(design, yz, rcond=None)
        residual = yz - design @ coef
        dof = len(yz) - design.shape[1]
        sigma2 = float(residual @ residual) / dof
        cov = sigma2 * np.linalg.pinv(design.T @ design)
        half = float(stats.t.ppf(0.975, dof)) * np.sqrt(np.diag(cov))
        r2 = 1 - float(residual @ residual) / float(yz @ yz)
        for i, p in enumerate(parameters, start=1):
            rows.append({"metric": metric, "parameter": p, "src": float(coef[i]), "src_low": float(coef[i] - half[i]),
                         "src_high": float(coef[i] + half[i]), "r_squared": r2, "note": ""})
    return pd.DataFrame(rows, columns=["metric", "parameter", "src", "src_low", "src_high", "r_squared", "note"])


# --------------------------------------------------------------------------------------------
# Enough replications? (the stopping rule of ``ecosim sweep --until-precision``)
# --------------------------------------------------------------------------------------------

def precision_status(
    runs: pd.DataFrame,
    primary: Sequence[str],
    relative: float,
    confidence: float = 0.95,
    seed: int = 0,
    looks: int = 1,
) -> dict[str, Any]:
    """Whether the replications so far pin down the primary outcomes.

    Two criteria, either of which is enough:

    - **precise**: for every condition and primary outcome, the half-width of the mean's
      interval (:func:`summarise`'s method) is at most ``relative`` × |mean| (a mean of exactly 0
      with a zero-width interval counts as precise);
    - **ranking resolved**: for every primary outcome, the conditions sorted by their mean are
      separated pair by pair: each adjacent pair's paired change interval (:func:`estimate_change`,
      Bonferroni over all adjacent pairs and outcomes, and over the ``looks`` an adaptive sweep
      may take, so that checking after every batch does not inflate the chance of a false
      ranking) excludes no change. A ranking that merely keeps its order from one batch to the
      next is *not* resolved. The one exception is a pair identical in every replication (the
      same value under common random numbers, so no number of replications can separate it): it
      is a tie, stated as one in ``ties``, and does not hold the ranking back.

    Every adjacent pair that is not separated is listed in ``ties``, so that a sweep stopped by
    its cap can say which conditions it could not tell apart.

    Returns
    -------
    dict
        precise (bool), ranking_resolved (bool), replications (the fewest ok replications of a
        condition), worst (condition, metric and relative half-width furthest from the target),
        ties (list of dicts, one per adjacent pair not separated: metric, higher and lower (the
        conditions, by mean), difference_low and difference_high (the simultaneous interval of
        ``lower − higher``, or of the log ratio for heavy-tailed outcomes, as
        :func:`estimate_change` makes it), kind: ``"identical"`` (same value in every replication)
        or ``"overlapping"`` (the interval includes no change)), table (condition × metric:
        mean, half_width, relative_half_width).
    """
    table = ok_runs(runs)
    summary = summarise(table, primary, confidence=confidence, seed=seed)
    summary["half_width"] = (summary["mean_high"] - summary["mean_low"]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        summary["relative_half_width"] = np.where(
            summary["half_width"] == 0, 0.0, summary["half_width"] / summary["mean"].abs())
    summary["relative_half_width"] = summary["relative_half_width"].fillna(math.inf)
    precise = bool((summary["relative_half_width"] <= relative).all()) and len(summary) > 0
    worst_row = summary.loc[summary["relative_half_width"].idxmax()] if len(summary) else None
    names = conditions(table)
    groups = {name: group for name, group in table.groupby("condition", sort=False)}
    pairs = max(1, (len(names) - 1) * len(primary))
    level = 1 - (1 - confidence) / (pairs * max(1, looks))
    ties = [tie for metric in primary for tie in _ranking_ties(summary, groups, names, metric, level, seed)]
    resolved = len(names) >= 2 and all(tie["kind"] == "identical" for tie in ties)
    counts = table.groupby("condition").size()
    return {
        "precise": precise,
        "ranking_resolved": resolved,
        "ties": ties,
        "replications": int(counts.min()) if len(counts) else 0,
        "worst": None if worst_row is None else {
            "condition": worst_row["condition"], "metric": worst_row["metric"],
            "relative_half_width": float(worst_row["relative_half_width"])},
        "table": summary[["condition", "metric", "n", "mean", "half_width", "relative_half_width"]],
    }


def _ranking_ties(
    summary: pd.DataFrame, groups: dict[str, pd.DataFrame], names: Sequence[str], metric: str, level: float, seed: int
) -> list[dict[str, Any]]:
    """The adjacent pairs of conditions (sorted by their mean of ``metric``) whose change interval
    at ``level`` does not exclude no change (see :func:`precision_status`)."""
    means = summary[summary["metric"] == metric].set_index("condition")["mean"].reindex(names)
    ordered = list(means.sort_values(ascending=False, kind="stable").index)
    ties = []
    for higher, lower in zip(ordered, ordered[1:], strict=False):
        pairing = _pairing(groups[higher], groups[lower])
        (b,), (s,) = _paired_values(groups[higher], groups[lower], [metric], pairing)
        out = estimate_change(b, s, pairing[2], level, is_heavy_tailed(metric), rng=_rng(seed, higher, lower, metric))
        separated = (out["difference_low"] > 0 or out["difference_high"] < 0) and not out["same_every_replication"]
        if separated:
            continue
        identical = bool(out["same_every_replication"]) and out["difference"] == 0
        ties.append({"metric": metric, "higher": higher, "lower": lower,
                     "difference_low": float(out["difference_low"]), "difference_high": float(out["difference_high"]),
                     "kind": "identical" if identical else "overlapping"})
    return ties
