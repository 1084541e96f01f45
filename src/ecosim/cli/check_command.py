"""``ecosim check FILE...``: validate scenario and experiment files without running anything."""

from __future__ import annotations

import click

from ecosim.errors import InputError
from ecosim.scenario import load_scenario, load_yaml

EXPERIMENT_KEYS = {"scenarios", "design", "replications"}


def is_experiment(data: dict) -> bool:
    """An experiment file names scenarios, a design or replications at its top level."""
    return bool(EXPERIMENT_KEYS & set(data))


@click.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def command(files):
    """Validate scenario or experiment FILES; exit 2 at the first invalid one."""
    from ecosim.rules import get_rule, load_rules_file
    from ecosim.scenario import RULE_KINDS

    for path in files:
        data = load_yaml(path)
        if is_experiment(data):
            from ecosim.experiment import load_experiment

            load_experiment(path)
            click.echo(f"{path}: valid experiment")
            continue
        scenario = load_scenario(path)
        if scenario.rules_file:
            load_rules_file(scenario.rules_file)
        for kind in RULE_KINDS:
            try:
                get_rule(kind, getattr(scenario.rules, kind))
            except InputError as exc:
                raise InputError(str(exc), source=path) from None
        click.echo(f"{path}: valid scenario '{scenario.name}' ({scenario.n_agents:,} agents, {scenario.steps} quarters)")
