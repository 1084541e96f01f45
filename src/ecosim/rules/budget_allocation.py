"""Government budget allocation: how a region's quarterly budget is split over instruments.

Called once per government per quarter. Returns the money (M¥) for each instrument; the sum
must not exceed the budget (what is not allocated is not spent).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecosim.rules import register

INSTRUMENTS = ("research_grants", "proof_of_concept", "manager_programme", "joint_rnd", "fairs")


@dataclass
class BudgetInputs:
    """What a government knows when it splits its budget.

    Attributes
    ----------
    budget : money this quarter, M¥
    shares : the scenario's shares per instrument (sum ≤ 1)
    deals_per_yuan : conversions per M¥ each instrument bought over the past year (0 if none)
    rng : the model's random generator
    """

    budget: float
    shares: dict[str, float]
    deals_per_yuan: dict[str, float]
    rng: np.random.Generator


@register("budget_allocation", "fixed_shares")
def fixed_shares(x: BudgetInputs) -> dict[str, float]:
    """Split the budget by the scenario's shares, every quarter the same."""
    return {k: x.budget * x.shares[k] for k in INSTRUMENTS}


@register("budget_allocation", "performance_based")
def performance_based(x: BudgetInputs) -> dict[str, float]:
    """Keep research grants fixed; move the transfer instruments' money toward what bought deals.

    Half of the transfer instruments' money follows the scenario's shares, half is split in
    proportion to each instrument's deals per M¥ over the past year.
    """
    money = fixed_shares(x)
    transfer = [k for k in INSTRUMENTS if k != "research_grants"]
    pot = sum(money[k] for k in transfer)
    perf = np.array([x.deals_per_yuan.get(k, 0.0) for k in transfer])
    if pot <= 0 or perf.sum() <= 0:
        return money
    for k, p in zip(transfer, perf / perf.sum(), strict=True):
        money[k] = 0.5 * money[k] + 0.5 * pot * p
    return money


@register("budget_allocation", "equal_split")
def equal_split(x: BudgetInputs) -> dict[str, float]:
    """Split the allocated total equally over the instruments the scenario funds at all."""
    funded = [k for k in INSTRUMENTS if x.shares[k] > 0]
    total = x.budget * sum(x.shares.values())
    return {k: (total / len(funded) if k in funded else 0.0) for k in INSTRUMENTS}
