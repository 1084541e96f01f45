"""Governments, one per region: allocate the budget over instruments and account for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent

from ecosim.network import COLLABORATION
from ecosim.pipeline import ACTIVE, NO_DEAL
from ecosim.pipeline import ENTERPRISE as ENTERPRISE_OWNED
from ecosim.rules import get_rule
from ecosim.rules.budget_allocation import INSTRUMENTS, BudgetInputs
from ecosim.rules.poc_allocation import PocInputs

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
        """Give PoC grants to eligible university technologies of the region (PoC rule)."""
        model, s = self.model, self.model.scenario
        poc = s.policy.proof_of_concept
        if poc.grant_size <= 0 or self.pools["proof_of_concept"] < poc.grant_size:
            return
        t = model.pipeline.table
        low, high = poc.trl_window
        eligible = np.flatnonzero(
            (t.col("status") == ACTIVE)
            & (t.col("deal_mode") == NO_DEAL)
            & (t.col("owner_type") != ENTERPRISE_OWNED)
            & ~t.col("poc_funded")
            & (t.col("region") == self.region)
            & (t.col("trl") >= low)
            & (t.col("trl") <= high)
            & (t.col("gate") <= 1)
        )
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
        if chosen.size:
            t.col("poc_funded")[chosen] = True
            self.spend("proof_of_concept", poc.grant_size * chosen.size)

    def hold_fair(self) -> None:
        """On fair quarters: experts select the best applicants, who meet enterprises.

        Applicants are the region's untransferred active technologies; experts rank them by
        an appraisal with half the unmanaged error and select the expert selection rate
        (FACTS F10). Each selected technology meets enterprises (a share from other regions),
        who stay in its reach; its holder gets a weak tie to those whose need it fits.
        """
        model, s = self.model, self.model.scenario
        fair = s.policy.fairs
        if fair.interval_quarters == 0 or model.steps % fair.interval_quarters != 0:
            return
        if self.pools["fairs"] < fair.cost_per_fair:
            return
        t = model.pipeline.table
        applicants = np.flatnonzero(
            (t.col("status") == ACTIVE) & (t.col("deal_mode") == NO_DEAL) & (t.col("region") == self.region)
            & ~t.col("fair_selected")
        )
        self.spend("fairs", fair.cost_per_fair)
        model.accounts.fair_applicants += applicants.size
        if applicants.size == 0:
            return
        tech = s.technology
        sigma = tech.appraisal_sigma_min + 0.5 * tech.appraisal_sigma_0
        expert_view = np.log(t.col("value")[applicants]) + sigma * model.rng.standard_normal(applicants.size)
        n_selected = int(round(fair.expert_selection_rate * applicants.size))
        selected = applicants[np.argsort(-expert_view, kind="stable")[:n_selected]]
        model.accounts.fair_selected += selected.size
        t.col("fair_selected")[selected] = True
        k = fair.contacts_per_selected
        if selected.size == 0 or k == 0:
            return
        met = model.sample_enterprises(self.region, selected.size * k, fair.foreign_share).reshape(selected.size, k)
        pop = model.enterprises
        fit = np.einsum("id,ikd->ik", t.knowledge[selected], pop.need[met])
        t.fair_contacts.update(zip(selected.tolist(), met, strict=False))  # repeats are counted once at matching
        # contacts who see a good fit exchange cards: a weak tie to the holder (each pair once)
        holders = np.repeat(t.col("holder")[selected], k).reshape(selected.size, k)
        good = fit >= FAIR_TIE_MIN_FIT
        pairs = np.unique(np.stack([holders[good], pop.node[met[good]]]), axis=1)
        model.network.strengthen_many(pairs[0], pairs[1], COLLABORATION, s.network.fair_tie_weight, model.steps)
