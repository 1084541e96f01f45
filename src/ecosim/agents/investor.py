"""Investors: back academic spin-offs at the late gates, take a share of market value, reinvest it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent

from ecosim.network import FINANCE

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel

MAX_NEW_DEALS_PER_QUARTER = 3


class Investor(FixedAgent):
    """A venture (spin-off) investor with a fund, a readiness floor and a value hurdle.

    Its fund is refilled every quarter by ``policy.finance.fund_inflow_per_quarter`` of new
    private money (limited partners' commitments), so at all times
    ``fund + invested == start + inflow + returns``.
    """

    def __init__(self, model: EcosystemModel, region: int, fund: float):
        super().__init__(model)
        self.region = region
        self.fund = fund
        self.start = fund
        self.inflow = 0.0
        self.invested = 0.0
        self.returns = 0.0
        self.portfolio: list[int] = []

    def back_projects(self) -> None:
        """Take the quarter's inflow, then back the best due G2–G3 academic technologies of its region.

        Candidates are untransferred university or joint technologies that clear the
        readiness floor and the value hurdle (:meth:`EcosystemModel.investment_candidates`).
        A backed technology gets ``investment_share`` of each G2–G3 attempt's cost paid, while
        the fund holds it, and becomes a spin-off when it passes its first backed gate.
        """
        model, s = self.model, self.model.scenario
        fin = s.policy.finance
        self.receive_inflow(fin.fund_inflow_per_quarter)
        candidates = model.investment_candidates(self.region)
        if candidates.size == 0:
            return
        t = model.pipeline.table
        candidates = candidates[t.col("investor")[candidates] < 0]
        order = candidates[np.argsort(-t.col("appraised")[candidates], kind="stable")]
        cost = np.asarray(s.technology.gate_cost)
        for row in order[:MAX_NEW_DEALS_PER_QUARTER]:
            need = fin.investment_share * cost[t.col("gate")[row]]
            if need > self.fund:
                break
            t.col("investor")[row] = self.cell.coordinate
            self.portfolio.append(int(row))
            model.network.strengthen(self.cell.coordinate, int(t.col("holder")[row]), FINANCE,
                                     s.network.deal_strengthening, model.steps)

    def pay(self, amount: float) -> bool:
        """Pay a share of a gate's cost from the fund; False (and nothing paid) if the fund is short."""
        if amount > self.fund:
            return False
        self.fund -= amount
        self.invested += amount
        return True

    def receive_inflow(self, amount: float) -> None:
        """New private money paid into the fund (not public spending)."""
        self.fund += amount
        self.inflow += amount

    def receive(self, amount: float) -> None:
        """A backed technology reached market: take the return and reinvest it."""
        self.fund += amount
        self.returns += amount
