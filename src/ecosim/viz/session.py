"""One page's state, apart from Solara: the controls' choices, the model, the ghost run, changes, errors.

The page's buttons call :class:`VizSession`'s methods; none of them raises. A mistake —
a rule that breaks its contract or raises, a rules file with a syntax error, an invalid
value — becomes :attr:`VizSession.error`, an :class:`ErrorReport` that the page shows in its
error panel while the controls and the charts stay; fixing the file and pressing Reset
recovers with the same choices. So the same behaviour is tested here without a browser and
in the browser tests.

- :meth:`VizSession.reset` re-reads the rules file (a rule added, removed or renamed in it
  shows in the drop-downs) and builds a new model from the choices; the run it replaces stays
  as the *ghost* drawn faintly in the charts.
- :meth:`VizSession.step` runs one quarter; :attr:`VizSession.finished` says the run ended.
- :meth:`VizSession.apply_now` changes the policy levers and rules of the running model
  (the levers a quarter reads afresh, :data:`LIVE_LEVERS`) and records the moment, which the
  charts mark.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ecosim.errors import InputError
from ecosim.rules import available_rules, load_rules_file, rule_doc
from ecosim.rules.contract import RuleError, display_path, set_time_limit, user_frame
from ecosim.scenario import RULE_KINDS, Scenario
from ecosim.viz.interactive_model import LEVERS, InteractiveModel, rule_keyword, scenario_for
from ecosim.viz.serve import RULE_TIME_LIMIT_SECONDS

LIVE_LEVERS = ("poc_budget_share", "poc_grant_size", "transfer_weight", "publication_weight",
               "inventor_share", "joint_rnd_subsidy", "fair_interval", "openness")
"""Levers that :meth:`VizSession.apply_now` can change in a running model (a quarter reads them afresh).

The world's size, the quarters, the investors and the managers' number are built once, at Reset.
Managers' starting skill changes only the skill of managers hired later (none in a run), so it
is left out too.
"""


@dataclass(frozen=True)
class ErrorReport:
    """What the error panel shows.

    Attributes
    ----------
    title : one line, e.g. "Your adoption rule 'fit_seekers' broke its contract"
    location : ``file:line`` to look at ('' when unknown)
    message : what went wrong
    hint : what to do next
    when : "on Step", "on Reset", "while playing", "on Apply"
    """

    title: str
    location: str
    message: str
    hint: str
    when: str

    @classmethod
    def from_exception(cls, exc: BaseException, when: str) -> ErrorReport:
        """The report for an exception raised by a button's action."""
        if isinstance(exc, RuleError):
            return cls(f"The {exc.kind} rule '{exc.name}' failed", exc.location, exc.problem,
                       (exc.hint + "; " if exc.hint else "") + "fix the rule, save the file and press Reset", when)
        if isinstance(exc, InputError):
            text = str(exc)
            location = ""
            source = getattr(exc, "source", None)
            if source and text.startswith(f"{source}: "):
                text = text[len(source) + 2:]
                location = display_path(source)
            if "syntax error at line" in text and source:
                line = text.split("syntax error at line ", 1)[1].split(":", 1)[0]
                location = f"{display_path(source)}:{line}"
            return cls("This input cannot be used", location, text,
                       "fix the file or the value, then press Reset (your choices are kept)", when)
        path, line = user_frame(exc, None)
        location = f"{display_path(path)}:{line}" if path and line else ""
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return cls("Something went wrong in ecosim", location, detail,
                   "press Reset to start again; if it happens again, this is a bug in ecosim — please report it", when)


@dataclass(frozen=True)
class LeverChange:
    """A change applied to a running model: the step after which it took effect and what changed."""

    step: int
    text: str


def initial_choices(base: Scenario) -> dict[str, Any]:
    """The controls' starting values: every lever, every rule and the seed, from ``base``."""
    choices: dict[str, Any] = {lever.keyword: lever.value_in(base) for lever in LEVERS}
    for kind in RULE_KINDS:
        choices[rule_keyword(kind)] = getattr(base.rules, kind)
    choices["seed"] = "" if base.seed is None else str(base.seed)
    return choices


def rule_options(kind: str) -> list[dict[str, str]]:
    """The drop-down items of a rule kind: value = rule name, title = name and its docstring's first line."""
    items = []
    for name in available_rules(kind):
        doc = rule_doc(kind, name)
        text = f"{name} — {doc}" if doc else name
        items.append({"value": name, "title": text, "text": text})  # Vuetify 3 reads title, Vuetify 2 text
    return items


class VizSession:
    """The state behind one page.

    Parameters
    ----------
    base : the starting scenario
    rules_file : a user's rules file, re-read on every Reset
    code_editing : whether the page offers the Code tab (only on a loopback address, or when allowed)
    rule_time_limit : seconds one call of a user's rule may run before it becomes an error panel
        (``ecosim viz --rule-time-limit``; 0 or ``None``: no limit)

    Attributes
    ----------
    choices : the controls' values (lever keywords, ``<kind>_rule``, ``seed``)
    model : the :class:`~ecosim.viz.interactive_model.InteractiveModel` being shown
    ghost : the previous run's per-step table (``None`` before the first Reset)
    changes : the changes applied to the running model, in order
    error : the error to show (``None`` when all is well)
    extra_rules_files : further rules files re-read on Reset (the Code tab's)
    rule_time_limit : the limit in force, in seconds (``None``: no limit); the Info tab states it
    """

    def __init__(self, base: Scenario, rules_file: str | None = None, code_editing: bool = False,
                 rule_time_limit: float | None = RULE_TIME_LIMIT_SECONDS):
        self.base = base
        self.rule_time_limit = float(rule_time_limit) if rule_time_limit else None
        self.rules_file = str(Path(rules_file).resolve()) if rules_file else None
        self.code_editing = code_editing
        self.extra_rules_files: list[str] = []
        self.choices = initial_choices(base)
        self.ghost: pd.DataFrame | None = None
        self.changes: list[LeverChange] = []
        self.error: ErrorReport | None = None
        set_time_limit(self.rule_time_limit)  # the limit is per process: every page of a server shares it
        self.model = InteractiveModel(base_scenario=base, rules_file=self.rules_file, **self._model_choices())

    def _model_choices(self) -> dict[str, Any]:
        return dict(self.choices)

    @property
    def finished(self) -> bool:
        """True when the run has reached its number of quarters."""
        return not self.model.running

    def reload_rules(self) -> None:
        """Read the rules files again (the scenario's own, ``--rules``, the Code tab's); errors are raised."""
        for path in (self.base.rules_file, self.rules_file, *self.extra_rules_files):
            if path:
                load_rules_file(path)

    def reset(self) -> bool:
        """Re-read the rules file and build a new model from the choices; the old run becomes the ghost.

        Returns whether it worked; on failure :attr:`error` says why and the old model stays.
        """
        try:
            set_time_limit(self.rule_time_limit)  # another page of this process may have set its own
            self.reload_rules()
            model = InteractiveModel(base_scenario=self.base, rules_file=None, **self._model_choices())
        except Exception as exc:  # noqa: BLE001 — shown in the page's error panel
            self.error = ErrorReport.from_exception(exc, "on Reset")
            return False
        with self.model.lock:
            old = self.model.ecosystem
            if old.steps:
                self.ghost = old.step_table()
        self.model = model
        self.changes = []
        self.error = None
        return True

    def step(self, when: str = "on Step") -> bool:
        """One quarter; returns whether it ran (not after the end, nor after an error)."""
        if self.finished or self.error is not None:  # after an error, only a Reset goes on
            return False
        try:
            self.model.step()
        except Exception as exc:  # noqa: BLE001 — shown in the page's error panel
            self.error = ErrorReport.from_exception(exc, when)
            return False
        return True

    def live_overrides(self) -> Scenario:
        """The running model's scenario with the choices of :data:`LIVE_LEVERS` and the rules applied."""
        current = self.model.ecosystem.scenario
        live = {k: v for k, v in self.choices.items() if k in LIVE_LEVERS or k.endswith("_rule")}
        return scenario_for(current, live)

    def pending_changes(self) -> list[str]:
        """The live levers and rules whose choice differs from the running model (what Apply would change)."""
        current = self.model.ecosystem.scenario
        texts = []
        for lever in LEVERS:
            if lever.keyword in LIVE_LEVERS:
                old, new = lever.value_in(current), self.choices.get(lever.keyword)
                if new is not None and abs(float(new) - float(old)) > 1e-12:
                    texts.append(f"{lever.short} {_fmt(old)} → {_fmt(new)}")
        for kind in RULE_KINDS:
            old, new = getattr(current.rules, kind), self.choices.get(rule_keyword(kind))
            if new and new != old:
                texts.append(f"{kind} rule {old} → {new}")
        return texts

    def apply_now(self) -> bool:
        """Change the running model's live levers and rules to the choices; the charts mark the moment."""
        texts = self.pending_changes()
        if not texts:
            return False
        try:
            self.reload_rules()
            scenario = self.live_overrides()
            from ecosim.rules import get_rule

            for kind in RULE_KINDS:
                get_rule(kind, getattr(scenario.rules, kind))
        except Exception as exc:  # noqa: BLE001
            self.error = ErrorReport.from_exception(exc, "on Apply")
            return False
        with self.model.lock:
            self.model.ecosystem.scenario = scenario
            self.changes.append(LeverChange(self.model.ecosystem.steps, "; ".join(texts)))
        self.error = None
        return True

    def dismiss_error(self) -> None:
        """Hide the error panel (the model stays as it was)."""
        self.error = None


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
