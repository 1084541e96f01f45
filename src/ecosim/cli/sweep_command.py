"""``ecosim sweep EXPERIMENT``: many seeded runs, on this machine or a Dask cluster, none lost.

Exit status: 0 when every run succeeded; 2 on bad input (nothing written); 3 when the sweep
finished but some runs failed (recorded in OUT/failed/); 130 when interrupted (Ctrl-C or
SIGTERM; finished runs are kept, ``--resume`` completes the sweep).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ecosim.cli.options import max_runs_option, memory_limit_option, positive_int

EXIT_SOME_FAILED = 3
EXIT_INTERRUPTED = 130


@click.command("sweep")
@click.argument("experiment", type=click.Path(dir_okay=False))
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Results directory (default: results/<experiment name>).")
@click.option("--executor", type=click.Choice(["serial", "process", "dask"]), default="process", show_default=True,
              help="Where runs execute: this process, local worker processes, or Dask distributed.")
@click.option("--workers", type=positive_int, default=None,
              help="Worker processes (default: all cores); for Dask, the LocalCluster's workers.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="An existing Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask).")
@click.option("--resume", is_flag=True, help="Complete the sweep already in --out: run only what is missing.")
@click.option("--replications", type=positive_int, default=None,
              help="Override the file's replications for a quick trial (recorded in the results).")
@click.option("--steps", type=click.IntRange(1, 2000), default=None,
              help="Override every scenario's quarters for a quick trial (recorded in the results).")
@click.option("--allow-code-change", is_flag=True,
              help="With --resume: complete a sweep started by a different ecosim version or model code.")
@click.option("--until-precision", "until_precision", type=click.FloatRange(0.0, 1.0, min_open=True), default=None,
              metavar="REL",
              help="Add common-random-number replications in batches until every primary outcome's 95% interval "
                   "half-width is at most REL of its mean (or the ranking of the scenarios is resolved, or "
                   "--max-replications is reached). Scenario lists only.")
@click.option("--max-replications", "max_replications", type=positive_int, default=None,
              help="The cap of --until-precision (required with it).")
@click.option("--batch", type=positive_int, default=5, show_default=True,
              help="Replications added per batch with --until-precision.")
@memory_limit_option
@max_runs_option
def command(experiment, out, executor, workers, scheduler, resume, replications, steps, allow_code_change,
            until_precision, max_replications, batch, memory_limit, max_runs):
    """Run every scenario × design point × replication of EXPERIMENT and store each run at once.

    Every finished run is written immediately and atomically (Parquet); a run that raises is
    recorded as failed and the sweep goes on. Interrupt at any time and run the same command
    with --resume to finish. Example:

        ecosim sweep experiments/policy_levers.yaml --out results/levers --workers 8
    """
    from ecosim.errors import InputError
    from ecosim.experiment import load_experiment
    from ecosim.resources import check_experiment_memory, check_runs, check_workers

    if scheduler and executor != "dask":
        raise InputError("--scheduler needs --executor dask", key="--scheduler")
    if allow_code_change and not resume:
        raise InputError("--allow-code-change goes with --resume", key="--allow-code-change")
    if scheduler:
        from ecosim.executors import check_scheduler_address

        check_scheduler_address(scheduler)
    if out:
        from ecosim.cli.paths import check_output_directory

        check_output_directory(out, "--out")
    spec = load_experiment(experiment, max_runs=max_runs)
    if replications is not None or steps is not None:
        spec = spec.with_trial(replications=replications, steps=steps)
        check_runs(spec.n_runs, max_runs, key="--replications",
                   how=f" ({len(spec.scenarios):,} scenarios × {len(spec.points):,} design points × "
                       f"{spec.replications:,} replications)")
    largest = check_experiment_memory(spec.scenarios, spec.points, memory_limit, source=experiment)
    if not scheduler:
        check_workers(workers, largest.bytes, executor, memory_limit)
    if executor == "process":
        from ecosim.worker_pool import start_fork_server

        # Only now that the input is known to be good: the workers' server imports the model
        # (2-3 s) while this process imports the store and builds the run list.
        start_fork_server()
    from ecosim.executors import run_sweep

    target = Path(out) if out else Path("results") / spec.name
    console = Console(file=sys.stderr)
    bar = _SweepProgress(console, spec.name)

    def started(handle, to_run, total):
        skipped = total - to_run
        resumed = f", {skipped} already done" if skipped else ""
        trial = f" (quick trial: {', '.join(f'--{k} {v}' for k, v in spec.trial.items())})" if spec.trial else ""
        console.print(f"{spec.name}: {total} runs{resumed}{trial} on {handle.description} → {target}")
        bar.start(to_run)

    if until_precision is not None or max_replications is not None:
        if until_precision is None or max_replications is None:
            raise InputError("--until-precision and --max-replications go together", key="--until-precision")
        if replications is not None:
            raise InputError("--replications fixes the replications; --until-precision chooses them (drop one)",
                             key="--replications")
        if spec.design_kind not in ("scenarios", "list"):
            raise InputError(f"--until-precision compares scenarios; this is a {spec.design_kind} design",
                             source=experiment, key="--until-precision")
        _adaptive(spec, experiment, target, console, bar, started, until_precision, max_replications, batch,
                  executor=executor, workers=workers, scheduler=scheduler, resume=resume,
                  allow_code_change=allow_code_change)
        return
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        outcome = run_sweep(spec, target, executor=executor, workers=workers, scheduler=scheduler, resume=resume,
                            progress=bar.update, on_start=started, allow_code_change=allow_code_change)
    finally:
        bar.stop()
        signal.signal(signal.SIGTERM, previous)
    rate = outcome.done / outcome.seconds if outcome.seconds > 0 else 0.0
    summary = (f"{outcome.done} runs done, {outcome.failed} failed"
               + (f", {outcome.skipped} done before" if outcome.skipped else "")
               + (f", {outcome.repaired} stored files damaged, removed and their runs done again" if outcome.repaired else "")
               + f", {outcome.total} planned; {outcome.seconds:.1f} s ({rate:.2f} runs/s). Results in {target}")
    if outcome.interrupted or outcome.pool_broken:
        why = "interrupted" if outcome.interrupted else "a worker process died and broke the pool"
        console.print(f"{why}: {summary}.\nEvery finished run is kept; complete the sweep with:\n"
                      f"  ecosim sweep {experiment} --out {target} --resume"
                      + "".join(f" --{k} {v}" for k, v in spec.trial.items()))
        if outcome.interrupted:
            raise KeyboardInterrupt  # the CLI prints "interrupted" and exits 130
        sys.exit(1)
    console.print(summary)
    if outcome.failed:
        console.print(f"{outcome.failed} runs failed; their errors and tracebacks are in {target / 'failed'}; "
                      "--resume runs them again")
        sys.exit(EXIT_SOME_FAILED)  # SystemExit passes through the CLI's handlers unchanged


def _adaptive(spec, experiment, target, console, bar, started, relative, cap, batch, **options):
    """Run ``spec`` in batches until its primary outcomes are precise (see :mod:`ecosim.adaptive`)."""
    from ecosim.adaptive import adaptive_sweep

    def report(replications, status):
        bar.stop()
        worst = status["worst"] or {}
        console.print(
            f"after {replications} replications: widest primary interval ±{worst.get('relative_half_width', 0):.1%} "
            f"of the mean ({worst.get('condition')}, {worst.get('metric')}); target ±{relative:.1%}"
            + ("; ranking resolved" if status["ranking_resolved"] else
               f"; {sum(t['kind'] == 'overlapping' for t in status['ties'])} adjacent pair(s) not yet told apart"),
            highlight=False)

    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        outcome = adaptive_sweep(spec, target, relative, cap, batch, resume=options.pop("resume"), on_batch=report,
                                 progress=bar.update, on_start=started, **options)
    finally:
        bar.stop()
        signal.signal(signal.SIGTERM, previous)
    why = {"precision": f"every primary outcome's interval is within ±{relative:.1%} of its mean",
           "ranking": "the ranking of the scenarios on every primary outcome is resolved",
           "cap": f"the cap of {cap} replications was reached",
           "interrupted": "interrupted"}[outcome.reason]
    console.print(f"{spec.name}: stopped at {outcome.replications} replications per scenario: {why}. "
                  f"Results in {target}", highlight=False)
    if outcome.ties and outcome.reason != "interrupted":
        console.print(format_ties(outcome.ties), highlight=False)
    if outcome.interrupted:
        console.print(f"Complete it with: ecosim sweep {experiment} --out {target} --resume --until-precision "
                      f"{relative} --max-replications {cap} --batch {batch}"
                      + "".join(f" --{k} {v}" for k, v in spec.trial.items()))
        raise KeyboardInterrupt
    if outcome.failed:
        sys.exit(EXIT_SOME_FAILED)


def format_ties(ties):
    """One line per pair of scenarios the ranking could not tell apart (``precision_status``'s ties)."""
    lines = ["Ranking ties (adjacent scenarios the runs cannot tell apart):"]
    for tie in ties:
        how = ("identical in every replication" if tie["kind"] == "identical" else
               f"change interval [{tie['difference_low']:.4g}, {tie['difference_high']:.4g}] includes no change")
        lines.append(f"  {tie['metric']}: {tie['higher']} vs {tie['lower']} ({how})")
    return "\n".join(lines)


def _terminate_as_interrupt(signum, frame):
    """SIGTERM (e.g. a batch system's time limit) stops the sweep like Ctrl-C."""
    raise KeyboardInterrupt


class _SweepProgress:
    """A live bar on standard error: runs done, failed, rate and time left (silent off a terminal)."""

    def __init__(self, console: Console, name: str):
        self.console = console
        self.name = name
        self.progress: Progress | None = None
        self.task = None
        self.started = time.perf_counter()
        self.skipped = 0

    def start(self, to_run: int) -> None:
        self.started = time.perf_counter()
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"), TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("left"),
            console=self.console, transient=False, disable=not self.console.is_terminal,
        )
        self.progress.start()
        self.task = self.progress.add_task(self.name, total=to_run, failed=0, rate="")

    def update(self, done: int, failed: int, skipped: int, total: int) -> None:
        if self.progress is None or self.task is None:
            return
        elapsed = time.perf_counter() - self.started
        finished = done + failed
        rate = f"{finished / elapsed:.2f} runs/s" if elapsed > 0 and finished else ""
        self.progress.update(self.task, completed=finished, failed=failed, rate=rate)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
