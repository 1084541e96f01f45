"""``ecosim validate [SCENARIO]``: does the scenario reproduce the published facts (FACTS.md)?

Runs seeded replications (common random numbers: the same root seed gives every scenario
the same replication seeds), prints one row per fact — target range, simulated mean and 95%
interval, inside or not — and exits 0 only if every mean is inside its range (3 if some are
not; 2 on bad input). Calibration is ``ecosim calibrate`` (:mod:`ecosim.cli.calibrate_command`).
"""

from __future__ import annotations

import sys

import click

from ecosim.cli.options import load_with_overrides, memory_limit_option, positive_int

EXIT_FACTS_OUTSIDE = 3


@click.command("validate")
@click.argument("scenario", type=click.Path(dir_okay=False), default="scenarios/baseline.yaml")
@click.option("--replications", type=positive_int, default=30, show_default=True, help="Seeded replications.")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=20261129, show_default=True,
              help="Root seed of the replication seeds.")
@click.option("--workers", type=positive_int, default=2, show_default=True, help="Worker processes.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a scenario key by dotted path; repeatable.")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (for docs/VALIDATION.md).")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None,
              help="Also write every replication's fact measures to this CSV file.")
@memory_limit_option
def command(scenario, replications, seed, workers, sets, markdown, csv_path, memory_limit):
    """Check that SCENARIO (default scenarios/baseline.yaml) reproduces the facts F1–F12.

    Examples:

        ecosim validate --replications 30

    The free parameters are estimated by `ecosim calibrate` (docs/VALIDATION.md §7).
    """
    from ecosim.cli.paths import check_output_file

    if csv_path:
        check_output_file(csv_path, "--csv")
    loaded = load_with_overrides(scenario, sets)
    from ecosim.resources import check_memory, check_workers

    sizes = check_memory(loaded, memory_limit, source=scenario)
    check_workers(workers, sizes.bytes, "process", memory_limit)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ecosim.validation import format_table, validate

    console = Console(file=sys.stderr)
    with Progress(TextColumn(f"{loaded.name}: replications"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("runs", total=replications)
        table, runs = validate(loaded, replications=replications, root_seed=seed, workers=workers,
                               progress=lambda done, total: bar.update(task, completed=done))
    click.echo(format_table(table, markdown=markdown))
    patterns = table[table["kind"] == "pattern"]
    inside = int(patterns["inside"].sum())
    click.echo(f"\n{inside} of {len(patterns)} produced patterns inside their target range "
               f"({replications} replications, root seed {seed}, scenario {loaded.name}, measured from quarter "
               f"{int(runs['measured_from_quarter'].iloc[0])} to {loaded.steps}); the inputs are listed for reference.")
    if csv_path:
        runs.to_csv(csv_path, index=False)
    if inside < len(patterns):
        sys.exit(EXIT_FACTS_OUTSIDE)  # SystemExit passes through the CLI's handlers unchanged
