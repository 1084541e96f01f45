"""Options shared by several commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ecosim.errors import InputError

if TYPE_CHECKING:  # the schema (pydantic) is imported by the commands that read scenarios, not by all
    from ecosim.scenario import Scenario


def load_with_overrides(path: str, sets: tuple[str, ...], steps: int | None = None) -> Scenario:
    """Load a scenario, apply ``--set KEY=VALUE`` overrides (validated like the file)."""
    from ecosim.scenario import load_scenario, parse_override

    overrides: dict = {}
    for text in sets:
        key, value = parse_override(text)
        if key in overrides:
            raise InputError(f"{key} is set twice ({key}={overrides[key]!r} and {text}); give it once",
                             key=f"--set {text}")
        overrides[key] = value
    if steps is not None:
        if "steps" in overrides:
            raise InputError(f"--steps {steps} and --set steps={overrides['steps']!r} disagree; give one of them",
                             key="--steps")
        overrides["steps"] = steps
    return load_scenario(path, overrides)


def check_rules_file(path: str | None) -> str | None:
    """Resolve ``--rules PATH.py`` and load it (bad files are InputErrors)."""
    if path is None:
        return None
    from ecosim.rules import load_rules_file

    load_rules_file(path)
    return str(Path(path).resolve())


def check_scenario_rules(scenario: Scenario, source: str) -> None:
    """Load the scenario's own rules file and check every rule name, naming ``source`` on error."""
    from ecosim.scenario import chooses_only_built_in_rules

    if chooses_only_built_in_rules(scenario):
        return  # valid without importing the registry (and numpy): keeps `ecosim check` fast
    from ecosim.rules import check_scenario_rules as check

    check(scenario, source)


positive_int = click.IntRange(min=1)


def seed_option(f):
    return click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None,
                        help="Root seed (default: the scenario's, else drawn and recorded).")(f)


def rules_option(f):
    return click.option("--rules", "rules_file", type=click.Path(dir_okay=False), default=None,
                        help="Python file that registers extra rules (see docs/RULES.md).")(f)


def _memory_limit(ctx, param, value):  # noqa: ANN001 - click's callback signature
    if value is None:
        return None
    from ecosim.resources import parse_memory

    return parse_memory(value, "--memory-limit")


def memory_limit_option(f):
    return click.option("--memory-limit", "memory_limit", default=None, metavar="SIZE", callback=_memory_limit,
                        help="Memory a run (or all workers together) may use, e.g. 8G "
                             "(default: 80% of this machine's). Scenarios estimated above it are refused.")(f)


def max_runs_option(f):
    return click.option("--max-runs", "max_runs", type=click.IntRange(min=1), default=None, metavar="N",
                        help="Most runs a sweep may make (default 200,000).")(f)


RULE_TIME_LIMIT_SECONDS = 30.0
"""Default limit on one call of a user's rule (``--rule-time-limit``)."""


def rule_time_limit_option(f=None, *, default: float = RULE_TIME_LIMIT_SECONDS):
    """``--rule-time-limit SECONDS``: the limit on one call of a user's rule (0: none).

    Used bare (``@rule_time_limit_option``) by ``ecosim run``; ``ecosim viz`` passes its own
    default (``@rule_time_limit_option(default=10)``): a student at a page should not wait 30 s.
    """
    option = click.option("--rule-time-limit", type=click.FloatRange(min=0), default=default,
                          show_default=True, metavar="SECONDS",
                          help="Stop with an error when one call of a rule of your own runs longer (0: no limit).")
    return option(f) if f is not None else option


def raise_input(message: str, source: str | None = None, key: str | None = None) -> None:
    raise InputError(message, source=source, key=key)


def comparison_options(command):
    """``--primary``, ``--alpha``, ``--correction`` and ``--seed``: how a comparison is made, the same
    for ``ecosim compare`` and ``ecosim report`` (so the report can print the console's numbers)."""
    for option in reversed((
        click.option("--primary", "primary", multiple=True, metavar="NAME",
                     help="Primary outcome (gets a verdict); repeatable (default: the experiment file's, else the "
                          "metric catalogue's headline outcomes)."),
        click.option("--alpha", type=click.FloatRange(0.0, 0.5, min_open=True), default=0.05, show_default=True,
                     help="Chance of any false verdict over the primary outcomes (family-wise)."),
        click.option("--correction", type=click.Choice(["bonferroni", "none"]), default="bonferroni",
                     show_default=True, help="Multiplicity correction of the primary outcomes' intervals (one family)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap intervals."),
    )):
        command = option(command)
    return command
