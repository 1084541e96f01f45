"""``ecosim check FILE...``: validate scenario and experiment files without running anything."""

from __future__ import annotations

import click

from ecosim.cli.options import check_scenario_rules
from ecosim.scenario import load_scenario, load_yaml

EXPERIMENT_KEYS = {"scenarios", "design", "replications"}


def is_experiment(data: dict) -> bool:
    """An experiment file names scenarios, a design or replications at its top level."""
    return bool(EXPERIMENT_KEYS & set(data))


@click.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def command(files):
    """Validate scenario or experiment FILES; exit 2 at the first invalid one."""
    for path in files:
        data = load_yaml(path)
        if is_experiment(data):
            from ecosim.experiment import load_experiment

            load_experiment(path)
            click.echo(f"{path}: valid experiment")
            continue
        scenario = load_scenario(path)
        check_scenario_rules(scenario, path)
        click.echo(f"{path}: valid scenario '{scenario.name}' ({scenario.n_agents:,} agents, {scenario.steps} quarters)")
