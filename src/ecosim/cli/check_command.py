"""``ecosim check FILE...``: validate scenario, experiment and calibration files without running anything."""

from __future__ import annotations

import click

from ecosim.cli.options import check_scenario_rules, max_runs_option, memory_limit_option
from ecosim.scenario import load_scenario, load_yaml, validate_scenario

EXPERIMENT_KEYS = {"scenarios", "design", "replications"}


def is_experiment(data: dict) -> bool:
    """An experiment file names scenarios, a design or replications at its top level."""
    return bool(EXPERIMENT_KEYS & set(data))


@click.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@memory_limit_option
@max_runs_option
def command(files, memory_limit, max_runs):
    """Validate scenario, experiment or calibration FILES; exit 2 at the first invalid one.

    Besides the schema, each file is checked against the resource bounds a run or sweep would
    meet: the estimated memory of a run (--memory-limit) and the number of runs (--max-runs).
    """
    from ecosim.resources import check_experiment_memory, check_memory, format_bytes

    for path in files:
        data = load_yaml(path)
        if "targets" in data and "parameters" in data:  # a calibration file (ecosim.calibration.is_calibration),
            # told apart here without importing the calibration's numpy, pandas and pyabc for every other file
            from ecosim.calibration import load_calibration

            calibration = load_calibration(path)
            sizes = check_memory(validate_scenario(calibration.scenario), memory_limit, source=path)
            click.echo(f"{path}: valid calibration '{calibration.name}' ({len(calibration.parameters)} parameters, "
                       f"{len(calibration.targets)} targets, up to {calibration.simulations:,} simulations of about "
                       f"{format_bytes(sizes.bytes)} each)")
            continue
        if is_experiment(data):
            from ecosim.experiment import load_experiment

            # a sampled design is checked at the corners of its ranges, not sampled (fast)
            spec = load_experiment(path, max_runs=max_runs, sample=False)
            largest = check_experiment_memory(spec.scenarios, spec.points, memory_limit, source=path)
            click.echo(f"{path}: valid experiment '{spec.name}' ({spec.planned_runs:,} runs, "
                       f"the largest about {format_bytes(largest.bytes)})")
            continue
        scenario = load_scenario(path)
        check_scenario_rules(scenario, path)
        sizes = check_memory(scenario, memory_limit, source=path)
        click.echo(f"{path}: valid scenario '{scenario.name}' ({scenario.n_agents:,} agents, {scenario.steps} quarters, "
                   f"about {format_bytes(sizes.bytes)} a run)")
