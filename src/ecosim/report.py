"""Reports on a sweep's results: loading them with checks, the comparison table, and one
self-contained HTML report (figures embedded) with a Markdown summary beside it.

The statistics come from :mod:`ecosim.analysis` and the figures from :mod:`ecosim.plots`;
this module decides what goes into a report, checks the user's input (results directory,
baseline and metric names, enough replications) and writes files atomically. Bad input raises
:class:`ecosim.errors.InputError` before anything is written.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ecosim import __version__, analysis, plots
from ecosim.errors import InputError
from ecosim.formatting import format_interval, format_number, format_signed
from ecosim.locks import output_lock

SENSITIVITY_DESIGNS = ("sobol", "morris")
"""Design kinds whose results are analysed with global sensitivity indices."""


@dataclass
class Results:
    """A sweep's results as loaded from its directory, with what a reader must know about them.

    Attributes
    ----------
    directory : the results directory
    runs : runs table (:func:`ecosim.store.load_runs`), every status
    steps : per-step table (:func:`ecosim.store.load_steps`), possibly empty
    index : the sweep's index (:func:`ecosim.store.load_index`)
    notes : sentences about incomplete or failed sweeps, shown in outputs
    """

    directory: Path
    runs: pd.DataFrame
    steps: pd.DataFrame
    index: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> pd.DataFrame:
        """Finished runs with a ``condition`` column."""
        return analysis.ok_runs(self.runs)

    @property
    def design(self) -> str:
        """The design kind: scenarios, grid, lhs, sobol, morris or list."""
        return str(self.index.get("design") or self.index.get("design_kind") or "scenarios")


def load_results(results_dir: str | os.PathLike[str]) -> Results:
    """Load a results directory written by ``ecosim sweep``, or explain why it is not one.

    A sweep that is still running, was interrupted, or has failed runs is loaded on what is
    there, and :attr:`Results.notes` says so.

    Raises
    ------
    InputError
        The directory does not exist, is not an ecosim results directory, or has no finished run.
    """
    from ecosim import store

    directory = Path(results_dir)
    source = str(directory)
    if not directory.exists():
        raise InputError("no such results directory", source=source)
    if not directory.is_dir():
        raise InputError("not a directory; give the results directory that `ecosim sweep` wrote", source=source)
    try:
        index = store.load_index(directory)
        runs = store.load_runs(directory)
    except InputError:
        raise
    except (FileNotFoundError, ValueError, KeyError, OSError) as exc:
        raise InputError(
            f"not an ecosim results directory ({exc}); run `ecosim sweep EXPERIMENT --out DIR` first",
            source=source) from exc
    try:
        steps = store.load_steps(directory)
    except (FileNotFoundError, ValueError, KeyError, OSError):
        steps = pd.DataFrame()
    if runs is None or len(runs) == 0:
        raise InputError("the results directory has no finished runs yet", source=source)
    notes = _completeness_notes(runs, index)
    if "status" in runs.columns and not (runs["status"] == "ok").any():
        raise InputError("every run in this sweep failed; see the run errors in the results directory",
                         source=source)
    return Results(directory=directory, runs=runs, steps=steps if steps is not None else pd.DataFrame(),
                   index=dict(index or {}), notes=notes)


def _completeness_notes(runs: pd.DataFrame, index: dict[str, Any]) -> list[str]:
    notes = []
    planned = index.get("runs")
    n_planned = len(planned) if isinstance(planned, (list, tuple, dict)) else (
        int(planned) if isinstance(planned, int) else None)
    if n_planned is None:
        n_planned = index.get("n_runs") if isinstance(index.get("n_runs"), int) else None
    finished = len(runs)
    failed = int((runs["status"] != "ok").sum()) if "status" in runs.columns else 0
    if n_planned is not None and finished < n_planned:
        notes.append(
            f"Partial results: {finished} of {n_planned} planned runs have finished (the sweep is still "
            "running or was interrupted; `ecosim sweep --resume` completes it). Results below use the "
            "finished runs only.")
    if failed:
        notes.append(f"{failed} of {finished} runs failed and are left out of every statistic.")
    planned_scenarios = [r.get("scenario") for r in planned if isinstance(r, dict)] if isinstance(planned, list) else []
    known = list(dict.fromkeys([*planned_scenarios, *runs.get("scenario", pd.Series(dtype=str))]))
    ok_scenarios = set(runs.loc[runs["status"] == "ok", "scenario"]) if "status" in runs.columns else set(
        runs.get("scenario", []))
    missing = [str(name) for name in known if name is not None and name not in ok_scenarios]
    if missing:
        notes.append(f"No finished runs yet for {', '.join(missing)}: left out of the comparison.")
    return notes


def check_replications(results: Results, minimum: int = 2) -> None:
    """Raise :class:`InputError` unless every condition has at least ``minimum`` ok replications."""
    counts = results.ok.groupby("condition", sort=False).size()
    few = counts[counts < minimum]
    if len(few):
        listing = ", ".join(f"{name} ({n})" for name, n in list(few.items())[:6])
        if len(few) > 6:
            listing += f" and {len(few) - 6} more"
        raise InputError(
            f"too few finished replications for an interval: {listing}; every scenario needs at least "
            f"{minimum} (run the sweep with --replications {max(minimum, 5)} or more)",
            source=str(results.directory))


def resolve_baseline(results: Results, baseline: str | None) -> str:
    """The baseline condition: the one named, or the default; unknown names raise InputError."""
    names = analysis.conditions(results.ok)
    if baseline is None:
        return analysis.default_baseline(results.ok)
    if baseline not in names:
        near = analysis.nearest_names(baseline, names)
        hint = f" Did you mean {', '.join(near)}?" if near else ""
        raise InputError(f"unknown baseline {baseline!r}; the scenarios are: {', '.join(names)}.{hint}",
                         source=str(results.directory), key="--baseline")
    return baseline


def resolve_metrics(results: Results, metrics: Sequence[str] | None) -> list[str]:
    """The metrics to compare: those named (checked), or :func:`ecosim.analysis.default_metrics`."""
    known = analysis.metric_columns(results.ok)
    if not metrics:
        return analysis.default_metrics(results.ok)
    chosen = []
    for metric in metrics:
        if metric not in known:
            near = analysis.nearest_names(metric, known)
            hint = f" Did you mean {', '.join(near)}?" if near else ""
            raise InputError(f"unknown metric {metric!r}.{hint} Known metrics: {', '.join(sorted(known))}",
                             source=str(results.directory), key="--metric")
        if metric not in chosen:
            chosen.append(metric)
    return chosen


def resolve_primary(results: Results, primary: Sequence[str] | None) -> list[str]:
    """The primary outcomes: those named, else the experiment file's, else the catalogue's headline
    outcomes present in the results. Unknown names raise InputError."""
    known = set(analysis.metric_columns(results.ok))
    chosen = list(primary) if primary else list(results.index.get("primary") or [])
    if not chosen:
        return analysis.default_primary(results.ok)
    for metric in chosen:
        if metric not in known:
            near = analysis.nearest_names(metric, known)
            hint = f" Did you mean {', '.join(near)}?" if near else ""
            raise InputError(f"unknown primary outcome {metric!r}.{hint}", source=str(results.directory),
                             key="--primary")
    return list(dict.fromkeys(chosen))


SURFACE_DESIGNS = ("grid", "lhs")
"""Design kinds whose points are analysed as a response surface (heat maps, main effects), not as
policies compared with point 0."""


def comparison_table(
    results: Results,
    baseline: str | None = None,
    metrics: Sequence[str] | None = None,
    primary: Sequence[str] | None = None,
    alpha: float = 0.05,
    correction: str = "bonferroni",
    seed: int = 0,
) -> pd.DataFrame:
    """Check the input and compare every scenario with the baseline (see :func:`ecosim.analysis.compare`).

    Only scenario lists (and ``list`` designs) are compared condition by condition; a grid,
    LHS, Sobol or Morris design is a surface over parameters, analysed by ``ecosim report``.
    """
    if results.design in SENSITIVITY_DESIGNS or results.design in SURFACE_DESIGNS:
        raise InputError(
            f"this is a {results.design} design: its points are samples of a response surface, analysed "
            f"together (heat maps, main effects, sensitivity indices), not policies compared with point 0; "
            f"run `ecosim report {results.directory}`", source=str(results.directory))
    baseline = resolve_baseline(results, baseline or results.index.get("baseline"))
    primary = resolve_primary(results, primary)
    metrics = resolve_metrics(results, metrics)
    check_replications(results)
    if len(analysis.conditions(results.ok)) < 2:
        raise InputError("only one scenario has results; there is nothing to compare it with",
                         source=str(results.directory))
    return analysis.compare(results.ok, baseline, metrics, primary=primary, alpha=alpha, correction=correction,
                            seed=seed)


# ------------------------------------------------------------------ formatting


def format_p(value: Any) -> str:
    """A p-value: ``<0.001`` below a thousandth, else three decimals; ``–`` when no test was made."""
    x = float(value)
    if not math.isfinite(x):
        return "–"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def format_level(level: Any, role: str) -> str:
    """The interval's confidence level, e.g. ``99.76% simultaneous`` for primary outcomes."""
    text = f"{100 * float(level):.4g}%"
    return f"{text} simultaneous" if role == "primary" else text


def role_text(row: Any) -> str:
    """The row's role with the level of its interval, e.g. ``primary, 99.76% simultaneous``:
    one column, so that a reader sees which interval a verdict rests on."""
    return f"{row['role']}, {format_level(row['level'], row['role'])}"


VERDICT_GLOSSARY = (
    "“Undecided: needs about N replications” means the interval still includes no change; N is how many "
    "replications would make an interval of the current spread clear of no change. “No change larger than "
    "±5% of the baseline” means the interval includes no change and lies within ±5% of the baseline's mean "
    "(the precision target): any effect is smaller than that.")
"""What the two verdicts that are not a clear change mean, in the words :func:`verdict_text` prints."""


def verdict_text(row: Any, short: bool = False) -> str:
    """The verdict as a reader sees it (:func:`ecosim.analysis.verdict_words`, the same words in
    every output), with the replications it would need when undecided. ``short`` is kept for
    callers: both forms are now the same words."""
    get = row.get if hasattr(row, "get") else (lambda key, default=None: default)
    return analysis.verdict_words(str(row["verdict"]), float(get("replications_needed", math.nan)),
                                  float(get("precision", math.nan)))


def verdict_of_text(text: Any) -> str | None:
    """The verdict (one of :data:`ecosim.analysis.VERDICTS`) that a text of :func:`verdict_text`
    stands for, in either form, alone or ending a cell as ``"… — <verdict text>"``; ``None`` for
    any other text. It lets a table of strings colour each verdict as the forest plot does."""
    word = str(text).rpartition(" — ")[2]
    if word in analysis.VERDICTS:
        return word
    if word.startswith("undecided"):
        return "undecided"
    if word.startswith("no change larger than"):
        return "no change larger than the precision target"
    if word == "descriptive (no test)":
        return "descriptive"
    return None


def verdict_class(verdict: str) -> str:
    """The CSS class of a verdict's cells, e.g. ``more-replications-needed``."""
    return str(verdict).replace(" ", "-")


def verdict_css() -> str:
    """The report's CSS for verdicts: every cell of a verdict starts with a dot of the verdict's
    colour (:data:`ecosim.plots.VERDICT_COLOURS`, the forest plot's dots), and better and worse
    are bold in theirs. One definition of the colours for plots, report and notebooks."""
    rules = []
    for verdict, colour in plots.VERDICT_COLOURS.items():
        rules.append(f'.{verdict_class(verdict)}::before{{content:"\\25CF\\00A0";color:{colour}}}')
        if verdict in ("better", "worse"):
            rules.append(f".{verdict_class(verdict)}{{color:{colour};font-weight:600}}")
    return "\n".join(rules)


def change_text(row: Any) -> str:
    """The change with its interval: in % when the method is a ratio or a baseline mean exists,
    else in the metric's unit. Every output prints a change through this function."""
    if math.isfinite(row["relative_change"]):
        return format_interval(row["relative_change"], row["relative_low"], row["relative_high"], percent=True)
    return format_interval(row["difference"], row["difference_low"], row["difference_high"]) + " " + (
        analysis.metric_unit(row["metric"]))


def has_probabilities(comparison: pd.DataFrame) -> bool:
    """True when the comparison holds probabilities over a posterior (runs from posterior draws)."""
    return "p_better" in comparison.columns and bool(comparison["p_better"].notna().any())


def probability_text(row: Any) -> str:
    """The probability over the posterior that a policy beats the baseline, with its interval:
    ``"87% [71%, 96%]"``; ``"–"`` where there is none (descriptive outcome, no better direction)."""
    p = row.get("p_better", math.nan) if hasattr(row, "get") else math.nan
    if p is None or not math.isfinite(p):
        return "–"
    return f"{_percent(p)} [{_percent(row['p_better_low'])}, {_percent(row['p_better_high'])}]"


def _percent(p: float) -> str:
    return f"{100 * p:.0f}%"


POSTERIOR_NOTE = (
    "P(better) is the probability over the posterior that the policy beats the baseline: the share of "
    "paired replications — each one posterior draw of the free parameters and one seed, shared by both "
    "scenarios — in which the policy's outcome is better (ties count half). Its interval (95%, Jeffreys) says "
    "how precisely the number of draws pins that share down. It is not a p-value: it says how often the policy "
    "wins across the worlds the calibration leaves plausible, not how surprising the results would be if "
    "the policy did nothing.")
"""The sentence every output prints beside the probabilities (table, report, notebook)."""


def probability_table(
    comparison: pd.DataFrame, labels: Mapping[str, str] | None = None, order: Sequence[str] | None = None
) -> pd.DataFrame | None:
    """The probability over the posterior that each policy beats the baseline, as one table: a row
    per policy (in ``order``, e.g. the ranking; else the comparison's), a column per primary
    outcome with a better direction, each cell ``"93% [80%, 99%] — better"``: P(better) with its
    95% interval (:func:`probability_text`) and the row's verdict (:func:`verdict_text`, short),
    the same texts as every other table. ``None`` when the runs are not from posterior draws.
    A cell without a probability (an outcome without a better direction) is ``"–"``."""
    if not has_probabilities(comparison):
        return None
    rows = comparison[comparison["p_better"].notna()]
    metrics = list(dict.fromkeys(rows["metric"]))
    names = [n for n in (order or []) if n in set(rows["condition"])]
    names += [n for n in dict.fromkeys(rows["condition"]) if n not in names]
    indexed = rows.set_index(["condition", "metric"])
    table = []
    for name in names:
        cells = {"policy": (labels or {}).get(name, name)}
        for metric in metrics:
            if (name, metric) in indexed.index:
                row = indexed.loc[(name, metric)]
                cells[analysis.metric_label(metric)] = f"{probability_text(row)} — {verdict_text(row, short=True)}"
            else:
                cells[analysis.metric_label(metric)] = "–"
        table.append(cells)
    return pd.DataFrame(table, columns=["policy", *[analysis.metric_label(m) for m in metrics]])


def probability_headline(comparison: pd.DataFrame, labels: Mapping[str, str] | None = None) -> str | None:
    """One short sentence over the probability table: the policy that beats the baseline most
    consistently, i.e. with the highest smallest P(better) over the primary outcomes (the number
    printed in its row); every policy that ties for it is named. ``None`` without probabilities."""
    if not has_probabilities(comparison):
        return None
    rows = comparison[comparison["p_better"].notna()]
    lowest = rows.groupby("condition", sort=False)["p_better"].min()
    # policies whose smallest P(better) ties with the best are all named: picking one would be arbitrary
    best = [name for name, p in lowest.items() if math.isclose(p, lowest.max(), rel_tol=1e-9, abs_tol=1e-12)]
    draws = int(rows["n"].min())
    names = [str((labels or {}).get(name, name)) for name in best]
    base = (labels or {}).get(rows["baseline"].iloc[0], rows["baseline"].iloc[0])
    if len(names) == 1:
        return (f"Across the {draws} plausible worlds (posterior draws), {names[0]} beats {base} most consistently: "
                f"in at least {_percent(lowest.max())} of them on every primary outcome.")
    return (f"Across the {draws} plausible worlds (posterior draws), {', '.join(names[:-1])} and {names[-1]} beat "
            f"{base} most consistently (a tie): each in at least {_percent(lowest.max())} of them on every primary "
            "outcome.")


PROBABILITY_CAPTION = ("P(better) over the posterior [95% interval] — verdict, for each policy and primary outcome "
                       "against {base}")
"""The P(better) table's caption (``{base}``: the baseline's name)."""


def condition_labels(ok: pd.DataFrame) -> dict[str, str]:
    """Condition → a name a reader understands: a design point gets its parameter values,
    e.g. ``"tiny_poc[1] (managers per region = 5)"``; a plain scenario keeps its name."""
    parameters = analysis.parameter_columns(ok)
    labels = {}
    for _, row in ok.drop_duplicates("condition").iterrows():
        name = str(row["condition"])
        values = {p: row[p] for p in parameters if pd.notna(row[p])}
        labels[name] = f"{name} ({analysis.point_label(values)})" if "[" in name and values else name
    return labels


def scenario_descriptions(results: Results) -> dict[str, str]:
    """Scenario → the one-line ``description:`` of its scenario file: recorded in the sweep's
    index, or (for sweeps recorded before it was) read from the experiment file the index names
    when that file still has the sweep's description. Empty when neither is available."""
    recorded = results.index.get("scenario_descriptions")
    if isinstance(recorded, dict):
        return {str(k): str(v) for k, v in recorded.items() if v}
    source = results.index.get("source")
    if not source or not Path(str(source)).is_file():
        return {}
    from ecosim.experiment import load_experiment

    try:
        experiment = load_experiment(str(source), sample=False)
    except Exception:  # noqa: BLE001 - an experiment file changed since the sweep: no descriptions
        return {}
    if experiment.description != str(results.index.get("description") or ""):
        return {}  # another experiment now: its scenarios may not be this sweep's
    return {name: str(data.get("description")) for name, data in experiment.scenarios.items()
            if data.get("description")}


def readable_comparison(comparison: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The comparison table as strings, in the columns people read: scenario, outcome (label and
    unit), role with its interval's level, baseline and scenario means, the change in the
    metric's unit and in % (one interval, two scales), the adjusted p-value, for runs from
    posterior draws the probability that the policy beats the baseline (:func:`probability_text`),
    and the verdict."""
    posterior = has_probabilities(comparison)
    rows = []
    for _, row in comparison.iterrows():
        rows.append({
            "scenario": (labels or {}).get(row["condition"], row["condition"]),
            "outcome": analysis.metric_label(row["metric"]),
            "unit": analysis.metric_unit(row["metric"]),
            "role [interval]": role_text(row),
            "baseline": format_number(row["baseline_mean"]),
            "scenario mean": format_number(row["scenario_mean"]),
            "change [interval]": format_interval(row["difference"], row["difference_low"], row["difference_high"]),
            "change % [interval]": format_interval(row["relative_change"], row["relative_low"],
                                                   row["relative_high"], percent=True),
            "p (adjusted)": format_p(row["p_adjusted"]),
            **({"P(better) over posterior [95%]": probability_text(row)} if posterior else {}),
            "verdict": verdict_text(row),
        })
    return pd.DataFrame(rows)


DESCRIPTIVE_DROPPED = ("role [interval]", "p (adjusted)", "P(better) over posterior [95%]")
"""Columns the table of descriptive outcomes leaves out: the same (or empty) in every row."""


def _narrow_table(part: pd.DataFrame, comparison: pd.DataFrame) -> pd.DataFrame:
    """The narrower form of :func:`readable_comparison` rows: the unit joins the outcome, the
    role and level go to the table's title, the verdict takes its short form."""
    part = part.drop(columns=["role [interval]"])
    part["outcome"] = [analysis.metric_axis_label(m) for m in comparison["metric"]]
    part = part.drop(columns="unit")
    part["verdict"] = [verdict_text(row, short=True) for _, row in comparison.iterrows()]
    return part


def comparison_tables(
    comparison: pd.DataFrame, labels: Mapping[str, str] | None = None, answer: str = "the answer",
    correction: str = "bonferroni",
) -> list[tuple[str, str, pd.DataFrame]]:
    """The comparison's details after the answer, as two tables narrow enough to be read whole:
    the primary outcomes with only what the answer (``answer``: ``ecosim compare``'s answer
    table, the report's first screen) lacks — each policy's mean, the change in the outcome's
    unit with the answer's interval, the adjusted p-value; not the change in %, the verdict,
    P(better) or the baseline's mean, which the answer prints (:data:`ANSWER_SAYS`) — then the
    other, descriptive outcomes (no verdict, no p-value). ``ecosim compare`` prints them and the
    HTML report shows them.

    Returns
    -------
    list of (role, title, table)
        One entry per role present, ``"primary"`` first; the title names the baseline and the
        level of the table's intervals; the table's cells are strings.
    """
    if comparison.empty:
        return []
    comparison = without_constant_descriptive(comparison)
    readable = readable_comparison(comparison, labels)
    baseline = comparison["baseline"].iloc[0]
    base = (labels or {}).get(baseline, baseline)
    roles = comparison["role"].to_numpy()
    tables = []
    for role in ("primary", "descriptive"):
        if not (roles == role).any():
            continue
        part = _narrow_table(readable[roles == role].copy(), comparison[roles == role])
        if role == "primary":
            level = format_level(comparison.loc[roles == role, "level"].iloc[0],
                                 "primary" if correction == "bonferroni" else "descriptive")
            title = (f"Primary outcomes against {base} in their units: means per run, the change with {answer}'s "
                     f"{level} interval, the adjusted p-value")
            part = part.drop(columns=[c for c in ANSWER_SAYS if c in part.columns])
        else:
            level = format_level(comparison.loc[roles == role, "level"].iloc[0], role)
            title = f"Other outcomes against {base}: descriptive, {level} intervals, no verdict (means per run)"
            part = part.drop(columns=[c for c in DESCRIPTIVE_DROPPED if c in part.columns])
            part = part.rename(columns={"verdict": "note"})
            part["note"] = part["note"].where(part["note"] != verdict_text({"verdict": "descriptive"}), "")
            if not part["note"].any():
                part = part.drop(columns="note")
        tables.append((role, title, part.reset_index(drop=True)))
    return tables


def without_constant_descriptive(comparison: pd.DataFrame) -> pd.DataFrame:
    """The comparison without the descriptive metrics that had one value in every run of every
    scenario (:func:`ecosim.analysis.constant_metrics`; :func:`constant_note` says so once).
    Primary outcomes stay: they carry a verdict."""
    constant = analysis.constant_metrics(comparison)
    keep = ~(comparison["metric"].isin(list(constant)) & (comparison["role"] != "primary"))
    return comparison[keep].reset_index(drop=True)


def constant_note(comparison: pd.DataFrame) -> str | None:
    """One sentence naming the descriptive metrics that did not vary, e.g. "Did not vary: median
    time to transfer was 4.00 quarters in every run of every scenario (not compared)."."""
    constant = {m: v for m, v in analysis.constant_metrics(comparison).items()
                if (comparison.loc[comparison["metric"] == m, "role"] != "primary").all()}
    if not constant:
        return None
    parts = [f"{analysis.metric_label(m).lower()} was {format_number(v)} {analysis.metric_unit(m)}"
             for m, v in constant.items()]
    return "Did not vary: " + "; ".join(parts) + " in every run of every scenario (not compared)."


ANSWER_SAYS = ("change % [interval]", "baseline", "P(better) over posterior [95%]", "verdict")
"""Columns of the primary outcomes' table that the answer already prints: ``ecosim compare``'s
answer table and the report's first screen (the change in % with its interval and the verdict in
each cell, P(better) beside it for posterior runs, the baseline's means in the last row)."""


def _column_widths(frame: pd.DataFrame, available: int) -> list[int]:
    """Widths for a rich table of ``frame`` that fit ``available`` cells: every column starts at
    its longest line and the widest is narrowed, never below its longest word, until the table
    fits. (Rich's own fitting can overshoot and then crops the last column: the verdict.)"""
    from rich.cells import cell_len

    texts = [[str(column), *map(str, frame[column])] for column in frame.columns]
    longest = [max(cell_len(t) for t in column) for column in texts]
    word = [max(cell_len(w) for t in column for w in (t.split() or [""])) for column in texts]
    widths = list(longest)
    budget = available - (3 * len(widths) + 1)  # borders and one space of padding each side
    while sum(widths) > budget:
        slack = [w - m for w, m in zip(widths, word, strict=True)]
        if max(slack) <= 0:
            break
        widest = max(range(len(widths)), key=lambda i: (widths[i] if slack[i] > 0 else -1))
        widths[widest] -= 1
    return widths


def ranking_cell(row: Any, metric: str) -> str:
    """One policy's result on one primary outcome as the answer prints it, in the report's ranking
    and in ``ecosim compare``: the change with its interval (:func:`change_text`) and the short
    verdict, e.g. ``"+9.04% [+6.29%, +11.8%] — better"``."""
    return f"{change_text({**row, 'metric': metric})} — {verdict_text(row, short=True)}"


def answer_table(comparison: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The answer ``ecosim compare`` prints first: a row per policy in the ranking's order
    (:func:`rank_policies`), a column per primary outcome, each cell :func:`ranking_cell` (the
    report's ranking cell) followed, for runs from posterior draws, by ``P(better)`` with its
    interval (:func:`probability_text`); when the comparison holds the public money spent, the
    report's two cost columns (:func:`cost_headings`: the extra public money and the outcome per
    extra M¥, from :func:`ecosim.analysis.cost_effectiveness` of this comparison); a last row
    gives the baseline's means."""
    primary = list(dict.fromkeys(comparison.loc[comparison["role"] == "primary", "metric"]))
    if not primary:
        return pd.DataFrame()
    posterior = has_probabilities(comparison)
    indexed = comparison.set_index(["condition", "metric"])
    baseline = comparison["baseline"].iloc[0]
    headings = [analysis.metric_label(m) for m in primary]
    cost_outcome = value_for_money_outcome(primary)
    effectiveness = (analysis.cost_effectiveness(comparison, [cost_outcome])
                     if "public_spending" in set(comparison["metric"]) else pd.DataFrame())
    cost = cost_headings(comparison, effectiveness, cost_outcome) if not effectiveness.empty else []
    rows = []
    for record in rank_policies(comparison).itertuples():
        cells = {"rank": str(record.rank), "policy": (labels or {}).get(record.condition, record.condition)}
        for metric, heading in zip(primary, headings, strict=True):
            row = indexed.loc[(record.condition, metric)]
            text = ranking_cell(row, metric)
            if posterior and probability_text(row) != "–":
                text += f"; P(better) {probability_text(row)}"
            cells[heading] = text
        if cost:
            cells.update(zip(cost, cost_cells(effectiveness, record.condition, cost_outcome), strict=True))
        rows.append(cells)
    rows.append({"rank": "–", "policy": (labels or {}).get(baseline, baseline) + ("" if baseline == "baseline"
                                                                                 else " (baseline)"),
                 **{heading: f"mean {format_number(indexed.xs(m, level='metric')['baseline_mean'].iloc[0])} "
                             f"{analysis.metric_unit(m)}" for m, heading in zip(primary, headings, strict=True)},
                 **dict.fromkeys(cost, "–")})
    return pd.DataFrame(rows, columns=["rank", "policy", *headings, *cost])


def _print_table(console: Any, title: str, part: pd.DataFrame, styles: Mapping[str, str] | None = None) -> None:
    """One rich table of string cells, fitted to the console; a cell whose verdict (the last
    column's, or after " — ") has a style is coloured. Text, not markup: a heading such as
    ``change [interval]`` is printed as it is, not read as a markup tag."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title), title_justify="left")
    for column, width in zip(part.columns, _column_widths(part, console.width), strict=True):
        text = column not in ("baseline", "scenario mean", "change [interval]", "change % [interval]",
                              "p (adjusted)", "rank")
        table.add_column(Text(column), justify="left" if text else "right", overflow="fold", width=width)
    for _, row in part.iterrows():
        cells = [str(v) for v in row.to_list()]
        table.add_row(*(Text(cell, style=(styles or {}).get(cell.split(" — ")[-1].split(";")[0], ""))
                        for cell in cells))
    console.print(table)


def print_comparison(
    comparison: pd.DataFrame, notes: Sequence[str] = (), console: Any = None, correction: str = "bonferroni",
    labels: Mapping[str, str] | None = None,
) -> None:
    """Print the comparison, the answer first and each number once.

    1. The answer (:func:`answer_table`): a row per policy in the ranking's order, a column per
       primary outcome, the change in % with its simultaneous interval and the verdict (and
       P(better) for runs from posterior draws), the baseline's means in the last row; for
       posterior runs one sentence names the policy that wins most consistently.
    2. The primary outcomes in their units: means, the change in the outcome's unit (the same
       interval as the answer's %), the adjusted p-value.
    3. The descriptive outcomes (no verdict).
    4. How the numbers were made, and what P(better) means.

    Tables rather than sentences, each fitted to the console so that no column is cut off."""
    from rich.console import Console

    console = console or Console()
    baseline = comparison["baseline"].iloc[0] if len(comparison) else "baseline"
    base = (labels or {}).get(baseline, baseline)
    paired = bool(comparison["paired"].all()) if len(comparison) else True
    styles = {"better": "green", "worse": "red", "higher": "blue", "lower": "blue"}
    primary = comparison[comparison["role"] == "primary"]
    answer = answer_table(comparison, labels)
    if len(answer):
        level = format_level(primary["level"].iloc[0], "primary" if correction == "bonferroni" else "descriptive")
        title = (f"The answer: each policy against {base} on the primary outcomes, ranked — change in % "
                 f"[{level} interval] — verdict"
                 + ("; P(better) over the posterior [95%]" if has_probabilities(comparison) else ""))
        _print_table(console, title, answer, styles)
        console.print(ranking_rule(comparison), highlight=False)
        headline = probability_headline(comparison, labels)
        if headline:
            console.print(headline, highlight=False)
        console.print()
    for _, title, part in comparison_tables(comparison, labels, "the answer", correction):
        _print_table(console, title, part, styles)
    unvaried = constant_note(comparison)
    if unvaried:
        console.print(unvaried, highlight=False)
    console.print(method_note(comparison, correction), highlight=False)
    if has_probabilities(comparison):
        console.print(POSTERIOR_NOTE, highlight=False)
    if not paired:
        console.print("UNPAIRED: scenarios do not share replication seeds, so unpaired intervals were used.",
                      highlight=False)
    for note in notes:
        console.print(f"[yellow]Note:[/yellow] {note}", highlight=False)


def method_note(comparison: pd.DataFrame, correction: str = "bonferroni") -> str:
    """One paragraph saying how the numbers were made (the same text in every output)."""
    if comparison.empty:
        return ""
    paired = bool(comparison["paired"].all())
    primary = comparison[comparison["role"] == "primary"]
    family = len(primary)
    adjusted = correction == "bonferroni"
    level = format_level(primary["level"].iloc[0], "primary" if adjusted else "descriptive") if family else ""
    together = f"{100 * (1 - family * (1 - float(primary['level'].iloc[0]))):.4g}%" if family else ""
    descriptive = comparison[comparison["role"] != "primary"]
    other = format_level(descriptive["level"].iloc[0], "descriptive") if len(descriptive) else "95%"
    return (
        ("Replications are paired by seed (common random numbers). " if paired else
         "Scenarios do not share replication seeds, so intervals are unpaired. ")
        + "Each change is estimated once: as a difference of means with a t interval, or for heavy-tailed "
          "outcomes as a ratio of means on the log scale whose interval is the widest of a bootstrap-t, a "
          "delta-method t and (paired) an exact sign-flip interval (the method column of comparison.csv names "
          "the one each row's bounds came from); the change in % and in the outcome's unit are two views of "
          "that one interval. "
        + (f"The {family} primary comparisons form one family: each of their intervals is a {level} interval "
           f"(Bonferroni), so that all of them hold together with {together} confidence, and a verdict is "
           "given exactly when that interval excludes no change. "
           if family and adjusted else
           f"The {family} primary comparisons get {level} intervals (not adjusted for multiplicity), and a verdict "
           "is given exactly when that interval excludes no change. " if family else "")
        + f"Other outcomes are descriptive: {other} intervals, no verdict.")


def write_table(frame: pd.DataFrame, directory: Path, stem: str) -> list[Path]:
    """Write ``frame`` as CSV and Parquet (atomically) into ``directory``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, writer in ((".csv", lambda f, p: f.to_csv(p, index=False)),
                           (".parquet", lambda f, p: f.to_parquet(p, index=False))):
        target = directory / f"{stem}{suffix}"
        _atomic(target, lambda tmp, w=writer: w(frame, tmp))
        paths.append(target)
    return paths


def _atomic(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same directory, then rename over the target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    tmp = Path(name)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # mkstemp makes 0600; a report is for sharing
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------ the report


REPORT_DISTRIBUTION_METRICS = ("deals", "commercialisations", "welfare", "conversion_university")
REPORT_TIME_SERIES = (("deals", True), ("commercialisations", True), ("at_G2", False), ("public_spending", True))
REPORT_SENSITIVITY_METRICS = ("deals", "commercialisations", "welfare", "conversion_university")


@dataclass
class Section:
    """One part of a report: a heading, paragraphs (HTML, names already escaped), an optional
    table with an optional caption (plain text) and figures."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    figures: list[tuple[str, str, Figure]] = field(default_factory=list)  # (file stem, caption, figure)
    caption: str = ""
    fold: str = ""
    """When set, the HTML report folds the table under a ``<details>`` element with this summary
    (a long table whose content a figure of the section shows; the Markdown keeps it open)."""


@dataclass
class FirstScreen:
    """What the report's first screen answers: the question (``question_label`` is ``"Question"``,
    or ``"What was compared"`` when the experiment asks none and ``question`` is its
    description; see :func:`experiment_question`), the ranking of policies on the
    primary outcomes with verdicts and intervals, the cost per extra outcome, and why each
    failing policy fails. ``columns`` are the ranking table's headings; each row of ``rows``
    holds ``scenario``, ``colour``, ``failing`` and one ``cells`` entry per column. For runs
    from posterior draws, ``probabilities`` is the P(better) table (a row per policy, a column
    per primary outcome) with its caption and what P(better) means (``probability_note``)."""

    question: str
    lead: list[str]
    columns: list[str]
    rows: list[dict[str, Any]]
    method: str
    question_label: str = "Question"
    probabilities: pd.DataFrame | None = None
    """For runs from posterior draws, :func:`probability_table` in the ranking's order."""
    probability_caption: str = ""
    probability_note: str = ""


RANKING_RULE = ("Ranking rule: policies are ordered by how many primary outcomes they clearly improve "
                "(a “better” verdict) minus how many they clearly worsen, ties broken by the change in "
                "{first}. The rule does not count cost: the public money each policy adds, and what each "
                "extra M¥ of it buys, stand beside the ranking.")


def ranking_rule(comparison: pd.DataFrame) -> str:
    """The words that state :func:`rank_policies`' rule (the report's first screen and the
    console's answer print them)."""
    primary = comparison.loc[comparison["role"] == "primary", "metric"]
    first = analysis.metric_label(primary.iloc[0]).lower() if len(primary) else "the first primary outcome"
    return RANKING_RULE.format(first=first)


def rank_policies(comparison: pd.DataFrame) -> pd.DataFrame:
    """Conditions ranked on the primary outcomes: most "better" minus "worse" verdicts first,
    ties broken by the change in % of the first primary outcome (:data:`RANKING_RULE` says it
    in words). Cost is not part of the rule.

    Returns
    -------
    DataFrame
        condition, better, worse, first_change, rank.
    """
    primary = comparison[comparison["role"] == "primary"]
    first = primary["metric"].iloc[0] if len(primary) else None
    rows = []
    for name, part in primary.groupby("condition", sort=False):
        change = part.loc[part["metric"] == first, "relative_change"]
        rows.append({"condition": name, "better": int((part["verdict"] == "better").sum()),
                     "worse": int((part["verdict"] == "worse").sum()),
                     "first_change": float(change.iloc[0]) if len(change) else math.nan})
    table = pd.DataFrame(rows, columns=["condition", "better", "worse", "first_change"])
    table["score"] = table["better"] - table["worse"]
    table = table.sort_values(["score", "first_change"], ascending=[False, False], na_position="last")
    table["rank"] = range(1, len(table) + 1)
    return table.drop(columns="score").reset_index(drop=True)


FAILURE_CHANGE_COLUMN = ("how failures change against the baseline: the largest fall and rise by gate × cause, "
                         "failures per run [95% interval]")


def main_failure_changes(decomposition: pd.DataFrame) -> dict[str, str]:
    """Per policy, from the numbers of the failure-change heat map (:func:`ecosim.analysis.failure_decomposition`):
    the gate × cause whose failures fell most and the one whose failures rose most against the
    baseline, each with its change per run and 95% interval, e.g. ``"G2 funding −60.2 [−80.1,
    −40.3]; G2 technical +47.0 [30.2, 63.8]: some technologies rescued from funding or matching
    failures then fail technically"``. A side is left out when no cell moves that way; a
    policy whose failures do not change gets ``"no change"``."""
    out = {}
    for name, part in decomposition.groupby("condition", sort=False):
        part = part[part["difference"].notna()]
        texts = []
        fall = part.loc[part["difference"].idxmin()] if len(part) and part["difference"].min() < 0 else None
        rise = part.loc[part["difference"].idxmax()] if len(part) and part["difference"].max() > 0 else None
        for cell in (fall, rise):
            if cell is not None:
                texts.append(f"{cell['gate']} {cell['cause']} {format_signed(cell['difference'])} "
                             f"[{format_number(cell['difference_low'])}, {format_number(cell['difference_high'])}]")
        text = "; ".join(texts) or "no change"
        if (fall is not None and rise is not None and fall["cause"] != "technical" and rise["cause"] == "technical"
                and fall["difference_high"] < 0 < rise["difference_low"]):
            text += ": some technologies rescued from funding or matching failures then fail technically"
        out[str(name)] = text
    return out


def baseline_failure_text(ok: pd.DataFrame, baseline: str) -> str:
    """The baseline's row of the failure column: where most of its technologies fail (a level,
    the reference the policies' changes are measured against)."""
    failures = analysis.failures_by_gate_cause(ok)
    part = failures[failures["condition"] == baseline]
    if part.empty or part["mean"].isna().all():
        return "–"
    top = part.loc[part["mean"].idxmax()]
    return (f"most failures at {top['gate']} {top['cause']}: {format_number(top['mean'])} a run "
            f"({top['share']:.0%} of its failures)")


def first_screen(
    results: Results, comparison: pd.DataFrame, effectiveness: pd.DataFrame | None, baseline: str,
    decomposition: pd.DataFrame | None = None, correction: str = "bonferroni",
) -> FirstScreen:
    """The answers a policymaker reads first, from the same tables as the rest of the report
    (``decomposition``: the failure-change heat map's :func:`ecosim.analysis.failure_decomposition`,
    computed here when not given)."""
    question_label, question = experiment_question(results)
    primary = list(dict.fromkeys(comparison.loc[comparison["role"] == "primary", "metric"]))
    ranking = rank_policies(comparison)
    reasons: dict[str, str] = {}
    if set(analysis.FAILURE_COLUMNS) <= set(results.ok.columns):
        if decomposition is None:
            decomposition = analysis.failure_decomposition(results.ok, baseline)
        reasons = main_failure_changes(decomposition)
        reasons[str(baseline)] = baseline_failure_text(results.ok, baseline)
    labels = condition_labels(results.ok)
    colours = plots.condition_colours(analysis.conditions(results.ok), baseline)
    columns = ["rank", "policy", *[f"{analysis.metric_label(m)}: change [interval], verdict" for m in primary]]
    cost_outcome = value_for_money_outcome(primary)
    with_cost = effectiveness is not None and not effectiveness.empty and cost_outcome is not None
    if with_cost:
        columns += cost_headings(comparison, effectiveness, cost_outcome)
    effects = side_effects(comparison)
    if effects:
        columns.append(SIDE_EFFECT_COLUMN)
    columns.append(FAILURE_CHANGE_COLUMN)
    indexed = comparison.set_index(["condition", "metric"])
    rows = []
    descriptions = scenario_descriptions(results)
    for record in ranking.itertuples():
        name = record.condition
        described = f" — {descriptions[str(name)]}" if str(name) in descriptions else ""
        cells = [str(record.rank), labels.get(name, name) + described]
        css = ["", ""]
        for metric in primary:
            row = indexed.loc[(name, metric)]
            cells.append(ranking_cell(row, metric))
            css.append(verdict_class(row["verdict"]))
        if with_cost:
            cells += cost_cells(effectiveness, name, cost_outcome)
            css += ["", ""]
        failing = record.better == 0 or record.worse > 0
        if effects:
            cells.append(effects.get(str(name), "–"))
            css.append("")
        cells.append(reasons.get(str(name), "–"))
        css.append("reason" if failing else "")
        rows.append({"scenario": name, "colour": colours.get(name, plots.BASELINE_COLOUR), "failing": failing,
                     "cells": list(zip(cells, css, strict=True))})
    rows.append({"scenario": baseline, "colour": plots.BASELINE_COLOUR, "failing": False,
                 "cells": list(zip(["–", labels.get(baseline, baseline) + ("" if baseline == "baseline" else " (baseline)")
                                    + (f" — {descriptions[str(baseline)]}" if str(baseline) in descriptions else ""),
                                    *[f"mean {format_number(indexed.xs(m, level='metric')['baseline_mean'].iloc[0])} "
                                      f"{analysis.metric_unit(m)}" for m in primary],
                                    *(["–", "–"] if with_cost else []),
                                    *(["–"] if effects else []),
                                    reasons.get(str(baseline), "–")], [""] * len(columns), strict=True))})
    best = ranking.iloc[0] if len(ranking) else None
    lead = []
    if best is not None and best["better"] > 0:
        better = [analysis.metric_label(m).lower() for m in primary
                  if indexed.loc[(best["condition"], m), "verdict"] == "better"]
        lead.append(f"First in the ranking (which does not count cost): <b>{html.escape(str(best['condition']))}</b>"
                    f"{_cost_words(effectiveness, best['condition'], cost_outcome)}, better than "
                    f"{html.escape(str(baseline))} on {html.escape(', '.join(better))}.")
        cheaper = _cheaper_equal(ranking, effectiveness, cost_outcome)
        if cheaper is not None:
            lead.append(f"<b>{html.escape(str(cheaper))}</b> has as many better verdicts for less public money: "
                        f"{_cost_words(effectiveness, cheaper, cost_outcome).removeprefix(', for ')}.")
    else:
        lead.append(f"No policy is shown better than {html.escape(str(baseline))} on a primary outcome at this "
                    "number of replications; the table says how many more each comparison would need.")
    failing = [r["scenario"] for r in rows if r["failing"] and r["scenario"] != baseline]
    window = window_sentence(results)
    if window:
        lead.insert(0, html.escape(window))
    lead.append(html.escape(ranking_rule(comparison)))
    if failing:
        lead.append("Policies without a better verdict on any primary outcome (or with a worse one): "
                    + html.escape(", ".join(map(str, failing)))
                    + "; the last column says how their failures change.")
    probabilities = probability_table(comparison, labels, order=list(ranking["condition"]))
    if probabilities is not None:
        lead.append(html.escape(probability_headline(comparison, labels) or ""))
    return FirstScreen(question=question, lead=lead, columns=columns, rows=rows, method=method_note(comparison, correction),
                       question_label=question_label, probabilities=probabilities,
                       probability_caption=PROBABILITY_CAPTION.format(base=labels.get(baseline, baseline)) + "."
                       if probabilities is not None else "",
                       probability_note=POSTERIOR_NOTE if probabilities is not None else "")


SIDE_EFFECTS = 3
"""How many side effects the first screen gives per policy."""
SIDE_EFFECT_COLUMN = ("side effects: the largest changes in other outcomes clear of 0, adverse ones (in the "
                      "catalogue's worse direction) first (descriptive: 95% intervals, not adjusted for "
                      "multiplicity, no verdict)")
SHOWN_BESIDE_THE_RANKING = ("public_spending", "welfare_per_public_yuan")
"""Descriptive outcomes the ranking's cost columns already give (not repeated as side effects)."""


def side_effects(comparison: pd.DataFrame, k: int = SIDE_EFFECTS) -> dict[str, str]:
    """Per policy, ``k`` of its changes in % among the descriptive (non-primary) outcomes whose
    interval is clear of 0: the adverse ones (a change in the catalogue's worse direction, marked
    "(adverse)") first, each group largest first, each as the comparison tables print it, e.g.
    ``"Publications −52.2% [−52.9%, −51.4%] (adverse); ..."``; ``"none clear of 0"`` when no such
    change exists. The outcomes the ranking's cost columns give are left out
    (:data:`SHOWN_BESIDE_THE_RANKING`)."""
    other = comparison[(comparison["role"] != "primary") & ~comparison["metric"].isin(SHOWN_BESIDE_THE_RANKING)]
    out = {}
    for name, part in other.groupby("condition", sort=False):
        clear = part[((part["relative_low"] > 0) | (part["relative_high"] < 0)) & part["relative_change"].notna()]
        adverse = np.sign(clear["relative_change"]) * clear["direction"] < 0
        order = pd.DataFrame({"adverse": adverse, "size": clear["relative_change"].abs()})
        order = order.sort_values(["adverse", "size"], ascending=[False, False])
        out[str(name)] = "; ".join(
            f"{analysis.metric_label(clear.at[i, 'metric'])} {change_text(clear.loc[i])}"
            + (" (adverse)" if order.at[i, "adverse"] else "")
            for i in order.index[:k]) or "none clear of 0"
    return out


def measured_window(results: Results) -> tuple[int, int] | None:
    """The measured window (first and last quarter) of every finished run, when all runs agree:
    ``measured_from_quarter`` from the runs and the quarters per run (:func:`steps_per_run`);
    ``None`` when either is unknown or differs between runs."""
    ok = results.ok
    steps = steps_per_run(results)
    if "measured_from_quarter" not in ok.columns or steps is None:
        return None
    first = ok["measured_from_quarter"].dropna().unique()
    return (int(first[0]), steps) if len(first) == 1 else None


def _scenario_entries(results: Results) -> dict[str, dict[str, Any]]:
    experiment = results.index.get("experiment")
    scenarios = experiment.get("scenarios") if isinstance(experiment, dict) else None
    return {str(k): v for k, v in scenarios.items() if isinstance(v, dict)} if isinstance(scenarios, dict) else {}


def steps_per_run(results: Results) -> int | None:
    """Quarters per run: the sweep's ``steps``, or each scenario's own when they all agree
    (``None`` when they differ or are not recorded)."""
    if results.index.get("steps") is not None:
        return int(results.index["steps"])
    own = {v.get("steps") for v in _scenario_entries(results).values()}
    return int(own.pop()) if len(own) == 1 and None not in own else None


def world_text(results: Results) -> str | None:
    """The world's size when every scenario has the same one, e.g. "2 regions, 16 universities,
    4 research institutes, 1,000 enterprises"; ``None`` when not recorded or different."""
    worlds = [v.get("world") for v in _scenario_entries(results).values()]
    if not worlds or any(not isinstance(w, dict) for w in worlds) or any(w != worlds[0] for w in worlds):
        return None
    w = worlds[0]
    try:
        regions = int(w["regions"])
        parts = [f"{regions} region{'s' if regions != 1 else ''}",
                 f"{regions * int(w['universities_per_region']):,} universities",
                 f"{regions * int(w.get('institutes_per_region', 0)):,} research institutes",
                 f"{regions * int(w['enterprises_per_region']):,} enterprises"]
    except (KeyError, TypeError, ValueError):
        return None
    return ", ".join(parts)


def window_sentence(results: Results) -> str | None:
    """What one run is, for the first screen: "Each number is per run: quarters 21–60 (10 years,
    after a 20-quarter burn-in that the tables leave out) of a world of 2 regions, ...". """
    window = measured_window(results)
    world = world_text(results)
    if window is None and world is None:
        return None
    text = "Each number is per run"
    if window is not None:
        first, last = window
        quarters = last - first + 1
        years = f"{quarters / 4:g} year{'s' if quarters != 4 else ''}"
        text += f": quarters {first}–{last} ({years}"
        text += (f", after a {first - 1}-quarter burn-in that the tables leave out; the time-series figures "
                 "show running totals from quarter 1, with the burn-in shaded)" if first > 1 else ")")
    if world is not None:
        text += f" of a world of {world}"
    return text + "."


def cost_headings(comparison: pd.DataFrame, effectiveness: pd.DataFrame, outcome: str) -> list[str]:
    """The two cost columns' headings beside the ranking (the report's first screen and the
    console's answer): the extra public money with its interval's level, and ``outcome`` per extra
    M¥ with the level its ratio interval has at least."""
    cost_level = format_level(indexed_level(comparison, "public_spending"), "descriptive")
    ratio_level = format_level(effectiveness.loc[effectiveness["outcome"] == outcome, "ratio_level"].iloc[0],
                               "descriptive")
    return [f"extra public money, M¥ per run [{cost_level} interval]",
            f"{analysis.metric_label(outcome).lower()} per extra M¥ of public money "
            f"[interval, at least {ratio_level}] ({analysis.metric_unit(outcome)} per M¥)"]


def cost_cells(effectiveness: pd.DataFrame, condition: Any, outcome: str) -> list[str]:
    """One policy's two cost cells (:func:`cost_headings`), ``["–", "–"]`` when it has none."""
    part = effectiveness[(effectiveness["condition"] == condition) & (effectiveness["outcome"] == outcome)]
    if part.empty:
        return ["–", "–"]
    c = part.iloc[0]
    ratio = ratio_text(c["per_unit_cost"], c["per_unit_low"], c["per_unit_high"], "public spending")
    if "saves public money" in str(c["note"]):  # a ratio of two falls reads like a gain: say so
        ratio += " (saves public money; a positive ratio then means outcome lost per M¥ saved)"
    return [format_interval(c["extra_cost"], c["extra_cost_low"], c["extra_cost_high"]), ratio]


def value_for_money_outcome(primary: Sequence[str]) -> str | None:
    """The primary outcome whose value per extra M¥ the first screen puts beside the ranking:
    welfare when it is primary (a value in M¥, so the ratio is a return on public money), else
    the first primary outcome."""
    if not primary:
        return None
    return "welfare" if "welfare" in primary else primary[0]


def _cost_row(effectiveness: pd.DataFrame | None, condition: Any, outcome: str | None) -> Any:
    if effectiveness is None or effectiveness.empty or outcome is None:
        return None
    part = effectiveness[(effectiveness["condition"] == condition) & (effectiveness["outcome"] == outcome)]
    return part.iloc[0] if len(part) else None


def _cost_words(effectiveness: pd.DataFrame | None, condition: Any, outcome: str | None) -> str:
    """", for 290.2 [278.8, 301.6] M¥ more public money a run (welfare 2.75 [1.05, 5.03] M¥ per extra
    M¥)" — the numbers of the ranking's cost columns."""
    c = _cost_row(effectiveness, condition, outcome)
    if c is None:
        return ""
    money = format_interval(c["extra_cost"], c["extra_cost_low"], c["extra_cost_high"])
    ratio = ratio_text(c["per_unit_cost"], c["per_unit_low"], c["per_unit_high"], "public spending")
    return (f", for {html.escape(money)} M¥ more public money a run ({html.escape(analysis.metric_label(outcome).lower())} "
            f"{html.escape(ratio)} {html.escape(analysis.metric_unit(outcome))} per extra M¥)")


def _cheaper_equal(ranking: pd.DataFrame, effectiveness: pd.DataFrame | None, outcome: str | None) -> Any:
    """The policy with as many better (and no more worse) verdicts as the first in the ranking
    whose extra public money is clearly lower (its interval's upper bound below the first's
    lower bound); ``None`` when there is none."""
    if len(ranking) < 2:
        return None
    top = ranking.iloc[0]
    top_cost = _cost_row(effectiveness, top["condition"], outcome)
    if top_cost is None:
        return None
    best = None
    for record in ranking.iloc[1:].itertuples():
        if record.better != top["better"] or record.worse != top["worse"]:
            continue
        c = _cost_row(effectiveness, record.condition, outcome)
        if c is not None and c["extra_cost_high"] < top_cost["extra_cost_low"] and (
                best is None or c["extra_cost"] < best[1]):
            best = (record.condition, c["extra_cost"])
    return None if best is None else best[0]


def surface_first_screen(results: Results, primary: Sequence[str], seed: int) -> FirstScreen:
    """First screen of a design over parameters: the question and the best design points on the
    first primary outcome, named by their parameter values (no point-versus-point-0 verdicts)."""
    question_label, question = experiment_question(results)
    means = analysis.design_point_means(results.ok, primary, seed=seed)
    first = primary[0]
    means = means.sort_values(first, ascending=analysis.metric_direction(first) < 0).head(8)
    columns = ["scenario", "design point (parameter values)", "replications",
               *[f"{analysis.metric_label(m)}, mean [95% interval] ({analysis.metric_unit(m)})" for m in primary]]
    colours = plots.condition_colours(list(dict.fromkeys(results.ok["scenario"])))
    rows = []
    for _, r in means.iterrows():
        cells = [str(r["scenario"]), r["label"], str(r["n"]),
                 *[format_interval(r[m], r[f"{m}_low"], r[f"{m}_high"]) for m in primary]]
        rows.append({"scenario": r["scenario"], "colour": colours.get(r["scenario"], plots.BASELINE_COLOUR),
                     "failing": False, "cells": [(c, "") for c in cells]})
    lead = [f"A {html.escape(results.design)} design is a surface over parameters: its points are not policies "
            f"compared with point 0. The design points with the best {html.escape(analysis.metric_label(first).lower())} "
            "are listed; the sections below show the whole surface."]
    return FirstScreen(question=question, lead=lead, columns=columns, rows=rows,
                       method="Means over replications with 95% intervals (t, or bootstrap-t for heavy-tailed outcomes).",
                       question_label=question_label)


def build_report(
    results: Results, baseline: str | None = None, metrics: Sequence[str] | None = None, seed: int = 0,
    primary: Sequence[str] | None = None, alpha: float = 0.05, correction: str = "bonferroni",
) -> tuple[FirstScreen, list[Section]]:
    """Decide what the report shows and compute it; raises InputError on bad input. ``primary``,
    ``alpha`` and ``correction`` are ``ecosim compare``'s, so that the report prints the same
    comparison as the console."""
    ok = results.ok
    design = results.design
    surface = design in SENSITIVITY_DESIGNS or design in SURFACE_DESIGNS
    primary = resolve_primary(results, primary)
    sections = [_provenance_section(results)]
    if surface:
        if metrics:
            resolve_metrics(results, metrics)
        return surface_first_screen(results, primary, seed), [*_surface_sections(results, primary, seed), *sections]
    check_replications(results)
    baseline = resolve_baseline(results, baseline or results.index.get("baseline"))
    asked = list(metrics) if metrics else None
    metrics = resolve_metrics(results, metrics)
    several = len(analysis.conditions(ok)) >= 2
    points = design_points_table(ok)
    if points is not None:
        sections.append(Section("Design points", ["Each design point of a scenario is compared as its own "
                                                  "condition, named scenario[point]."], points))
    comparison = effectiveness = decomposition = None
    if several:
        cost = ["public_spending"] if "public_spending" in ok.columns else []
        comparison = analysis.compare(ok, baseline, [*metrics, *cost], primary=primary, alpha=alpha,
                                      correction=correction, seed=seed)
        tables = comparison_tables(comparison, condition_labels(ok), "the first screen", correction)
        forest = _forest_figures(comparison)
        for number, (role, title, table) in enumerate(tables, start=1):
            # compare's two tables, not one of 12-13 columns: each fits a 1024 px screen
            heading = ("Each scenario against the baseline: primary outcomes" if role == "primary" else
                       "Each scenario against the baseline: other outcomes (descriptive)")
            paragraphs = [] if number > 1 else [
                f"Baseline: <b>{html.escape(str(baseline))}</b>. The first screen gives each change in % with its "
                "interval and verdict; here are the means behind it, the change in each outcome's unit (the same "
                "interval) and the adjusted p-values. How the intervals are made is under “How to read the "
                "statistics”."]
            if role != "primary" and constant_note(comparison):
                paragraphs = [*paragraphs, html.escape(constant_note(comparison) or "")]
            # the descriptive table is long (a row per scenario and outcome) and the forest plot
            # below shows its changes and intervals: folded, one click away
            fold = "" if role == "primary" else (
                f"Show the table: {len(table)} rows, the means and the change in each outcome's unit and in %")
            sections.append(Section(heading, paragraphs, table, forest if number == len(tables) else [],
                                    caption=title + ".", fold=fold))
        if cost:
            effectiveness = analysis.cost_effectiveness(comparison, primary)
    figures = []
    for metric in [m for m in REPORT_DISTRIBUTION_METRICS if m in ok.columns]:
        figures.append((f"distribution_{metric}", f"{analysis.metric_label(metric)}: one dot per replication.",
                        plots.distribution_plot(ok, metric, baseline)))
    if figures:
        # the spread of the outcomes a reader sees plotted and decides on (or those asked for with
        # --metric), not of every compared outcome: their means are in the comparison tables above
        spread = asked or [m for m in dict.fromkeys([*primary, *REPORT_DISTRIBUTION_METRICS]) if m in ok.columns]
        paragraphs = ["Boxes span the middle half of the replications; the line is the median. The table gives "
                      "the primary and the plotted outcomes per scenario (other outcomes with --metric; their means "
                      "are in the comparison tables above)."]
        fewest = int(ok.groupby("condition").size().min())
        if fewest < 6:
            paragraphs.append(
                f"With fewer than 6 replications no 95% interval for a median exists: the median's interval "
                f"is then the range of the replications, whose confidence is 1 − 2^(1−n) "
                f"({1 - 2.0 ** (1 - fewest):.0%} for n = {fewest}).")
        sections.append(Section("How the outcomes vary between replications", paragraphs,
                                analysis_summary_table(ok, spread, seed), figures))

    if not results.steps.empty:
        figures = []
        steps = results.steps
        for metric, cumulative in REPORT_TIME_SERIES:
            if metric in steps.columns:
                bands = analysis.time_series_bands(steps, [metric], cumulative=cumulative)
                window = measured_window(results)
                figures.append((f"time_{metric}", f"{analysis.metric_label(metric)} over time.",
                                plots.time_series_plot(bands, metric, baseline,
                                                       burn_in_quarters=window[0] - 1 if window else 0)))
        if figures:
            sections.append(Section("Over time", ["Lines are medians over replications; shaded bands hold "
                                                  "the middle 90% of replications."], None, figures))

    if set(analysis.FAILURE_COLUMNS) <= set(ok.columns):
        figs = [("failures", "Failures per run by gate and cause.",
                 plots.failure_plot(analysis.failures_by_gate_cause(ok)))]
        paragraphs = ["Every technology that leaves the pipeline without reaching the market is counted at the gate "
                      "where it stopped, with the cause: technical (it failed the gate; a policy cannot make it work, "
                      "but changes how many technologies reach each gate, and a PoC test stops some early), funding "
                      "or matching (shelved after waiting too long for money or a partner)."]
        changes = None
        if several:
            decomposition = analysis.failure_decomposition(ok, baseline)
            figs.append(("failure_change", "Change in failures against the baseline, by gate and cause.",
                         plots.failure_change_plot(decomposition)))
            changes = decomposition_table(decomposition, condition_labels(ok))
        sections.append(Section("Why technologies fail: the valley of death decomposition", paragraphs, changes, figs,
                                caption="Where each policy changes failures most, against the baseline."
                                if changes is not None else ""))

    funnel_ready = set(analysis.FUNNEL_STAGES) <= set(ok.columns)
    owners_ready = {f"conversion_{o}" for o in ("university", "joint", "enterprise")} <= set(ok.columns)
    if funnel_ready or owners_ready:
        figs = []
        if funnel_ready:
            figs.append(("funnel", "From disclosure to deal to market.",
                         plots.funnel_plot(analysis.conversion_funnel(ok), baseline)))
        if owners_ready:
            figs.append(("conversion_by_owner", "Conversion rate by who owns the technology.",
                         plots.conversion_by_owner_plot(analysis.conversion_by_owner(ok), baseline)))
        sections.append(Section("The conversion funnel and who converts", [], None, figs))

    if effectiveness is not None and not effectiveness.empty:
        sections.append(Section(
            "Cost-effectiveness: what each extra yuan of public money buys",
            ["The extra outcome and the extra public money per run are the comparison table's estimates and "
             "intervals. " + RATIO_METHOD_NOTE + " A ratio has an interval only where its denominator "
             "clearly differs from zero (otherwise the ratio can be infinite and the note says so)."],
            readable_cost_effectiveness(effectiveness, levels_in_caption=True),
            [(f"cost_effectiveness_{outcome}", f"Extra {analysis.metric_label(outcome).lower()} against extra "
              "public money.", plots.cost_effectiveness_plot(effectiveness, outcome))
             for outcome in dict.fromkeys(effectiveness["outcome"])],
            caption=cost_effectiveness_levels(effectiveness) or ""))
    sections.append(Section("How to read the statistics", [html.escape(
        "Means per run are compared pair by pair when scenarios share replication seeds (common random numbers). "
        + (method_note(comparison, correction) if comparison is not None else "")
        + " " + VERDICT_GLOSSARY + " See docs/ANALYSIS.md.")]))
    if comparison is not None:
        screen = first_screen(results, comparison, effectiveness, baseline, decomposition, correction)
    else:
        label, question = experiment_question(results)
        screen = FirstScreen(question=question, lead=["Only one scenario has results: nothing to compare."],
                             columns=[], rows=[], method="", question_label=label)
    return screen, sections


def build_sections(
    results: Results, baseline: str | None = None, metrics: Sequence[str] | None = None, seed: int = 0
) -> list[Section]:
    """The report's sections after the first screen (see :func:`build_report`)."""
    return build_report(results, baseline, metrics, seed)[1]


def indexed_level(comparison: pd.DataFrame, metric: str) -> float:
    """The level of ``metric``'s intervals in the comparison (the same for every condition)."""
    return float(comparison.loc[comparison["metric"] == metric, "level"].iloc[0])


def ratio_text(value: Any, low: Any, high: Any, denominator: str) -> str:
    """A cost-effectiveness ratio with its interval, or, when its denominator did not clearly
    change, the point value and why it has no interval (the same words in every table)."""
    if not (math.isnan(float(low)) or math.isnan(float(high))):
        return format_interval(value, low, high)  # an end may be ±∞: the numerator's interval is unbounded
    return f"{format_number(value)} (no interval: {denominator} did not clearly change)"


RATIO_METHOD_NOTE = ("A ratio's interval is the range of the ratio over the extra outcome's and the extra "
                     "public money's intervals: it holds whenever both do, and it includes 0 exactly when "
                     "its numerator's interval does.")


def cost_effectiveness_levels(effectiveness: pd.DataFrame) -> str | None:
    """When every row has the same levels, the caption that states them once, e.g. "Extra outcome:
    99.76% simultaneous intervals; extra public money: 95% intervals; ratios: the range over both
    (at least 94.76% confidence)." (``None`` when the levels differ between rows: then each row
    keeps its own)."""
    cost_levels = effectiveness.get("cost_level", effectiveness["level"])
    if effectiveness.empty or effectiveness["level"].nunique() != 1 or pd.Series(cost_levels).nunique() != 1:
        return None
    return (f"Extra outcome: {format_level(effectiveness['level'].iloc[0], 'primary')} intervals; "
            f"extra public money: {format_level(pd.Series(cost_levels).iloc[0], 'descriptive')} intervals; "
            f"ratios: {_ratio_level_text(effectiveness['ratio_level'].iloc[0])}. {RATIO_METHOD_NOTE}")


def _ratio_level_text(level: Any) -> str:
    return f"the range over both (at least {format_level(level, 'descriptive')} confidence)"


def readable_cost_effectiveness(effectiveness: pd.DataFrame, levels_in_caption: bool = False) -> pd.DataFrame:
    """The cost-effectiveness table as strings (the same formatter as every other table). The
    extra public money keeps the level of its own comparison row (``cost_level``, descriptive);
    the extra outcome and both ratios have the outcome's level. With ``levels_in_caption`` and
    the same levels in every row (:func:`cost_effectiveness_levels`), the levels are left out of
    the cells: the caption states them once."""
    cost_levels = effectiveness.get("cost_level", effectiveness["level"])
    table = _readable_cost_effectiveness(effectiveness, cost_levels)
    if levels_in_caption and cost_effectiveness_levels(effectiveness) is not None:
        table = table.drop(columns="level of the outcome's and the ratios' intervals")
        table["extra public money per run, M¥ [interval]"] = [
            format_interval(r.extra_cost, r.extra_cost_low, r.extra_cost_high) for r in effectiveness.itertuples()]
        if not table["note"].astype(str).str.strip().any():
            table = table.drop(columns="note")
    return table


def _readable_cost_effectiveness(effectiveness: pd.DataFrame, cost_levels: Any) -> pd.DataFrame:
    return pd.DataFrame({
        "scenario": effectiveness["condition"],
        "outcome": [analysis.metric_label(m) for m in effectiveness["outcome"]],
        "extra outcome per run [interval]": [
            format_interval(r.extra_outcome, r.extra_outcome_low, r.extra_outcome_high) + f" {analysis.metric_unit(r.outcome)}"
            for r in effectiveness.itertuples()],
        "level of the outcome's and the ratios' intervals": [
            f"{format_level(level, 'primary')}; ratios {_ratio_level_text(ratio_level)}"
            for level, ratio_level in zip(effectiveness["level"], effectiveness["ratio_level"], strict=True)],
        "extra public money per run, M¥ [interval]": [
            f"{format_interval(r.extra_cost, r.extra_cost_low, r.extra_cost_high)} ({format_level(level, 'descriptive')})"
            for r, level in zip(effectiveness.itertuples(), cost_levels, strict=True)],
        "M¥ per extra unit of outcome [interval]": [
            ratio_text(r.cost_per_extra, r.cost_per_extra_low, r.cost_per_extra_high, "the outcome")
            for r in effectiveness.itertuples()],
        "outcome per extra M¥ [interval]": [
            ratio_text(r.per_unit_cost, r.per_unit_low, r.per_unit_high, "public spending")
            for r in effectiveness.itertuples()],
        "note": effectiveness["note"],
    })


def _surface_sections(results: Results, primary: Sequence[str], seed: int) -> list[Section]:
    """Heat maps (grid), main effects and indices (LHS, Sobol, Morris) of the primary outcomes."""
    sections = []
    for scenario in dict.fromkeys(results.ok["scenario"]):
        runs = results.ok[results.ok["scenario"] == scenario]
        means = analysis.design_point_means(runs, primary, seed=seed)
        figures = []
        for metric in primary:
            if results.design == "grid":
                figures.append((f"surface_{scenario}_{metric}", f"{analysis.metric_label(metric)} over the grid "
                                f"({scenario}).", plots.design_surface_plot(means, metric)))
            else:
                figures.append((f"main_effects_{scenario}_{metric}", f"Main effects on "
                                f"{analysis.metric_label(metric).lower()} ({scenario}).",
                                plots.main_effects_plot(means, metric)))
        table = pd.DataFrame({
            "scenario": means["scenario"], "design point": means["label"], "replications": means["n"],
            **{f"{analysis.metric_label(m)} [95% interval]": [
                format_interval(r[m], r[f"{m}_low"], r[f"{m}_high"]) for _, r in means.iterrows()] for m in primary}})
        text = ("Each cell is a design point, labelled with its parameter values: the mean of its replications "
                "with a 95% interval." if results.design == "grid" else
                "Each dot is a design point (mean of its replications); the line is the mean in bins of the "
                "parameter, averaging over the other parameters (a partial-dependence view).")
        sections.append(Section(f"The response surface: {scenario}", [html.escape(text)], table, figures))
        if results.design == "lhs":
            readable = readable_indices(analysis.regression_sensitivity(runs, primary))
            sections.append(Section(f"Which parameters matter: {scenario}", [html.escape(
                "Standardised regression coefficients of the design points' means on the parameters (standard "
                "deviations of the outcome per standard deviation of the parameter), with 95% intervals; R² says "
                "how much of the variation a linear model explains.")], readable))
    if results.design in SENSITIVITY_DESIGNS:
        sections.append(_sensitivity_section(results, list(primary), seed))
    return sections


def _forest_figures(comparison: pd.DataFrame) -> list[tuple[str, str, Figure]]:
    """The forest plot of every compared outcome as one figure of small multiples
    (:func:`ecosim.plots.forest_panels`): a panel per outcome, the scenarios on a shared axis."""
    caption = ("Effect of each scenario on each outcome, in % of the baseline, with the table's intervals ("
               + "; ".join(f"{role} outcomes: {format_level(level, role)}"
                           for role, level in comparison.drop_duplicates("role").set_index("role")["level"].items())
               + "). One panel per outcome, the primary outcomes first; each panel has its own scale.")
    return [("forest", caption, plots.forest_panels(without_constant_descriptive(comparison)))]


def analysis_summary_table(ok: pd.DataFrame, metrics: Sequence[str], seed: int) -> pd.DataFrame:
    """A readable per-scenario summary (mean [CI], median [CI]) of the compared metrics."""
    if not metrics:
        return pd.DataFrame()
    summary = analysis.summarise(ok, metrics, seed=seed)
    return pd.DataFrame({
        "scenario": summary["condition"],
        "outcome": [analysis.metric_label(m) for m in summary["metric"]],
        "unit": [analysis.metric_unit(m) for m in summary["metric"]],
        "n": summary["n"],
        "mean [95% CI]": [f"{format_number(r.mean)} [{format_number(r.mean_low)}, {format_number(r.mean_high)}]"
                          for r in summary.itertuples()],
        "median [95% CI]": [f"{format_number(r.median)} [{format_number(r.median_low)}, "
                            f"{format_number(r.median_high)}]" for r in summary.itertuples()],
        "5%–95%": [f"{format_number(r.q05)} – {format_number(r.q95)}" for r in summary.itertuples()],
    })


def _provenance_section(results: Results) -> Section:
    index = results.index
    runs = results.runs
    ok = results.ok
    seeds = list(index.get("replication_seeds") or [])
    if not seeds and {"seed", "replication"} <= set(ok.columns):
        seeds = list(ok.drop_duplicates("replication").sort_values("replication")["seed"])
    replications = ok.groupby("condition").size()
    label, question = experiment_question(results)
    drawn, draw_details = posterior_text(results) or (None, None)
    facts = {
        "experiment": experiment_name(results),
        **({"question": question} if label == "Question" else {}),
        "description": str(index.get("description") or "–"),
        "experiment file": str(index.get("source", "–")),
        "results directory": str(results.directory),
        "design": results.design,
        "scenarios / design points": ", ".join(analysis.conditions(ok)) if len(replications) <= 12 else
        f"{len(replications)} conditions",
        "finished runs": f"{len(ok)} ok of {len(runs)} recorded",
        "replications per scenario": (f"{replications.min()}" if replications.min() == replications.max()
                                      else f"{replications.min()}–{replications.max()}")
        + (", each at one posterior draw (below)" if drawn else ""),
        **({"posterior draws": draw_details} if draw_details else {}),
        "steps (quarters)": (str(steps_per_run(results)) + ("" if index.get("steps") is not None
                                                            else " (each scenario's own, the same in all)")
                             if steps_per_run(results) is not None
                             else "each scenario's own (set in its scenario file), not the same in all"),
        **({"measured window": f"quarters {measured_window(results)[0]}–{measured_window(results)[1]}"}  # type: ignore[index]
           if measured_window(results) is not None else {}),
        **({"world": world_text(results)} if world_text(results) else {}),
        "root seed": str(index.get("root_seed", index.get("seed", "–"))),
        "replication seeds (replication 0, 1, …)": ", ".join(str(s) for s in seeds[:6])
        + (f" … ({len(seeds)} in all)" if len(seeds) > 6 else ""),
        "ecosim version of the sweep": str(index.get("ecosim_version", index.get("version", "–"))),
        "sweep started": str(index.get("started_at", index.get("start_time", "–"))),
        "report written": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC") + f" by ecosim {__version__}",
    }
    trial = index.get("trial") or {}
    if trial:
        facts["quick trial"] = ", ".join(f"--{k} {v}" for k, v in trial.items()) + " (overrides the experiment file)"
    table = pd.DataFrame({"": list(facts), "value": [str(v) for v in facts.values()]})
    return Section("What was run", [html.escape(text) for text in ([drawn] if drawn else []) + list(results.notes)],
                   table)


def posterior_text(results: Results) -> tuple[str, str] | None:
    """For runs from posterior draws, what a reader must know of them, as (sentence, details);
    ``None`` when the runs used the scenarios' own parameter values. The sentence says that each
    replication is one draw of the posterior file; the details how many distinct particles the
    draws hit (resampling by weight repeats heavy ones), the weights' effective sample size, the
    free parameters, and which scenarios set some of them themselves. Read from the sweep's
    index and runs, nothing assumed."""
    posterior = results.index.get("posterior")
    ok = results.ok
    column = analysis.POSTERIOR_DRAW
    if not isinstance(posterior, dict) and column not in ok.columns:
        return None
    posterior = posterior if isinstance(posterior, dict) else {}
    replications = ok.groupby("condition").size()
    n = (f"{replications.min():,}" if replications.min() == replications.max()
         else f"{replications.min():,}–{replications.max():,}")
    where = f"the posterior {posterior['file']}" if posterior.get("file") else "a posterior"
    sentence = (f"{n} replications per scenario, each at one draw of {where}: replication r uses the same draw "
                "and the same seed in every scenario.")
    details = []
    if column in ok.columns and "replication" in ok.columns:
        draws = ok.drop_duplicates("replication")[column].dropna()
        particles = posterior.get("particles")
        details.append(f"{len(draws):,} draws, of {draws.nunique():,} distinct particles"
                       + (f" out of {particles:,}" if isinstance(particles, int) else ""))
    if isinstance(posterior.get("effective_sample_size"), (int, float)):
        details.append(f"effective sample size of the weights {format_number(posterior['effective_sample_size'])}")
    keys = list(posterior.get("keys") or [])
    if keys:
        details.append(f"{len(keys)} free parameters: {', '.join(keys)}")
    own: dict[str, list[str]] = {}
    for scenario, applied in (posterior.get("scenario_keys") or {}).items():
        for key in keys:
            if key not in applied:
                own.setdefault(key, []).append(str(scenario))
    for key, scenarios in own.items():
        details.append(f"{', '.join(scenarios)} {'sets' if len(scenarios) == 1 else 'set'} {key} itself")
    return sentence, ("; ".join(details) + ".") if details else sentence


def design_points_table(ok: pd.DataFrame) -> pd.DataFrame | None:
    """Condition name → values of the varied parameters, when some scenario has several points."""
    parameters = analysis.parameter_columns(ok)
    if not parameters or not any("[" in c for c in analysis.conditions(ok)):
        return None
    table = ok.drop_duplicates("condition")[["condition", *parameters]]
    return table.astype(str).reset_index(drop=True)


def experiment_question(results: Results) -> tuple[str, str]:
    """What the report's first line says, as (label, text): ``("Question", QUESTION)`` when the
    experiment asks one, else ``("What was compared", DESCRIPTION)``. Nothing is made up.

    The question is the one the experiment file asks in its leading ``# Question:`` comment
    (:func:`ecosim.experiment.question_from_text`), which a sweep records in its index. For a
    sweep from before it was recorded, the file named in the index is read, if it is still
    there and its ``description`` is the sweep's. Failing that, a description that is itself a
    question (ends in ``?``) is the question.
    """
    index = results.index
    description = str(index.get("description") or "").strip()
    question = index.get("question")
    if "question" not in index and index.get("source"):
        question = _question_of_source(Path(str(index["source"])), description)
    if not question and description.endswith("?"):
        question = description
    if question:
        return "Question", str(question)
    return "What was compared", description or experiment_name(results)


def _question_of_source(path: Path, description: str) -> str | None:
    """The question of the experiment file ``path`` when it still has ``description``."""
    import yaml

    from ecosim.experiment import question_from_text

    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or str(data.get("description") or "").strip() != description:
        return None  # another file now, or a changed one: its question may not be this sweep's
    return question_from_text(text)


def experiment_name(results: Results) -> str:
    """The experiment's name from the index (or the directory's name)."""
    index = results.index
    name = index.get("experiment_name")
    if not name and isinstance(index.get("experiment"), dict):
        name = index["experiment"].get("name")
    return str(name or results.directory.name)


def verdict_sentences(comparison: pd.DataFrame, labels: Mapping[str, str] | None = None) -> list[str]:
    """One plain sentence per scenario naming every primary outcome with its change, interval and
    verdict (the same text as the tables), as plain text; ``labels`` name design points."""
    sentences = []
    for name, part in comparison[comparison["role"] == "primary"].groupby("condition", sort=False):
        parts = [f"{analysis.metric_label(row['metric']).lower()} {change_text(row)} ({verdict_text(row, short=True)})"
                 for _, row in part.iterrows()]
        sentences.append(f"{(labels or {}).get(name, name)}: " + "; ".join(parts) + ".")
    return sentences


def decomposition_table(decomposition: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per policy, the gate × cause whose failures changed most against the baseline: one row each
    (a table, not a sentence per policy), with the change per run and its 95% interval and its
    share of the policy's total change in failures."""
    rows = []
    for name, part in decomposition.groupby("condition", sort=False):
        if part["share_of_change"].isna().all():
            continue
        top = part.loc[part["share_of_change"].idxmax()]
        rows.append({
            "scenario": (labels or {}).get(name, name),
            "largest change in failures at": f"{analysis.GATE_NAMES[top['gate']]}: {top['cause']}",
            "change in failures per run [95% interval]": format_interval(
                top["difference"], top["difference_low"], top["difference_high"]),
            "share of the total change in failures": f"{top['share_of_change']:.0%}",
        })
    return pd.DataFrame(rows, columns=["scenario", "largest change in failures at",
                                       "change in failures per run [95% interval]",
                                       "share of the total change in failures"])


def _sensitivity_section(results: Results, metrics: Sequence[str] | None, seed: int) -> Section:
    problem = results.index.get("problem") or results.index.get("salib_problem")
    if not problem:
        return Section("Global sensitivity", [f"The {html.escape(results.design)} design has no SALib problem in "
                                              "its index; no indices computed."])
    wanted = list(metrics) if metrics else [m for m in REPORT_SENSITIVITY_METRICS if m in results.ok.columns]
    figures = []
    tables = []
    problems = []
    scenarios = list(dict.fromkeys(results.runs["scenario"]))
    for scenario in scenarios:
        runs = results.runs[results.runs["scenario"] == scenario]
        try:
            indices = analysis.sensitivity(runs, problem, results.design, wanted, seed=seed,
                                           calc_second_order=problem.get("calc_second_order"))
        except ValueError as exc:
            problems.append(f"{html.escape(str(scenario))}: no indices, {html.escape(str(exc))}.")
            continue
        prefix = f"{scenario}: " if len(scenarios) > 1 else ""
        for metric in wanted:
            fig = plots.sensitivity_plot(indices, metric)
            if prefix:
                fig.suptitle(prefix + "scenario " + str(scenario))
            figures.append((f"sensitivity_{scenario}_{metric}" if prefix else f"sensitivity_{metric}",
                            f"{prefix}Sensitivity of {analysis.metric_label(metric).lower()}.", fig))
        tables.append(indices.assign(scenario=scenario) if prefix else indices)
    if not tables:
        return Section("Global sensitivity", problems)
    readable = readable_indices(pd.concat(tables, ignore_index=True))
    text = ("Sobol indices: the first-order index is the share of an output's variance due to a parameter "
            "alone; the total index adds its interactions with the others." if results.design == "sobol" else
            "Morris screening: μ* is the mean absolute change in the output when one parameter moves one "
            "step; σ large relative to μ* means interactions or non-linearity.")
    samples = problem.get("samples") if results.design == "sobol" else problem.get("trajectories")
    if isinstance(samples, int) and samples < 64:
        what = "base samples" if results.design == "sobol" else "trajectories"
        problems.append(f"Only {samples} {what}: the indices are rough estimates (see their intervals); "
                        "increase the design's size before drawing conclusions.")
    return Section("Global sensitivity", [text, *problems], readable, figures)


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """PNG bytes of a figure (Agg canvas)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _strip_tags(text: str) -> str:
    return html.unescape(text.replace("<b>", "**").replace("</b>", "**"))


@dataclass(frozen=True)
class Named:
    """A table cell that names a parameter: its readable label and, for researchers, its raw key
    (the HTML report prints the key smaller under the label; Markdown and text print
    ``label (`key`)``)."""

    label: str
    key: str

    def __str__(self) -> str:
        return f"{self.label} (`{self.key}`)" if self.label != self.key else self.key


def parameter_cell(key: Any) -> Named:
    """A parameter's table cell: the label from the scenario schema
    (:func:`ecosim.paramdoc.parameter_title`) with the key."""
    from ecosim.paramdoc import parameter_title

    return Named(parameter_title(str(key)), str(key))


def readable_indices(indices: pd.DataFrame) -> pd.DataFrame:
    """A table of sensitivity indices (Sobol, Morris or regression) as a reader sees it: the
    outcome by its catalogue label, each parameter by its label with its key
    (:func:`parameter_cell`), numbers through the one formatter."""
    readable = indices.copy()
    if "metric" in readable.columns:
        readable["metric"] = [analysis.metric_label(m) for m in readable["metric"]]
        readable = readable.rename(columns={"metric": "outcome"})
    if "parameter" in readable.columns:
        readable["parameter"] = [parameter_cell(p) for p in readable["parameter"]]
    for column in readable.columns:
        values = readable[column]
        if pd.api.types.is_float_dtype(values) or (column not in ("outcome", "parameter", "note", "scenario")
                                                    and len(values) and values.isna().all()):
            readable[column] = values.map(format_number)
    return readable


LONG_WORD = 20
"""Words longer than this may break anywhere in the HTML report's tables."""

_LONG_WORD = re.compile(rf"\S{{{LONG_WORD + 1},}}")


def html_cell(value: Any, breaks: bool = True) -> Any:
    """A table cell's text as HTML: escaped and, with ``breaks``, each word longer than
    :data:`LONG_WORD` characters (a parameter or design-point name such as
    ``policy.managers.managers_per_region``) in a ``<span class="long">`` that may wrap, so that
    it does not widen the table past the screen. The text itself is unchanged: an interval or a
    name can be found in the page's source as every other output prints it."""
    from markupsafe import Markup, escape

    if isinstance(value, Named):
        key = f'<br><span class="key long">{escape(value.key)}</span>' if value.label != value.key else ""
        return Markup(f"{html_cell(value.label, breaks)}{key}")
    if not breaks:
        return escape(str(value))
    return Markup("".join(f'<span class="long">{escape(part)}</span>' if _LONG_WORD.fullmatch(part)
                          else str(escape(part)) for part in re.split(r"(\s+)", str(value))))


def render_html(title: str, screen: FirstScreen, sections: Sequence[Section], notes: Sequence[str],
                pngs: Mapping[str, bytes]) -> str:
    """The HTML report from its jinja2 template (``ecosim/templates/report.html.j2``); text is
    escaped by the template, paragraphs (built escaped) are inserted as they are."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("ecosim", "templates"), autoescape=True, undefined=jinja2.StrictUndefined)
    environment.filters["cell"] = html_cell
    environment.filters["verdict_class"] = lambda text: verdict_class(verdict_of_text(text) or "")
    template = environment.get_template("report.html.j2")
    rendered = [
        {"title": s.title, "paragraphs": s.paragraphs, "caption": s.caption, "fold": s.fold,
         "table": s.table if s.table is not None and not s.table.empty else None,
         "figures": [{"caption": caption, "png": base64.b64encode(pngs[stem]).decode("ascii")}
                     for stem, caption, _ in s.figures]}
        for s in sections]
    from markupsafe import Markup

    return template.render(title=title, screen=screen, sections=rendered, notes=notes,
                           verdict_css=Markup(verdict_css()), failing_colour=plots.VERDICT_COLOURS["worse"])


def write_report(
    results: Results,
    out: str | os.PathLike[str] | None = None,
    baseline: str | None = None,
    metrics: Sequence[str] | None = None,
    seed: int = 0,
    primary: Sequence[str] | None = None,
    alpha: float = 0.05,
    correction: str = "bonferroni",
) -> tuple[Path, Path]:
    """Write the HTML report (figures embedded as PNG) and a Markdown summary beside it.

    The first screen answers the question: the ranking of policies on the primary outcomes with
    verdicts and intervals, the cost per extra outcome, and where each failing policy's
    technologies fail. Details follow. While it writes, the HTML file is locked
    (:func:`ecosim.locks.output_lock`): another report into the same file is refused with
    :class:`InputError` rather than mixing its figures with this one's.

    Parameters
    ----------
    results : loaded results (:func:`load_results`)
    out : HTML file (default ``RESULTS_DIR/report.html``); the Markdown summary is the same
        name with ``.md``, its figures in ``<name>_figures/``
    baseline, metrics, primary : as for ``ecosim compare``
    seed : bootstrap seed

    Returns
    -------
    (Path, Path)
        The HTML and Markdown files.
    """
    html_path = Path(out) if out is not None else results.directory / "report.html"
    if html_path.suffix.lower() not in (".html", ".htm"):
        raise InputError("the report file must end in .html", source=str(html_path), key="--out")
    if html_path.exists() and html_path.is_dir():
        raise InputError("is a directory; give a file name ending in .html", source=str(html_path), key="--out")
    # raises InputError before writing
    screen, sections = build_report(results, baseline, metrics, seed, primary, alpha, correction)
    with output_lock(html_path, "report"):  # a second report into the same file is refused, not mixed in
        md_path = html_path.with_suffix(".md")
        figure_dir = html_path.with_name(html_path.stem + "_figures")
        title = f"ecosim report: {experiment_name(results)}"
        pngs: dict[str, bytes] = {}
        md_parts = [f"# {title}", "", f"**{screen.question_label}:** {screen.question}", ""]
        md_parts += [_strip_tags(p) + "\n" for p in screen.lead]
        if screen.columns:
            md_parts += [_markdown_table(pd.DataFrame([[text for text, _ in row["cells"]] for row in screen.rows],
                                                      columns=screen.columns)), ""]
        if screen.probabilities is not None:
            md_parts += [f"*{screen.probability_caption}*", "", _markdown_table(screen.probabilities), "",
                         screen.probability_note, ""]
        md_parts += [screen.method, ""]
        md_parts += [f"> Note: {note}\n" for note in results.notes]
        for section in sections:
            md_parts += [f"## {section.title}", ""]
            for paragraph in section.paragraphs:
                md_parts += [_strip_tags(paragraph), ""]
            if section.table is not None and not section.table.empty:
                md_parts += [f"*{section.caption}*", ""] if section.caption else []
                md_parts += [_markdown_table(section.table), ""]
            for stem, caption, fig in section.figures:
                png = figure_png(fig)
                pngs[stem] = png
                target = figure_dir / f"{stem}.png"
                _atomic(target, lambda tmp, data=png: tmp.write_bytes(data))
                md_parts += [f"![{caption}]({figure_dir.name}/{stem}.png)", "", f"*{caption}*", ""]
        page = render_html(title, screen, sections, results.notes, pngs)
        _atomic(md_path, lambda tmp: tmp.write_text("\n".join(md_parts), encoding="utf-8"))
        _atomic(html_path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
    return html_path, md_path
