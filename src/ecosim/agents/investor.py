"""Investors: back academic spin-offs at the late gates, take a share of market value, reinvest it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent

from ecosim.network import TieKind
from ecosim.pipeline import DealMode, Owner, group_rows

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel

MAX_NEW_DEALS_PER_QUARTER = 3
INVESTOR_BACKS = (0, 1)  # gates (G1, G2) at which a spin-off investor takes on a new project


class Investor(FixedAgent):
    """A venture (spin-off) investor with a fund, a readiness floor and a value hurdle.

    Its fund is refilled every quarter by ``policy.finance.fund_inflow_per_quarter`` of new
    private money (limited partners' commitments) and by returns from backed technologies
    that reach market; money above the fund's target size (``fund_per_investor``) is
    distributed to its backers. At all times
    ``fund + invested + distributed == start + inflow + returns``.
    """

    def __init__(self, model: EcosystemModel, region: int, fund: float):
        super().__init__(model)
        self.region = region
        self.fund = fund
        self.start = fund
        self.inflow = 0.0
        self.invested = 0.0
        self.returns = 0.0
        self.distributed = 0.0
        self.portfolio: list[int] = []

    def back_projects(self) -> None:
        """Take the quarter's inflow, then back the best due G2–G3 academic technologies of its region.

        Candidates are untransferred university technologies that clear the readiness floor
        and the value hurdle (:func:`prepare_investment`) and that the investor hears of: their
        university, or the technology manager carrying them, is tied to the investor (the
        managers-plus-finance channel). A backed technology gets ``investment_share`` of each
        G1–G3 attempt's cost paid, while the fund holds it, and becomes a spin-off when it
        passes its first backed gate.
        """
        model, s = self.model, self.model.scenario
        fin = s.policy.finance
        self.receive_inflow(fin.fund_inflow_per_quarter)
        candidates = model.investable.get(self.region)
        if candidates is None or candidates.size == 0:
            return
        t = model.pipeline.table
        known = np.fromiter(self.cell.connections.keys(), np.int64, len(self.cell.connections))
        heard = np.isin(t.col("holder")[candidates], known) | np.isin(t.col("manager")[candidates], known)
        candidates = candidates[heard & (t.col("investor")[candidates] < 0)]
        order = candidates[np.argsort(-t.col("appraised")[candidates], kind="stable")]
        cost = np.asarray(s.technology.gate_cost)
        for row in order[:MAX_NEW_DEALS_PER_QUARTER]:
            need = fin.investment_share * cost[t.col("gate")[row]]
            if need > self.fund:
                break
            t.col("investor")[row] = self.cell.coordinate
            self.portfolio.append(int(row))
            model.network.strengthen(self.cell.coordinate, int(t.col("holder")[row]), TieKind.FINANCE,
                                     s.network.deal_strengthening, model.steps)

    def pay(self, amount: float) -> bool:
        """Pay a share of a gate's cost from the fund; False (and nothing paid) if the fund is short."""
        if amount > self.fund:
            return False
        self.fund -= amount
        self.invested += amount
        return True

    def receive_inflow(self, amount: float) -> None:
        """New private money paid into the fund (not public spending), up to the fund's target size."""
        amount = min(amount, max(self.model.scenario.policy.finance.fund_per_investor - self.fund, 0.0))
        self.fund += amount
        self.inflow += amount

    def receive(self, amount: float) -> None:
        """A backed technology reached market: take the return into the fund (up to its target)."""
        self.fund += amount
        self.returns += amount
        self._distribute_excess()

    def _distribute_excess(self) -> None:
        target = self.model.scenario.policy.finance.fund_per_investor
        if self.fund > target:
            self.distributed += self.fund - target
            self.fund = target


def prepare_investment(model: EcosystemModel) -> None:
    """Index this quarter's investable technologies by region (``model.investable``).

    Untransferred university technologies due at G1 or G2 this quarter, at or above the
    investors' readiness floor, appraised at or above their value hurdle, not yet backed.
    """
    fin = model.scenario.policy.finance
    t = model.pipeline.table
    due = model.pipeline.due()
    ok = (
        np.isin(t.col("gate")[due], INVESTOR_BACKS)
        & (t.col("deal_mode")[due] == DealMode.NO_DEAL)
        & (t.col("owner_type")[due] == Owner.UNIVERSITY)
        & (t.col("trl")[due] >= fin.min_trl)
        & (t.col("appraised")[due] >= fin.value_hurdle)
        & (t.col("investor")[due] < 0)
    )
    due = due[ok]
    model.investable = group_rows(due, t.col("region")[due].astype(np.int64))
