"""Short calls for the policymakers' notebooks: run or load an experiment, then show the same
answers, tables and figures as ``ecosim compare`` and ``ecosim report``.

A notebook cell should read like a sentence: ``results = notebook.run_experiment(...)``,
``notebook.answer(results)``. Every number comes from :mod:`ecosim.analysis` through the same
functions the commands use (:func:`ecosim.report.comparison_table`,
:func:`ecosim.report.build_report`), so a number about one metric and scenario is the same in a
notebook, the comparison table and the report.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ecosim import analysis, plots, report
from ecosim.errors import InputError
from ecosim.report import Results

RESULTS_ENVIRONMENT = "ECOSIM_NOTEBOOK_RESULTS"


def results_root() -> Path:
    """Where notebooks keep their runs: ``$ECOSIM_NOTEBOOK_RESULTS``, else ``../results/notebooks``."""
    return Path(os.environ.get(RESULTS_ENVIRONMENT, Path("..") / "results" / "notebooks"))


def run_experiment(
    path: str | os.PathLike[str],
    replications: int | None = None,
    steps: int | None = None,
    workers: int = 2,
    fresh: bool = False,
) -> Results:
    """Run an experiment file's runs (or load them when already stored) and return its results.

    The runs go to ``results_root()/<name>-r<replications>``; when that folder already holds the
    very same experiment (same fingerprint: file, resolved scenarios, replications, steps) the
    finished runs are loaded and only missing ones computed, otherwise the folder is emptied.
    Stored runs do not know that ecosim's code changed: pass ``fresh=True`` after an update.

    Parameters
    ----------
    path : the experiment file
    replications, steps : a quick trial's overrides (``None``: the file's)
    workers : runs computed at the same time
    fresh : discard stored runs and compute again
    """
    from ecosim.executors import run_sweep
    from ecosim.experiment import load_experiment
    from ecosim.store import load_index

    experiment = load_experiment(path)
    if replications is not None or steps is not None:
        experiment = experiment.with_trial(replications=replications, steps=steps)
    folder = results_root() / (f"{experiment.name}-r{experiment.replications}"
                               + (f"-s{steps}" if steps is not None else ""))
    if folder.exists():
        try:
            same = load_index(folder)["fingerprint"] == experiment.fingerprint()
        except (InputError, KeyError, FileNotFoundError, ValueError):
            same = False
        if fresh or not same:
            shutil.rmtree(folder)
    outcome = run_sweep(experiment, folder, executor="process", workers=workers, resume=True)
    print(f"{outcome.done} runs computed, {outcome.skipped} loaded from {folder}, {outcome.failed} failed "
          f"({outcome.seconds:.0f} s)")
    return report.load_results(folder)


def comparison(
    results: Results, baseline: str | None = None, metrics: Sequence[str] | None = None,
    primary: Sequence[str] | None = None, seed: int = 0,
) -> pd.DataFrame:
    """Each scenario against the baseline: the table ``ecosim compare`` writes (same numbers)."""
    return report.comparison_table(results, baseline, metrics, primary, seed=seed)


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison table as a reader sees it (labels, units, one interval per change, verdicts)."""
    return report.readable_comparison(table)


class Answer:
    """The report's first screen, displayed in a notebook as the same HTML table."""

    def __init__(self, screen: report.FirstScreen):
        self.screen = screen

    def table(self) -> pd.DataFrame:
        """The ranking as a DataFrame (text cells, as printed)."""
        return pd.DataFrame([[text for text, _ in row["cells"]] for row in self.screen.rows],
                            columns=self.screen.columns)

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.screen.columns)
        verdicts = {report.verdict_class(v): v for v in plots.VERDICT_COLOURS}

        def verdict_cell(text: str, verdict: str | None, style: str = "") -> str:
            """A cell as the report draws a verdict's: a dot of its colour (the forest plot's), better
            and worse bold in theirs."""
            dot = ""
            if verdict is not None:
                colour = plots.VERDICT_COLOURS[verdict]
                dot = f"<span style='color:{colour}'>&#9679;&nbsp;</span>"
                if verdict in ("better", "worse"):
                    style = f"font-weight:600;color:{colour};"
            return f"<td style='text-align:left;{style}'>{dot}{html.escape(text)}</td>"

        rows = []
        for row in self.screen.rows:
            cells = []
            for i, (text, css) in enumerate(row["cells"]):
                if i == 1:
                    swatch = (f"<span style='display:inline-block;width:.9em;height:.9em;margin-right:.3em;"
                              f"background:{row['colour']}'></span>")
                    cells.append(f"<td style='text-align:left'>{swatch}{html.escape(text)}</td>")
                else:
                    cells.append(verdict_cell(text, verdicts.get(css), "font-weight:600;" if css == "reason" else ""))
            rows.append("<tr>" + "".join(cells) + "</tr>")
        lead = "".join(f"<p>{p}</p>" for p in self.screen.lead)
        probabilities = ""
        if self.screen.probabilities is not None:
            table = self.screen.probabilities
            probabilities = (
                f"<table><caption style='text-align:left'>{html.escape(self.screen.probability_caption)}</caption>"
                "<thead><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns) + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(verdict_cell(str(v), report.verdict_of_text(v) if i else None)
                                           for i, v in enumerate(row))
                          + "</tr>" for row in table.itertuples(index=False))
                + f"</tbody></table><p style='font-size:.9em;color:#444'>{html.escape(self.screen.probability_note)}</p>")
        return (f"<p><b>{html.escape(self.screen.question_label)}:</b> {html.escape(self.screen.question)}</p>{lead}"
                f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{probabilities}"
                f"<p style='font-size:.9em;color:#444'>{html.escape(self.screen.method)}</p>")


def answer(results: Results, baseline: str | None = None, primary: Sequence[str] | None = None,
           seed: int = 0) -> Answer:
    """The answer first: the ranking on the primary outcomes with verdicts and intervals, the cost
    per extra outcome and where each failing policy's technologies fail — the report's first screen."""
    screen, _ = report.build_report(results, baseline, None, seed, primary)
    return Answer(screen)


def conclusions(table: pd.DataFrame) -> str:
    """One plain sentence per scenario on its primary outcomes (the report's sentences)."""
    return "\n".join(f"- {sentence}" for sentence in report.verdict_sentences(table))


def probabilities(table: pd.DataFrame) -> pd.DataFrame:
    """For runs from posterior draws: the report's P(better) table, a row per policy and a column
    per primary outcome, each cell the probability over the posterior that the policy beats the
    baseline with its 95% interval and the verdict (the texts ``ecosim compare`` and ``ecosim
    report`` print); an empty table otherwise."""
    found = report.probability_table(table) if "p_better" in table.columns else None
    return found if found is not None else pd.DataFrame(columns=["policy"])


def probability_note() -> str:
    """What the probability over the posterior means, and that it is not a p-value (the text every output prints)."""
    return report.POSTERIOR_NOTE


def cost_effectiveness(results: Results, table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The cost-effectiveness table, its extra outcomes read from ``table`` (same numbers)."""
    if "public_spending" not in set(table["metric"]):
        table = comparison(results, table["baseline"].iloc[0],
                           [*dict.fromkeys(table["metric"]), "public_spending"],
                           list(dict.fromkeys(table.loc[table["role"] == "primary", "metric"])), seed)
    return analysis.cost_effectiveness(table)


def readable_cost_effectiveness(effectiveness: pd.DataFrame) -> pd.DataFrame:
    """The cost-effectiveness table as strings (the report's formatter)."""
    return report.readable_cost_effectiveness(effectiveness)


def design_surface(results: Results, metric: str, scenario: str | None = None) -> Any:
    """A grid design's heat map of ``metric`` (the report's figure), for one scenario."""
    runs = results.ok if scenario is None else results.ok[results.ok["scenario"] == scenario]
    return plots.design_surface_plot(analysis.design_point_means(runs, [metric]), metric)


def design_table(results: Results, metrics: Sequence[str]) -> pd.DataFrame:
    """Design points named by their parameter values, with each metric's mean and 95% interval."""
    means = analysis.design_point_means(results.ok, metrics)
    return pd.DataFrame({
        "design point": means["label"], "replications": means["n"],
        **{f"{analysis.metric_label(m)} [95% interval]": [
            report.format_interval(r[m], r[f"{m}_low"], r[f"{m}_high"]) for _, r in means.iterrows()]
           for m in metrics}})


def run_experiment_spec(spec: dict[str, Any], workers: int = 2, fresh: bool = False) -> Results:
    """Write an experiment (a dict with the keys of an experiment file) as a YAML file in
    :func:`results_root` — a file ``ecosim sweep`` also accepts — and run or load it."""
    import yaml

    root = results_root()
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    print(f"experiment file: {path}")
    return run_experiment(path, workers=workers, fresh=fresh)


def sensitivity(results: Results, metrics: Sequence[str], seed: int = 0) -> pd.DataFrame:
    """Sobol or Morris indices of a sensitivity sweep (the report's computation)."""
    return analysis.sensitivity(results.ok, results.index["problem"], results.design, metrics, seed=seed)


def main_effects(results: Results, metric: str) -> Any:
    """Main effects (partial dependence) of every varied parameter on ``metric``."""
    return plots.main_effects_plot(analysis.design_point_means(results.ok, [metric]), metric)
