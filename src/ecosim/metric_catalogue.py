"""What every per-run (and per-step) output means: label, unit, direction, tails, family, range.

One declaration per output, read by every consumer (``ecosim compare``, ``ecosim report``, the
plots, the notebooks); nothing downstream infers a meaning from a metric's name. A test fails
when :func:`ecosim.model.simulate` returns a summary key that is not declared here, so a new
output cannot reach a report without a label, a unit and a direction.

Families of keys (failures by gate × cause, deals by channel, ...) are declared explicitly with
:func:`_family`, which expands a ``{placeholder}`` name over the listed values; nothing is
matched by prefix at look-up time.

Fields
------
label : a readable name, e.g. "Technologies reaching market"
unit : e.g. "M¥", "technologies per run", "share, 0–1", "quarters"
direction : :data:`HIGHER` (higher is better), :data:`LOWER` (lower is better) or
    :data:`NEITHER` (a composition, a stock or a descriptive index: no better direction)
heavy_tailed : the run-to-run distribution is skewed with a long right tail (value is
    log-normal, FACTS F7): its change is estimated as a ratio of means on the log scale
family : ``"headline"`` (the outcomes the project's question is about; the default primary
    outcomes of an experiment), ``"cost"`` (money and what is given up) or ``"mechanism"``
    (why the headline outcomes move)
low, high : the range the metric can take (``None``: unbounded); intervals are clipped to it
stock : the per-step series is a level ("technologies waiting at G2"), not a flow per quarter

Examples
--------
>>> entry("welfare").unit, entry("welfare").heavy_tailed, entry("welfare").family
('M¥', True, 'headline')
>>> entry("fail_G2_funding").label
'Failures at G2 validation (valley of death): funding'
>>> entry("matching_failure_rate_academic").direction
-1
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Literal

from ecosim.scenario import CAUSES, DEAL_MODES, OWNER_TYPES

HIGHER = 1
LOWER = -1
NEITHER = 0

Family = Literal["headline", "mechanism", "cost"]

GATE_NAMES = {
    "G1": "G1 proof of concept",
    "G2": "G2 validation (valley of death)",
    "G3": "G3 pilot and scale-up",
    "G4": "G4 market entry",
}
"""Readable gate names for tables and figures."""

OWNER_NAMES = {"university": "university", "joint": "joint (university–enterprise)", "enterprise": "enterprise"}
DEAL_MODE_NAMES = {
    "licence": "licence", "assignment": "assignment", "joint_development": "joint development",
    "spin_off": "spin-off", "self_implementation": "self-implementation",
}

# units, spelled once
MONEY = "M¥"
TECHNOLOGIES = "technologies per run"
SHARE = "share, 0–1"
QUARTERS = "quarters"
INDEX01 = "index, 0–1"


@dataclass(frozen=True)
class Metric:
    """The meaning of one output (see the module docstring for the fields)."""

    name: str
    label: str
    unit: str
    direction: int
    family: Family = "mechanism"
    heavy_tailed: bool = False
    low: float | None = None
    high: float | None = None
    stock: bool = False

    @property
    def axis_label(self) -> str:
        """``"label (unit)"`` for an axis or a column heading."""
        return f"{self.label} ({self.unit})"

    def per_step_unit(self, cumulative: bool = False) -> str:
        """The unit of the metric's per-step series (a column of the step table).

        A stock is a level at the end of each quarter; a flow counted per run is counted per
        quarter (``cumulative``: so far); money is M¥ per quarter. Every time-series view (the
        visualiser's charts, the report's and notebooks' figures) names a series' unit this way.

        Examples
        --------
        >>> entry("deals").per_step_unit(), entry("welfare").per_step_unit()
        ('technologies per quarter', 'M¥ per quarter')
        >>> entry("at_G2").per_step_unit(), entry("deals").per_step_unit(cumulative=True)
        ('technologies, at the end of each quarter', 'technologies so far')
        """
        if self.stock:
            return f"{self.unit}, at the end of each quarter"
        if self.unit.endswith(" per run"):
            return self.unit.removesuffix(" per run") + (" so far" if cumulative else " per quarter")
        if self.unit == MONEY:
            return f"{MONEY} so far" if cumulative else f"{MONEY} per quarter"
        return self.unit

    def per_step_axis_label(self, cumulative: bool = False) -> str:
        """``"label (per-step unit)"`` for the axis or panel title of a time series."""
        return f"{self.label} ({self.per_step_unit(cumulative)})"


def _family(pattern: str, label: str, values: dict[str, dict[str, str]], **fields) -> dict[str, Metric]:
    """Declare one metric per combination of the placeholders' values.

    ``values`` maps each placeholder of ``pattern`` (and ``label``) to {key value: readable text}.
    """
    names = list(values)
    out = {}
    for combo in itertools.product(*(values[n].items() for n in names)):
        keys = {n: k for n, (k, _) in zip(names, combo, strict=True)}
        texts = {n: t for n, (_, t) in zip(names, combo, strict=True)}
        name = pattern.format(**keys)
        out[name] = Metric(name=name, label=label.format(**texts), **fields)
    return out


def _one(name: str, label: str, unit: str, direction: int, **fields) -> dict[str, Metric]:
    return {name: Metric(name=name, label=label, unit=unit, direction=direction, **fields)}


_GATES = {"gate": GATE_NAMES}
_CAUSES = {"cause": {c: c for c in CAUSES}}
_OWNERS = {"owner": {o: OWNER_NAMES[o] for o in OWNER_TYPES}}
_MODES = {"mode": {m: DEAL_MODE_NAMES[m] for m in DEAL_MODES}}
_COUNT = {"low": 0.0}
_SHARE = {"low": 0.0, "high": 1.0}

CATALOGUE: dict[str, Metric] = {
    # ---- headline outcomes: what the project's question is about
    **_one("deals", "Technologies converted (first transfer)", TECHNOLOGIES, HIGHER, family="headline", **_COUNT),
    **_one("commercialisations", "Technologies reaching market", TECHNOLOGIES, HIGHER, family="headline",
           heavy_tailed=True, **_COUNT),
    **_one("welfare", "Welfare from products on the market", MONEY, HIGHER, family="headline", heavy_tailed=True,
           **_COUNT),
    # ---- cost: public money and what is given up
    **_one("public_spending", "Public money spent", MONEY, LOWER, family="cost", **_COUNT),
    **_one("public_money_allocated", "Public money allocated", MONEY, LOWER, family="cost", **_COUNT),
    **_one("welfare_per_public_yuan", "Welfare per yuan of public money", "M¥ welfare per M¥ public money",
           HIGHER, family="cost", heavy_tailed=True, **_COUNT),
    **_one("publications_forgone", "Publications forgone", "publications per run", LOWER, family="cost", **_COUNT),
    # ---- mechanism: research and disclosure
    **_one("disclosures", "Invention disclosures", TECHNOLOGIES, HIGHER, **_COUNT),
    **_family("disclosures_{owner}", "Disclosures owned by {owner}", _OWNERS, unit=TECHNOLOGIES,
              direction=NEITHER, **_COUNT),
    **_one("publications", "Publications", "publications per run", HIGHER, **_COUNT),
    **_one("technologies", "Technologies created", TECHNOLOGIES, NEITHER, **_COUNT),
    **_one("joint_share_of_disclosures", "Joint technologies' share of all technologies", SHARE, NEITHER, **_SHARE),
    **_one("university_share_of_disclosures", "University technologies' share of all technologies", SHARE,
           NEITHER, **_SHARE),
    **_one("trl3_share_at_disclosure", "Share of university results disclosed at TRL 3", SHARE, NEITHER, **_SHARE),
    **_one("trl4_share_at_disclosure", "Share of university results disclosed at TRL 4", SHARE, NEITHER, **_SHARE),
    **_one("enterprise_rd_share", "Enterprises' share of R&D spending", SHARE, NEITHER, **_SHARE),
    **_one("mean_orientation", "Research groups' mean orientation (0 publish, 1 products)", INDEX01, NEITHER,
           stock=True, **_SHARE),
    # ---- mechanism: deals and conversion
    **_family("deals_{mode}", "Deals by {mode}", _MODES, unit=TECHNOLOGIES, direction=NEITHER, **_COUNT),
    **_family("conversion_{owner}", "Conversion rate of {owner} technologies", _OWNERS, unit=SHARE,
              direction=HIGHER, **_SHARE),
    # the window W is a scenario parameter (outputs.cohort_window_quarters), so the label names it, not its value
    **_family("cohort_conversion_{owner}", "Conversion rate of {owner} technologies within the cohort window",
              _OWNERS, unit=SHARE, direction=HIGHER, **_SHARE),
    **_one("conversion_university_all", "Conversion rate of academic (university and joint) technologies", SHARE,
           HIGHER, **_SHARE),
    **_one("joint_to_university_ratio", "Joint over university conversion rate", "ratio", NEITHER, **_COUNT),
    **_one("licences_per_disclosure", "Licences and assignments per academic disclosure", SHARE, HIGHER, **_SHARE),
    **_one("startups_per_disclosure", "Start-ups per academic disclosure", SHARE, HIGHER, **_SHARE),
    **_one("licensing_income", "Licensing income", MONEY, HIGHER, heavy_tailed=True, **_COUNT),
    **_one("international_deal_share", "Share of deals across regions", SHARE, NEITHER, **_SHARE),
    **_one("time_to_transfer_median", "Median time to transfer", QUARTERS, LOWER, **_COUNT),
    **_one("time_to_transfer_p90", "90th percentile of time to transfer", QUARTERS, LOWER, **_COUNT),
    **_one("time_to_market_median", "Median time to market", QUARTERS, LOWER, **_COUNT),
    **_one("time_to_market_p90", "90th percentile of time to market", QUARTERS, LOWER, **_COUNT),
    **_one("top10_value_share", "Share of value in the top 10% of technologies", SHARE, NEITHER, **_SHARE),
    # ---- mechanism: the gates and why technologies fail
    **_family("fail_{gate}_{cause}", "Failures at {gate}: {cause}", {**_GATES, **_CAUSES}, unit=TECHNOLOGIES,
              direction=LOWER, **_COUNT),
    **_one("failed", "Technologies that failed a gate technically", TECHNOLOGIES, LOWER, **_COUNT),
    **_one("shelved", "Technologies shelved (no money or partner in time)", TECHNOLOGIES, LOWER, **_COUNT),
    **_family("failed_attempts_{cause}", "Failed gate attempts: {cause}", _CAUSES, unit="gate attempts per run",
              direction=LOWER, **_COUNT),
    **_one("partner_searches_academic", "Partner searches by academic technologies", "searches per run", NEITHER,
           **_COUNT),
    **_family("matching_failure_rate_{side}", "Share of {side} partner searches that found no partner",
              {"side": {"academic": "academic", "enterprise": "enterprise"}}, unit=SHARE, direction=LOWER, **_SHARE),
    **_one("in_research", "Technologies still in research at the end", TECHNOLOGIES, NEITHER, **_COUNT),
    **_one("in_pipeline", "Technologies in the pipeline at the end", TECHNOLOGIES, NEITHER, **_COUNT),
    **_one("at_market", "Technologies on the market at the end", TECHNOLOGIES, HIGHER, heavy_tailed=True, **_COUNT),
    **_one("failed_total", "Technologies failed technically by the end", TECHNOLOGIES, LOWER, **_COUNT),
    **_one("shelved_total", "Technologies shelved by the end", TECHNOLOGIES, LOWER, **_COUNT),
    **_family("at_{gate}", "Technologies waiting at {gate}", _GATES, unit="technologies", direction=NEITHER,
              stock=True, **_COUNT),
    # ---- mechanism: managers, PoC, fairs
    **_one("poc_funded", "Academic technologies funded by the PoC fund", TECHNOLOGIES, NEITHER, **_COUNT),
    **_one("poc_cohort_conversion", "Conversion rate of PoC-funded academic (university and joint) technologies",
           SHARE, HIGHER, **_SHARE),
    **_one("researchers_per_manager", "Researchers per technology manager", "researchers", NEITHER, **_COUNT),
    **_family("appraisal_error_{who}", "Appraisal error of {who} technologies", {
        "who": {"managed": "manager-appraised", "unmanaged": "unmanaged"}},
        unit="mean |log error|", direction=LOWER, **_COUNT),
    **_one("mean_manager_skill", "Technology managers' mean skill", INDEX01, NEITHER, stock=True, **_SHARE),
    **_one("fair_selection_rate", "Share of reviewed fair applications selected", SHARE, NEITHER, **_SHARE),
    # ---- the reworked model's mechanisms (issue 12)
    **_one("measured_from_quarter", "First quarter of the measured window (after the burn-in)", QUARTERS, NEITHER,
           **_COUNT),
    **_family("spending_{instrument}", "Public money spent on {instrument}", {"instrument": {
        "research_grants": "research grants", "proof_of_concept": "the PoC fund",
        "manager_programme": "the manager programme", "joint_rnd": "joint R&D subsidies", "fairs": "trading fairs"}},
        unit=MONEY, direction=NEITHER, family="cost", **_COUNT),
    **_one("medicine_g3_to_market",
           "Medicine: share of decided G3 entrants (first trial in people) that reached market", SHARE,
           HIGHER, **_SHARE),
    **_one("g2_passes_academic", "Academic technologies past G2 (the valley of death)", TECHNOLOGIES, HIGHER,
           **_COUNT),
    **_one("market_entries_academic", "Academic technologies reaching market", TECHNOLOGIES, HIGHER,
           heavy_tailed=True, **_COUNT),
    # poc_cohort_conversion / conversion_university: the numerator counts joint technologies too, the
    # denominator all university-owned ones (PoC-funded or not), both converted by the end of the run
    **_one("poc_advantage", "Conversion rate of PoC-funded academic (university and joint) technologies over "
           "that of university technologies", "ratio", NEITHER, **_COUNT),
    **_one("poc_stopped_early", "PoC tests that stopped a technology early (would fail G2)", TECHNOLOGIES, NEITHER,
           **_COUNT),
    **_one("poc_revealed_viable", "PoC tests that showed a technology will pass G2", TECHNOLOGIES, NEITHER,
           **_COUNT),
    **_one("poc_fund_short_quarters", "Region-quarters the PoC fund ran out", "region-quarters", NEITHER, **_COUNT),
    **_one("appraisal_error_academic", "Appraisal error of academic technologies", "mean |log error|", LOWER,
           **_COUNT),
    **_one("academic_spend_on_failures_share",
           "Share of payers' money on academic technologies that later failed or were shelved", SHARE, LOWER,
           **_SHARE),
    **_family("attempts_unwilling_{owner}", "Gate attempts the payer would not pay for ({owner} holder)", _OWNERS,
              unit="gate attempts per run", direction=NEITHER, **_COUNT),
    **_family("attempts_fund_short_{owner}", "Gate attempts refused for lack of money ({owner} holder)", _OWNERS,
              unit="gate attempts per run", direction=LOWER, **_COUNT),
    **_family("gate_spending_{owner}", "Gate costs paid from payers' own funds ({owner} holder)", _OWNERS,
              unit=MONEY, direction=NEITHER, **_COUNT),
    **_one("managed_share_academic", "Share of academic technologies a manager carried", SHARE, NEITHER, **_SHARE),
    **_one("training_skill_gain", "Skill gained through training (summed over managers)", "skill units", NEITHER,
           **_COUNT),
    **_one("manager_departures", "Technology managers who left", "managers per run", NEITHER, **_COUNT),
    **_family("deals_via_{channel}", "Deals found through {channel}", {"channel": {
        "own": "the owner itself", "joint_partner": "the joint-R&D partner", "investor": "a backing investor",
        "manager": "a technology manager", "fair": "a fair contact", "network": "the owner's network"}},
        unit=TECHNOLOGIES, direction=NEITHER, **_COUNT),
    **_one("fair_applicants", "Fair applications", "applications per run", NEITHER, **_COUNT),
    **_one("fair_selected", "Technologies selected at fairs", TECHNOLOGIES, NEITHER, **_COUNT),
    **_one("joint_proposals", "Joint R&D proposals by enterprises", "proposals per run", NEITHER, **_COUNT),
    **_one("joint_projects", "Joint R&D projects started", TECHNOLOGIES, HIGHER, **_COUNT),
    # ---- mechanism: the network
    **_one("network_density", "Network density", INDEX01, NEITHER, stock=True, **_SHARE),
    **_one("manager_betweenness", "Technology managers' betweenness", INDEX01, NEITHER, stock=True, **_SHARE),
    **_one("triple_helix_synergy", "Triple-helix mutual information T_UIG (negative = synergy)", "bits", LOWER,
           stock=True),
    **_one("cross_region_tie_share", "Share of ties across regions", SHARE, NEITHER, **_SHARE),
}
"""Every output, by name."""


def entry(name: str) -> Metric:
    """The catalogue entry of ``name``; a name not in the catalogue gets a neutral entry (its
    own name as label, no unit, no direction) so that it is shown but never given a verdict.

    Examples
    --------
    >>> entry("deals").direction, entry("a_users_measure").direction, entry("a_users_measure").unit
    (1, 0, 'not in the metric catalogue')
    """
    found = CATALOGUE.get(name)
    if found is not None:
        return found
    return Metric(name=name, label=name.replace("_", " "), unit="not in the metric catalogue", direction=NEITHER)


def known(name: str) -> bool:
    """Whether ``name`` is declared in the catalogue."""
    return name in CATALOGUE


def primary_defaults() -> list[str]:
    """The default primary outcomes of an experiment: the headline family, in catalogue order."""
    return [name for name, metric in CATALOGUE.items() if metric.family == "headline"]


def names(family: Family | None = None) -> list[str]:
    """Every catalogued name, or those of one family."""
    return [n for n, m in CATALOGUE.items() if family is None or m.family == family]
