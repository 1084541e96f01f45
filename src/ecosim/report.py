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
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ecosim import __version__, analysis, plots
from ecosim.errors import InputError

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


def comparison_table(
    results: Results,
    baseline: str | None = None,
    metrics: Sequence[str] | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    seed: int = 0,
) -> pd.DataFrame:
    """Check the input and compare every scenario with the baseline (see :func:`ecosim.analysis.compare`)."""
    if results.design in SENSITIVITY_DESIGNS:
        raise InputError(
            f"this is a {results.design} design: its points are analysed together with sensitivity indices, "
            f"not compared one by one; run `ecosim report {results.directory}`", source=str(results.directory))
    baseline = resolve_baseline(results, baseline)
    metrics = resolve_metrics(results, metrics)
    check_replications(results)
    if len(analysis.conditions(results.ok)) < 2:
        raise InputError("only one scenario has results; there is nothing to compare it with",
                         source=str(results.directory))
    return analysis.compare(results.ok, baseline, metrics, alpha=alpha, correction=correction, seed=seed)


# ------------------------------------------------------------------ formatting


def format_number(value: Any) -> str:
    """A number for a table: about three significant figures, thousands separated, ``–`` for NaN.

    Examples
    --------
    >>> format_number(12345.6), format_number(3.14159), format_number(0.01234), format_number(float("nan"))
    ('12,346', '3.14', '0.0123', '–')
    """
    if value is None:
        return "–"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return "–" if math.isnan(x) else ("∞" if x > 0 else "−∞")
    size = abs(x)
    if size == 0:
        return "0"
    if size >= 1000:
        return f"{x:,.0f}"
    if size >= 100:
        return f"{x:.1f}"
    if size >= 1:
        return f"{x:.2f}"
    if size >= 0.001:
        return f"{x:.3g}"
    return f"{x:.2e}"


def format_p(value: Any) -> str:
    """A p-value: ``<0.001`` below a thousandth, else three decimals."""
    x = float(value)
    if not math.isfinite(x):
        return "–"
    return "<0.001" if x < 0.001 else f"{x:.3f}"


def readable_comparison(comparison: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """The comparison table as strings, in the columns people read (scenario, metric, baseline,
    scenario, difference with interval, change %, adjusted p-value, verdict)."""
    level = f"{confidence:.0%}"
    rows = []
    for _, row in comparison.iterrows():
        rows.append({
            "scenario": row["condition"],
            "metric": row["metric"],
            "baseline": format_number(row["baseline_mean"]),
            "scenario mean": format_number(row["scenario_mean"]),
            f"difference [{level} CI]": f"{format_number(row['difference'])} "
                                        f"[{format_number(row['difference_low'])}, {format_number(row['difference_high'])}]",
            "change %": format_number(row["relative_change"]),
            "p (adjusted)": format_p(row["p_adjusted"]),
            "verdict": row["verdict"],
        })
    return pd.DataFrame(rows)


def print_comparison(
    comparison: pd.DataFrame, notes: Sequence[str] = (), console: Any = None, correction: str = "holm"
) -> None:
    """Print the comparison table with rich (verdicts coloured)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    readable = readable_comparison(comparison)
    baseline = comparison["baseline"].iloc[0] if len(comparison) else "baseline"
    paired = bool(comparison["paired"].all()) if len(comparison) else True
    table = Table(title=f"Each scenario against {baseline} (means per run)", title_justify="left")
    for column in readable.columns:
        text = column in ("scenario", "metric", "verdict")
        table.add_column(column, justify="left" if text else "right", no_wrap=text, overflow="fold")
    styles = {"better": "green", "worse": "red", "higher": "blue", "lower": "blue"}
    for _, row in readable.iterrows():
        style = styles.get(row["verdict"], "")
        cells = [str(v) for v in row.to_list()]
        cells[-1] = f"[{style}]{cells[-1]}[/{style}]" if style else cells[-1]
        table.add_row(*cells)
    console.print(table)
    tests = ", ".join(sorted(set(comparison["test"]))) if len(comparison) else ""
    console.print(
        f"Pairs: {'common random numbers (paired by replication seed)' if paired else 'UNPAIRED: scenarios do not share replication seeds, so unpaired tests were used'}; "
        f"tests: {tests}; p-values adjusted across all rows ({_CORRECTIONS[correction]}).", highlight=False)
    for note in notes:
        console.print(f"[yellow]Note:[/yellow] {note}", highlight=False)


_CORRECTIONS = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "not adjusted"}


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
    table and figures."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    figures: list[tuple[str, str, Figure]] = field(default_factory=list)  # (file stem, caption, figure)


def build_sections(
    results: Results, baseline: str | None = None, metrics: Sequence[str] | None = None, seed: int = 0
) -> list[Section]:
    """Decide what the report shows and compute it; raises InputError on bad input."""
    sections = [_provenance_section(results)]
    ok = results.ok
    sensitivity_design = results.design in SENSITIVITY_DESIGNS
    if not sensitivity_design:
        check_replications(results)
        baseline = resolve_baseline(results, baseline)
        metrics = resolve_metrics(results, metrics)
    elif metrics:
        metrics = resolve_metrics(results, metrics)

    several = len(analysis.conditions(ok)) >= 2 and not sensitivity_design
    points = design_points_table(ok)
    if points is not None and not sensitivity_design:
        sections.append(Section("Design points", ["Each design point of a scenario is compared as its own "
                                                  "condition, named scenario[point]."], points))
    if several:
        comparison = analysis.compare(ok, baseline, metrics, seed=seed)
        paired = bool(comparison["paired"].all())
        summary = _verdict_sentences(comparison)
        sections.append(Section(
            "Which policy works: each scenario against the baseline",
            [f"Baseline: <b>{html.escape(str(baseline))}</b>. Differences are in the mean per run; the "
             "interval is a 95% confidence interval; p-values are adjusted (Holm) across all scenarios and "
             "metrics, and the verdict is “better” or “worse” only when the adjusted p-value is below 0.05. "
             + ("Replications are paired by seed (common random numbers)." if paired else
                "<b>Scenarios do not share replication seeds, so unpaired tests were used.</b>"), *summary],
            readable_comparison(comparison),
            _forest_figures(comparison)))
    figures = []
    for metric in [m for m in REPORT_DISTRIBUTION_METRICS if m in ok.columns and not sensitivity_design]:
        figures.append((f"distribution_{metric}", f"{analysis.metric_label(metric)}: one dot per replication.",
                        plots.distribution_plot(ok, metric, baseline)))
    if figures:
        paragraphs = ["Boxes span the middle half of the replications; the line is the median."]
        fewest = int(ok.groupby("condition").size().min())
        if fewest < 6:
            paragraphs.append(
                f"With fewer than 6 replications no 95% interval for a median exists: the median's interval "
                f"is then the range of the replications, whose confidence is 1 − 2^(1−n) "
                f"({1 - 2.0 ** (1 - fewest):.0%} for n = {fewest}).")
        sections.append(Section("How the outcomes vary between replications", paragraphs,
                                analysis_summary_table(ok, metrics or [], seed), figures))

    if not results.steps.empty and not sensitivity_design:
        figures = []
        steps = results.steps
        for metric, cumulative in REPORT_TIME_SERIES:
            if metric in steps.columns:
                bands = analysis.time_series_bands(steps, [metric], cumulative=cumulative)
                figures.append((f"time_{metric}", f"{analysis.metric_label(metric)} over time.",
                                plots.time_series_plot(bands, metric, baseline)))
        if figures:
            sections.append(Section("Over time", ["Lines are medians over replications; shaded bands hold "
                                                  "the middle 90% of replications."], None, figures))

    if set(analysis.FAILURE_COLUMNS) <= set(ok.columns) and not sensitivity_design:
        figs = [("failures", "Failures per run by gate and cause.",
                 plots.failure_plot(analysis.failures_by_gate_cause(ok)))]
        paragraphs = ["Every failed gate attempt is recorded with its gate and cause: technical (no policy "
                      "changes it), funding, or matching."]
        if several:
            decomposition = analysis.failure_decomposition(ok, baseline, seed=seed)
            figs.append(("failure_change", "Change in failures against the baseline, by gate and cause.",
                         plots.failure_change_plot(decomposition)))
            paragraphs.extend(_decomposition_sentences(decomposition))
        sections.append(Section("Why technologies fail: the valley of death decomposition", paragraphs, None, figs))

    funnel_ready = set(analysis.FUNNEL_STAGES) <= set(ok.columns)
    owners_ready = {f"conversion_{o}" for o in ("university", "joint", "enterprise")} <= set(ok.columns)
    if (funnel_ready or owners_ready) and not sensitivity_design:
        figs = []
        if funnel_ready:
            figs.append(("funnel", "From disclosure to deal to market.",
                         plots.funnel_plot(analysis.conversion_funnel(ok), baseline)))
        if owners_ready:
            figs.append(("conversion_by_owner", "Conversion rate by who owns the technology.",
                         plots.conversion_by_owner_plot(analysis.conversion_by_owner(ok), baseline)))
        sections.append(Section("The conversion funnel and who converts", [], None, figs))

    if several and {"welfare", "public_spending"} <= set(ok.columns):
        outcomes = [m for m in ("welfare", "deals", "commercialisations") if m in ok.columns]
        effectiveness = analysis.cost_effectiveness(ok, baseline, outcomes, seed=seed)
        table = effectiveness.assign(
            **{"extra outcome [95% CI]": [f"{format_number(r.extra_outcome)} [{format_number(r.extra_outcome_low)}, "
                                          f"{format_number(r.extra_outcome_high)}]" for r in effectiveness.itertuples()],
               "extra public money, M¥ [95% CI]": [
                   f"{format_number(r.extra_cost)} [{format_number(r.extra_cost_low)}, {format_number(r.extra_cost_high)}]"
                   for r in effectiveness.itertuples()],
               "per extra M¥ [95% CI]": [
                   f"{format_number(r.per_unit_cost)} [{format_number(r.per_unit_low)}, {format_number(r.per_unit_high)}]"
                   for r in effectiveness.itertuples()]},
        )[["condition", "outcome", "extra outcome [95% CI]", "extra public money, M¥ [95% CI]",
           "per extra M¥ [95% CI]", "note"]].rename(columns={"condition": "scenario"})
        sections.append(Section(
            "Cost-effectiveness: what each extra yuan of public money buys",
            ["Extra outcome per run divided by extra public money per run, against the baseline, with "
             "bootstrap intervals. Where the extra spending is not clearly different from zero the ratio "
             "is unstable and no interval is given."],
            table,
            [("cost_effectiveness", "Extra welfare against extra public money.",
              plots.cost_effectiveness_plot(effectiveness, "welfare"))]))

    if sensitivity_design:
        sections.append(_sensitivity_section(results, metrics, seed))
    sections.append(Section("How to read the statistics", [
        "Means per run are compared pair by pair when scenarios share replication seeds (common random "
        "numbers). Intervals are 95% confidence intervals: t intervals, or for heavy-tailed metrics "
        "(welfare, licensing income, technologies reaching market) studentized bootstrap intervals. "
        "Tests: paired t-test, or Wilcoxon's signed-rank test for heavy-tailed metrics (Welch's t-test and "
        "the Mann–Whitney test for unpaired data). p-values are adjusted for the number of comparisons "
        "(Holm). “No detectable difference” means the sweep cannot tell the scenarios apart at this "
        "number of replications, not that they are equal. See docs/ANALYSIS.md."]))
    return sections


FOREST_ROWS_PER_FIGURE = 40
"""A forest plot taller than this many rows is split by metric into several figures."""


def _forest_figures(comparison: pd.DataFrame) -> list[tuple[str, str, Figure]]:
    caption = "Effect of each scenario on each metric, in % of the baseline, with 95% intervals."
    metrics = list(dict.fromkeys(comparison["metric"]))
    per_metric = max(1, len(comparison) // max(1, len(metrics)))
    chunk = max(1, FOREST_ROWS_PER_FIGURE // per_metric)
    groups = [metrics[i:i + chunk] for i in range(0, len(metrics), chunk)]
    figures = []
    for number, group in enumerate(groups, start=1):
        part = comparison[comparison["metric"].isin(group)]
        stem = "forest" if len(groups) == 1 else f"forest_{number}"
        text = caption if len(groups) == 1 else f"{caption} (part {number} of {len(groups)})"
        figures.append((stem, text, plots.forest_plot(part)))
    return figures


def analysis_summary_table(ok: pd.DataFrame, metrics: Sequence[str], seed: int) -> pd.DataFrame:
    """A readable per-scenario summary (mean [CI], median [CI]) of the compared metrics."""
    if not metrics:
        return pd.DataFrame()
    summary = analysis.summarise(ok, metrics, seed=seed)
    return pd.DataFrame({
        "scenario": summary["condition"],
        "metric": summary["metric"],
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
    facts = {
        "experiment": experiment_name(results),
        "question": str(index.get("description") or "–"),
        "experiment file": str(index.get("source", "–")),
        "results directory": str(results.directory),
        "design": results.design,
        "scenarios / design points": ", ".join(analysis.conditions(ok)) if len(replications) <= 12 else
        f"{len(replications)} conditions",
        "finished runs": f"{len(ok)} ok of {len(runs)} recorded",
        "replications per scenario": (f"{replications.min()}" if replications.min() == replications.max()
                                      else f"{replications.min()}–{replications.max()}"),
        "steps (quarters)": str(index.get("steps", "–")),
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
    return Section("What was run", [html.escape(note) for note in results.notes], table)


def design_points_table(ok: pd.DataFrame) -> pd.DataFrame | None:
    """Condition name → values of the varied parameters, when some scenario has several points."""
    parameters = analysis.parameter_columns(ok)
    if not parameters or not any("[" in c for c in analysis.conditions(ok)):
        return None
    table = ok.drop_duplicates("condition")[["condition", *parameters]]
    return table.astype(str).reset_index(drop=True)


def experiment_name(results: Results) -> str:
    """The experiment's name from the index (or the directory's name)."""
    index = results.index
    name = index.get("experiment_name")
    if not name and isinstance(index.get("experiment"), dict):
        name = index["experiment"].get("name")
    return str(name or results.directory.name)


def _verdict_sentences(comparison: pd.DataFrame) -> list[str]:
    sentences = []
    for name, part in comparison.groupby("condition", sort=False):
        better = [analysis.metric_label(m).lower() for m in part.loc[part["verdict"] == "better", "metric"]]
        worse = [analysis.metric_label(m).lower() for m in part.loc[part["verdict"] == "worse", "metric"]]
        text = f"<b>{html.escape(str(name))}</b>: "
        if better:
            text += "better on " + ", ".join(better)
        if worse:
            text += ("; " if better else "") + "worse on " + ", ".join(worse)
        if not better and not worse:
            text += "no detectable difference from the baseline on the metrics compared"
        sentences.append(html.escape(text, quote=False).replace("&lt;b&gt;", "<b>").replace("&lt;/b&gt;", "</b>") + ".")
    return sentences


def _decomposition_sentences(decomposition: pd.DataFrame) -> list[str]:
    sentences = []
    for name, part in decomposition.groupby("condition", sort=False):
        if part["share_of_change"].isna().all():
            continue
        top = part.loc[part["share_of_change"].idxmax()]
        direction = "fewer" if top["difference"] < 0 else "more"
        sentences.append(
            f"{html.escape(str(name))}: the largest change is {format_number(abs(top['difference']))} {direction} "
            f"{top['cause']} failures per run at {analysis.GATE_NAMES[top['gate']]} "
            f"({top['share_of_change']:.0%} of the total change in failures).")
    return sentences


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
    indices = pd.concat(tables, ignore_index=True)
    readable = indices.copy()
    for column in readable.columns:
        if pd.api.types.is_float_dtype(readable[column]):
            readable[column] = readable[column].map(format_number)
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


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ddd;padding:.3em .6em;
text-align:left}th{background:#f4f4f4}td.better{color:#1a7a3a;font-weight:600}td.worse{color:#b3261e;
font-weight:600}figure{margin:1.5em 0}figure img{max-width:100%}figcaption{color:#555;font-size:.9em}
.note{background:#fff4ce;border-left:4px solid #e0a800;padding:.5em 1em}
"""


def _html_table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for column, value in row.items():
            css = f' class="{value}"' if column == "verdict" and value in ("better", "worse") else ""
            cells.append(f"<td{css}>{html.escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _strip_tags(text: str) -> str:
    return html.unescape(text.replace("<b>", "**").replace("</b>", "**"))


def write_report(
    results: Results,
    out: str | os.PathLike[str] | None = None,
    baseline: str | None = None,
    metrics: Sequence[str] | None = None,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write the HTML report (figures embedded as PNG) and a Markdown summary beside it.

    Parameters
    ----------
    results : loaded results (:func:`load_results`)
    out : HTML file (default ``RESULTS_DIR/report.html``); the Markdown summary is the same
        name with ``.md``, its figures in ``<name>_figures/``
    baseline, metrics : as for ``ecosim compare``
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
    sections = build_sections(results, baseline, metrics, seed)  # raises InputError before writing
    md_path = html_path.with_suffix(".md")
    figure_dir = html_path.with_name(html_path.stem + "_figures")
    title = f"ecosim report: {experiment_name(results)}"

    html_parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                  f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    md_parts = [f"# {title}", ""]
    for section in sections:
        html_parts.append(f"<h2>{html.escape(section.title)}</h2>")
        md_parts += [f"## {section.title}", ""]
        notes = {html.escape(note) for note in results.notes}
        for paragraph in section.paragraphs:  # paragraphs are HTML (names escaped where they are built)
            css = ' class="note"' if paragraph in notes else ""
            html_parts.append(f"<p{css}>{paragraph}</p>")
            md_parts += [_strip_tags(paragraph), ""]
        if section.table is not None and not section.table.empty:
            html_parts.append(_html_table(section.table))
            md_parts += [_markdown_table(section.table), ""]
        for stem, caption, fig in section.figures:
            png = figure_png(fig)
            encoded = base64.b64encode(png).decode("ascii")
            html_parts.append(f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{encoded}'>"
                              f"<figcaption>{html.escape(caption)}</figcaption></figure>")
            target = figure_dir / f"{stem}.png"
            _atomic(target, lambda tmp, data=png: tmp.write_bytes(data))
            md_parts += [f"![{caption}]({figure_dir.name}/{stem}.png)", "", f"*{caption}*", ""]
    html_parts.append("</body></html>")
    _atomic(md_path, lambda tmp: tmp.write_text("\n".join(md_parts), encoding="utf-8"))
    _atomic(html_path, lambda tmp: tmp.write_text("\n".join(html_parts), encoding="utf-8"))
    return html_path, md_path
