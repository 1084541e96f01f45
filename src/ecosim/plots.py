"""Figures from result tables: each function takes a DataFrame and returns a matplotlib Figure.

The DataFrames are those of :mod:`ecosim.analysis` (or the runs/steps tables of
:mod:`ecosim.store`), so a notebook draws exactly the figures of ``ecosim report``. Figures are
built with :class:`matplotlib.figure.Figure` directly, not through ``pyplot``: nothing is shown,
no global figure list grows, and they render with the Agg canvas (``fig.savefig``). In Jupyter a
returned Figure displays itself.

Every figure has a title, axis labels with units, and a legend where colours carry meaning,
worded for a reader who is not a statistician.

Examples
--------
>>> import pandas as pd
>>> from ecosim import analysis, plots
>>> runs = pd.DataFrame({"scenario": ["baseline"] * 3 + ["poc_fund"] * 3, "point": 0,
...     "replication": [0, 1, 2] * 2, "seed": [1, 2, 3] * 2, "status": "ok",
...     "deals": [10.0, 12, 11, 14, 15, 15.5]})
>>> fig = plots.forest_panels(analysis.compare(runs, "baseline", ["deals"]))
>>> " ".join(fig.get_suptitle().split())  # wrapped to the figure's width
"Change against baseline, in % of its mean, with the table's intervals"
>>> [" ".join(ax.get_title().split()) for ax in fig.axes]  # a panel per outcome
['Technologies converted (first transfer) (primary)']
"""

from __future__ import annotations

import functools
import math
import textwrap
import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ecosim import metric_catalogue
from ecosim.analysis import (
    GATE_NAMES,
    conditions,
    metric_axis_label,
    metric_label,
    metric_unit,
    ok_runs,
    parameter_label,
)
from ecosim.formatting import format_interval, format_number, format_signed
from ecosim.scenario import CAUSES, GATES, OWNER_TYPES

VERDICT_COLOURS = {
    "better": "#117733",
    "worse": "#882255",
    "higher": "#332288",
    "lower": "#88ccee",
    "no change larger than the precision target": "#44aa99",
    "undecided": "#ddcc77",
    "identical in every replication": "#999933",
    "the same difference in every replication": "#aa4499",
    "descriptive": "#777777",
    "not enough data": "#dddddd",
}
"""The colour of each verdict (:data:`ecosim.analysis.VERDICTS`) wherever one is shown: the forest
plot's dots and the HTML report's and notebooks' verdict cells (:func:`ecosim.report.verdict_css`).
Paul Tol's colour-blind-safe "muted" scheme, one colour per verdict, with a mid grey for
"descriptive" (no verdict) and Tol's pale grey for "not enough data"; every two differ by at least
10 CIELAB units with normal vision and under simulated protanopia, deuteranopia and tritanopia
(``tests/test_figure_colours.py``). Better and worse are also dark enough for text on white."""

CAUSE_COLOURS = {"technical": "#8c6d31", "funding": "#e6550d", "matching": "#3182bd"}
"""Colour of each failure cause."""

_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
            "#17becf", "#aec7e8", "#ffbb78", "#98df8a"]


def condition_colours(names: Sequence[str], baseline: str | None = None) -> dict[str, str]:
    """A colour per condition, the same in every figure: the baseline is grey and every other
    condition takes the palette colour of its name (a stable hash), moved on to the next free
    colour when two names collide in ``names``, so one scenario keeps its colour whichever
    subset of scenarios a figure shows.

    Examples
    --------
    >>> a = condition_colours(["baseline", "poc_fund", "finance"], "baseline")
    >>> b = condition_colours(["finance"])
    >>> a["finance"] == b["finance"], a["baseline"]
    (True, '#525252')
    """
    colours: dict[str, str] = {}
    used: set[str] = set()
    for name in sorted(n for n in dict.fromkeys(names) if n != baseline and n != "baseline"):
        start = zlib.crc32(str(name).encode()) % len(_PALETTE)
        for step in range(len(_PALETTE)):
            colour = _PALETTE[(start + step) % len(_PALETTE)]
            if colour not in used or step == len(_PALETTE) - 1:
                break
        colours[name] = colour
        used.add(colour)
    for name in (baseline, "baseline"):
        if name is not None and name in names:
            colours[name] = BASELINE_COLOUR
    return colours


BASELINE_COLOUR = "#525252"


def _wrap(text: str, width_inches: float, fontsize: float) -> str:
    """Wrap ``text`` to the characters that fit in ``width_inches`` at ``fontsize`` points."""
    if not text:
        return text
    chars = max(12, int(width_inches * 72 / (0.6 * fontsize)))
    return "\n".join(textwrap.fill(line, chars) for line in text.split("\n"))


def _fit_text(fig: Figure) -> Figure:
    """Wrap titles and axis labels so that none is wider than its panel or figure: long catalogue
    labels never run off the figure."""
    width, height = fig.get_size_inches()
    for ax in fig.axes:
        if not ax.axison and not ax.get_title():
            continue
        position = ax.get_position()
        panel_width = max(width * position.width, width / 3)
        panel_height = max(height * position.height, height / 3)
        title = ax.title
        title.set_text(_wrap(title.get_text(), max(panel_width, width * 0.8) if len(fig.axes) == 1 else panel_width,
                             title.get_fontsize()))
        ax.xaxis.label.set_text(_wrap(ax.get_xlabel(), panel_width, ax.xaxis.label.get_fontsize()))
        ax.yaxis.label.set_text(_wrap(ax.get_ylabel(), panel_height, ax.yaxis.label.get_fontsize()))
    if fig._suptitle is not None:
        fig._suptitle.set_text(_wrap(fig._suptitle.get_text(), width * 0.95, fig._suptitle.get_fontsize()))
    for legend in fig.legends:
        title = legend.get_title()
        title.set_text(_wrap(title.get_text(), width * 0.9, title.get_fontsize()))
    return fig


def _readable(function):
    """Every public figure goes through :func:`_fit_text` before it is returned."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return _fit_text(function(*args, **kwargs))

    return wrapper


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _empty(title: str, message: str) -> Figure:
    fig = _figure(6, 2.5)
    ax = fig.subplots()
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, transform=ax.transAxes)
    ax.set_axis_off()
    return fig


def _grid(n: int, max_columns: int = 4) -> tuple[int, int]:
    columns = min(n, max_columns)
    return (math.ceil(n / columns), columns)


def _error(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Error-bar lengths from an interval; NaN intervals draw no bar."""
    lower = np.where(np.isfinite(low), mean - low, 0.0)
    upper = np.where(np.isfinite(high), high - mean, 0.0)
    return np.vstack([np.clip(lower, 0, None), np.clip(upper, 0, None)])


# ------------------------------------------------------------------ comparisons


@_readable
def forest_panels(comparison: pd.DataFrame, columns: int = 4) -> Figure:
    """The forest plot as small multiples: one panel per metric, the scenarios on one shared y axis.

    Parameters
    ----------
    comparison : :func:`ecosim.analysis.compare` output
    columns : panels per row

    Every row of ``comparison`` is one point with its interval (the table's own: simultaneous for
    primary outcomes, 95% for descriptive ones), in % of the baseline mean and coloured by
    verdict, in the panel of its metric. The primary outcomes' panels come first, in their own
    row(s); each panel has its own x scale (a ±5% change and a +100% one are both readable), a
    line at no change, and the metric's label as its title. The figure is as tall as the number of
    metrics needs, not the number of rows: a comparison of 7 policies on 14 metrics takes four
    rows of panels instead of a 98-row plot.

    Returns
    -------
    Figure
        One axes per metric (in the comparison's order, primary outcomes first), then any unused
        grid cells switched off.
    """
    title = f"Change against {_baseline_name(comparison)}, in % of its mean, with the table's intervals"
    if comparison.empty:
        return _empty(title, "Nothing to compare: only one scenario has results.")
    roles = comparison.get("role", pd.Series(["descriptive"] * len(comparison), index=comparison.index))
    metrics = list(dict.fromkeys(comparison["metric"]))
    primary = [m for m in metrics if (roles[comparison["metric"] == m] == "primary").any()]
    others = [m for m in metrics if m not in primary]
    names = list(dict.fromkeys(comparison["condition"]))
    columns = max(1, min(columns, len(metrics)))
    rows_primary, rows_other = math.ceil(len(primary) / columns), math.ceil(len(others) / columns)
    slots = [*primary, *[None] * (rows_primary * columns - len(primary)), *others]
    label_width = 0.075 * max(len(str(n)) for n in names) + 0.6
    panel_height = 0.24 * len(names) + 1.2
    fig = _figure(label_width + 2.7 * columns, panel_height * (rows_primary + rows_other) + 0.9)
    axes = np.atleast_1d(fig.subplots(rows_primary + rows_other, columns, sharey=True, squeeze=False)).ravel()
    y = np.arange(len(names))[::-1]
    position = dict(zip(names, y, strict=True))
    used: dict[str, str] = {}
    for ax, metric in zip(axes, slots + [None] * (len(axes) - len(slots)), strict=True):
        if metric is None:
            ax.set_axis_off()
            continue
        part = comparison[comparison["metric"] == metric]
        estimate, low, high = (part[c].to_numpy(float) for c in ("relative_change", "relative_low", "relative_high"))
        rows_y = np.array([position[n] for n in part["condition"]])
        for verdict_name, colour in VERDICT_COLOURS.items():
            mask = (part["verdict"] == verdict_name).to_numpy()
            if mask.any():
                ax.errorbar(estimate[mask], rows_y[mask], xerr=_error(estimate[mask], low[mask], high[mask]),
                            fmt="o", color=colour, ecolor=colour, capsize=3, markersize=4)
                used[verdict_name] = colour
        ax.axvline(0.0, color="black", linewidth=0.8)
        # wrapped to the panel here: _fit_text allows a third of the figure, wider than a panel of four
        ax.set_title(_wrap(metric_label(metric) + (" (primary)" if metric in primary else ""), 2.4, 10),
                     fontsize=10)
        ax.set_xlabel("change (%)")
        ax.grid(axis="x", alpha=0.3)
    first = axes[0]
    first.set_yticks(y, [str(n) for n in names])
    first.set_ylim(-0.7, len(names) - 0.3)
    for ax in axes[::columns]:
        if ax.axison:
            ax.set_ylabel("Scenario")
    fig.suptitle(title)
    handles = [Line2D([], [], color=colour, marker="o", markersize=4, label=name) for name, colour in used.items()]
    fig.legend(handles=handles, title="Verdict (primary outcomes: simultaneous intervals; others descriptive)",
               loc="outside lower center", fontsize="small", ncols=min(3, len(handles)))
    return fig


def _baseline_name(comparison: pd.DataFrame) -> str:
    if "baseline" in comparison.columns and len(comparison):
        return str(comparison["baseline"].iloc[0])
    return "baseline"


@_readable
def distribution_plot(runs: pd.DataFrame, metric: str, baseline: str | None = None) -> Figure:
    """Distribution of one per-run metric in each scenario: a box (quartiles, median line) and
    every replication as a dot.

    Parameters
    ----------
    runs : runs table (failed runs are left out)
    metric : metric column
    baseline : condition drawn in grey
    """
    table = ok_runs(runs)
    names = conditions(table)
    title = f"{metric_label(metric)} per run, by scenario"
    if metric not in table.columns:
        raise KeyError(f"unknown metric {metric!r}")
    fig = _figure(max(5.0, 1.1 * len(names) + 2), 4)
    ax = fig.subplots()
    colours = condition_colours(names, baseline)
    data = [table.loc[table["condition"] == n, metric].dropna().to_numpy(float) for n in names]
    drawn = [i for i, d in enumerate(data) if d.size]
    if drawn:
        ax.boxplot([data[i] for i in drawn], positions=[i + 1 for i in drawn], widths=0.5, showfliers=False,
                   medianprops={"color": "black"})
    rng = np.random.default_rng(0)  # jitter only; no meaning
    for i, values in enumerate(data):
        ax.scatter(i + 1 + rng.uniform(-0.15, 0.15, values.size), values, s=14, alpha=0.7, color=colours[names[i]],
                   zorder=3)
    ax.set_xticks(range(1, len(names) + 1), names, rotation=30 if len(names) > 4 else 0, ha="right"
                  if len(names) > 4 else "center")
    ax.set_xlabel("Scenario (each dot is one replication)")
    ax.set_ylabel(metric_axis_label(metric))
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return fig


BURN_IN_COLOUR = "#d9d9d9"


@_readable
def time_series_plot(bands: pd.DataFrame, metric: str, baseline: str | None = None,
                     band_label: str = "5–95% of replications", burn_in_quarters: int = 0) -> Figure:
    """Median over replications of a per-step metric, with a shaded band, for each scenario.

    Parameters
    ----------
    bands : :func:`ecosim.analysis.time_series_bands` output
    metric : one of its metrics
    baseline : condition drawn in grey
    band_label : what the band is, for the legend
    burn_in_quarters : the quarters before the measured window (shaded grey and named in the
        legend: the tables leave them out, while a running total here starts at quarter 1)
    """
    table = bands[bands["metric"] == metric]
    if table.empty:
        raise KeyError(f"no time series for {metric!r}")
    names = list(dict.fromkeys(table["condition"]))
    colours = condition_colours(names, baseline)
    fig = _figure(8, 4)
    ax = fig.subplots()
    if burn_in_quarters > 0:
        ax.axvspan(0.5, burn_in_quarters + 0.5, color=BURN_IN_COLOUR, alpha=0.5, linewidth=0,
                   label=f"burn-in, quarters 1–{burn_in_quarters} (not in the tables)")
    for name in names:
        part = table[table["condition"] == name].sort_values("step")
        ax.plot(part["step"], part["median"], color=colours[name], label=name)
        ax.fill_between(part["step"], part["low"], part["high"], color=colours[name], alpha=0.15, linewidth=0)
    cumulative = bool(table["cumulative"].iloc[0]) if "cumulative" in table.columns else False
    ax.set_xlabel("Quarter (model step)")
    # a stock (technologies waiting at G2) is a level, a flow is per quarter: the catalogue says
    # which, and the visualiser's charts name the series the same way
    entry = metric_catalogue.entry(metric)
    quantity = f"{entry.label}, running total" if cumulative and not entry.stock else entry.label
    unit = entry.per_step_unit(cumulative)
    ax.set_ylabel(f"{quantity} ({unit})")
    ax.set_title(f"{quantity} over time\n(line: median; shaded: {band_label})")
    ax.legend(title="Scenario", fontsize="small", loc="best")
    ax.grid(alpha=0.3)
    return fig


# ------------------------------------------------------------------ where the difference comes from


@_readable
def failure_plot(failures: pd.DataFrame) -> Figure:
    """Failures per run at each gate, split by cause, one panel per scenario.

    Parameters
    ----------
    failures : :func:`ecosim.analysis.failures_by_gate_cause` output
    """
    names = list(dict.fromkeys(failures["condition"]))
    if not names:
        return _empty("Failures by gate and cause", "No finished runs.")
    rows, columns = _grid(len(names))
    fig = _figure(3.2 * columns + 1, 3.2 * rows + 0.8)
    axes = np.atleast_1d(fig.subplots(rows, columns, sharey=True, squeeze=False)).ravel()
    x = np.arange(len(GATES))
    for ax, name in zip(axes, names, strict=False):
        part = failures[failures["condition"] == name].set_index(["gate", "cause"])["mean"]
        bottom = np.zeros(len(GATES))
        for cause in CAUSES:
            values = np.array([part.get((g, cause), np.nan) for g in GATES], dtype=float)
            values = np.nan_to_num(values)
            ax.bar(x, values, bottom=bottom, color=CAUSE_COLOURS[cause], label=cause)
            bottom += values
        ax.set_xticks(x, GATES)
        ax.set_title(name)
        ax.set_xlabel("Gate")
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_axis_off()
    for ax in axes[::columns]:
        ax.set_ylabel("Failures (technologies per run, mean)")
    handles = [Patch(color=CAUSE_COLOURS[c], label=c) for c in CAUSES]
    fig.legend(handles=handles, title="Cause of failure", loc="outside lower center", ncols=3)
    fig.suptitle("Where technologies fail: failures by gate and cause\n" + "; ".join(
        f"{g} {GATE_NAMES[g][3:]}" for g in GATES), fontsize="medium")
    return fig


@_readable
def failure_change_plot(decomposition: pd.DataFrame) -> Figure:
    """Change in failures per run by gate × cause against the baseline, one heat map per scenario.

    Cells are annotated with the mean change and marked ``*`` when the interval excludes zero.
    Blue is fewer failures than the baseline (good), red more.

    Parameters
    ----------
    decomposition : :func:`ecosim.analysis.failure_decomposition` output
    """
    names = list(dict.fromkeys(decomposition["condition"]))
    title = f"Change in failures against {_baseline_name(decomposition)}\n(the valley of death decomposition)"
    if not names:
        return _empty(title, "Nothing to compare: only one scenario has results.")
    rows, columns = _grid(len(names), 3)
    fig = _figure(3.6 * columns + 1.2, 3.0 * rows + 0.8)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    limit = float(np.nanmax(np.abs(decomposition["difference"].to_numpy(float)))) if len(decomposition) else 1.0
    limit = limit if limit > 0 and math.isfinite(limit) else 1.0
    image = None
    for ax, name in zip(axes, names, strict=False):
        part = decomposition[decomposition["condition"] == name].set_index(["gate", "cause"])
        grid = np.array([[part["difference"].get((g, c), np.nan) for c in CAUSES] for g in GATES], dtype=float)
        image = ax.imshow(grid, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
        for i, g in enumerate(GATES):
            for j, c in enumerate(CAUSES):
                if (g, c) not in part.index or not math.isfinite(grid[i, j]):
                    continue
                low, high = part.loc[(g, c), "difference_low"], part.loc[(g, c), "difference_high"]
                clear = math.isfinite(low) and math.isfinite(high) and (low > 0 or high < 0)
                dark = abs(grid[i, j]) > 0.6 * limit
                ax.text(j, i, f"{format_signed(grid[i, j])}{'*' if clear else ''}", ha="center", va="center",
                        fontsize="small",
                        color="white" if dark else "black")
        ax.set_xticks(range(len(CAUSES)), CAUSES)
        ax.set_yticks(range(len(GATES)), GATES)
        ax.set_xlabel("Cause of failure")
        ax.set_ylabel("Gate")
        ax.set_title(name)
    for ax in axes[len(names):]:
        ax.set_axis_off()
    if image is not None:
        fig.colorbar(image, ax=list(axes[: len(names)]), label="Change in failures (technologies per run)",
                     shrink=0.8)
    fig.suptitle(title + "\nblue: fewer failures, red: more; * the 95% interval excludes no change",
                 fontsize="medium")
    return fig


@_readable
def funnel_plot(funnel: pd.DataFrame, baseline: str | None = None) -> Figure:
    """The conversion funnel: mean count per run at each stage for each scenario, with intervals;
    one panel per stage, each on its own scale, labelled with the share of disclosures.

    Parameters
    ----------
    funnel : :func:`ecosim.analysis.conversion_funnel` output
    baseline : condition drawn in grey
    """
    stages = list(dict.fromkeys(funnel["stage"]))
    names = list(dict.fromkeys(funnel["condition"]))
    if not stages:
        return _empty("Conversion funnel", "No finished runs.")
    colours = condition_colours(names, baseline)
    fig = _figure(3.3 * len(stages) + 0.5, max(3.0, 0.4 * len(names) + 1.8))
    axes = np.atleast_1d(fig.subplots(1, len(stages), sharey=True, squeeze=False)).ravel()
    y = np.arange(len(names))[::-1]
    for ax, stage in zip(axes, stages, strict=True):
        part = funnel[funnel["stage"] == stage].set_index("condition").reindex(names)
        mean = part["mean"].to_numpy(float)
        ax.barh(y, np.nan_to_num(mean), xerr=_error(mean, part["low"].to_numpy(float), part["high"].to_numpy(float)),
                color=[colours[n] for n in names], capsize=3)
        high = part["high"].to_numpy(float)
        for yi, m, top, share in zip(y, mean, high, part["share_of_first"].to_numpy(float), strict=True):
            if math.isfinite(m) and stage != stages[0]:
                ax.text(max(m, top) if math.isfinite(top) else m, yi + 0.3, f" {share:.1%}", va="center",
                        fontsize="small")
        ax.margins(x=0.2)
        ax.set_title(metric_label(stage))
        ax.set_xlabel(f"{metric_unit(stage).capitalize()}, mean")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, names)
    axes[0].set_ylabel("Scenario")
    fig.suptitle(f"Conversion funnel: from disclosure to market\n(labels: share of {metric_label(stages[0]).lower()};"
                 " bars: 95% intervals)", fontsize="medium")
    return fig


@_readable
def conversion_by_owner_plot(conversion: pd.DataFrame, baseline: str | None = None) -> Figure:
    """Conversion rate by owner type (university, joint, enterprise) for each scenario.

    Parameters
    ----------
    conversion : :func:`ecosim.analysis.conversion_by_owner` output
    baseline : condition drawn in grey
    """
    names = list(dict.fromkeys(conversion["condition"]))
    if not names:
        return _empty("Conversion by owner type", "No finished runs.")
    colours = condition_colours(names, baseline)
    fig = _figure(max(6.0, 1.2 * len(names) + 4), 4)
    ax = fig.subplots()
    width = 0.8 / len(names)
    x = np.arange(len(OWNER_TYPES))
    for i, name in enumerate(names):
        part = conversion[conversion["condition"] == name].set_index("owner").reindex(list(OWNER_TYPES))
        mean = 100 * part["mean"].to_numpy(float)
        err = _error(mean, 100 * part["low"].to_numpy(float), 100 * part["high"].to_numpy(float))
        ax.bar(x - 0.4 + width * (i + 0.5), np.nan_to_num(mean), width, yerr=err, capsize=2, color=colours[name],
               label=name)
    ax.set_xticks(x, ["university alone", "joint with an enterprise", "enterprise's own"])
    ax.set_xlabel("Who owns the technology at disclosure")
    ax.set_ylabel("Conversion rate (% of technologies transferred or used)")
    ax.set_title("Conversion by owner type (bars: 95% intervals)")
    ax.legend(title="Scenario", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    return fig


@_readable
def cost_effectiveness_plot(effectiveness: pd.DataFrame, outcome: str = "welfare") -> Figure:
    """The cost-effectiveness plane: extra public money (x) against extra outcome (y) for each
    scenario, with intervals in both directions.

    Parameters
    ----------
    effectiveness : :func:`ecosim.analysis.cost_effectiveness` output
    outcome : which outcome to draw
    """
    table = effectiveness[effectiveness["outcome"] == outcome]
    title = f"Cost-effectiveness against {_baseline_name(effectiveness)}: {metric_label(outcome).lower()}"
    if table.empty:
        return _empty(title, "Nothing to compare: only one scenario has results.")
    names = list(table["condition"])
    colours = condition_colours([*names, _baseline_name(effectiveness)], _baseline_name(effectiveness))
    fig = _figure(8, 4.5 + 0.2 * len(table))
    ax = fig.subplots()
    for _, row in table.iterrows():
        x, y = row["extra_cost"], row["extra_outcome"]
        ax.errorbar(
            [x], [y],
            xerr=_error(np.array([x]), np.array([row["extra_cost_low"]]), np.array([row["extra_cost_high"]])),
            yerr=_error(np.array([y]), np.array([row["extra_outcome_low"]]), np.array([row["extra_outcome_high"]])),
            fmt="o", color=colours[row["condition"]], capsize=3, label=_per_unit_label(row))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("Extra public money spent per run (M¥)")
    ax.set_ylabel(f"Extra {metric_label(outcome).lower()} per run ({metric_unit(outcome)})")
    ax.set_title(title)
    fig.legend(title=f"Scenario: extra {metric_label(outcome).lower()} per extra M¥ [interval]",
               fontsize="small", loc="outside lower center", ncols=2)
    ax.grid(alpha=0.3)
    return fig


def _per_unit_label(row: pd.Series) -> str:
    per_unit, low, high = row["per_unit_cost"], row["per_unit_low"], row["per_unit_high"]
    if not (math.isnan(per_unit) or math.isnan(low) or math.isnan(high)):  # an end may be ±∞
        return f"{row['condition']}: {format_interval(per_unit, low, high)}"
    return f"{row['condition']}: spending not clearly changed, no ratio"


# ------------------------------------------------------------------ sensitivity


@_readable
def sensitivity_plot(indices: pd.DataFrame, metric: str) -> Figure:
    """Global sensitivity of one output to each varied parameter.

    Sobol indices: first-order (the parameter alone) and total (with its interactions) as bars
    with intervals. Morris: mean absolute elementary effect μ* with its interval.

    Parameters
    ----------
    indices : :func:`ecosim.analysis.sensitivity` output
    metric : the output metric
    """
    table = indices[indices["metric"] == metric]
    title = f"Sensitivity of {metric_label(metric).lower()} to the varied parameters"
    if table.empty:
        raise KeyError(f"no sensitivity indices for {metric!r}")
    if table["note"].astype(bool).all():
        return _empty(title, f"No indices: {table['note'].iloc[0]}.")
    table = table[~table["note"].astype(bool)]
    params = list(table["parameter"])
    fig = _figure(8, max(2.5, 0.45 * len(params) + 1.5))
    ax = fig.subplots()
    y = np.arange(len(params))[::-1]
    if "S1" in table.columns:
        for column, offset, colour, label in (("S1", 0.18, "#3182bd", "first-order (alone)"),
                                              ("ST", -0.18, "#e6550d", "total (with interactions)")):
            value = table[column].to_numpy(float)
            ax.barh(y + offset, value, 0.36, color=colour, label=label,
                    xerr=_error(value, table[f"{column}_low"].to_numpy(float), table[f"{column}_high"].to_numpy(float)),
                    capsize=2)
        ax.set_xlabel("Sobol index (share of the output's variance, 0–1)")
        ax.legend(fontsize="small")
    else:
        value = table["mu_star"].to_numpy(float)
        ax.barh(y, value, 0.6, color="#3182bd",
                xerr=_error(value, table["mu_star_low"].to_numpy(float), table["mu_star_high"].to_numpy(float)),
                capsize=2)
        ax.set_xlabel(f"Morris μ*: mean absolute effect of a parameter step ({metric_unit(metric)})")
    ax.set_yticks(y, params)
    ax.set_ylabel("Varied parameter")
    ax.set_title(title + " (bars: 95% intervals)")
    ax.grid(axis="x", alpha=0.3)
    return fig


# ------------------------------------------------------------------ designs over parameters


@_readable
def design_surface_plot(means: pd.DataFrame, metric: str) -> Figure:
    """A grid design's response surface for one outcome: a heat map of the mean over the first
    two varied parameters (one panel per value of a third, small multiples), each cell labelled
    with its mean and interval; with one varied parameter, the mean and interval along it.

    Parameters
    ----------
    means : :func:`ecosim.analysis.design_point_means` output (one scenario)
    metric : the outcome
    """
    parameters = [c for c in means.columns if "." in str(c) and means[c].nunique() > 1]
    title = f"{metric_label(metric)} over the grid ({metric_unit(metric)}, mean of the replications)"
    if not parameters:
        return _empty(title, "No parameter varies in this design.")
    if len(parameters) == 1:
        p = parameters[0]
        table = means.sort_values(p)
        fig = _figure(7, 4)
        ax = fig.subplots()
        x = table[p].to_numpy(float)
        y = table[metric].to_numpy(float)
        ax.errorbar(x, y, yerr=_error(y, table[f"{metric}_low"].to_numpy(float), table[f"{metric}_high"].to_numpy(float)),
                    fmt="o-", capsize=3, color="#1f77b4")
        ax.set_xlabel(parameter_label(p))
        ax.set_ylabel(metric_axis_label(metric))
        ax.set_title(title)
        ax.grid(alpha=0.3)
        return fig
    px, py = parameters[0], parameters[1]
    facet = parameters[2] if len(parameters) > 2 else None
    panels = sorted(means[facet].unique()) if facet else [None]
    rows, columns = _grid(len(panels), 3)
    fig = _figure(5.2 * columns, 4.2 * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    vmin, vmax = float(np.nanmin(means[metric])), float(np.nanmax(means[metric]))
    image = None
    for ax, value in zip(axes, panels, strict=False):
        part = means if facet is None else means[means[facet] == value]
        grid = part.pivot_table(index=py, columns=px, values=metric, aggfunc="mean")
        low = part.pivot_table(index=py, columns=px, values=f"{metric}_low", aggfunc="mean")
        high = part.pivot_table(index=py, columns=px, values=f"{metric}_high", aggfunc="mean")
        image = ax.imshow(grid.to_numpy(float), origin="lower", cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
        ax.set_xticks(range(grid.shape[1]), [f"{v:.3g}" for v in grid.columns])
        ax.set_yticks(range(grid.shape[0]), [f"{v:.3g}" for v in grid.index])
        ax.set_xlabel(parameter_label(px))
        ax.set_ylabel(parameter_label(py))
        mid = (vmin + vmax) / 2
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                v = grid.iat[i, j]
                ax.text(j, i, f"{format_number(v)}\n[{format_number(low.iat[i, j])}, {format_number(high.iat[i, j])}]",
                        ha="center", va="center", fontsize=7, color="white" if v < mid else "black")
        if facet is not None:
            ax.set_title(f"{parameter_label(facet)} = {value:.3g}")
    for ax in axes[len(panels):]:
        ax.set_axis_off()
    if image is not None:
        fig.colorbar(image, ax=axes[: len(panels)].tolist(), label=metric_axis_label(metric), shrink=0.85)
    fig.suptitle(title)
    return fig


@_readable
def main_effects_plot(means: pd.DataFrame, metric: str, bins: int = 5) -> Figure:
    """Main effects (partial dependence) of each varied parameter on one outcome, for sampled
    designs (LHS, Sobol, Morris): every design point's mean as a dot, and the mean of the outcome
    in quantile bins of the parameter as a line, so that the others are averaged over.

    Parameters
    ----------
    means : :func:`ecosim.analysis.design_point_means` output (one scenario)
    metric : the outcome
    bins : number of quantile bins per parameter
    """
    parameters = [c for c in means.columns if "." in str(c) and means[c].nunique() > 1]
    title = f"Main effects on {metric_label(metric).lower()} ({metric_unit(metric)})"
    if not parameters:
        return _empty(title, "No parameter varies in this design.")
    rows, columns = _grid(len(parameters), 3)
    fig = _figure(4.6 * columns, 3.6 * rows)
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    y = means[metric].to_numpy(float)
    for ax, p in zip(axes, parameters, strict=False):
        x = means[p].to_numpy(float)
        ax.scatter(x, y, s=12, alpha=0.5, color="#6baed6", label="design point (mean of replications)")
        edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
        which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
        centres = [x[which == k].mean() for k in range(len(edges) - 1) if np.any(which == k)]
        levels = [np.nanmean(y[which == k]) for k in range(len(edges) - 1) if np.any(which == k)]
        ax.plot(centres, levels, "o-", color="#08519c", linewidth=2, label="mean in bins of the parameter")
        ax.set_xlabel(parameter_label(p))
        ax.set_ylabel(metric_label(metric))
        ax.grid(alpha=0.3)
    for ax in axes[len(parameters):]:
        ax.set_axis_off()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize="small")
    fig.suptitle(title)
    return fig
