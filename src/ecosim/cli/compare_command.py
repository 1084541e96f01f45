"""``ecosim compare RESULTS_DIR``: each scenario against a baseline, with intervals and verdicts."""

from __future__ import annotations

from pathlib import Path

import click

from ecosim.cli.options import comparison_options


@click.command("compare")
@click.argument("results_dir", type=click.Path(file_okay=False))
@click.option("--baseline", default=None, metavar="NAME",
              help="Scenario to compare against (default: 'baseline' if present, else the first).")
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="Metric to compare; repeatable (default: the headline metrics).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Directory for comparison.csv and comparison.parquet (default: RESULTS_DIR).")
@comparison_options
def command(results_dir, baseline, metrics, primary, out, alpha, correction, seed):
    """Compare every scenario of a sweep with a baseline, metric by metric.

    Prints each change with its interval (one estimate per metric, the same as in the report and
    notebooks) and, for primary outcomes, a verdict ("better", "worse", "undecided: needs about N
    replications", "no change larger than ±5% of the baseline", ...); other metrics are
    descriptive. Writes the full table as comparison.csv and comparison.parquet.

    Example: ecosim compare results/policies --baseline baseline --metric deals --metric welfare
    """
    from rich.console import Console

    from ecosim.cli.paths import check_output_directory

    check_output_directory(out if out else results_dir, "--out" if out else "RESULTS_DIR")
    from ecosim.report import (
        comparison_table,
        condition_labels,
        load_results,
        print_comparison,
        write_table,
    )

    results = load_results(results_dir)
    table = comparison_table(results, baseline, list(metrics) or None, list(primary) or None, alpha=alpha,
                             correction=correction, seed=seed)
    console = Console(width=max(Console().width, 160))
    print_comparison(table, results.notes, console=console, correction=correction,
                     labels=condition_labels(results.ok))
    paths = write_table(table, Path(out) if out else results.directory, "comparison")
    console.print("Wrote " + " and ".join(str(p) for p in paths), highlight=False)
