"""The rules registry: every decision an agent makes is a named, swappable function.

A scenario picks rules by name (``rules: {adoption: risk_averse}``); the visualiser shows them
in drop-downs; a user's own Python file can add more without editing ecosim::

    # my_rules.py
    from ecosim.rules import register

    @register("adoption", "everyone_adopts")
    def everyone_adopts(candidates):
        '''Every reachable enterprise is willing.'''
        return candidates.fit * 0 + 1.0

The six kinds and what each rule receives and returns are documented in the module of each
kind (:mod:`ecosim.rules.orientation`, :mod:`~ecosim.rules.project_choice`,
:mod:`~ecosim.rules.adoption`, :mod:`~ecosim.rules.poc_allocation`,
:mod:`~ecosim.rules.partner_search`, :mod:`~ecosim.rules.budget_allocation`).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

from ecosim.errors import InputError
from ecosim.scenario import RULE_KINDS

_REGISTRY: dict[str, dict[str, Callable]] = {kind: {} for kind in RULE_KINDS}
_DEFAULTS = {
    "orientation": "payoff_imitation",
    "project_choice": "highest_value",
    "adoption": "value_hurdle",
    "poc_allocation": "by_appraised_value",
    "partner_search": "network",
    "budget_allocation": "fixed_shares",
}


def register(kind: str, name: str) -> Callable[[Callable], Callable]:
    """Decorator: register ``function`` as rule ``name`` of ``kind``.

    Registering a name again replaces the earlier rule (so a notebook cell can be re-run).
    """
    if kind not in _REGISTRY:
        raise ValueError(f"unknown rule kind {kind!r}; the kinds are {', '.join(RULE_KINDS)}")

    def decorator(function: Callable) -> Callable:
        _REGISTRY[kind][name] = function
        return function

    return decorator


def get_rule(kind: str, name: str) -> Callable:
    """The rule ``name`` of ``kind``, or :class:`InputError` listing the known names."""
    rules = _REGISTRY.get(kind)
    if rules is None:
        raise InputError(f"unknown rule kind {kind!r}; the kinds are {', '.join(RULE_KINDS)}", key="rules")
    if name not in rules:
        close = difflib.get_close_matches(name, list(rules), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise InputError(
            f"unknown {kind} rule {name!r}{hint}; known {kind} rules: {', '.join(sorted(rules))}",
            key=f"rules.{kind}",
        )
    return rules[name]


def available_rules(kind: str | None = None) -> dict[str, list[str]] | list[str]:
    """Names of the registered rules: for one kind (a list) or for all kinds (a dict)."""
    if kind is not None:
        return sorted(_REGISTRY[kind])
    return {k: sorted(v) for k, v in _REGISTRY.items()}


def default_rule(kind: str) -> str:
    """The name of the default rule of ``kind``."""
    return _DEFAULTS[kind]


def rule_doc(kind: str, name: str) -> str:
    """First line of a rule's docstring (for menus and help)."""
    doc = (get_rule(kind, name).__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def load_rules_file(path: str | Path) -> list[tuple[str, str]]:
    """Execute a user's rules file so that its ``@register`` calls take effect.

    Returns the (kind, name) pairs it added. A missing file, a syntax error or an error raised
    while importing it is bad input (:class:`InputError`), reported with the file name.
    """
    path = Path(path)
    if path.suffix != ".py":
        raise InputError("a rules file must be a Python file ending in .py", source=str(path))
    if not path.is_file():
        raise InputError("rules file not found", source=str(path))
    before = {kind: set(names) for kind, names in _REGISTRY.items()}
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    module_name = f"ecosim_user_rules_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InputError("cannot load as a Python module", source=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise InputError(f"syntax error at line {exc.lineno}: {exc.msg}", source=str(path)) from None
    except Exception as exc:  # the user's code failed while registering
        sys.modules.pop(module_name, None)
        raise InputError(f"error while loading rules: {type(exc).__name__}: {exc}", source=str(path)) from None
    return [
        (kind, name)
        for kind, names in _REGISTRY.items()
        for name in sorted(names)
        if name not in before[kind]
    ]


def check_scenario_rules(scenario, source: str | None = None, key: str | None = None) -> None:
    """Load a scenario's own rules file and check every rule name it picks.

    Errors are :class:`InputError` exceptions naming ``source`` (the scenario or experiment file) and,
    if given, ``key`` (where in that file the scenario comes from).
    """
    if scenario.rules_file:
        load_rules_file(scenario.rules_file)
    for kind in RULE_KINDS:
        try:
            get_rule(kind, getattr(scenario.rules, kind))
        except InputError as exc:
            raise InputError(str(exc), source=source, key=key) from None


# The built-in rules register themselves on import.
from ecosim.rules import (  # noqa: E402,F401
    adoption,
    budget_allocation,
    orientation,
    partner_search,
    poc_allocation,
    project_choice,
)
