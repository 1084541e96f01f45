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
from ecosim.rules.contract import RuleError, checked, is_builtin, rule_source, user_frame
from ecosim.scenario import RULE_KINDS

__all__ = [
    "RuleError",
    "available_rules",
    "check_scenario_rules",
    "default_rule",
    "get_rule",
    "load_rules_file",
    "register",
    "rule_doc",
    "rule_origin",
    "rules_from_file",
    "rules_in_effect",
]

_REGISTRY: dict[str, dict[str, Callable]] = {kind: {} for kind in RULE_KINDS}
_DEFAULTS = {
    "orientation": "payoff_imitation",
    "project_choice": "highest_value",
    "adoption": "value_hurdle",
    "poc_allocation": "by_appraised_value",
    "partner_search": "network",
    "budget_allocation": "fixed_shares",
}
_CHECKED: dict[tuple[str, str], tuple[Callable, Callable]] = {}  # (kind, name) -> (function, checked wrapper)
_FROM_FILE: dict[str, dict[tuple[str, str], Callable | None]] = {}  # file -> {(kind, name): what it replaced}


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
    """The rule ``name`` of ``kind``, checked at every call; :class:`InputError` listing the known names.

    The function returned calls the registered one and checks its result against the kind's
    contract (:mod:`ecosim.rules.contract`); a violation, or an exception raised inside a
    user's rule, is a :class:`~ecosim.rules.contract.RuleError` naming the rule, its file and
    line. ``get_rule(kind, name).__wrapped__`` is the registered function itself.
    """
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
    function = rules[name]
    cached = _CHECKED.get((kind, name))
    if cached is None or cached[0] is not function:
        cached = (function, checked(kind, name, function))
        _CHECKED[(kind, name)] = cached
    return cached[1]


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


def rule_origin(kind: str, name: str) -> str:
    """Where a rule comes from: ``built-in`` or its ``file:line``."""
    function = get_rule(kind, name).__wrapped__
    if is_builtin(function):
        return "built-in"
    path, line = rule_source(function)
    return f"{path}:{line}" if path else "unknown"


def rules_in_effect(choices) -> dict[str, dict[str, str]]:
    """For each kind, the rule a scenario's ``rules`` section chooses and where it comes from.

    ``choices`` is a scenario's ``rules`` (or any object with one attribute per kind). The
    result goes into a run's provenance and summary, so a run names the rules that ran.
    """
    return {kind: {"name": getattr(choices, kind), "source": rule_origin(kind, getattr(choices, kind))}
            for kind in RULE_KINDS}


def _forget(path: str) -> None:
    """Undo what the rules file ``path`` registered the last time it was loaded."""
    for (kind, name), replaced in reversed(list(_FROM_FILE.pop(path, {}).items())):
        if replaced is None:
            _REGISTRY[kind].pop(name, None)
        else:
            _REGISTRY[kind][name] = replaced


def rules_from_file(path: str | Path) -> list[tuple[str, str]]:
    """The (kind, name) pairs the rules file ``path`` registered when it was last loaded."""
    return sorted(_FROM_FILE.get(str(Path(path).resolve()), {}))


def load_rules_file(path: str | Path) -> list[tuple[str, str]]:
    """Execute a user's rules file so that its ``@register`` calls take effect.

    Loading a file again first forgets what it registered the time before, so a rule deleted
    or renamed in the file disappears from the registry (and a built-in rule it had replaced
    comes back). Returns the (kind, name) pairs it added. A missing file, a syntax error, an
    error raised while importing it or a call of ``sys.exit()`` is bad input
    (:class:`InputError`) naming the file and line; the registry is then left as it was.
    """
    path = Path(path)
    if path.suffix != ".py":
        raise InputError("a rules file must be a Python file ending in .py", source=str(path))
    if not path.is_file():
        raise InputError("rules file not found", source=str(path))
    resolved = str(path.resolve())
    saved = {kind: dict(names) for kind, names in _REGISTRY.items()}
    saved_from_file = dict(_FROM_FILE)
    _forget(resolved)
    before = {kind: dict(names) for kind, names in _REGISTRY.items()}
    digest = hashlib.sha1(resolved.encode()).hexdigest()[:10]
    module_name = f"ecosim_user_rules_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InputError("cannot load as a Python module", source=str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # the user's code failed while registering
        sys.modules.pop(module_name, None)
        for kind, names in saved.items():
            _REGISTRY[kind].clear()
            _REGISTRY[kind].update(names)
        _FROM_FILE.clear()
        _FROM_FILE.update(saved_from_file)
        if isinstance(exc, SyntaxError):
            raise InputError(f"syntax error at line {exc.lineno}: {exc.msg}", source=str(path)) from None
        _, line = user_frame(exc, str(path.resolve()))
        where = f"{path}:{line}" if line else str(path)
        if isinstance(exc, SystemExit):
            raise InputError("the rules file called sys.exit() while loading; a rules file only defines and "
                             "registers rules", source=where) from None
        raise InputError(f"error while loading rules: {type(exc).__name__}: {exc}", source=where) from None
    changes = {
        (kind, name): before[kind].get(name)
        for kind, names in _REGISTRY.items()
        for name, function in names.items()
        if before[kind].get(name) is not function
    }
    _FROM_FILE[resolved] = changes
    return sorted(key for key, replaced in changes.items() if replaced is None)


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
