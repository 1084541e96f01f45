"""Development funds: payers pay gate costs best-first while their fund lasts (ecosim.funding)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecosim.funding import DevelopmentFunds


def test_a_fund_starts_with_its_reserve_and_refills_up_to_the_cap():
    funds = DevelopmentFunds(np.array([1.0, 0.5, 0.0]), reserve_quarters=3)
    np.testing.assert_allclose(funds.balance, [3.0, 1.5, 0.0])
    funds.pay_in_order(np.array([0]), np.array([1.0]), np.array([2.5]))
    funds.refill()
    np.testing.assert_allclose(funds.balance, [1.5, 1.5, 0.0])  # a full fund takes no more
    funds.refill()
    funds.refill()
    np.testing.assert_allclose(funds.balance, [3.0, 1.5, 0.0])  # never above three quarters of inflow


def test_a_fund_founded_empty_fills_at_its_inflow_up_to_the_cap():
    funds = DevelopmentFunds(np.array([1.0, 0.5]), reserve_quarters=3, founding_share=0.0)
    np.testing.assert_allclose(funds.balance, [0.0, 0.0])
    np.testing.assert_allclose(funds.received, [0.0, 0.0])  # the founding reserve counts as received
    for _ in range(5):
        funds.refill()
    np.testing.assert_allclose(funds.balance, [3.0, 1.5])  # full after reserve_quarters refills
    np.testing.assert_allclose(funds.received, [3.0, 1.5])
    half = DevelopmentFunds(np.array([2.0]), reserve_quarters=4, founding_share=0.5)
    np.testing.assert_allclose(half.balance, [4.0])


def test_the_founding_reserve_share_reaches_the_model_and_changes_the_run():
    from conftest import small_scenario
    from ecosim.model import EcosystemModel, simulate

    empty, full = small_scenario(), small_scenario(technology__founding_reserve_share=1.0)
    model = EcosystemModel(empty, seed=3)  # the default world's payers are founded empty
    assert model.funds.balance.sum() == 0.0 and model.funds.cap.sum() > 0
    assert np.allclose(EcosystemModel(full, seed=3).funds.balance, model.funds.cap)
    assert not simulate(full, seed=3).steps.equals(simulate(empty, seed=3).steps)


def test_extra_money_is_added_above_the_cap_and_kept_by_a_refill():
    funds = DevelopmentFunds(np.array([1.0]), reserve_quarters=2)
    funds.add(0, 5.0)  # licensing income
    funds.refill()
    assert funds.balance[0] == pytest.approx(7.0)  # a refill does not take money away


def test_each_payer_pays_its_requests_in_order_of_priority():
    funds = DevelopmentFunds(np.array([1.0, 1.0]), reserve_quarters=1)
    payer = np.array([0, 0, 0, 1, 1])
    priority = np.array([1.0, 3.0, 2.0, 5.0, 9.0])
    amount = np.array([0.4, 0.4, 0.4, 0.7, 0.7])
    paid = funds.pay_in_order(payer, priority, amount)
    # payer 0 can pay two of its three 0.4 requests: the two it believes best (priorities 3, 2);
    # payer 1 one of its two: priority 9
    assert paid.tolist() == [False, True, True, False, True]
    np.testing.assert_allclose(funds.balance, [0.2, 0.3])
    np.testing.assert_allclose(funds.spent, [0.8, 0.7])


def test_a_payer_stops_at_the_first_request_it_cannot_afford():
    """It does not skip down its list to cheaper, less promising requests."""
    funds = DevelopmentFunds(np.array([1.0]), reserve_quarters=1)
    paid = funds.pay_in_order(np.zeros(3, int), np.array([3.0, 2.0, 1.0]), np.array([0.5, 0.8, 0.1]))
    assert paid.tolist() == [True, False, False]
    assert funds.balance[0] == pytest.approx(0.5)


def test_paying_nothing_changes_nothing():
    funds = DevelopmentFunds(np.array([1.0]), reserve_quarters=2)
    assert funds.pay_in_order(np.zeros(0, int), np.zeros(0), np.zeros(0)).size == 0
    assert funds.balance[0] == 2.0 and funds.spent[0] == 0.0


requests = st.lists(
    st.tuples(st.integers(0, 3), st.floats(-100, 100, allow_nan=False), st.floats(0.0, 5.0)),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(
    inflow=st.lists(st.floats(0.0, 5.0), min_size=4, max_size=4),
    reserve=st.integers(1, 5),
    batches=st.lists(requests, min_size=1, max_size=4),
)
def test_funds_pay_best_first_never_go_negative_and_conserve_money(inflow, reserve, batches):
    funds = DevelopmentFunds(np.array(inflow), reserve_quarters=reserve)
    for batch in batches:
        funds.refill()
        payer = np.array([r[0] for r in batch], dtype=np.int64)
        priority = np.array([r[1] for r in batch], dtype=float)
        amount = np.array([r[2] for r in batch], dtype=float)
        before = funds.balance.copy()
        paid = funds.pay_in_order(payer, priority, amount)
        assert (funds.balance >= -1e-9).all()
        # each payer is charged exactly what it paid
        charged = np.bincount(payer[paid], weights=amount[paid], minlength=4)
        np.testing.assert_allclose(before - funds.balance, charged, atol=1e-9)
        for p in range(4):
            mine = np.flatnonzero(payer == p)
            order = mine[np.argsort(-priority[mine], kind="stable")]
            # paid requests are a prefix of the payer's list, best first; the first one left
            # unpaid did not fit in what remained
            flags = paid[order]
            k = int(flags.sum())
            assert flags[:k].all() and not flags[k:].any()
            if k < order.size:
                assert amount[order[:k]].sum() + amount[order[k]] > before[p] - 1e-12
        # money in the funds is what came in less what was spent
        np.testing.assert_allclose(funds.balance + funds.spent, funds.received, rtol=1e-9, atol=1e-9)
