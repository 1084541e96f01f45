"""``ecosim calibrate EXPERIMENT --out DIR``: ABC-SMC calibration of the free parameters (pyabc).

Reads a calibration file (:func:`ecosim.calibration.load_calibration`), runs or resumes the
calibration on the serial, process or Dask executor, reports progress on standard error and
writes ``posterior.parquet``, ``generations.csv`` and pyabc's database into DIR (see
docs/VALIDATION.md §7). Same file and seed ⇒ the same posterior, whatever the executor, the
number of workers, or a kill and ``--resume`` on the way.
"""

from __future__ import annotations

import sys

import click

from ecosim.cli.options import positive_int


@click.command("calibrate")
@click.argument("experiment", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Calibration directory.")
@click.option("--simulations", type=positive_int, default=None,
              help="Simulation budget (overrides the file): no generation starts once it is reached.")
@click.option("--populations", type=positive_int, default=None, help="Most generations (overrides the file).")
@click.option("--executor", type=click.Choice(["serial", "process", "dask"]), default="process", show_default=True)
@click.option("--workers", type=positive_int, default=None, help="Worker processes (default: all cores).")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="An existing Dask scheduler (with --executor dask).")
@click.option("--resume", is_flag=True, help="Continue the calibration in --out after its last finished generation.")
@click.option("--force", is_flag=True, help="Delete what --out holds and start over.")
@click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None,
              help="Root seed of proposals and simulations (overrides the file).")
def command(experiment, out, simulations, populations, executor, workers, scheduler, resume, force, seed):
    """Estimate the posterior of EXPERIMENT's parameters against the facts (ABC-SMC with pyabc).

    Examples:

        ecosim calibrate experiments/calibration.yaml --out results/calibration --executor process --workers 2

        ecosim calibrate experiments/calibration.yaml --out results/calibration --resume
    """
    from ecosim.calibration import load_calibration, run_calibration
    from ecosim.cli.paths import check_output_directory
    from ecosim.errors import InputError

    if resume and force:
        raise InputError("--resume continues a calibration and --force starts over; give one", key="--force")
    if scheduler and executor != "dask":
        raise InputError("--scheduler needs --executor dask", key="--scheduler")
    check_output_directory(out, "--out")
    calibration = load_calibration(experiment, simulations=simulations, populations=populations, seed=seed)
    click.echo(f"{calibration.name}: {len(calibration.parameters)} parameters, {len(calibration.targets)} targets, "
               f"population {calibration.population_size}, at most {calibration.populations} generations and "
               f"{calibration.simulations:,} simulations → {out}", err=True)

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, transient=True, disable=not console.is_terminal)
    task = bar.add_task("starting", total=calibration.population_size)

    def progress(state: dict) -> None:
        eps = state["epsilon"]
        eps_text = "all measurable" if eps > 1e300 else f"{eps:.3g}"
        bar.update(task, completed=state["accepted"], total=state["population_size"],
                   description=f"generation {state['generation']} (ε {eps_text}): accepted, "
                               f"{state['evaluated']} simulated")

    def generation_done(record: dict) -> None:
        needed = record["needed"]
        message = (f"generation {record['generation']}: {calibration.population_size} accepted of {needed} "
                   f"simulations ({calibration.population_size / needed:.1%}) in {record['seconds']:.0f} s")
        if record["evaluated"] > needed:
            message += f" ({record['evaluated'] - needed} run past the last one needed)"
        console.print(message) if console.is_terminal else click.echo(message, err=True)

    with bar:
        outcome = run_calibration(calibration, out, executor=executor, workers=workers, scheduler=scheduler,
                                  resume=resume, force=force, progress=progress, on_generation=generation_done)
    resumed = f", resumed at generation {outcome.resumed_from}" if outcome.resumed_from else ""
    click.echo(f"{outcome.generations} generations, {outcome.simulations:,} simulations{resumed}; stopped: "
               f"{outcome.stopped_because}. {outcome.seconds:.0f} s.")
    click.echo(f"Posterior: {outcome.directory / 'posterior.parquet'}")
