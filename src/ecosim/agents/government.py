"""Governments, one per region: allocate the budget over instruments and account for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent

from ecosim.network import TieKind
from ecosim.pipeline import Cause, DealMode, Owner, Status
from ecosim.rules import get_rule
from ecosim.rules.budget_allocation import INSTRUMENTS, BudgetInputs
from ecosim.rules.poc_allocation import PocInputs
from ecosim.transfer import payer_of

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel


FAIR_TIE_MIN_FIT = 0.7  # a fair contact becomes a tie only when the technology fits its need well


class Government(FixedAgent):
    """A region's government: budget pools per instrument and the money they spent.

    Money is conserved: ``allocated = spent + Σ pools`` at all times.
    """

    def __init__(self, model: EcosystemModel, region: int):
        super().__init__(model)
        self.region = region
        self.pools = {k: 0.0 for k in INSTRUMENTS}
        self.spent = {k: 0.0 for k in INSTRUMENTS}
        self.allocated = 0.0
        self.deals_by_instrument = {k: 0.0 for k in INSTRUMENTS}  # smoothed over about a year
        self.recent_spending = {k: 0.0 for k in INSTRUMENTS}  # smoothed the same way

    @property
    def spent_total(self) -> float:
        """All money this government has spent, M¥."""
        return sum(self.spent.values())

    def spend(self, instrument: str, amount: float) -> None:
        """Pay ``amount`` from an instrument's pool (never more than the pool holds)."""
        if amount > self.pools[instrument] + 1e-9:
            raise ValueError(f"{instrument} pool holds {self.pools[instrument]:.3f}, cannot pay {amount:.3f}")
        amount = min(amount, self.pools[instrument])
        self.pools[instrument] -= amount
        self.spent[instrument] += amount
        self.recent_spending[instrument] += amount
        self.model.accounts.public_spending_step += amount
        self.model.accounts.instrument_spending_step[instrument] += amount

    def allocate(self) -> None:
        """Split this quarter's budget (budget rule), pay research grants and manager training."""
        model, s = self.model, self.model.scenario
        rule = get_rule("budget_allocation", s.rules.budget_allocation)
        shares = {k: getattr(s.budget, k) for k in INSTRUMENTS}
        spent = {k: max(self.recent_spending[k], 1e-9) for k in INSTRUMENTS}
        money = rule(
            BudgetInputs(
                budget=s.budget.per_quarter,
                shares=shares,
                deals_per_yuan={k: self.deals_by_instrument[k] / spent[k] for k in INSTRUMENTS},
                rng=model.rng,
            )
        )
        total = sum(money.values())
        if total > s.budget.per_quarter * (1 + 1e-9) or min(money.values()) < 0:
            raise ValueError(f"budget rule {s.rules.budget_allocation!r} allocated {total:.3f} of {s.budget.per_quarter:.3f}")
        for k in INSTRUMENTS:
            self.pools[k] += money[k]
        self.allocated += total
        for k in INSTRUMENTS:
            self.deals_by_instrument[k] *= 0.75
            self.recent_spending[k] *= 0.75
        self._pay_research_grants()
        self._pay_manager_training()

    def _pay_research_grants(self) -> None:
        universities = self.model.universities_by_region[self.region]
        money = self.pools["research_grants"]
        if not universities or money <= 0:
            return
        quality = np.array([u.quality for u in universities])
        for u, share in zip(universities, quality / quality.sum(), strict=False):
            u.grant_this_quarter = money * share
        self.spend("research_grants", money)

    def _pay_manager_training(self) -> None:
        managers = self.model.managers_by_region[self.region]
        money = self.pools["manager_programme"]
        if not managers or money <= 0:
            return
        each = money / len(managers)
        for m in managers:
            m.train(each)
        self.spend("manager_programme", money)

    def fund_proof_of_concept(self) -> None:
        """Give PoC grants to eligible university technologies of the region (PoC rule).

        Eligible: active, untransferred, university-owned, not yet funded, at G1 or G2 within
        the TRL window and — with ``additionality`` — waiting after a failure to find money
        or a partner, so that the fund pays for what the market did not take as it stands.
        """
        model, s = self.model, self.model.scenario
        poc = s.policy.proof_of_concept
        if poc.grant_size <= 0 or self.pools["proof_of_concept"] < poc.grant_size:
            return
        t = model.pipeline.table
        low, high = poc.trl_window
        eligible = np.flatnonzero(
            (t.col("status") == Status.ACTIVE)
            & (t.col("deal_mode") == DealMode.NO_DEAL)
            & (t.col("owner_type") == Owner.UNIVERSITY)  # joint projects already have industry money
            & ~t.col("poc_funded")
            & (t.col("region") == self.region)
            & (t.col("trl") >= low)
            & (t.col("trl") <= high)
            & (t.col("gate") <= 1)
        )
        if poc.additionality:  # fund what the market did not take as it stands, not the sure winners
            eligible = eligible[t.col("waiting_since")[eligible] >= 0]
        if eligible.size == 0:
            return
        rule = get_rule("poc_allocation", s.rules.poc_allocation)
        order = rule(
            PocInputs(
                appraised_value=t.col("appraised")[eligible],
                trl=t.col("trl")[eligible],
                age_quarters=model.steps - t.col("birth")[eligible],
                managed=t.col("manager")[eligible] >= 0,
                budget=self.pools["proof_of_concept"],
                grant_size=poc.grant_size,
                threshold_log=poc.selection_threshold_log,
                rng=model.rng,
            )
        )
        pool = self.pools["proof_of_concept"]
        affordable = eligible.size if pool >= poc.grant_size * eligible.size else int(pool // poc.grant_size)
        chosen = eligible[np.asarray(order, dtype=np.int64)[:affordable]]
        model.accounts.poc_fund_short += int(affordable < min(len(order), eligible.size))
        if chosen.size:
            t.col("poc_funded")[chosen] = True
            t.col("grant_left")[chosen] = poc.grant_size
            self.spend("proof_of_concept", poc.grant_size * chosen.size)
            run_prototype_tests(model, chosen)

    def hold_fair(self) -> None:
        """On fair quarters: owners decide to apply, experts review and select, the selected meet enterprises.

        An owner applies when what it expects to gain — the selection rate times its royalty
        share of the believed value — exceeds the application cost, and its fund can pay the
        cost. Experts review at most ``expert_reviews`` applications (the rest are not
        reviewed), rank them by an appraisal with half the unmanaged error and select the
        expert selection rate of those reviewed (an input, FACTS F10). Each selected
        technology meets enterprises (a share from other regions); those contacts stay in its
        reach while a fair tie would (:func:`ecosim.model.fair_contact_lifetime`), and its
        holder gets a weak tie to those whose need it fits.
        """
        model, s = self.model, self.model.scenario
        fair = s.policy.fairs
        if fair.interval_quarters == 0 or model.steps % fair.interval_quarters != 0:
            return
        if self.pools["fairs"] < fair.cost_per_fair:
            return
        t = model.pipeline.table
        open_rows = np.flatnonzero(
            (t.col("status") == Status.ACTIVE) & (t.col("deal_mode") == DealMode.NO_DEAL) & (t.col("region") == self.region)
            & ~t.col("fair_selected")
        )
        self.spend("fairs", fair.cost_per_fair)
        believed = model.pipeline.believed_value(open_rows)
        expected_gain = fair.expert_selection_rate * s.technology.royalty_share * believed
        keen = expected_gain > fair.application_cost
        applicants = open_rows[keen]
        if fair.application_cost > 0 and applicants.size:
            paid = model.funds.pay_in_order(
                payer_of(model, applicants, np.ones(applicants.size, bool)), believed[keen],
                np.full(applicants.size, fair.application_cost),
            )
            applicants = applicants[paid]
        model.accounts.fair_applicants += applicants.size
        if applicants.size > fair.expert_reviews:
            applicants = np.sort(model.rng.choice(applicants, fair.expert_reviews, replace=False))
        model.accounts.fair_reviewed += applicants.size
        if applicants.size == 0:
            return
        tech = s.technology
        sigma = tech.appraisal_sigma_min + 0.5 * tech.appraisal_sigma_0
        expert_view = np.log(t.col("value")[applicants]) + sigma * model.rng.standard_normal(applicants.size)
        n_selected = int(round(fair.expert_selection_rate * applicants.size))
        selected = applicants[np.argsort(-expert_view, kind="stable")[:n_selected]]
        model.accounts.fair_selected += selected.size
        t.col("fair_selected")[selected] = True
        t.col("fair_step")[selected] = model.steps
        k = fair.contacts_per_selected
        if selected.size == 0 or k == 0:
            return
        pop = model.enterprises
        met = pop.sample(self.region, selected.size * k, fair.foreign_share, model.rng).reshape(selected.size, k)
        fit = np.einsum("id,ikd->ik", t.knowledge[selected], pop.need[met])
        t.fair_contacts.update(zip(selected.tolist(), met, strict=False))  # repeats are counted once at matching
        # contacts who see a good fit exchange cards: a weak tie to the holder (each pair once)
        holders = np.repeat(t.col("holder")[selected], k).reshape(selected.size, k)
        good = fit >= FAIR_TIE_MIN_FIT
        pairs = np.unique(np.stack([holders[good], pop.node[met[good]]]), axis=1)
        model.network.strengthen_many(pairs[0], pairs[1], TieKind.COLLABORATION, s.network.fair_tie_weight, model.steps)


def run_prototype_tests(model: EcosystemModel, rows: np.ndarray) -> None:
    """A PoC grant buys a prototype test that may reveal the technology's G2 (valley-of-death) viability.

    With probability ``min(1, grant / full_test_cost)`` the test is conclusive: a technology
    that would fail G2 technically is stopped now, before its G1 and G2 costs are spent
    (recorded as a technical failure at its current gate, ``stopped_by_poc``); one that will
    pass is marked ``revealed_g2``, so payers and adopters value it without the G2 risk
    (:meth:`ecosim.pipeline.Pipeline.believed_value`). Otherwise the grant only pays costs.
    """
    poc = model.scenario.policy.proof_of_concept
    t, pipe = model.pipeline.table, model.pipeline
    conclusive = rows[model.rng.random(rows.size) < min(1.0, poc.grant_size / poc.full_test_cost)]
    if conclusive.size == 0:
        return
    field = t.col("field")[conclusive].astype(np.int64)
    passes_g2 = t.viability[conclusive, 1] < pipe.technical_success[field, 1]
    t.col("revealed_g2")[conclusive[passes_g2]] = True
    stopped = conclusive[~passes_g2]
    t.col("stopped_by_poc")[stopped] = True
    t.col("grant_left")[stopped] = 0.0
    t.col("status")[stopped] = Status.FAILED
    t.col("fail_gate")[stopped] = t.col("gate")[stopped]
    t.col("fail_cause")[stopped] = Cause.TECHNICAL
    t.col("end_step")[stopped] = model.steps
    np.add.at(model.accounts.failures_step, (t.col("gate")[stopped].astype(np.int64), Cause.TECHNICAL), 1)
