"""Reporters: the per-step table and the per-run summary.

The model adds to :class:`Accounts` as things happen; :class:`StepRecorder` turns each
quarter's flows and stocks into one tidy row; :func:`run_summary` computes the per-run row
from the technology table and the step table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecosim.pipeline import DealMode, Owner, Status
from ecosim.rules.budget_allocation import INSTRUMENTS
from ecosim.scenario import CAUSES, DEAL_MODES, GATES, OWNER_TYPES

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel

FAILURE_COLUMNS = [f"fail_{g}_{c}" for g in GATES for c in CAUSES]
SPENDING_COLUMNS = [f"spending_{k}" for k in INSTRUMENTS]
DEAL_CHANNELS = ("own", "joint_partner", "investor", "manager", "fair", "network")
"""How a deal's adopter was found: the owner itself, the joint-R&D partner, a backing investor,
a technology manager's brokerage, a fair contact, or the owner's own network (and search)."""
DEAL_COLUMNS = [f"deals_{m}" for m in DEAL_MODES]
STEP_COLUMNS = (
    ["step", "year", "quarter", "disclosures"]
    + [f"disclosures_{o}" for o in OWNER_TYPES]
    + ["publications"]
    + [f"at_{g}" for g in GATES]
    + ["deals"] + DEAL_COLUMNS
    + ["commercialisations"] + FAILURE_COLUMNS
    + ["shelved", "failed", "welfare", "licensing_income", "public_spending", "network_density",
       "manager_betweenness", "triple_helix_synergy", "mean_orientation", "mean_manager_skill"]
    + SPENDING_COLUMNS
)
"""Columns of the per-step table, in order."""

FLOW_COLUMNS = (
    ["disclosures"] + [f"disclosures_{o}" for o in OWNER_TYPES]
    + ["publications", "deals"] + DEAL_COLUMNS + ["commercialisations"] + FAILURE_COLUMNS
    + ["shelved", "failed", "welfare", "licensing_income", "public_spending"] + SPENDING_COLUMNS
)
"""Per-step columns that are flows; their run totals go into the summary under the same names."""


@dataclass
class Accounts:
    """Running tallies the agents and the pipeline add to during a quarter."""

    publications_step: int = 0
    publications_forgone_step: float = 0.0
    public_spending_step: float = 0.0
    welfare_step: float = 0.0
    licensing_income_step: float = 0.0
    commercialisations_step: int = 0
    deals_step: np.ndarray = field(default_factory=lambda: np.zeros(5, np.int64))
    failures_step: np.ndarray = field(default_factory=lambda: np.zeros((4, 3), np.int64))
    failed_attempts: np.ndarray = field(default_factory=lambda: np.zeros((4, 3), np.int64))
    # gate attempts that reached the partner search (viable and funded), and those that found
    # no partner, by owner type (university, joint, enterprise)
    partner_searches: np.ndarray = field(default_factory=lambda: np.zeros(3, np.int64))
    partner_search_failures: np.ndarray = field(default_factory=lambda: np.zeros(3, np.int64))
    enterprise_rd: float = 0.0
    university_research: float = 0.0
    fair_applicants: int = 0
    fair_reviewed: int = 0
    fair_selected: int = 0
    value_dug: int = 0
    publications_forgone: float = 0.0
    # gate costs paid from payers' own funds, by holder class (university, joint, enterprise)
    gate_spending: np.ndarray = field(default_factory=lambda: np.zeros(3))
    joint_proposals: int = 0
    # gate attempts the payer did not want to pay for, and those it wanted but could not
    # (its fund ran out), by holder class (university, joint, enterprise)
    unwilling: np.ndarray = field(default_factory=lambda: np.zeros(3, np.int64))
    fund_short: np.ndarray = field(default_factory=lambda: np.zeros(3, np.int64))
    poc_fund_short: int = 0  # region-quarters in which the PoC fund ran out before the eligible list
    training_skill_gain: float = 0.0
    manager_departures: int = 0
    instrument_spending_step: dict[str, float] = field(default_factory=lambda: dict.fromkeys(INSTRUMENTS, 0.0))

    def reset_step(self) -> None:
        """Start a new quarter's flows."""
        self.publications_forgone += self.publications_forgone_step
        self.publications_step = 0
        self.publications_forgone_step = 0.0
        self.public_spending_step = 0.0
        self.welfare_step = 0.0
        self.licensing_income_step = 0.0
        self.commercialisations_step = 0
        self.deals_step[:] = 0
        self.failures_step[:] = 0
        self.instrument_spending_step = dict.fromkeys(INSTRUMENTS, 0.0)


def entropy(counts: np.ndarray) -> float:
    """Shannon entropy in bits of a count table."""
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum()) if p.size else 0.0


def triple_helix_synergy(university: np.ndarray, industry: np.ndarray, government: np.ndarray) -> float:
    """Leydesdorff's mutual information in three dimensions, T_UIG, over deals (bits).

    ``T = H_U + H_I + H_G − H_UI − H_UG − H_IG + H_UIG``; negative values mean synergy: the
    three spheres' involvement reduces uncertainty together more than pairwise.
    """
    if university.size == 0:
        return 0.0
    cells = university.astype(int) * 4 + industry.astype(int) * 2 + government.astype(int)
    c = np.bincount(cells, minlength=8).reshape(2, 2, 2)
    h = entropy
    return (
        h(c.sum((1, 2))) + h(c.sum((0, 2))) + h(c.sum((0, 1)))
        - h(c.sum(2).ravel()) - h(c.sum(1).ravel()) - h(c.sum(0).ravel())
        + h(c.ravel())
    )


def deal_synergy(model: EcosystemModel) -> float:
    """T_UIG over all deals so far: university involved, industry adopter, government support."""
    t = model.pipeline.table
    deals = t.col("deal_mode") != DealMode.NO_DEAL
    if not deals.any():
        return 0.0
    from ecosim.network import NodeKind

    university = t.col("owner_type")[deals] != Owner.ENTERPRISE
    industry = model.layout.kind[t.col("partner")[deals]] == NodeKind.ENTERPRISE
    government = (t.col("poc_funded") | t.col("subsidised") | t.col("fair_selected") | t.col("was_managed"))[deals]
    return triple_helix_synergy(university, industry, government)


class StepRecorder:
    """Collects one row per quarter and returns the tidy per-step table."""

    def __init__(self):
        self.rows: list[dict[str, float]] = []
        self._network = {"network_density": 0.0, "manager_betweenness": 0.0}

    def record(self, model: EcosystemModel, measure_network: bool) -> None:
        """Record the quarter that just ended."""
        acc, t, pipe = model.accounts, model.pipeline.table, model.pipeline
        step = model.steps
        row: dict[str, float] = {"step": step, "year": (step - 1) // 4 + 1, "quarter": (step - 1) % 4 + 1}
        row["disclosures"] = int(pipe.disclosures_step.sum())
        for i, owner in enumerate(OWNER_TYPES):
            row[f"disclosures_{owner}"] = int(pipe.disclosures_step[i])
        row["publications"] = acc.publications_step
        active = t.col("status") == Status.ACTIVE
        gates = np.bincount(t.col("gate")[active], minlength=5)
        for g, name in enumerate(GATES):
            row[f"at_{name}"] = int(gates[g])
        row["deals"] = int(acc.deals_step.sum())
        for i, col in enumerate(DEAL_COLUMNS):
            row[col] = int(acc.deals_step[i])
        row["commercialisations"] = acc.commercialisations_step
        for g, gate in enumerate(GATES):
            for c, cause in enumerate(CAUSES):
                row[f"fail_{gate}_{cause}"] = int(acc.failures_step[g, c])
        row["failed"] = int(acc.failures_step[:, 0].sum())
        row["shelved"] = int(acc.failures_step[:, 1:].sum())
        row["welfare"] = acc.welfare_step
        row["licensing_income"] = acc.licensing_income_step
        row["public_spending"] = acc.public_spending_step
        if measure_network:
            self._network = {
                "network_density": model.network.density(),
                "manager_betweenness": model.network.manager_betweenness(
                    model.scenario.outputs.betweenness_samples, model.measurement_rng
                ),
            }
        row.update(self._network)
        row["triple_helix_synergy"] = deal_synergy(model)
        row["mean_orientation"] = float(model.groups.orientation.mean())
        row["mean_manager_skill"] = float(model.manager_skill().mean()) if model.manager_skill().size else 0.0
        for k in INSTRUMENTS:
            row[f"spending_{k}"] = acc.instrument_spending_step[k]
        self.rows.append(row)
        pipe.disclosures_step[:] = 0

    def frame(self) -> pd.DataFrame:
        """The per-step table (columns :data:`STEP_COLUMNS`)."""
        return pd.DataFrame(self.rows, columns=STEP_COLUMNS)


def _quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if values.size else float("nan")


def _share(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def top_share(values: np.ndarray, top: float = 0.1) -> float:
    """Share of the total carried by the top ``top`` fraction of values (FACTS F7)."""
    if values.size == 0 or values.sum() <= 0:
        return float("nan")
    k = max(int(np.ceil(top * values.size)), 1)
    return float(np.sort(values)[-k:].sum() / values.sum())


CUMULATIVE_ACCOUNTS = (
    "failed_attempts", "partner_searches", "partner_search_failures", "enterprise_rd", "university_research",
    "fair_applicants", "fair_reviewed", "fair_selected", "value_dug", "publications_forgone", "gate_spending",
    "joint_proposals", "poc_fund_short", "training_skill_gain", "manager_departures", "unwilling", "fund_short",
)
"""Accounts that only grow over a run; the summary counts their growth over the measured window."""


def snapshot_accounts(accounts: Accounts) -> dict[str, object]:
    """A copy of the cumulative accounts (taken at the end of the burn-in)."""
    snapshot = {name: np.copy(getattr(accounts, name)) for name in CUMULATIVE_ACCOUNTS}
    # a quarter's forgone publications join the running total only when the next quarter begins
    snapshot["publications_forgone"] = np.copy(accounts.publications_forgone + accounts.publications_forgone_step)
    return snapshot


def burn_in_quarters(model: EcosystemModel) -> int:
    """The quarters left out of the summary: ``outputs.burn_in_quarters``, or none when the run
    is not longer than the burn-in (then the whole run is measured, and the summary says so)."""
    burn_in = model.scenario.outputs.burn_in_quarters
    return burn_in if model.steps > burn_in else 0


def run_summary(model: EcosystemModel, steps: pd.DataFrame) -> dict[str, float]:
    """The per-run summary row over the measured window (see ``docs/ODD.md`` §7 for each definition).

    The window is the quarters after the burn-in (:func:`burn_in_quarters`): flows are summed
    over it, and every rate over technologies counts those disclosed in it.
    """
    t = model.pipeline.table
    s = model.scenario
    acc = model.accounts
    end = model.steps
    burn_in = burn_in_quarters(model)
    start = getattr(model, "accounts_at_burn_in", None) if burn_in else None

    def grown(name: str):
        now = getattr(acc, name)
        return now - start[name] if start is not None else now

    window = s.outputs.cohort_window_quarters
    summary: dict[str, float] = {"measured_from_quarter": float(burn_in + 1)}
    measured = steps[steps["step"] > burn_in]
    for column in FLOW_COLUMNS:
        summary[column] = float(measured[column].sum())

    born = t.col("birth")
    mine_window = born > burn_in  # technologies disclosed in the measured window
    owner = t.col("owner_type")
    converted = t.col("deal_mode") != DealMode.NO_DEAL
    deal_age = np.where(converted, t.col("deal_step") - born, np.iinfo(np.int32).max)
    for i, name in enumerate(OWNER_TYPES):
        mine = (owner == i) & mine_window
        summary[f"conversion_{name}"] = _share(converted[mine].sum(), mine.sum())
        cohort = mine & (born <= end - window)
        summary[f"cohort_conversion_{name}"] = _share((deal_age[cohort] <= window).sum(), cohort.sum())
    academic = (owner != Owner.ENTERPRISE) & mine_window
    summary["conversion_university_all"] = _share(converted[academic].sum(), academic.sum())
    summary["joint_to_university_ratio"] = _share(summary["conversion_joint"], summary["conversion_university"])

    transfer_time = (t.col("deal_step") - born)[converted & mine_window]
    market = t.col("status") == Status.MARKET
    market_time = (t.col("market_step") - born)[market & mine_window]
    summary["time_to_transfer_median"] = _quantile(transfer_time, 0.5)
    summary["time_to_transfer_p90"] = _quantile(transfer_time, 0.9)
    summary["time_to_market_median"] = _quantile(market_time, 0.5)
    summary["time_to_market_p90"] = _quantile(market_time, 0.9)

    summary["technologies"] = float(mine_window.sum())
    summary["top10_value_share"] = top_share(t.col("value")[mine_window])
    summary["welfare_per_public_yuan"] = _share(summary["welfare"], summary["public_spending"])
    summary["publications_forgone"] = float(grown("publications_forgone")) + acc.publications_forgone_step
    in_window_deal = converted & (t.col("deal_step") > burn_in)
    summary["international_deal_share"] = _share(t.col("deal_cross_region")[in_window_deal].sum(), in_window_deal.sum())

    # AUTM-style flows per disclosure, over academic disclosures of the window (F5, F6)
    mode = t.col("deal_mode")
    academic_disclosures = academic.sum()
    summary["licences_per_disclosure"] = _share(np.isin(mode[academic], (DealMode.LICENCE, DealMode.ASSIGNMENT)).sum(), academic_disclosures)
    summary["startups_per_disclosure"] = _share((mode[academic] == DealMode.SPIN_OFF).sum(), academic_disclosures)
    enterprise_rd, university_research = grown("enterprise_rd"), grown("university_research")
    summary["enterprise_rd_share"] = _share(enterprise_rd, enterprise_rd + university_research)

    # F8: medicine & health technologies entering G3 (TRL 6, the first trial in people) that
    # reach market, among those whose fate is decided
    medicine = (t.col("field") == 3) & mine_window
    entered = medicine & t.col("entered_g3") & (t.col("status") != Status.ACTIVE)
    summary["medicine_g3_to_market"] = _share((market & entered).sum(), entered.sum())

    # F9: readiness at disclosure of academic results (an input)
    trl0 = t.col("disclosure_trl")[(owner == Owner.UNIVERSITY) & mine_window]  # joint results start higher
    summary["trl3_share_at_disclosure"] = _share((trl0 == 3).sum(), trl0.size)
    summary["trl4_share_at_disclosure"] = _share((trl0 == 4).sum(), trl0.size)
    summary["fair_applicants"] = float(grown("fair_applicants"))
    summary["fair_selected"] = float(grown("fair_selected"))
    summary["fair_selection_rate"] = _share(grown("fair_selected"), grown("fair_reviewed"))

    # proof of concept: who got grants, what the tests revealed, how the funded cohort converts (F11)
    poc = t.col("poc_funded") & academic
    summary["poc_funded"] = float(poc.sum())
    summary["poc_cohort_conversion"] = _share(converted[poc].sum(), poc.sum())
    summary["poc_advantage"] = _share(summary["poc_cohort_conversion"], summary["conversion_university"])
    summary["poc_stopped_early"] = float((t.col("stopped_by_poc") & academic).sum())
    summary["poc_revealed_viable"] = float((t.col("revealed_g2") & academic).sum())
    summary["poc_fund_short_quarters"] = float(grown("poc_fund_short"))
    summary["g2_passes_academic"] = float((t.col("entered_g3") & academic).sum())
    summary["market_entries_academic"] = float((market & academic).sum())
    researchers = s.world.researchers_per_group * model.groups.orientation.size
    summary["researchers_per_manager"] = _share(researchers, len(model.manager_by_node))

    # technology managers: appraisal error, and where the payers' money went
    error = np.abs(t.col("appraisal_log_error"))
    managed = t.col("managed_appraisal") & mine_window
    unmanaged = ~t.col("managed_appraisal") & mine_window
    summary["appraisal_error_managed"] = float(error[managed].mean()) if managed.any() else float("nan")
    summary["appraisal_error_unmanaged"] = float(error[unmanaged].mean()) if unmanaged.any() else float("nan")
    summary["appraisal_error_academic"] = float(error[academic].mean()) if academic.any() else float("nan")
    status = t.col("status")
    ended_badly = (status == Status.FAILED) | (status == Status.SHELVED)
    spent = t.col("spent_by_payer")
    # (a sub-sum over the same values: clipped so that rounding in the sums cannot pass 1)
    summary["academic_spend_on_failures_share"] = min(_share(spent[academic & ended_badly & ~converted].sum(),
                                                             spent[academic].sum()), 1.0)
    unwilling, fund_short = grown("unwilling"), grown("fund_short")
    for i, name in enumerate(OWNER_TYPES):
        summary[f"attempts_unwilling_{name}"] = float(unwilling[i])
        summary[f"attempts_fund_short_{name}"] = float(fund_short[i])
    gate_spending = grown("gate_spending")
    for i, name in enumerate(OWNER_TYPES):
        summary[f"gate_spending_{name}"] = float(gate_spending[i])
    summary["managed_share_academic"] = _share((t.col("was_managed") & academic).sum(), academic.sum())
    summary["training_skill_gain"] = float(grown("training_skill_gain"))
    summary["manager_departures"] = float(grown("manager_departures"))

    failed_attempts = grown("failed_attempts")
    for c, cause in enumerate(CAUSES):
        summary[f"failed_attempts_{cause}"] = float(failed_attempts[:, c].sum())
    # matching failure rate: the share of partner searches (attempts that were paid for and
    # viable) that found no partner; academic = university and joint technologies
    searches, search_failures = grown("partner_searches"), grown("partner_search_failures")
    summary["partner_searches_academic"] = float(searches[:2].sum())
    summary["matching_failure_rate_academic"] = _share(search_failures[:2].sum(), searches[:2].sum())
    summary["matching_failure_rate_enterprise"] = _share(search_failures[2], searches[2])

    # deals by the channel that found the adopter, over deals made in the window
    channel = t.col("deal_channel")[in_window_deal]
    for i, name in enumerate(DEAL_CHANNELS):
        summary[f"deals_via_{name}"] = float((channel == i).sum())
    summary["joint_proposals"] = float(grown("joint_proposals"))
    summary["joint_projects"] = float(((owner == Owner.JOINT) & mine_window).sum())

    states = model.pipeline.state_counts()
    for name, count in zip(("in_research", "in_pipeline", "at_market", "failed_total", "shelved_total"), states, strict=False):
        summary[name] = float(count)
    summary["network_density"] = float(steps["network_density"].iloc[-1])
    summary["manager_betweenness"] = float(steps["manager_betweenness"].iloc[-1])
    summary["triple_helix_synergy"] = float(steps["triple_helix_synergy"].iloc[-1])
    summary["cross_region_tie_share"] = model.network.cross_region_share()
    summary["mean_orientation"] = float(steps["mean_orientation"].iloc[-1])
    summary["mean_manager_skill"] = float(measured["mean_manager_skill"].mean())
    allocated_at_start = getattr(model, "allocated_at_burn_in", 0.0) if burn_in else 0.0
    summary["public_money_allocated"] = float(sum(g.allocated for g in model.government_agents)) - allocated_at_start
    summary["joint_share_of_disclosures"] = _share(((owner == Owner.JOINT) & mine_window).sum(), mine_window.sum())
    summary["university_share_of_disclosures"] = _share(((owner == Owner.UNIVERSITY) & mine_window).sum(), mine_window.sum())
    return summary
