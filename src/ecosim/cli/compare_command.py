"""``ecosim compare RESULTS_DIR``: each scenario against a baseline, with intervals and verdicts."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("compare")
@click.argument("results_dir", type=click.Path(file_okay=False))
@click.option("--baseline", default=None, metavar="NAME",
              help="Scenario to compare against (default: 'baseline' if present, else the first).")
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="Metric to compare; repeatable (default: the headline metrics).")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Directory for comparison.csv and comparison.parquet (default: RESULTS_DIR).")
@click.option("--alpha", type=click.FloatRange(0.0, 0.5, min_open=True), default=0.05, show_default=True,
              help="Significance level for the verdict, applied to adjusted p-values.")
@click.option("--correction", type=click.Choice(["holm", "bh", "none"]), default="holm", show_default=True,
              help="Multiple-comparison correction across scenarios x metrics.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap intervals.")
def command(results_dir, baseline, metrics, out, alpha, correction, seed):
    """Compare every scenario of a sweep with a baseline, metric by metric.

    Prints the difference in the mean per run with its 95% interval, the adjusted p-value and a
    verdict ("better", "worse", "no detectable difference"), and writes the full table as
    comparison.csv and comparison.parquet.

    Example: ecosim compare results/policies --baseline baseline --metric deals --metric welfare
    """
    from rich.console import Console

    from ecosim.cli.paths import check_output_directory

    check_output_directory(out if out else results_dir, "--out" if out else "RESULTS_DIR")
    from ecosim.report import comparison_table, load_results, print_comparison, write_table

    results = load_results(results_dir)
    table = comparison_table(results, baseline, list(metrics) or None, alpha=alpha, correction=correction,
                             seed=seed)
    console = Console(width=max(Console().width, 160))
    print_comparison(table, results.notes, console=console, correction=correction)
    paths = write_table(table, Path(out) if out else results.directory, "comparison")
    console.print("Wrote " + " and ".join(str(p) for p in paths), highlight=False)
