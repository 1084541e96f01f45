"""``ecosim validate [SCENARIO]``: does the scenario reproduce the published facts (FACTS.md)?

Runs seeded replications (common random numbers: the same root seed gives every scenario
the same replication seeds), prints one row per fact — target range, simulated mean and 95%
interval, inside or not — and exits 0 only if every mean is inside its range (3 if some are
not; 2 on bad input). ``--calibrate EXPERIMENT`` instead runs the calibration search (a sweep
of the experiment's design) and prints the best points.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

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
@click.option("--calibrate", "experiment", type=click.Path(dir_okay=False), default=None,
              help="Run this calibration experiment (e.g. experiments/calibration.yaml) and rank its points instead.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="With --calibrate: results directory of the sweep (default: results/<experiment name>).")
@click.option("--resume", is_flag=True, help="With --calibrate: complete the sweep already in --out.")
@memory_limit_option
def command(scenario, replications, seed, workers, sets, markdown, csv_path, experiment, out, resume, memory_limit):
    """Check that SCENARIO (default scenarios/baseline.yaml) reproduces the facts F1–F12.

    Examples:

        ecosim validate --replications 30

        ecosim validate --calibrate experiments/calibration.yaml --out results/calibration
    """
    from ecosim.cli.paths import check_output_directory, check_output_file
    from ecosim.errors import InputError

    if csv_path:
        check_output_file(csv_path, "--csv")
    if experiment is not None:
        if csv_path:
            raise InputError("--csv goes without --calibrate (the calibration writes calibration_scores.csv)",
                             key="--csv")
        if out:
            check_output_directory(out, "--out")
        _calibrate(experiment, out, workers, resume)
        return
    if out is not None or resume:
        raise InputError("--out and --resume go with --calibrate", key="--out")
    loaded = load_with_overrides(scenario, sets)
    from ecosim.resources import check_memory, check_workers

    sizes = check_memory(loaded, memory_limit, source=scenario)
    check_workers(workers, sizes.bytes, "process", memory_limit)
    from rich.console import Console

    console = Console(file=sys.stderr)
    with contextlib.ExitStack() as held:
        if csv_path:  # a second validate into the same CSV is refused at once, not interleaved
            from ecosim.locks import output_lock

            held.enter_context(output_lock(csv_path, "validate", "--csv"))
        _validate(loaded, replications, seed, workers, markdown, csv_path, console)


def _validate(loaded, replications, seed, workers, markdown, csv_path, console):
    """Run the replications, print the fact table, write the CSV; exit 3 when facts are outside."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ecosim.validation import format_table, validate

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
        from ecosim.store import write_text

        write_text(Path(csv_path), runs.to_csv(index=False))
    if inside < len(patterns):
        sys.exit(EXIT_FACTS_OUTSIDE)  # SystemExit passes through the CLI's handlers unchanged


def _calibrate(experiment: str, out: str | None, workers: int, resume: bool) -> None:
    from ecosim.calibration import format_ranking, run_calibration
    from ecosim.experiment import load_experiment

    spec = load_experiment(experiment)
    target = Path(out) if out else Path("results") / spec.name
    click.echo(f"{spec.name}: {spec.n_runs} runs → {target}", err=True)
    scores = run_calibration(experiment, target, workers=workers, resume=resume)
    scores.to_csv(target / "calibration_scores.csv", index=False)
    click.echo(format_ranking(scores))
    click.echo(f"\nEvery point's scores: {target / 'calibration_scores.csv'}")
