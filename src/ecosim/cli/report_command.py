"""``ecosim report RESULTS_DIR``: one self-contained HTML report and a Markdown summary."""

from __future__ import annotations

import click

from ecosim.cli.options import comparison_options


@click.command("report")
@click.argument("results_dir", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="HTML file to write (default: RESULTS_DIR/report.html); the Markdown summary goes beside it.")
@click.option("--baseline", default=None, metavar="NAME", help="Scenario to compare against.")
@click.option("--metric", "metrics", multiple=True, metavar="NAME", help="Metric to compare; repeatable.")
@comparison_options
def command(results_dir, out, baseline, metrics, primary, alpha, correction, seed):
    """Write a report on a sweep: what was run, the comparison table and figures.

    The HTML file embeds its figures (open it anywhere, mail it); the Markdown summary beside it
    links PNG files in a <name>_figures directory.

    Example: ecosim report results/policies --out policies.html
    """
    from ecosim.cli.paths import check_output_directory, check_output_file

    if out:
        check_output_file(out, "--out", creates_folders=True)
    else:
        check_output_directory(results_dir, "RESULTS_DIR")
    from ecosim.report import load_results, write_report

    results = load_results(results_dir)
    html_path, md_path = write_report(results, out, baseline, list(metrics) or None, seed=seed,
                                      primary=list(primary) or None, alpha=alpha, correction=correction)
    for note in results.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"Wrote {html_path} and {md_path}")
