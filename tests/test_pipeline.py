"""The technology table and the stage gates: P(pass) = T · F · M, causes, disclosure, maturation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecosim.pipeline import (
    GATE_END_TRL,
    Cause,
    Owner,
    Pipeline,
    Status,
    TechnologyTable,
    appraisal_sigma,
    funding_probability,
    gate_for_trl,
    gate_outcomes,
    matching_probability,
    raised_fit,
)
from ecosim.scenario import Scenario, apply_overrides

unit = st.floats(0.0, 1.0, allow_nan=False)
positive = st.floats(1e-3, 1e4, allow_nan=False)


# ------------------------------------------------------------------ gate probabilities


def test_next_gate_follows_readiness():
    assert list(gate_for_trl(np.array([3, 4, 5, 6, 7, 8, 9]))) == [0, 1, 1, 2, 2, 3, 4]
    assert list(GATE_END_TRL) == [4, 6, 8, 9]


def test_funding_probability_is_the_logistic_of_log_value_over_cost():
    f = funding_probability(np.array([2.0]), np.array([2.0]), np.array([0.0]), 1.2)
    np.testing.assert_allclose(f, 0.5)
    f = funding_probability(np.array([np.e * 3.0]), np.array([3.0]), np.array([-1.0]), 1.5)
    np.testing.assert_allclose(f, 1 / (1 + np.exp(-0.5)))


def test_lower_effective_cost_raises_funding_probability():
    """A PoC grant or an investor lowers the cost the holder carries, so F rises."""
    value = np.full(3, 1.5)
    f = funding_probability(value, np.array([3.0, 2.0, 0.5]), np.zeros(3), 1.2)
    assert np.all(np.diff(f) > 0)


@settings(max_examples=50, deadline=None)
@given(value=positive, cost=positive, intercept=st.floats(-20, 20), slope=st.floats(0.01, 20))
def test_funding_probability_stays_in_unit_interval(value, cost, intercept, slope):
    f = funding_probability(np.array([value]), np.array([cost]), np.array([intercept]), slope)
    assert 0.0 <= f[0] <= 1.0


def test_matching_is_zero_without_reachable_partners_and_rises_with_contribution():
    m = matching_probability(np.array([1, 1, 2]), np.array([0.5, 0.5, 2.0]), 4, 0.5)
    np.testing.assert_allclose(m, [0.0, 1 - np.exp(-0.5), 1 - np.exp(-1.0), 0.0])
    assert matching_probability(np.zeros(0, int), np.zeros(0), 0, 0.5).size == 0


@settings(max_examples=50, deadline=None)
@given(contrib=st.lists(st.floats(0, 100), min_size=1, max_size=20), lam=st.floats(1e-3, 100))
def test_matching_probability_stays_in_unit_interval(contrib, lam):
    c = np.array(contrib)
    m = matching_probability(np.zeros(c.size, dtype=np.int64), c, 1, lam)
    assert 0.0 <= m[0] <= 1.0


def test_gate_outcome_causes_follow_the_work_funding_then_technical_then_matching():
    funded = np.array([False, False, False, True, True, True, True])
    viable = np.array([False, True, True, False, False, True, True])
    matched = np.array([False, False, True, False, True, False, True])
    draw = gate_outcomes(funded, viable, matched)
    # unpaid attempts fail for funding whatever their hidden technical draw (it stays unknown)
    assert list(draw.cause) == [Cause.FUNDING, Cause.FUNDING, Cause.FUNDING, Cause.TECHNICAL, Cause.TECHNICAL, Cause.MATCHING, -1]
    assert list(draw.passed) == [False, False, False, False, False, False, True]


@settings(max_examples=50, deadline=None)
@given(
    flags=st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans()), min_size=0, max_size=40),
)
def test_gate_passes_exactly_when_funded_viable_and_matched(flags):
    funded, viable, matched = (np.array([f[i] for f in flags], dtype=bool) for i in range(3))
    draw = gate_outcomes(funded, viable, matched)
    np.testing.assert_array_equal(draw.passed, funded & viable & matched)
    np.testing.assert_array_equal(draw.cause == Cause.FUNDING, ~funded)
    np.testing.assert_array_equal(draw.cause == Cause.TECHNICAL, funded & ~viable)
    np.testing.assert_array_equal(draw.cause == Cause.MATCHING, funded & viable & ~matched)
    assert draw.cause.dtype == np.int8


@settings(max_examples=25, deadline=None)
@given(technical=st.floats(0.0, 0.98), funding=unit, matching=unit, seed=st.integers(0, 2**32 - 1))
def test_pass_rate_is_t_times_f_times_m_and_never_beats_technical_success(technical, funding, matching, seed):
    rng = np.random.default_rng(seed)
    n = 20_000
    viable = rng.random(n) < technical
    draw = gate_outcomes(rng.random(n) < funding, viable, rng.random(n) < matching)
    expected = technical * funding * matching
    assert abs(draw.passed.mean() - expected) <= 5 * np.sqrt(max(expected * (1 - expected), 1e-4) / n)
    # no money and no matchmaking can pass a technology that is not technically viable
    assert not draw.passed[~viable].any()
    # the technical failures are the funded non-viable attempts: about F·(1 − T) of all
    technical_share = (draw.cause == Cause.TECHNICAL).mean()
    expected_technical = funding * (1 - technical)
    assert abs(technical_share - expected_technical) <= 5 * np.sqrt(
        max(expected_technical * (1 - expected_technical), 1e-4) / n)


def test_full_funding_and_matching_leave_exactly_the_technical_failures():
    rng = np.random.default_rng(1)
    viable = rng.random(1000) < 0.3
    draw = gate_outcomes(np.ones(1000, bool), viable, np.ones(1000, bool))
    np.testing.assert_array_equal(draw.passed, viable)
    np.testing.assert_array_equal(draw.cause == Cause.TECHNICAL, ~viable)


def test_without_funding_no_technical_failure_is_ever_observed():
    """Funding comes first: an unpaid attempt reveals nothing about its technical viability."""
    rng = np.random.default_rng(2)
    viable = rng.random(1000) < 0.3
    draw = gate_outcomes(np.zeros(1000, bool), viable, np.ones(1000, bool))
    assert (draw.cause == Cause.FUNDING).all()


# ------------------------------------------------------------------ appraisal and fit


def test_appraisal_error_shrinks_linearly_with_skill_to_the_floor():
    sigma = appraisal_sigma(np.array([0.0, 0.5, 1.0]), 0.3, 1.0)
    np.testing.assert_allclose(sigma, [1.3, 0.8, 0.3])


@settings(max_examples=50, deadline=None)
@given(s1=unit, s2=unit, sigma_min=st.floats(1e-3, 5), sigma_0=st.floats(0, 5))
def test_appraisal_error_never_below_the_floor_and_monotone_in_skill(s1, s2, sigma_min, sigma_0):
    lo, hi = sorted((s1, s2))
    assert appraisal_sigma(hi, sigma_min, sigma_0) <= appraisal_sigma(lo, sigma_min, sigma_0)
    assert appraisal_sigma(hi, sigma_min, sigma_0) >= sigma_min


def test_manager_raises_fit_by_rho_s_times_the_gap():
    np.testing.assert_allclose(raised_fit(np.array([0.2, 0.2, 1.0]), np.array([0.0, 0.5, 0.9]), 0.6),
                               [0.2, 0.2 + 0.6 * 0.5 * 0.8, 1.0])


@settings(max_examples=50, deadline=None)
@given(fit=unit, skill=unit, rho=unit)
def test_raised_fit_stays_between_fit_and_one(fit, skill, rho):
    raised = float(raised_fit(np.array([fit]), np.array([skill]), rho)[0])
    assert fit - 1e-12 <= raised <= 1.0 + 1e-12


# ------------------------------------------------------------------ the table


def test_table_grows_and_keeps_its_rows():
    table = TechnologyTable(knowledge_dims=3, capacity=2)
    first = table.append(np.eye(3)[:2], np.full((2, 4), 0.1), trl=np.array([3, 4]), value=np.array([1.0, 2.0]))
    second = table.append(np.eye(3)[2:], np.full((1, 4), 0.9), trl=np.array([5]), value=np.array([3.0]))
    assert list(first) == [0, 1] and list(second) == [2]
    assert table.n == 3 and table.capacity >= 3
    assert list(table.col("trl")) == [3, 4, 5]
    assert list(table.col("value")) == [1.0, 2.0, 3.0]
    np.testing.assert_array_equal(table.knowledge, np.eye(3))
    assert table.col("status").tolist() == [Status.RESEARCH] * 3  # default
    assert table.col("deal_mode").tolist() == [-1] * 3


def test_table_frame_has_readable_categories():
    table = TechnologyTable(knowledge_dims=2)
    table.append(np.ones((2, 2)) / np.sqrt(2), np.zeros((2, 4)), owner_type=np.array([0, 2]),
                 status=np.array([Status.ACTIVE, Status.RESEARCH]))
    frame = table.to_frame()
    assert list(frame["owner_type"]) == ["university", "enterprise"]
    assert list(frame["status"]) == ["active", "research"]
    assert frame["deal_mode"].isna().all()


def make_pipeline(scenario: Scenario | None = None, seed: int = 0):
    clock = {"now": 0}
    scenario = scenario or Scenario()
    return Pipeline(scenario, np.random.default_rng(seed), lambda: clock["now"]), clock


def disclose(pipeline, n, field=0, orientation=0.5, quality=0.5, **kw):
    dims = pipeline.scenario.world.knowledge_dims
    rng = np.random.default_rng(99)
    knowledge = rng.random((n, dims))
    knowledge /= np.linalg.norm(knowledge, axis=1, keepdims=True)
    return pipeline.disclose(owner_type=Owner.UNIVERSITY, owner=np.full(n, 1), holder=np.full(n, 1), group=np.zeros(n, int),
                             partner=np.full(n, -1), region=np.zeros(n, int), field=np.full(n, field),
                             knowledge=knowledge, orientation=np.full(n, orientation), quality=np.full(n, quality), **kw)


def test_disclosure_readiness_follows_the_scenario_shares():
    pipeline, _ = make_pipeline()
    disclose(pipeline, 20_000)
    trl = pipeline.table.col("trl")
    shares = np.bincount(trl, minlength=6)[2:6] / trl.size
    np.testing.assert_allclose(shares, Scenario().technology.disclosure_trl_probs, atol=0.015)


def test_results_below_trl3_do_research_then_enter_g1():
    scenario = apply_overrides(Scenario(), {"technology.disclosure_trl_probs": [1, 0, 0, 0],
                                            "technology.research_quarters_to_trl3": 3})
    pipeline, clock = make_pipeline(scenario)
    rows = disclose(pipeline, 10)
    t = pipeline.table
    assert (t.col("status")[rows] == Status.RESEARCH).all() and (t.col("trl")[rows] == 2).all()
    clock["now"] = 2
    assert pipeline.mature() == 0
    clock["now"] = 3
    assert pipeline.mature() == 10
    assert (t.col("status") == Status.ACTIVE).all() and (t.col("trl") == 3).all() and (t.col("gate") == 0).all()
    assert (t.col("next_attempt") == 3 + scenario.technology.gate_quarters[0]).all()


def test_active_disclosures_are_due_after_their_gate_work():
    scenario = apply_overrides(Scenario(), {"technology.disclosure_trl_probs": [0, 0, 1, 0]})  # all TRL 4: gate G2
    pipeline, clock = make_pipeline(scenario)
    disclose(pipeline, 5)
    t = pipeline.table
    assert (t.col("gate") == 1).all()
    clock["now"] = scenario.technology.gate_quarters[1] - 1
    assert pipeline.due().size == 0
    clock["now"] = scenario.technology.gate_quarters[1]
    assert pipeline.due().size == 5


def test_joint_rnd_trl_bonus_raises_readiness_at_disclosure():
    scenario = apply_overrides(Scenario(), {"technology.disclosure_trl_probs": [0, 1, 0, 0]})
    pipeline, _ = make_pipeline(scenario)
    rows = disclose(pipeline, 5, trl_bonus=2)
    assert (pipeline.table.col("trl")[rows] == 5).all()


def test_value_is_heavy_tailed_with_the_scenario_sigma():
    pipeline, _ = make_pipeline()
    disclose(pipeline, 20_000, field=3, orientation=0.5, quality=0.5)
    log_value = np.log(pipeline.table.col("value"))
    tech = Scenario().technology
    assert log_value.mean() == pytest.approx(Scenario().fields["medicine"].log_value_mean, abs=0.05)
    assert log_value.std() == pytest.approx(tech.log_value_sigma, rel=0.03)


def test_product_orientation_and_quality_raise_value():
    low, _ = make_pipeline(seed=4)
    high, _ = make_pipeline(seed=4)
    disclose(low, 5000, orientation=0.0, quality=0.2)
    disclose(high, 5000, orientation=1.0, quality=0.8)
    gap = np.log(high.table.col("value")).mean() - np.log(low.table.col("value")).mean()
    tech = Scenario().technology
    assert gap == pytest.approx(tech.orientation_value_effect * 1.0 + tech.quality_value_effect * 0.6, abs=0.01)


def test_owner_appraisal_has_the_unmanaged_error():
    pipeline, _ = make_pipeline()
    disclose(pipeline, 20_000)
    t = pipeline.table
    error = np.log(t.col("appraised")) - np.log(t.col("value"))
    np.testing.assert_allclose(error, t.col("appraisal_log_error"), atol=1e-9)
    tech = Scenario().technology
    assert error.std() == pytest.approx(tech.appraisal_sigma_min + tech.appraisal_sigma_0, rel=0.03)
    assert not t.col("managed_appraisal").any()


def test_state_counts_cover_every_technology():
    pipeline, clock = make_pipeline()
    disclose(pipeline, 50)
    counts = pipeline.state_counts()
    assert counts.size == 5 and counts.sum() == 50
