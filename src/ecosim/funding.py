"""Money for gate attempts: the payers' development funds, and paying in order of belief.

A gate attempt costs money (``technology.gate_cost``). Part may come from outside — a PoC
grant, a backing investor — and the rest from the **payer**: the university's transfer office
for an untransferred university technology, the partner enterprise for an untransferred
joint one, the holding enterprise otherwise. Each payer has a fund refilled every quarter
(a transfer budget, a share of an enterprise's R&D budget) and capped at a few quarters of
its inflow, so money runs out: a payer pays for the technologies it believes best first
(:meth:`DevelopmentFunds.pay_in_order`), and an over-appraised technology takes money from a
better one. That is what gives appraisal accuracy (technology managers) its value.
"""

from __future__ import annotations

import numpy as np


class DevelopmentFunds:
    """Money each node holds for gate costs (M¥), indexed by node id.

    Parameters
    ----------
    inflow : money paid in per quarter, per node (0 for nodes that never pay)
    reserve_quarters : the fund keeps at most this many quarters of inflow; a refill never
        lifts it above that (money already there is not taken away)
    founding_share : the share of the cap each fund holds at the start (1: founded full)

    Examples
    --------
    >>> import numpy as np
    >>> funds = DevelopmentFunds(np.array([1.0, 2.0]), reserve_quarters=2)
    >>> funds.balance.tolist()
    [2.0, 4.0]
    >>> funds.pay_in_order(np.array([0, 0, 0]), np.array([3.0, 2.0, 1.0]), np.array([1.5, 0.4, 0.2])).tolist()
    [True, False, False]
    >>> funds.balance.tolist()
    [0.5, 4.0]
    """

    def __init__(self, inflow: np.ndarray, reserve_quarters: int, founding_share: float = 1.0):
        self.inflow = np.asarray(inflow, dtype=float).copy()
        self.cap = self.inflow * reserve_quarters
        self.balance = self.cap * founding_share
        self.spent = np.zeros_like(self.inflow)
        self.received = self.balance.copy()

    def refill(self) -> None:
        """This quarter's inflow, up to the cap."""
        topped = np.minimum(self.balance + self.inflow, np.maximum(self.cap, self.balance))
        self.received += topped - self.balance
        self.balance = topped

    def add(self, nodes: np.ndarray | int, amount: np.ndarray | float) -> None:
        """Extra money (e.g. licensing income) paid into the funds of ``nodes`` (no cap)."""
        nodes = np.atleast_1d(np.asarray(nodes, np.int64))
        amount = np.broadcast_to(np.asarray(amount, float), nodes.shape)
        np.add.at(self.balance, nodes, amount)
        np.add.at(self.received, nodes, amount)

    def pay_in_order(self, payer: np.ndarray, priority: np.ndarray, amount: np.ndarray) -> np.ndarray:
        """Each payer pays its requests in order of ``priority`` (highest first) while its fund lasts.

        A payer stops at the first request it cannot afford (it does not skip to cheaper
        ones further down its list). Returns a boolean mask of the requests paid; the funds
        are charged.
        """
        payer = np.asarray(payer, np.int64)
        amount = np.asarray(amount, float)
        paid = np.zeros(payer.size, dtype=bool)
        if payer.size == 0:
            return paid
        order = np.lexsort((-np.asarray(priority, float), payer))
        p, a = payer[order], amount[order]
        cumulative = np.cumsum(a)
        starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
        before = np.repeat(cumulative[starts] - a[starts], np.diff(np.r_[starts, p.size]))
        within = cumulative - before  # each payer's running total, in its priority order
        ok = within <= self.balance[p] + 1e-12  # running totals only grow: past the first miss, all miss
        paid[order[ok]] = True
        np.add.at(self.balance, p[ok], -a[ok])
        np.add.at(self.spent, p[ok], a[ok])
        return paid
