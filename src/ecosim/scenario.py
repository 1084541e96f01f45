"""The scenario schema: load a YAML file, validate it, apply ``--set`` overrides.

This module is the single place where model parameters are defined and checked. Every
field has a type, bounds, a default and a one-line description with its unit; ``ecosim
check`` messages and ``docs/PARAMETERS.md`` come from it. It knows nothing about Mesa.

Money is in million yuan (M¥); time in quarters (one model step = one quarter).
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import types
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ecosim.errors import InputError
from ecosim.strict_yaml import Document, load_mapping, load_value

FIELDS = ("it", "materials", "equipment", "medicine")
"""Technology fields: next-generation IT, new materials, intelligent equipment, medicine & health."""

GATES = ("G1", "G2", "G3", "G4")
"""Stage gates: proof of concept (TRL 3→4), validation (4→6), pilot (6→8), market entry (8→9)."""

CAUSES = ("technical", "funding", "matching")
"""Why a gate attempt fails."""

OWNER_TYPES = ("university", "joint", "enterprise")
"""Who owns a technology at disclosure: a university or institute alone, a university with an
enterprise partner (joint R&D, university first patentee), or an enterprise's own R&D."""

DEAL_MODES = ("licence", "assignment", "joint_development", "spin_off", "self_implementation")
"""How a technology is first converted."""

RULE_KINDS = (
    "orientation",
    "project_choice",
    "adoption",
    "poc_allocation",
    "partner_search",
    "budget_allocation",
)
"""The decisions a student can swap, each a named function in :mod:`ecosim.rules`."""

BUILT_IN_RULES = {
    "orientation": ("fixed", "myopic_best_response", "payoff_imitation"),
    "project_choice": ("field_first", "highest_value", "random"),
    "adoption": ("big_firms_first", "risk_averse", "value_hurdle"),
    "poc_allocation": ("by_appraised_value", "first_come", "lottery"),
    "partner_search": ("network", "regional_only", "wide_search"),
    "budget_allocation": ("equal_split", "fixed_shares", "performance_based"),
}
"""The names of the rules ecosim itself registers, by kind: what a scenario may choose without a
rules file. The registry (:mod:`ecosim.rules`) is the authority; this list lets ``ecosim check``
confirm a scenario's choices without importing the rules and numpy
(``tests/test_rules.py`` holds the two equal)."""


def chooses_only_built_in_rules(scenario: Scenario) -> bool:
    """True when ``scenario`` has no rules file and every rule it chooses is a built-in one, so its
    rule names are valid without loading the registry (see :data:`BUILT_IN_RULES`)."""
    return scenario.rules_file is None and all(
        getattr(scenario.rules, kind) in names for kind, names in BUILT_IN_RULES.items())

MAX_AGENTS = 2_000_000  # an absurd size is bad input, not an out-of-memory crash

Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Quarters = Annotated[int, Field(ge=0, le=400)]  # a duration: never negative, at most a century
Real = Annotated[float, Field(ge=-100.0, le=100.0, allow_inf_nan=False)]  # log-scale terms: e^100 is absurd already


class Section(BaseModel):
    """Base of every scenario section: unknown keys are errors, numbers must be finite."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_loose_numbers(cls, value: Any, info) -> Any:
        return refuse_loose_numbers(cls, value, info)


def _number_kind(annotation: Any) -> str | None:
    """"an integer" or "a number" when a field of this type holds one (plain, optional or annotated), else None."""
    if annotation is int:
        return "an integer"
    if annotation is float:
        return "a number"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _number_kind(args[0])
    if origin in (typing.Union, types.UnionType):
        kinds = {_number_kind(a) for a in args if a is not type(None)}
        return None if None in kinds or not kinds else ("an integer" if kinds == {"an integer"} else "a number")
    return None


def _loose_number_problem(value: Any, annotation: Any) -> str | None:
    kind = _number_kind(annotation)
    if kind:
        if isinstance(value, bool):
            return f"expected {kind}, not the yes/no value {value!r}"
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return f"expected {kind}, not the text {value!r}"
            return f"expected {kind}, not the text {value!r} (write the number without quotes)"
        return None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _loose_number_problem(value, args[0])
    if origin is tuple and isinstance(value, (list, tuple)):
        element_types = [args[0]] * len(value) if len(args) == 2 and args[1] is Ellipsis else list(args)
        for i, (item, element_type) in enumerate(zip(value, element_types, strict=False)):
            problem = _loose_number_problem(item, element_type)
            if problem:
                return f"item {i + 1}: {problem}"
    return None


def refuse_loose_numbers(model: type[BaseModel], value: Any, info) -> Any:
    """A ``mode="before"`` field check: refuse YAML yes/no and quoted numbers where numbers are expected.

    Pydantic's lax mode would take ``yes`` as 1 and ``'10'`` as 10; a scenario that says
    ``replications: yes`` is a mistake to report, not a number to guess.
    """
    annotation = _numeric_fields(model).get(info.field_name)
    if annotation is None or type(value) in (int, float):  # the common cases, decided at once
        return value
    if type(value) in (list, tuple) and all(type(item) in (int, float) for item in value):
        return value
    problem = _loose_number_problem(value, annotation)
    if problem:
        raise ValueError(problem)
    return value


class StrictFile(BaseModel):
    """Base of the files a user writes besides scenarios (experiments, calibrations): unknown
    keys, NaN and infinity, and loose numbers (``yes``, quoted numbers) are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_loose_numbers(cls, value: Any, info) -> Any:
        return refuse_loose_numbers(cls, value, info)


@functools.cache
def _numeric_fields(model: type[BaseModel]) -> dict[str, Any]:
    """Fields of ``model`` that hold numbers or tuples of numbers → their annotation (computed once per class)."""
    numeric = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        args = typing.get_args(annotation)
        if _number_kind(annotation) or (typing.get_origin(annotation) is tuple
                                        and any(_number_kind(a) for a in args if a is not Ellipsis)):
            numeric[name] = annotation
    return numeric


# ---------------------------------------------------------------- the world


class World(Section):
    """How many agents of each kind, per region."""

    regions: int = Field(2, ge=1, le=50, description="number of regions, each with its own government")
    universities_per_region: int = Field(8, ge=1, le=20_000, description="universities per region")
    institutes_per_region: int = Field(2, ge=0, le=20_000, description="public research institutes per region")
    groups_per_university: int = Field(10, ge=1, le=200, description="research groups per university or institute")
    researchers_per_group: int = Field(
        50, ge=1, le=1_000, description="researchers per group; inert in the dynamics: it only states the researcher-to-manager ratio (an input, F12)"
    )
    enterprises_per_region: int = Field(500, ge=1, le=1_000_000, description="enterprises per region")
    knowledge_dims: int = Field(8, ge=2, le=64, description="length of knowledge and need vectors")


class FieldProfile(Section):
    """Value and risk profile of one technology field."""

    share: Share = Field(description="share of disclosures in this field")
    log_value_mean: Real = Field(description="mean of ln V, V in M¥ (μ_field)")
    technical_success: tuple[Share, Share, Share, Share] = Field(
        description="intrinsic technical success T_g at G1..G4 (nothing in policy changes it)"
    )


def _default_fields() -> dict[str, FieldProfile]:
    # Medicine & health: the riskiest field, worst gate in the middle (the valley of death).
    # BIO's 7.9% (FACTS F8) counts from phase I, the model's G3 entry, as a realised rate that
    # includes commercial stops. If BIO's transitions were all technical, T_G3 would be
    # 0.52·0.289·0.578 ≈ 0.087 (phases I–III) and T_G4 ≈ 0.91 (approval); the old value 0.58
    # came from fitting the product from G1 (the wrong gate). T_G3 = 0.40, inside that range,
    # is calibrated to F8 with the funding and partner failures the model adds (VALIDATION §7).
    return {
        "it": FieldProfile(share=0.35, log_value_mean=0.6, technical_success=(0.75, 0.55, 0.78, 0.92)),
        "materials": FieldProfile(share=0.25, log_value_mean=0.4, technical_success=(0.65, 0.45, 0.70, 0.90)),
        "equipment": FieldProfile(share=0.25, log_value_mean=0.5, technical_success=(0.70, 0.50, 0.72, 0.90)),
        "medicine": FieldProfile(share=0.15, log_value_mean=1.2, technical_success=(0.55, 0.30, 0.40, 0.85)),
    }


class Technology(Section):
    """Value, appraisal error, readiness, gate costs and timing."""

    log_value_sigma: Positive = Field(
        1.5, le=5.0, title="Spread of technology values (σ_V of ln V)", description="σ_V of ln V; top-10% share is 1 − Φ(1.2816 − σ_V) (F7: 1.2–2.7; calibrated, docs/VALIDATION.md)"
    )
    orientation_value_effect: Real = Field(
        1.0, title="Value effect of a group's product orientation", description="added to ln V per unit of a group's product orientation minus 0.5"
    )
    quality_value_effect: Real = Field(0.5, title="Value effect of university quality", description="added to ln V per unit of university quality minus 0.5")
    appraisal_sigma_min: Positive = Field(0.3, le=5.0, title="Appraisal error no one removes (σ_min)", description="σ_min: appraisal error no one removes (log scale)")
    appraisal_sigma_0: NonNegative = Field(1.0, le=5.0, title="Appraisal error a perfect manager removes (σ_0)", description="σ_0: appraisal error a perfect manager removes")
    disclosure_trl_probs: tuple[Share, Share, Share, Share] = Field(
        (0.10, 0.45, 0.37, 0.08), description="share of disclosures at TRL 2, 3, 4, 5 (F9: ~45% at 3, ~37% at 4)"
    )
    research_quarters_to_trl3: int = Field(4, ge=0, le=40, description="quarters for a TRL-2 result to mature to TRL 3")
    gate_cost: tuple[Positive, Positive, Positive, Positive] = Field(
        (0.2, 1.0, 2.0, 3.0), description="cost of attempting G1..G4, M¥"
    )
    gate_quarters: tuple[Quarters, Quarters, Quarters, Quarters] = Field(
        (2, 4, 4, 2), description="quarters of work before each gate attempt"
    )
    funding_intercept: tuple[Real, Real, Real] = Field(
        (-1.5, -2.6, -0.8), title="Payers' willingness to fund (logit intercepts)", description="logit of the payer's willingness at V̂ = its share of the cost, for university, joint and enterprise holders (calibrated to F1–F3, F5)"
    )
    funding_slope: Positive = Field(1.27, le=20.0, title="Payers' willingness to fund: slope in value over cost", description="slope of logit F in ln(V̂ / effective cost) (calibrated, docs/VALIDATION.md)")
    matching_lambda: Positive = Field(0.5, le=100.0, title="Partner-matching intensity (λ)", description="λ in M = 1 − exp(−λ Σ fit·A·willingness) (calibrated to F3, F5)")
    reserve_quarters: int = Field(
        20, ge=1, le=400, title="Quarters of inflow a payer keeps for gate costs", description="a payer (transfer office, enterprise) keeps at most this many quarters of its inflow for gate costs; more is spent elsewhere"
    )
    founding_reserve_share: Share = Field(
        0.0, title="Payers' founding reserve (share of their cap)", description="share of its cap (reserve_quarters quarters of inflow) a payer's fund holds at the start; 0 (default) = founded empty and filled by its inflow, so that a payer that spends little is full by the end of the burn-in and a busy one holds what it really keeps; 1 = founded full (before 2026-12-02: busy payers then spend the reserve down through the first ~40 quarters, past the burn-in, docs/VALIDATION.md §4)"
    )
    patience_quarters: int = Field(8, ge=0, le=200, title="Quarters a technology waits before it is shelved", description="quarters a technology waits after a funding or matching failure before it is shelved")
    retry_quarters: int = Field(2, ge=1, le=40, description="quarters between attempts after a funding or matching failure")
    royalty_share: Share = Field(0.1, description="share of appraised value paid to the owner at a licence or assignment")


class Universities(Section):
    """Research production and the publish-or-transfer orientation of groups."""

    research_budget_per_quarter: NonNegative = Field(2.0, le=1e6, description="core research budget per university per quarter, M¥")
    quality_mean: Share = Field(0.5, description="mean university quality")
    quality_sd: NonNegative = Field(0.15, le=1.0, description="spread of quality across universities")
    orientation_mean: Share = Field(
        0.33, title="Initial mean orientation of research groups", description="initial mean orientation a (0 publish, 1 products): where the default world's orientation settles (experiments/settled_state.py)"
    )
    orientation_sd: NonNegative = Field(0.1, le=1.0, description="initial spread of orientations")
    publications_per_group_quarter: NonNegative = Field(1.5, le=1000.0, description="publications per fully publishing group per quarter")
    disclosures_per_group_quarter: NonNegative = Field(0.5, le=1000.0, description="disclosures per fully product-oriented group per quarter")
    metric_disclosures_per_group_quarter: NonNegative = Field(
        1.85, le=1000.0, title="Metric-driven disclosures per group per quarter", description="extra low-value disclosures filed for evaluation metrics, scaled by the publication weight (calibrated: F1 vs F5)"
    )
    metric_disclosure_value_penalty: NonNegative = Field(4.66, le=20.0, title="Value penalty of metric-driven disclosures", description="subtracted from ln V of metric-driven disclosures (calibrated: its posterior mean)")
    transfer_budget_per_quarter: NonNegative = Field(
        0.15, le=1e6, title="Transfer office budget per university per quarter, M¥", description="money each university's transfer office gets per quarter to pay its technologies' gate costs, M¥ (licensing income net of the inventors' share is added)"
    )
    joint_acceptance_orientation: Share = Field(
        0.8, title="Effect of product orientation on accepting joint R&D", description="how much a group's product orientation a raises its acceptance of an enterprise's joint-R&D proposal: P(accept) = matching_rate·(1 − w + 2w·a)"
    )
    orientation_learning_rate: Share = Field(0.05, title="Orientation learning rate (η)", description="η: how fast orientation follows payoffs")
    peer_weight: Share = Field(0.3, description="weight of peers' mean orientation in the update")


class Enterprises(Section):
    """Enterprise R&D, absorptive capacity and adoption."""

    rd_budget_per_quarter_mean: NonNegative = Field(0.2, le=1e6, description="mean own R&D budget per enterprise per quarter, M¥ (size is log-normal; F4: enterprises ≈ 77% of R&D)")
    size_sigma: NonNegative = Field(1.0, le=5.0, title="Spread of enterprise size (σ of log size)", description="σ of log enterprise size")
    own_technologies_per_rd_yuan: NonNegative = Field(1.7, le=1000.0, description="own technologies disclosed per M¥ of research (the R&D budget not set aside for development) per quarter (about 68 a quarter in the baseline)")
    absorptive_capacity_alpha: Positive = Field(2.0, le=100.0, title="Absorptive capacity, Beta α", description="Beta(α, β) of absorptive capacity A")
    absorptive_capacity_beta: Positive = Field(3.0, le=100.0, title="Absorptive capacity, Beta β", description="Beta(α, β) of absorptive capacity A")
    profit_hurdle_log: Real = Field(0.0, description="mean ln of the value an enterprise needs to adopt, M¥")
    ties_per_enterprise: int = Field(3, ge=0, le=200, description="enterprise–enterprise ties made per new enterprise (Barabási–Albert m)")
    university_ties_per_university: int = Field(25, ge=0, le=100_000, description="collaboration ties each university keeps to enterprises (a university below it makes new ties once a year)")
    founding_deal_ties_per_university: int = Field(
        50, ge=0, le=100_000,
        title="Founding universities' extra ties from past deals", description="extra enterprise ties of a founding university, left by its past deals: as many as a settled world's universities have on top of their collaboration ties (experiments/settled_state.py)",
    )
    search_contacts: int = Field(10, ge=0, le=10_000, title="Extra enterprises a wide search reaches", description="extra enterprises a wide search (partner_search: wide_search) reaches per technology")
    joint_proposal_rate: Share = Field(0.06, description="chance per quarter that an enterprise proposes joint R&D, at full capacity")
    absorptive_learning: Share = Field(0.02, description="gain in A from a joint project or adoption")
    absorptive_forgetting: Share = Field(0.05, description="share of the gain in A over its starting value lost per quarter (skills age, staff leave; 0.05: about a fifth a year, so capacity settles within the burn-in)")
    development_budget_share: Share = Field(0.8, title="Share of enterprise R&D budget paying gate costs", description="share of an enterprise's R&D budget that pays gate costs of its technologies and joint projects (the rest is its own research)")


class ProofOfConcept(Section):
    """Proof-of-concept fund (acts on F at G1–G2; a funded technology still needs a partner at G1)."""

    grant_size: NonNegative = Field(0.1, le=1e6, description="PoC grant per technology, M¥; pays toward G1–G2 costs and buys a prototype test")
    full_test_cost: Positive = Field(
        0.5, le=1e6, title="Cost of a full prototype test, M¥", description="cost of a prototype test that settles the technology's G2 viability, M¥; a grant g reveals it with probability min(1, g / full_test_cost)"
    )
    trl_window: tuple[int, int] = Field((3, 5), description="TRL range eligible for a PoC grant")
    selection_threshold_log: Real = Field(
        -1.5, title="Minimum appraised ln value the PoC fund considers",
        description="minimum ln V̂ the fund considers (calibrated: a free parameter, inside its 90% credible interval)",
    )
    additionality: bool = Field(
        True,
        title="PoC grants only for technologies the market has not taken", description="consider only technologies the market has not taken as they stand: those waiting after a failure to find money or a partner (false: any eligible technology, from disclosure on)",
    )

    @field_validator("trl_window")
    @classmethod
    def _window_in_trl_range(cls, window: tuple[int, int]) -> tuple[int, int]:
        low, high = window
        if not 1 <= low <= high <= 9:
            raise ValueError(f"expected 1 ≤ low ≤ high ≤ 9, got {list(window)}")
        return window


class ManagerProgramme(Section):
    """Technology-manager programme: number, skill, capacity, training."""

    managers_per_region: int = Field(50, ge=0, le=200_000, description="technology managers per region (F12: ~100 researchers per manager)")
    skill_mean: Share = Field(0.35, title="Managers' mean starting skill", description="mean starting skill s")
    skill_sd: NonNegative = Field(0.1, le=1.0, title="Spread of managers' starting skill", description="spread of starting skill")
    capacity: int = Field(4, ge=1, le=1000, description="projects a manager carries at once")
    contacts: int = Field(12, ge=0, le=10_000, description="enterprise contacts per manager")
    university_employed_share: Share = Field(0.7, description="share of managers employed by a university transfer office (rest independent)")
    learning_rate: Share = Field(0.03, title="Managers' skill gain per deal", description="gain in skill per deal, times (1 − s)")
    training_gain_per_yuan: NonNegative = Field(
        2.0, le=1000.0, title="Training effect per M¥ (k)", description="k in the training effect: money m (M¥ per manager per quarter) closes 1 − exp(−k·m) of the gap to full skill"
    )
    turnover_per_quarter: Share = Field(
        0.025, title="Managers' turnover per quarter", description="chance per quarter that a manager leaves and is replaced by a new hire with a starting skill (about 10% a year)"
    )
    investor_contacts: int = Field(1, ge=0, le=10_000, description="investors each manager knows in its region (the managers-plus-finance channel)")
    fit_gain: Share = Field(0.6, title="Managers' gain in technology–enterprise fit (ρ)", description="ρ: a manager of skill s raises fit to fit + ρ·s·(1 − fit)")
    value_digging_rate: Share = Field(0.3, title="Chance a manager finds a better application", description="chance per project, times s, that the manager finds a better application")
    value_digging_gain: NonNegative = Field(0.5, le=10.0, title="Value gain of a better application", description="added to ln V when a better application is found")


class Incentives(Section):
    """University incentive weights and inventor share."""

    publication_weight: NonNegative = Field(1.0, le=100.0, description="weight of a publication in evaluations")
    transfer_weight: NonNegative = Field(0.3, le=100.0, title="Weight of a transfer (deal) in evaluations", description="weight of a transfer (deal) in evaluations")
    inventor_share: Share = Field(0.3, description="inventors' share of licensing income")


class JointRnD(Section):
    """Enterprise-led joint R&D with universities."""

    subsidy_rate: Share = Field(0.2, description="share of a joint project's cost paid by the government")
    matching_rate: Share = Field(0.5, description="chance that an enterprise's proposal finds a university partner")
    project_cost: Positive = Field(1.0, le=1e6, description="cost of a joint R&D project, M¥")
    trl_bonus: int = Field(1, ge=0, le=3, description="TRL gained at disclosure by working with the enterprise")


class Fairs(Section):
    """Technology trading fairs ('global buy, global sell')."""

    interval_quarters: int = Field(4, ge=0, le=400, description="quarters between fairs (0: no fairs)")
    application_cost: NonNegative = Field(
        0.02, le=1e6, description="what applying costs an owner, M¥; an owner applies when selection_rate·royalty_share·V̂ exceeds it"
    )
    expert_reviews: int = Field(
        250, ge=0, le=10_000_000, description="applications the experts can review per fair and region (expert capacity); the rest are not reviewed"
    )
    contacts_per_selected: int = Field(15, ge=0, le=100_000, description="enterprises each selected technology meets")
    foreign_share: Share = Field(0.1, description="share of fair contacts from other regions")
    expert_selection_rate: Share = Field(0.136, description="share of reviewed applicants selected by experts (an input: F10, 200 of 1,472)")
    cost_per_fair: NonNegative = Field(2.0, le=1e6, description="cost of a fair, M¥")


class Finance(Section):
    """Spin-off investors: back untransferred university technologies at G1–G2 and pay a share of G1–G3."""

    investors_per_region: int = Field(3, ge=0, le=100_000, description="investors per region")
    fund_per_investor: NonNegative = Field(40.0, le=1e9, description="starting and target fund per investor, M¥ (money above the target is distributed to the fund's backers)")
    min_trl: int = Field(4, ge=1, le=9, description="lowest TRL an investor backs")
    value_hurdle: Positive = Field(7.0, le=1e9, description="lowest appraised value an investor backs, M¥ (calibrated to F6)")
    investment_share: Share = Field(0.6, description="share of a gate's cost an investor pays")
    return_share: Share = Field(0.2, description="investor's share of the value at market entry, paid into its fund (above the fund's target size it is distributed)")
    fund_inflow_per_quarter: NonNegative = Field(
        1.0, le=1e9, description="new private money paid into each investor's fund every quarter, M¥ (calibrated to F6)"
    )


class Openness(Section):
    """International (cross-region) transfer."""

    cross_region_tie_probability: Share = Field(0.05, description="chance that a tie made at build or by search crosses regions")


class Policy(Section):
    """All policy levers."""

    proof_of_concept: ProofOfConcept = Field(default_factory=ProofOfConcept)
    managers: ManagerProgramme = Field(default_factory=ManagerProgramme)
    incentives: Incentives = Field(default_factory=Incentives)
    joint_rnd: JointRnD = Field(default_factory=JointRnD)
    fairs: Fairs = Field(default_factory=Fairs)
    finance: Finance = Field(default_factory=Finance)
    openness: Openness = Field(default_factory=Openness)


class Budget(Section):
    """Each government's budget and its split over instruments (shares of the quarter's budget)."""

    per_quarter: NonNegative = Field(12.0, le=1e9, description="government budget per region per quarter, M¥")
    research_grants: Share = Field(0.80, title="Budget share to university research grants", description="share to university research grants")
    proof_of_concept: Share = Field(0.05, title="Budget share to the proof-of-concept fund", description="share to the proof-of-concept fund")
    manager_programme: Share = Field(0.03, title="Budget share to manager training", description="share to manager training")
    joint_rnd: Share = Field(0.07, title="Budget share to joint R&D subsidies", description="share to joint R&D subsidies")
    fairs: Share = Field(0.05, title="Budget share to trading fairs", description="share to trading fairs")

    @model_validator(mode="after")
    def _shares_sum_to_at_most_one(self) -> Budget:
        total = self.research_grants + self.proof_of_concept + self.manager_programme + self.joint_rnd + self.fairs
        if total > 1.0 + 1e-9:
            raise ValueError(f"budget shares must sum to at most 1, they sum to {total:.3f}")
        return self


class NetworkSettings(Section):
    """Tie dynamics."""

    decay_per_quarter: Share = Field(0.03, description="share of an unused tie's weight lost per quarter")
    prune_below: Share = Field(0.05, description="ties weaker than this are removed (structural ties excepted)")
    deal_strengthening: NonNegative = Field(0.5, le=100.0, description="weight added to a tie by a deal")
    triadic_closure: Share = Field(0.5, description="chance that a brokered deal ties owner and partner directly")
    fair_tie_weight: Share = Field(0.1, description="weight of a tie made at a fair")
    investor_ties: int = Field(20, ge=0, le=100_000, description="ties from each investor to universities and enterprises")


class Outputs(Section):
    """What is measured and how often."""

    network_measures_every_quarters: int = Field(4, ge=1, le=1000, description="quarters between network measurements (betweenness is costly)")
    betweenness_samples: int = Field(8, ge=1, le=10_000, description="source nodes sampled for managers' betweenness")
    cohort_window_quarters: int = Field(
        20, ge=1, le=400, description="quarters from disclosure within which a conversion counts in the cohort conversion rates (20 = 5 years)"
    )
    burn_in_quarters: int = Field(
        20, ge=0, le=1_000, description="first quarters left out of the run summary (the world settles); rates count technologies disclosed after it"
    )


class Rules(Section):
    """Which rule of each kind agents follow (names from the rules registry)."""

    orientation: str = Field("payoff_imitation", description="how research groups update orientation")
    project_choice: str = Field("highest_value", description="which disclosures a manager takes on")
    adoption: str = Field("value_hurdle", description="whether an enterprise adopts a technology")
    poc_allocation: str = Field("by_appraised_value", description="which technologies get PoC grants")
    partner_search: str = Field("network", description="which enterprises a technology can reach")
    budget_allocation: str = Field("fixed_shares", description="how a government splits its budget")


class Scenario(Section):
    """A complete, validated scenario."""

    name: str = Field("baseline", min_length=1, max_length=100, description="scenario name (used as a directory name)")
    description: str = Field("", max_length=10_000, description="what question the scenario asks")
    steps: int = Field(60, ge=1, le=2_000, description="quarters to simulate (60 = 15 years)")
    seed: int | None = Field(None, ge=0, lt=2**63, description="root seed; None draws one and records it")
    rules_file: str | None = Field(None, description="Python file registering extra rules (relative to the scenario file)")
    world: World = Field(default_factory=World)
    fields: dict[str, FieldProfile] = Field(default_factory=_default_fields)
    technology: Technology = Field(default_factory=Technology)
    universities: Universities = Field(default_factory=Universities)
    enterprises: Enterprises = Field(default_factory=Enterprises)
    budget: Budget = Field(default_factory=Budget)
    policy: Policy = Field(default_factory=Policy)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    outputs: Outputs = Field(default_factory=Outputs)
    rules: Rules = Field(default_factory=Rules)

    @field_validator("name")
    @classmethod
    def _name_is_a_safe_directory(cls, name: str) -> str:
        return check_safe_name(name)

    @field_validator("fields")
    @classmethod
    def _fields_are_the_four(cls, fields: dict[str, FieldProfile]) -> dict[str, FieldProfile]:
        if set(fields) != set(FIELDS):
            missing = sorted(set(FIELDS) - set(fields))
            extra = sorted(set(fields) - set(FIELDS))
            raise ValueError(f"expected exactly the fields {list(FIELDS)}; missing {missing}, unknown {extra}")
        total = sum(f.share for f in fields.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"field shares must sum to 1, they sum to {total:.3f}")
        return {name: fields[name] for name in FIELDS}

    # The dotted keys (or prefixes) _cross_field_rules reads: a value of any other key is valid in a
    # scenario exactly when it is valid in its own section (ecosim.experiment's particle check uses this).
    CROSS_FIELD_KEYS: ClassVar[tuple[str, ...]] = (
        "world.", "technology.disclosure_trl_probs", "policy.managers.managers_per_region",
        "policy.finance.investors_per_region")

    @model_validator(mode="after")
    def _cross_field_rules(self) -> Scenario:
        probs = self.technology.disclosure_trl_probs
        if not math.isclose(sum(probs), 1.0, abs_tol=1e-6):
            raise ValueError(f"technology.disclosure_trl_probs must sum to 1, they sum to {sum(probs):.3f}")
        w = self.world
        agents = w.regions * (
            1 + w.universities_per_region + w.institutes_per_region + w.enterprises_per_region
            + self.policy.managers.managers_per_region + self.policy.finance.investors_per_region
        )
        if agents > MAX_AGENTS:
            raise ValueError(f"the world has {agents:,} agents; at most {MAX_AGENTS:,} are allowed")
        return self

    @property
    def n_agents(self) -> int:
        """Total number of agents the scenario creates."""
        w = self.world
        return w.regions * (
            1 + w.universities_per_region + w.institutes_per_region + w.enterprises_per_region
            + self.policy.managers.managers_per_region + self.policy.finance.investors_per_region
        )


# ---------------------------------------------------------------- loading and errors

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def check_safe_name(name: str) -> str:
    """Return ``name`` if it can be used as one directory name inside an output directory.

    Rejects path separators, ``..``, absolute paths and hidden names, so that no scenario or
    run name can write outside the output directory.
    """
    if not _SAFE_NAME.match(name) or ".." in name:
        raise ValueError(
            f"{name!r} is not a safe name: use letters, digits, '_', '-' and '.', starting with a letter or digit, no '..' or '/'"
        )
    return name


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping strictly and within bounds (:func:`ecosim.strict_yaml.load_mapping`) or raise :class:`InputError`."""
    return load_mapping(path).data


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that holds the key at ``loc`` (for suggesting a nearby key)."""
    current: Any = model
    for part in loc[:-1]:
        if current is dict:  # inside the fields mapping: each entry is a FieldProfile
            current = FieldProfile
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
        elif str(part) == "fields":
            current = dict
        else:
            return None
    if current is dict:
        return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def format_validation_error(error: ValidationError, model: type[BaseModel], source: str | None,
                            document: Document | None = None) -> InputError:
    """Turn a pydantic error into one readable :class:`InputError` (key path, line when known, what was expected)."""
    lines = []
    first_key = None
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        key = ".".join(str(p) for p in loc) or "(top level)"
        line = document.line_of(loc) if document is not None else None
        at = f" (line {line})" if line is not None else ""
        first_key = first_key or key
        if item["type"] == "extra_forbidden":
            holder = _model_at(model, loc)
            known = list(holder.model_fields) if holder else []
            close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            valid = f"; valid keys here: {', '.join(known)}." if known and not close else ""
            lines.append(f"{key}: unknown key{hint}{valid}{at}")
        else:
            msg = item["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            got = item.get("input")
            shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r})"
            lines.append(f"{key}: {msg}{shown}{at}")
    message = lines[0] if len(lines) == 1 else "invalid values:\n  " + "\n  ".join(lines)
    return InputError(message, source=source)


def validate_scenario(data: dict[str, Any], source: str | None = None, document: Document | None = None) -> Scenario:
    """Validate a mapping as a scenario or raise :class:`InputError` naming file, key and (from ``document``) line."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, Scenario, source, document) from None


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``--set KEY=VALUE`` into a dotted key and a YAML-typed value."""
    if "=" not in text:
        raise InputError(f"--set {text!r}: expected KEY=VALUE, e.g. policy.managers.managers_per_region=80")
    key, _, raw = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise InputError(f"--set {text!r}: the key must be a dotted path such as budget.per_quarter")
    value = load_value(raw, f"--set {text}") if raw.strip() else ""
    return key, value


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``data[a][b][c] = value`` for ``key = 'a.b.c'``, creating mappings as needed."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise InputError(f"cannot set {key}: {part} is a value, not a section", key=key)
        node = child
    node[parts[-1]] = value


def apply_overrides(scenario: Scenario | dict[str, Any], overrides: dict[str, Any], source: str | None = None) -> Scenario:
    """Return a new validated scenario with dotted-key overrides applied."""
    data = scenario.model_dump(mode="json") if isinstance(scenario, Scenario) else merge_onto(
        _default_data(), scenario)
    for key, value in overrides.items():
        set_dotted(data, key, value)
    return validate_scenario(data, source=source)


@functools.cache
def _default_data() -> dict[str, Any]:
    """The default scenario as JSON-ready data (computed once; callers merge onto a copy)."""
    return Scenario().model_dump(mode="json")


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def load_scenario(path: str | Path, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, override and validate a scenario file.

    ``rules_file`` in the file is resolved relative to the file's folder.

    Examples
    --------
    >>> from ecosim.scenario import load_scenario
    >>> s = load_scenario("scenarios/baseline.yaml", {"steps": 8})
    >>> s.steps
    8
    """
    path = Path(path)
    document = load_mapping(path)
    data = document.data
    if isinstance(data.get("rules_file"), str):
        rules_path = Path(data["rules_file"])
        if not rules_path.is_absolute():
            data["rules_file"] = str((path.parent / rules_path).resolve())
    # Merge onto the defaults so that a partial section (e.g. one field profile) keeps the rest.
    data = merge_onto(_default_data(), data)
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    return validate_scenario(data, source=str(path), document=document)


def merge_onto(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` merged recursively onto a copy of ``base`` (mappings merge, other values replace)."""
    # base's values that update replaces or merges into are not copied first (each node is copied
    # once, not once per level: a quarter of a check over posterior particles; same result)
    merged = {key: value if key in update else _deep_copy(value) for key, value in base.items()}
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_onto(merged[key], value)
        else:
            merged[key] = _deep_copy(value)
    return merged


def scenario_to_yaml(scenario: Scenario) -> str:
    """The fully resolved scenario as YAML (every default written out)."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
