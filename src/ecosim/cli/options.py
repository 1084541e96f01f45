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

    overrides = dict(parse_override(text) for text in sets)
    if steps is not None:
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
    from ecosim.rules import check_scenario_rules as check

    check(scenario, source)


positive_int = click.IntRange(min=1)


def seed_option(f):
    return click.option("--seed", type=click.IntRange(min=0, max=2**63 - 1), default=None,
                        help="Root seed (default: the scenario's, else drawn and recorded).")(f)


def rules_option(f):
    return click.option("--rules", "rules_file", type=click.Path(dir_okay=False), default=None,
                        help="Python file that registers extra rules (see docs/RULES.md).")(f)


RULE_TIME_LIMIT_SECONDS = 30.0
"""Default limit on one call of a user's rule (``--rule-time-limit``)."""


def rule_time_limit_option(f):
    return click.option("--rule-time-limit", type=click.FloatRange(min=0), default=RULE_TIME_LIMIT_SECONDS,
                        show_default=True, metavar="SECONDS",
                        help="Stop with an error when one call of a rule of your own runs longer (0: no limit).")(f)


def raise_input(message: str, source: str | None = None, key: str | None = None) -> None:
    raise InputError(message, source=source, key=key)
