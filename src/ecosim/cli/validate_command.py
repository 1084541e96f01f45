"""``ecosim validate [SCENARIO]``: does the scenario reproduce the published facts (docs/VALIDATION.md §1)?

Runs seeded replications (common random numbers: the same root seed gives every scenario
the same replication seeds), prints one row per fact — target range, simulated mean and 95%
interval, inside or not — and exits 0 only if every mean is inside its range (3 if some are
not; 2 on bad input). Calibration is ``ecosim calibrate`` (:mod:`ecosim.cli.calibrate_command`).
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
@click.option("--posterior", "posterior_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Run each replication at one draw of this posterior (posterior.parquet) and report the "
                   "predictive mean, 95% interval of the runs and coverage of every fact.")
@memory_limit_option
def command(scenario, replications, seed, workers, sets, markdown, csv_path, posterior_file, memory_limit):
    """Check that SCENARIO (default scenarios/baseline.yaml) reproduces the facts F1–F12.

    Examples:

        ecosim validate --replications 30

        ecosim validate --posterior experiments/posterior/default.parquet --replications 30

    The free parameters are estimated by `ecosim calibrate` (docs/VALIDATION.md §7).
    """
    from ecosim.cli.paths import check_output_file

    if csv_path:
        check_output_file(csv_path, "--csv")
    loaded = load_with_overrides(scenario, sets)
    posterior = _read_posterior(posterior_file, scenario, loaded, sets) if posterior_file else None
    from ecosim.resources import check_memory, check_workers

    sizes = check_memory(loaded, memory_limit, source=scenario)
    check_workers(workers, sizes.bytes, "process", memory_limit)
    from rich.console import Console

    console = Console(file=sys.stderr)
    with contextlib.ExitStack() as held:
        if csv_path:  # a second validate into the same CSV is refused at once, not interleaved
            from ecosim.locks import output_lock

            held.enter_context(output_lock(csv_path, "validate", "--csv"))
        if posterior is not None:
            _validate_posterior(loaded, posterior, replications, seed, workers, markdown, csv_path, console)
        else:
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


def _read_posterior(path: str, scenario_file: str, loaded, sets):
    """The posterior, checked against the scenario: real numeric keys, not set by the scenario file
    or by --set (the draw would silently replace them), every particle valid."""
    from ecosim.errors import InputError
    from ecosim.experiment import check_posterior_keys, scenario_file_keys
    from ecosim.posterior import read_posterior
    from ecosim.scenario import apply_overrides, parse_override

    posterior = read_posterior(path, key="--posterior")
    data = loaded.model_dump(mode="json")
    check_posterior_keys(posterior, data)
    own = scenario_file_keys(scenario_file) & set(posterior.keys)
    if own:
        key = sorted(own)[0]
        raise InputError(f"sets {key!r}, which the posterior {path} also sets: each draw would silently replace "
                         "the scenario's value; remove it from the scenario to validate on posterior draws",
                         source=scenario_file, key=key)
    for text in sets:
        key, _ = parse_override(text)
        if key in posterior.keys:
            raise InputError(f"{key!r} is a column of the posterior {path}: each draw sets it", key="--set")
    for index in range(posterior.particles):
        try:
            apply_overrides(data, posterior.particle(index))
        except InputError as exc:
            raise InputError(f"particle {index} is invalid for scenario {loaded.name!r}: {exc}",
                             source=posterior.file) from None
    return posterior


def _validate_posterior(loaded, posterior, replications: int, seed: int, workers: int, markdown: bool,
                        csv_path: str | None, console) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ecosim.validation import format_predictive_table, validate_posterior

    with Progress(TextColumn(f"{loaded.name}: posterior draws"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("runs", total=replications)
        table, runs = validate_posterior(loaded, posterior, replications=replications, root_seed=seed,
                                         workers=workers, progress=lambda done, total: bar.update(task, completed=done))
    click.echo(format_predictive_table(table, markdown=markdown))
    patterns = table[table["kind"] == "pattern"]
    inside = int(patterns["inside"].sum())
    click.echo(f"\n{inside} of {len(patterns)} produced patterns have their posterior-predictive mean inside the target "
               f"range ({replications} replications, each at one draw of {posterior.file} "
               f"({posterior.particles} particles, effective sample size {posterior.effective_sample_size:.0f}), root "
               f"seed {seed}, scenario {loaded.name}). Coverage is the share of runs inside the range; the 95% column "
               "holds the middle 95% of the runs (parameter uncertainty and chance), not an interval of the mean. "
               "The inputs are listed for reference.")
    if csv_path:
        runs.to_csv(csv_path, index=False)
    if inside < len(patterns):
        sys.exit(EXIT_FACTS_OUTSIDE)
