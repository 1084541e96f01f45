"""The model that the visualiser's controls drive: flat keyword parameters around an EcosystemModel.

The page's Reset (:meth:`ecosim.viz.session.VizSession.reset`) rebuilds a model by calling
this class with one keyword per control, so the controls need a constructor with flat
keywords (``managers_per_region=…``, ``adoption_rule=…``) rather than a nested
:class:`~ecosim.scenario.Scenario`.
:class:`InteractiveModel` turns those keywords into scenario overrides on a base scenario
(the file given to ``ecosim viz``) and holds the resulting :class:`~ecosim.model.EcosystemModel`
as ``model.ecosystem``.

Why a holder and not a subclass: the page's keywords, the lock that Play and the panels share
and the seed notice belong to the page, not to the model a run is made of; the holder
delegates the quarter to the ecosystem.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Any

import mesa

from ecosim.errors import InputError
from ecosim.model import EcosystemModel
from ecosim.resources import check_memory
from ecosim.scenario import RULE_KINDS, Scenario, apply_overrides


@dataclass(frozen=True)
class Lever:
    """One slider: a keyword of :class:`InteractiveModel` bound to a dotted scenario key.

    ``short`` is the slider's label (short, so the track keeps its width in the sidebar);
    ``label`` the full description shown on hover. ``step`` is fine enough that every shipped
    scenario's value lies on the slider's grid (``tests/test_viz.py`` checks).
    """

    keyword: str
    key: str
    short: str
    label: str
    minimum: float
    maximum: float
    step: float
    integer: bool

    def value_in(self, scenario: Scenario) -> Any:
        """The lever's current value in ``scenario``."""
        value: Any = scenario
        for part in self.key.split("."):
            value = getattr(value, part)
        return value

    def value_from_text(self, text: str) -> int | float:
        """The value typed in the lever's box: a whole number for a count, else a number with
        ``.`` or ``,`` as the decimal mark.

        Raises ``ValueError`` with a message for the student when ``text`` is not one (empty,
        a word, ``7.5`` for a count, ``nan``). The bounds are not checked here: Reset validates
        the scenario and says in the error panel what is out of range.
        """
        cleaned = text.strip()
        kind = "whole number" if self.integer else "number"
        if not cleaned:
            raise ValueError(f"{self.short}: the box is empty; type a {kind}")
        if self.integer:
            if not re.fullmatch(r"[+-]?[0-9]+", cleaned):
                raise ValueError(f"{self.short}: {cleaned!r} is not a whole number; type digits only")
            return int(cleaned)
        try:
            value = float(cleaned.replace(",", "."))
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ValueError(f"{self.short}: {cleaned!r} is not a number; type one such as 0.25 (or 0,25)")
        return value

    def text_of(self, value: float) -> str:
        """``value`` as the lever's box shows it (``32``, ``0.04``; no float noise such as ``0.35000000000000003``)."""
        return str(int(round(value))) if self.integer else format(float(value), ".12g")


LEVERS = (
    Lever("quarters", "steps", "Quarters", "Quarters to run", 4, 200, 4, True),
    Lever("regions", "world.regions", "Regions", "World: regions", 1, 6, 1, True),
    Lever("universities_per_region", "world.universities_per_region", "Universities",
          "World: universities per region", 1, 30, 1, True),
    Lever("enterprises_per_region", "world.enterprises_per_region", "Enterprises",
          "World: enterprises per region", 20, 2000, 20, True),
    Lever("managers_per_region", "policy.managers.managers_per_region", "Managers",
          "Technology managers per region", 0, 200, 1, True),
    Lever("manager_skill", "policy.managers.skill_mean", "Manager skill", "Managers' starting skill (0–1)",
          0.0, 1.0, 0.05, False),
    Lever("poc_budget_share", "budget.proof_of_concept", "PoC share",
          "Proof-of-concept fund: share of the government budget (taken from research grants)", 0.0, 0.5, 0.0001, False),
    Lever("poc_grant_size", "policy.proof_of_concept.grant_size", "PoC grant",
          "Proof-of-concept grant per technology, M¥", 0.0, 5.0, 0.01, False),
    Lever("transfer_weight", "policy.incentives.transfer_weight", "Transfer weight",
          "University incentives: weight of a transfer in evaluations", 0.0, 3.0, 0.05, False),
    Lever("publication_weight", "policy.incentives.publication_weight", "Publication weight",
          "University incentives: weight of a publication in evaluations", 0.0, 3.0, 0.05, False),
    Lever("inventor_share", "policy.incentives.inventor_share", "Inventor share",
          "Inventors' share of licensing income (0–1)", 0.0, 1.0, 0.05, False),
    Lever("joint_rnd_subsidy", "policy.joint_rnd.subsidy_rate", "Joint R&D subsidy",
          "Joint R&D subsidy rate (share of a project's cost the government pays)", 0.0, 1.0, 0.05, False),
    Lever("fair_interval", "policy.fairs.interval_quarters", "Fair interval",
          "Quarters between trading fairs (0: no fairs)", 0, 20, 1, True),
    Lever("investors_per_region", "policy.finance.investors_per_region", "Investors", "Investors per region",
          0, 20, 1, True),
    Lever("openness", "policy.openness.cross_region_tie_probability", "Openness",
          "Openness: chance that a new tie crosses regions", 0.0, 0.5, 0.01, False),
)
"""The policy levers and world-size controls shown as sliders, in display order."""


def rule_keyword(kind: str) -> str:
    """The keyword of the drop-down for a rule kind: ``adoption`` → ``adoption_rule``."""
    return f"{kind}_rule"


def scenario_for(base: Scenario, choices: dict[str, Any]) -> Scenario:
    """The base scenario with the controls' choices applied (validated like a scenario file).

    ``choices`` maps lever keywords and ``<kind>_rule`` keywords to values; ``None`` keeps the
    base value. The proof-of-concept budget share is taken from (or given back to) the
    research-grant share, so the budget still adds up.
    """
    overrides: dict[str, Any] = {}
    for lever in LEVERS:
        value = choices.get(lever.keyword)
        if value is None:
            continue
        overrides[lever.key] = int(round(value)) if lever.integer else float(value)
    if "budget.proof_of_concept" in overrides:
        change = overrides["budget.proof_of_concept"] - base.budget.proof_of_concept
        overrides["budget.research_grants"] = max(0.0, base.budget.research_grants - change)
    for kind in RULE_KINDS:
        name = choices.get(rule_keyword(kind))
        if name is not None:
            overrides[f"rules.{kind}"] = name
    return apply_overrides(base, overrides, source="visualiser controls") if overrides else base


def parse_seed(seed: int | str | None) -> int | None:
    """The seed typed in the page (a string) as an int; empty means 'the scenario's or a fresh one'."""
    if seed is None:
        return None
    if isinstance(seed, str):
        text = seed.strip()
        if not text:
            return None
        if not text.isdigit():
            raise InputError(f"the seed must be a whole number ≥ 0, got {seed!r}", key="seed")
        seed = int(text)
    if not 0 <= int(seed) < 2**63:
        raise InputError(f"the seed must be between 0 and 2**63 − 1, got {seed}", key="seed")
    return int(seed)


class InteractiveModel(mesa.Model):
    """An :class:`~ecosim.model.EcosystemModel` built from flat keywords, for the page.

    Every keyword but ``base_scenario`` and ``rules_file`` is a control on the page; ``None``
    keeps the base scenario's value.

    Parameters
    ----------
    base_scenario : the starting point (defaults to the built-in baseline)
    rules_file : a Python file that registers extra rules; re-read on every Reset
    seed : root seed (an int, or the text typed in the page); empty uses the scenario's seed
    quarters, regions, … : the levers of :data:`LEVERS`
    orientation_rule, …, budget_allocation_rule : the rule of each kind, by registry name

    Attributes
    ----------
    ecosystem : the EcosystemModel being shown
    notice : a message for the page ('' when none), e.g. that a mistyped seed was replaced
    lock : held while a quarter runs; the panels hold it while they read the model, because
        the page's Play steps the model in a thread while the panels redraw
    """

    def __init__(
        self,
        *,
        base_scenario: Scenario | None = None,
        rules_file: str | None = None,
        seed: int | str | None = None,
        quarters: int | None = None,
        regions: int | None = None,
        universities_per_region: int | None = None,
        enterprises_per_region: int | None = None,
        managers_per_region: int | None = None,
        manager_skill: float | None = None,
        poc_budget_share: float | None = None,
        poc_grant_size: float | None = None,
        transfer_weight: float | None = None,
        publication_weight: float | None = None,
        inventor_share: float | None = None,
        joint_rnd_subsidy: float | None = None,
        fair_interval: int | None = None,
        investors_per_region: int | None = None,
        openness: float | None = None,
        orientation_rule: str | None = None,
        project_choice_rule: str | None = None,
        adoption_rule: str | None = None,
        poc_allocation_rule: str | None = None,
        partner_search_rule: str | None = None,
        budget_allocation_rule: str | None = None,
    ):
        choices = {key: value for key, value in locals().items()
                   if key not in ("self", "base_scenario", "rules_file", "seed", "__class__")}
        base = base_scenario if base_scenario is not None else Scenario()
        scenario = scenario_for(base, choices)
        check_memory(scenario, source="visualiser controls")  # before Reset builds anything
        self.notice = ""
        try:
            root_seed = parse_seed(seed)
        except InputError as exc:  # a typo in the page's seed box should not break the page
            root_seed = None
            self.notice = f"{exc}; a fresh seed was drawn"
        ecosystem = EcosystemModel(scenario, seed=root_seed, rules_file=rules_file)
        super().__init__(rng=ecosystem.seed)
        self.ecosystem = ecosystem
        self.lock = threading.RLock()
        self.running = ecosystem.steps < ecosystem.planned_steps

    def step(self) -> None:
        """One quarter of the ecosystem; stops at the scenario's number of quarters."""
        with self.lock:
            self.ecosystem.step()
            self.running = self.ecosystem.steps < self.ecosystem.planned_steps
