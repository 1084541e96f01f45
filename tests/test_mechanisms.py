"""The rework's mechanisms inside a real (tiny) model: prototype tests bought by PoC grants,
fading fair contacts, the burn-in window, manager turnover, forgetting and sampling enterprises.

Statistical claims use fixed seeds and explicit tolerances (several standard errors).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import PaidAttempts, small_scenario
from ecosim import transfer
from ecosim.agents.government import run_prototype_tests
from ecosim.agents.technology_manager import staff_turnover
from ecosim.metrics import FLOW_COLUMNS
from ecosim.model import EcosystemModel, fair_contact_lifetime, simulate
from ecosim.pipeline import Cause, DealMode, Owner, Status
from ecosim.rules import register
from ecosim.scenario import Scenario, apply_overrides


def fresh_model(steps: int = 0, seed: int = 2, **overrides) -> EcosystemModel:
    model = EcosystemModel(small_scenario(**overrides), seed=seed)
    for _ in range(steps):
        model.step()
    return model


def open_university_rows(model: EcosystemModel) -> np.ndarray:
    t = model.pipeline.table
    return np.flatnonzero((t.col("status") == Status.ACTIVE) & (t.col("deal_mode") == DealMode.NO_DEAL)
                          & (t.col("owner_type") == Owner.UNIVERSITY) & (t.col("gate") <= 1))


# ------------------------------------------------------------------ proof of concept: the prototype test


def test_a_conclusive_prototype_test_stops_exactly_the_technologies_whose_g2_draw_fails():
    # grant ≥ full test cost: every test is conclusive
    model = fresh_model(steps=6, policy__proof_of_concept__grant_size=0.5,
                        policy__proof_of_concept__full_test_cost=0.5)
    t, pipe = model.pipeline.table, model.pipeline
    rows = open_university_rows(model)
    rows = rows[~t.col("poc_funded")[rows]]
    assert rows.size >= 20
    field = t.col("field")[rows].astype(int)
    fails_g2 = t.viability[rows, 1] >= pipe.technical_success[field, 1]
    assert fails_g2.any() and (~fails_g2).any()
    gate_before = t.col("gate")[rows].copy()
    failures_before = model.accounts.failures_step.copy()
    t.col("grant_left")[rows] = 0.5
    run_prototype_tests(model, rows)
    stopped, viable = rows[fails_g2], rows[~fails_g2]
    # the ones that would fail G2 are stopped now, as a technical failure at their current gate
    assert t.col("stopped_by_poc")[stopped].all() and not t.col("stopped_by_poc")[viable].any()
    assert (t.col("status")[stopped] == Status.FAILED).all() and (t.col("status")[viable] == Status.ACTIVE).all()
    assert (t.col("fail_cause")[stopped] == Cause.TECHNICAL).all()
    np.testing.assert_array_equal(t.col("fail_gate")[stopped], gate_before[fails_g2])
    assert (t.col("end_step")[stopped] == model.steps).all()
    assert (t.col("grant_left")[stopped] == 0).all()  # the rest of the grant is not spent on gates
    added = model.accounts.failures_step - failures_before
    assert added[:, Cause.TECHNICAL].sum() == stopped.size and added.sum() == stopped.size
    # the ones that will pass are known to: payers and adopters value them without the G2 risk
    assert t.col("revealed_g2")[viable].all() and not t.col("revealed_g2")[stopped].any()
    t_g2 = pipe.technical_success[t.col("field")[viable].astype(int), 1]
    np.testing.assert_allclose(pipe.believed_value(viable), t.col("appraised")[viable] / t_g2)


def test_a_prototype_test_is_conclusive_with_probability_grant_over_full_test_cost():
    model = fresh_model(steps=6, policy__proof_of_concept__grant_size=0.1,
                        policy__proof_of_concept__full_test_cost=0.4)
    t = model.pipeline.table
    rows = open_university_rows(model)
    rows = rows[~t.col("poc_funded")[rows]]
    n = 0
    conclusive = 0
    for _ in range(20):  # the same technologies tested again and again: only the coin differs
        t.col("revealed_g2")[rows] = False
        t.col("stopped_by_poc")[rows] = False
        t.col("status")[rows] = Status.ACTIVE
        run_prototype_tests(model, rows)
        conclusive += int((t.col("revealed_g2")[rows] | t.col("stopped_by_poc")[rows]).sum())
        n += rows.size
    assert n >= 400
    p = 0.25
    assert conclusive / n == pytest.approx(p, abs=5 * math.sqrt(p * (1 - p) / n))


def test_an_inconclusive_prototype_test_reveals_nothing():
    model = fresh_model(steps=6, policy__proof_of_concept__grant_size=0.0,
                        policy__proof_of_concept__full_test_cost=0.5)
    t = model.pipeline.table
    rows = open_university_rows(model)
    run_prototype_tests(model, rows)
    assert not t.col("revealed_g2")[rows].any() and not t.col("stopped_by_poc")[rows].any()
    assert (t.col("status")[rows] == Status.ACTIVE).all()


def test_poc_grants_go_only_to_university_owned_technologies_and_buy_a_test():
    model = fresh_model(steps=24, policy__proof_of_concept__grant_size=0.5,
                        policy__proof_of_concept__full_test_cost=0.5,
                        budget__proof_of_concept=0.1, budget__research_grants=0.75)
    t = model.pipeline.table
    funded = t.col("poc_funded")
    assert funded.sum() > 10
    assert (t.col("owner_type")[funded] == Owner.UNIVERSITY).all()
    # every grant covered the whole test here: each funded technology is either revealed or stopped
    assert (t.col("revealed_g2")[funded] ^ t.col("stopped_by_poc")[funded]).all()
    assert not (t.col("revealed_g2") | t.col("stopped_by_poc"))[~funded].any()


# ------------------------------------------------------------------ funding first, then the technical outcome


@pytest.mark.parametrize("funding", ["scarce", "plentiful"])
def test_paid_attempts_fail_technically_at_one_minus_t_whatever_the_money(funding):
    """Funding is decided before anyone knows the technical outcome and never depends on it, so
    among paid attempts the technical failure share is the fields' ``1 − T`` — with little
    money or much (5 standard deviations)."""
    money = ({"technology__funding_intercept": [-3.0, -3.0, -3.0], "universities__transfer_budget_per_quarter": 0.1}
             if funding == "scarce" else
             {"technology__funding_intercept": [4.0, 4.0, 4.0], "universities__transfer_budget_per_quarter": 50.0})
    totals = np.zeros((2, 3))  # per gate: seen, expected, variance; pooled over seeded replications
    for seed in (0, 1, 2):
        with PaidAttempts() as paid:
            model = fresh_model(steps=24, seed=seed, **money)
        for gate in (0, 1):
            seen, expected, sd = paid.technical_failures(model, gate)
            totals[gate] += (seen, expected, sd**2)
    for gate, (seen, expected, variance) in enumerate(totals):
        assert expected > 20, f"too few paid attempts at G{gate + 1}"
        sd = np.sqrt(variance)
        assert abs(seen - expected) <= 5 * sd, f"G{gate + 1}: {seen} technical failures, expected {expected:.1f} ± {sd:.1f}"


# ------------------------------------------------------------------ fairs: contacts that fade


def test_fair_contacts_last_while_a_fair_tie_would():
    scenario = apply_overrides(Scenario(), {"network.fair_tie_weight": 0.1, "network.prune_below": 0.05,
                                            "network.decay_per_quarter": 0.03})
    # 0.1 · 0.97^q falls to 0.05 after ln 0.5 / ln 0.97 ≈ 22.8 quarters
    assert fair_contact_lifetime(scenario) == pytest.approx(math.log(0.5) / math.log(0.97))
    assert fair_contact_lifetime(apply_overrides(scenario, {"network.fair_tie_weight": 0.05})) == 0.0
    assert fair_contact_lifetime(apply_overrides(scenario, {"network.decay_per_quarter": 0.0})) == math.inf


@register("partner_search", "test_network_reach_only")
def network_reach_only(x):
    """Only the pairs reachable through ties and fair contacts: no wider search."""
    return x.network_reach()


def test_fair_contacts_expire_after_the_fair_contact_lifetime():
    model = fresh_model(steps=6, rules__partner_search="test_network_reach_only", policy__fairs__interval_quarters=0,
                        network__fair_tie_weight=0.1, network__prune_below=0.05, network__decay_per_quarter=0.25)
    lifetime = model.fair_contact_lifetime
    assert lifetime == pytest.approx(math.log(0.5) / math.log(0.75))  # ≈ 2.4 quarters
    t = model.pipeline.table
    rows = open_university_rows(model)[:2]
    assert rows.size == 2

    def reach() -> list[set[int]]:
        pos, ent, _ = transfer._reach_and_contribution(model, rows, np.ones(2, bool))
        return [set(ent[pos == i].tolist()) for i in range(2)]

    through_ties = reach()
    strangers = [e for e in range(model.enterprises.node.size) if all(e not in r for r in through_ties)][:5]
    assert len(strangers) == 5
    t.col("fair_selected")[rows] = True
    t.fair_contacts[int(rows[0])] = np.array(strangers[:3])
    t.fair_contacts[int(rows[1])] = np.array(strangers[3:])
    now = model.steps
    t.col("fair_step")[rows] = [now - 2, now - 3]  # 2 quarters ago: still in reach; 3: faded
    fresh, faded = reach()
    assert fresh == through_ties[0] | set(strangers[:3])
    assert faded == through_ties[1]
    t.col("fair_step")[rows[1]] = now
    assert reach()[1] == through_ties[1] | set(strangers[3:])


def test_fair_experts_review_at_most_their_capacity():
    result = simulate(small_scenario(steps=16, policy__fairs__interval_quarters=2, policy__fairs__expert_reviews=5,
                                     policy__fairs__application_cost=0.0), seed=4)
    s = result.summary
    fairs = 16 // 2 * 2  # every second quarter, in each of the two regions
    assert 0 < s["fair_selected"] <= fairs * math.ceil(5 * 0.136)
    assert s["fair_applicants"] > fairs * 5  # more apply than the experts can review


def test_a_dear_fair_application_deters_the_owners():
    cheap = simulate(small_scenario(steps=16, policy__fairs__interval_quarters=2,
                                    policy__fairs__application_cost=0.0), seed=4).summary
    dear = simulate(small_scenario(steps=16, policy__fairs__interval_quarters=2,
                                   policy__fairs__application_cost=1e6), seed=4).summary
    assert cheap["fair_applicants"] > 0
    assert dear["fair_applicants"] == 0 and dear["fair_selected"] == 0


# ------------------------------------------------------------------ the burn-in window


def test_summary_flows_are_the_sum_of_the_quarters_after_the_burn_in():
    scenario = small_scenario(steps=14, outputs__burn_in_quarters=6, policy__fairs__interval_quarters=2)
    model = EcosystemModel(scenario, seed=5)
    for _ in range(6):
        model.step()
    at_burn_in = {name: np.copy(getattr(model.accounts, name))
                  for name in ("fair_applicants", "fair_selected", "gate_spending", "failed_attempts")}
    for _ in range(8):
        model.step()
    steps, s = model.step_table(), model.summary()
    assert s["measured_from_quarter"] == 7
    after = steps[steps["step"] > 6]
    for column in FLOW_COLUMNS:
        assert s[column] == pytest.approx(after[column].sum()), column
    assert s["disclosures"] < steps["disclosures"].sum()  # the burn-in's quarters are left out
    # cumulative accounts count their growth after the burn-in
    assert s["fair_applicants"] == model.accounts.fair_applicants - at_burn_in["fair_applicants"]
    assert s["fair_selected"] == model.accounts.fair_selected - at_burn_in["fair_selected"]
    gate_spending = model.accounts.gate_spending - at_burn_in["gate_spending"]
    assert s["gate_spending_university"] == pytest.approx(gate_spending[0])
    failed = model.accounts.failed_attempts - at_burn_in["failed_attempts"]
    assert s["failed_attempts_funding"] == failed[:, 1].sum()
    # rates count the technologies disclosed after the burn-in
    births = model.pipeline.table.col("birth")
    assert s["technologies"] == (births > 6).sum() == s["disclosures"]


def test_a_run_no_longer_than_the_burn_in_is_measured_whole():
    result = simulate(small_scenario(steps=8, outputs__burn_in_quarters=8), seed=5)
    s, steps = result.summary, result.steps
    assert s["measured_from_quarter"] == 1
    assert s["disclosures"] == steps["disclosures"].sum() == s["technologies"] == len(result.technologies)


# ------------------------------------------------------------------ managers: turnover and training


def test_a_departing_manager_is_replaced_by_a_new_hire_with_a_starting_skill():
    model = fresh_model(policy__managers__turnover_per_quarter=1.0, policy__managers__skill_mean=0.2,
                        policy__managers__skill_sd=0.0)
    for manager in model.manager_agents:
        manager.skill = 0.95
    staff_turnover(model)
    assert all(m.skill == pytest.approx(0.2) for m in model.manager_agents)
    assert model.accounts.manager_departures == len(model.manager_agents)


def test_managers_leave_at_the_turnover_rate():
    model = fresh_model(policy__managers__turnover_per_quarter=0.3)
    for _ in range(200):
        staff_turnover(model)
    n = 200 * len(model.manager_agents)
    assert model.accounts.manager_departures / n == pytest.approx(0.3, abs=5 * math.sqrt(0.3 * 0.7 / n))


def test_turnover_keeps_manager_skill_bounded_below_full_skill():
    """Training alone ratchets skill up to one; turnover makes it settle below."""
    common = {"policy__managers__skill_mean": 0.2, "policy__managers__skill_sd": 0.1,
              "budget__manager_programme": 0.1, "budget__research_grants": 0.7,
              "policy__managers__training_gain_per_yuan": 0.5}
    skills = {}
    for turnover in (0.0, 0.3):
        model = fresh_model(policy__managers__turnover_per_quarter=turnover, **common)
        for _ in range(24):
            model.step()
            skill = model.manager_skill()
            assert ((skill >= 0) & (skill <= 1)).all()
        skills[turnover] = model.manager_skill()
    assert skills[0.0].mean() > 0.95
    assert skills[0.3].mean() < skills[0.0].mean() - 0.1


def test_training_has_diminishing_returns():
    model = fresh_model()
    manager = model.manager_agents[0]
    k = model.scenario.policy.managers.training_gain_per_yuan
    manager.skill = 0.2
    manager.train(0.1)
    first = manager.skill - 0.2
    assert first == pytest.approx((1 - math.exp(-k * 0.1)) * 0.8)
    manager.train(0.1)
    assert manager.skill - 0.2 - first < first  # the second tenth of a yuan teaches less
    assert model.accounts.training_skill_gain == pytest.approx(manager.skill - 0.2)


# ------------------------------------------------------------------ enterprises


def test_absorptive_capacity_falls_back_toward_its_founding_level_without_practice():
    model = fresh_model()
    pop = model.enterprises
    a0 = pop.initial_absorptive_capacity.copy()
    pop.learn(np.arange(pop.node.size), 0.5)
    gained = pop.absorptive_capacity - a0
    pop.forget(0.1)
    np.testing.assert_allclose(pop.absorptive_capacity - a0, 0.9 * gained)
    for _ in range(500):
        pop.forget(0.1)
    np.testing.assert_allclose(pop.absorptive_capacity, a0, atol=1e-12)
    assert ((pop.absorptive_capacity >= 0) & (pop.absorptive_capacity <= 1)).all()


def test_enterprises_are_sampled_from_the_region_and_abroad_with_the_foreign_share():
    model = fresh_model()
    pop = model.enterprises
    rng = np.random.default_rng(0)
    home = pop.sample(0, 2000, 0.0, rng)
    assert (pop.region[home] == 0).all()
    mixed = pop.sample(0, 4000, 0.25, rng)
    foreign = (pop.region[mixed] != 0).mean()
    assert foreign == pytest.approx(0.25, abs=5 * math.sqrt(0.25 * 0.75 / 4000))
    # every enterprise of the region can be met
    assert np.unique(home).size == (pop.region == 0).sum()
