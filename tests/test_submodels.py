"""Each submodel on its own, inside a real (tiny) model: appraisal, fit, gates, orientation, budget.

Statistical claims use fixed seeds and explicit tolerances (several standard errors).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import small_scenario
from ecosim import transfer
from ecosim.agents.technology_manager import take_on
from ecosim.model import EcosystemModel, simulate
from ecosim.pipeline import DealMode, Owner, Status
from ecosim.rules import RuleError, get_rule, register
from ecosim.rules.budget_allocation import INSTRUMENTS
from ecosim.rules.orientation import OrientationInputs
from ecosim.scenario import load_scenario


def fresh_model(steps: int = 0, seed: int = 2, **overrides) -> EcosystemModel:
    model = EcosystemModel(small_scenario(**overrides), seed=seed)
    for _ in range(steps):
        model.step()
    return model


def disclose_many(model: EcosystemModel, n: int) -> np.ndarray:
    """``n`` university disclosures owned by the first university, at TRL ≥ 3 or in research."""
    uni = model.university_agents[0]
    node = uni.cell.coordinate
    dims = model.scenario.world.knowledge_dims
    knowledge = np.abs(model.rng.standard_normal((n, dims)))
    knowledge /= np.linalg.norm(knowledge, axis=1, keepdims=True)
    return model.pipeline.disclose(
        owner_type=Owner.UNIVERSITY, owner=np.full(n, node), holder=np.full(n, node), group=np.full(n, uni.groups.start),
        partner=np.full(n, -1), region=np.full(n, uni.region), field=np.zeros(n, int), knowledge=knowledge,
        orientation=np.full(n, 0.5), quality=np.full(n, uni.quality),
    )


# ------------------------------------------------------------------ appraisal


@pytest.mark.parametrize("skill", [0.0, 0.5, 1.0])
def test_manager_appraisal_error_has_sigma_min_plus_sigma0_times_one_minus_skill(skill):
    model = fresh_model()
    rows = disclose_many(model, 20_000)
    manager = model.manager_agents[0]
    manager.skill = skill
    take_on(model, rows, 0)
    t, tech = model.pipeline.table, model.scenario.technology
    error = np.log(t.col("appraised")[rows]) - np.log(t.col("value")[rows])
    expected = tech.appraisal_sigma_min + tech.appraisal_sigma_0 * (1 - skill)
    assert error.std() == pytest.approx(expected, rel=0.03)
    assert abs(error.mean()) < 4 * expected / np.sqrt(rows.size)  # unbiased on the log scale
    assert t.col("managed_appraisal")[rows].all()
    assert (t.col("manager")[rows] == manager.cell.coordinate).all()


def test_manager_skill_reduces_appraisal_error():
    model = fresh_model()
    errors = {}
    for skill in (0.1, 0.9):
        rows = disclose_many(model, 10_000)
        manager = model.manager_agents[0]
        manager.skill = skill
        take_on(model, rows, 0)
        errors[skill] = np.abs(model.pipeline.table.col("appraisal_log_error")[rows]).mean()
    assert errors[0.9] < errors[0.1] * 0.6


def test_no_manager_removes_the_irreducible_appraisal_error():
    model = fresh_model()
    rows = disclose_many(model, 20_000)
    manager = model.manager_agents[0]
    manager.skill = 1.0
    take_on(model, rows, 0)
    error = model.pipeline.table.col("appraisal_log_error")[rows]
    assert error.std() == pytest.approx(model.scenario.technology.appraisal_sigma_min, rel=0.03)
    assert error.std() > 0.9 * model.scenario.technology.appraisal_sigma_min


def test_managed_technologies_are_appraised_better_in_a_run():
    summary = simulate(small_scenario(steps=16, policy__managers__managers_per_region=30), seed=5).summary
    tech = small_scenario().technology
    unmanaged_expected = (tech.appraisal_sigma_min + tech.appraisal_sigma_0) * np.sqrt(2 / np.pi)
    assert summary["appraisal_error_unmanaged"] == pytest.approx(unmanaged_expected, rel=0.15)
    assert summary["appraisal_error_managed"] < 0.85 * summary["appraisal_error_unmanaged"]


def test_skilled_manager_digs_out_value_at_rate_times_skill():
    model = fresh_model(policy__managers__value_digging_rate=0.5, policy__managers__value_digging_gain=1.0)
    rows = disclose_many(model, 10_000)
    before = model.pipeline.table.col("value")[rows].copy()
    manager = model.manager_agents[0]
    manager.skill = 0.8
    take_on(model, rows, 0)
    ratio = model.pipeline.table.col("value")[rows] / before
    dug = np.isclose(ratio, np.e)
    assert np.all(dug | np.isclose(ratio, 1.0))
    assert dug.mean() == pytest.approx(0.5 * 0.8, abs=4 * np.sqrt(0.4 * 0.6 / rows.size))


# ------------------------------------------------------------------ skill and absorptive capacity


def test_deals_and_training_raise_skill_toward_one_but_never_past_it():
    model = fresh_model()
    manager = model.manager_agents[0]
    m = model.scenario.policy.managers
    manager.skill = 0.4
    manager.learn_from_deal()
    assert manager.skill == pytest.approx(0.4 + m.learning_rate * 0.6)
    assert manager.deals == 1
    manager.train(1e6)
    assert manager.skill == pytest.approx(1.0)
    manager.train(5.0)
    manager.learn_from_deal()
    assert manager.skill <= 1.0


def test_enterprise_absorptive_capacity_grows_with_projects_and_stays_below_one():
    model = fresh_model()
    pop = model.enterprises
    before = pop.absorptive_capacity[3]
    pop.learn(3, 0.2)
    assert pop.absorptive_capacity[3] == pytest.approx(before + 0.2 * (1 - before))
    for _ in range(200):
        pop.learn(3, 0.5)
    assert pop.absorptive_capacity[3] <= 1.0


# ------------------------------------------------------------------ fit and matching


def untransferred_active(model: EcosystemModel) -> np.ndarray:
    t = model.pipeline.table
    return np.flatnonzero((t.col("status") == Status.ACTIVE) & (t.col("deal_mode") == DealMode.NO_DEAL)
                          & (t.col("owner_type") == Owner.UNIVERSITY) & (t.col("manager") < 0))


@register("adoption", "test_always_willing")
def always_willing(c):
    """Every candidate is willing: contributions then differ only by fit (and A)."""
    return np.ones(c.fit.size)


def contributions(model: EcosystemModel, rows: np.ndarray) -> dict[tuple[int, int], float]:
    """``(position, enterprise) → fit·A·willingness`` for ``rows``, with the model's random
    state put back afterwards, so that a second call sees the same random search contacts."""
    state = model.rng.bit_generator.state
    pos, ent, c = transfer._reach_and_contribution(model, rows, np.ones(rows.size, bool))
    model.rng.bit_generator.state = state
    return dict(zip(zip(pos.tolist(), ent.tolist(), strict=True), c, strict=True))


def test_fit_raised_by_a_manager_raises_each_partners_contribution():
    # the adopters' own appraisal is a fresh random draw; a willingness of one isolates fit
    model = fresh_model(steps=4, policy__managers__fit_gain=0.8, rules__adoption="test_always_willing")
    rows = untransferred_active(model)
    assert rows.size >= 10
    before = contributions(model, rows)
    manager = model.manager_agents[0]
    manager.skill = 1.0
    model.pipeline.table.col("manager")[rows] = manager.cell.coordinate
    after = contributions(model, rows)
    assert set(before) <= set(after)  # the manager's contacts add reach, never remove it
    assert len(after) > len(before)
    common = [p for p in before if before[p] > 0]
    assert common
    gained = np.array([after[p] - before[p] for p in common])
    assert (gained >= -1e-12).all() and (gained > 0).mean() > 0.9


def test_manager_with_zero_skill_leaves_fit_unchanged():
    model = fresh_model(steps=4, rules__adoption="test_always_willing")
    rows = untransferred_active(model)
    before = contributions(model, rows)
    manager = model.manager_agents[0]
    manager.skill = 0.0
    model.pipeline.table.col("manager")[rows] = manager.cell.coordinate
    after = contributions(model, rows)
    assert before
    for p, c in before.items():
        assert after[p] == pytest.approx(c)


# ------------------------------------------------------------------ gate probabilities in the model


class GateSpy:
    """Records what ``attempt_gates`` saw each quarter: the due rows before the attempt, the
    arguments it passed to the funding probability and the outcome, and the probabilities."""

    def __init__(self, monkeypatch):
        import ecosim.model

        self.calls: list[dict] = []
        real_attempt = ecosim.model.attempt_gates
        real_funding, real_matching, real_outcomes = (
            transfer.funding_probability, transfer.matching_probability, transfer.gate_outcomes)

        def attempt(model):
            t = model.pipeline.table
            rows = model.pipeline.due()
            snapshot = {name: t.col(name)[rows].copy() for name in
                        ("gate", "field", "owner_type", "deal_mode", "poc_funded", "investor", "appraised",
                         "grant_left", "revealed_g2", "spent")}
            snapshot["rows"] = rows
            snapshot["viability"] = t.viability[rows].copy()
            snapshot["investor_funds"] = {a.cell.coordinate: a.fund for a in model.investor_agents}
            self.calls.append(snapshot)
            real_attempt(model)
            snapshot["spent_after"] = t.col("spent")[rows].copy()

        def funding(believed, payer_share, intercept, slope):
            p = real_funding(believed, payer_share, intercept, slope)
            self.calls[-1]["funding_args"] = (np.array(believed), np.array(payer_share), np.array(intercept))
            self.calls[-1]["funding_p"] = np.array(p)
            return p

        def matching(*args):
            p = real_matching(*args)
            self.calls[-1]["matching_p"] = np.array(p)
            return p

        def outcomes(funded, viable, matched):
            self.calls[-1]["outcome_args"] = (funded.copy(), viable.copy(), matched.copy())
            return real_outcomes(funded, viable, matched)

        monkeypatch.setattr(ecosim.model, "attempt_gates", attempt)
        monkeypatch.setattr(transfer, "funding_probability", funding)
        monkeypatch.setattr(transfer, "matching_probability", matching)
        monkeypatch.setattr(transfer, "gate_outcomes", outcomes)

    def attempts(self) -> list[dict]:
        """The quarters in which some technology attempted a gate."""
        return [c for c in self.calls if c["rows"].size]


def spied_run(monkeypatch, steps: int = 12, **overrides):
    spy = GateSpy(monkeypatch)
    model = fresh_model(**overrides)
    for _ in range(steps):
        model.step()
    assert spy.attempts(), "no gate attempts"
    return model, spy


def test_technical_success_is_the_hidden_draw_below_the_fields_t(monkeypatch):
    model, spy = spied_run(monkeypatch)
    for call in spy.attempts():
        gate, field = call["gate"].astype(int), call["field"].astype(int)
        expected = call["viability"][np.arange(gate.size), gate] < model.pipeline.technical_success[field, gate]
        np.testing.assert_array_equal(call["outcome_args"][1], expected)


def outside_money(model, call) -> tuple[np.ndarray, np.ndarray]:
    """The PoC grant and the investor share each attempt of ``call`` can count on.

    Outside money pays at most all but the payer's minimum share of the cost, the grant first;
    an investor commits its share attempt by attempt only while its fund, less what it already
    committed this quarter, holds it.
    """
    s = model.scenario
    gate = call["gate"].astype(int)
    cost = model.pipeline.gate_cost[gate]
    cap = (1.0 - transfer.MIN_PAYER_SHARE) * cost
    grant = np.where(np.isin(gate, transfer.POC_GATES), np.minimum(call["grant_left"], cap), 0.0)
    backed = (call["investor"] >= 0) & np.isin(gate, transfer.INVESTOR_PAYS)
    investor = np.zeros(gate.size)
    committed: dict[int, float] = {}
    for i in np.flatnonzero(backed):
        node = int(call["investor"][i])
        share = min(s.policy.finance.investment_share * cost[i], cap[i] - grant[i])
        if call["investor_funds"].get(node, 0.0) - committed.get(node, 0.0) >= share:
            investor[i] = share
            committed[node] = committed.get(node, 0.0) + share
    return grant, investor


def test_poc_grant_and_investor_lower_the_cost_the_holder_carries(monkeypatch):
    model, spy = spied_run(monkeypatch, steps=16, policy__proof_of_concept__grant_size=0.8,
                           budget__proof_of_concept=0.1, budget__research_grants=0.75)
    seen_grant = seen_investor = seen_plain = 0
    for call in spy.attempts():
        cost = model.pipeline.gate_cost[call["gate"].astype(int)]
        grant, investor = outside_money(model, call)
        expected = cost - grant - investor
        np.testing.assert_allclose(call["funding_args"][1], expected)
        assert (expected >= transfer.MIN_PAYER_SHARE * cost * (1 - 1e-9)).all()
        assert (call["funding_args"][1] <= cost + 1e-12).all()
        seen_grant += int((grant > 0).sum())
        seen_investor += int((investor > 0).sum())
        seen_plain += int(((grant == 0) & (investor == 0)).sum())
    assert seen_grant > 0 and seen_plain > 0
    # the grant is used up as gates are paid: no technology gets more than the grant in all
    t = model.pipeline.table
    assert (t.col("grant_left")[t.col("poc_funded")] <= model.scenario.policy.proof_of_concept.grant_size).all()
    assert (t.col("grant_left") >= 0).all()


def spent_by_attempt(monkeypatch):
    """A run in which technologies with a PoC grant are also backed by investors at G1; for each
    quarter the gate costs, which attempts were funded and what each attempt spent."""
    model, spy = spied_run(monkeypatch, steps=24, policy__proof_of_concept__grant_size=0.1,
                           budget__proof_of_concept=0.1, budget__research_grants=0.75,
                           policy__finance__investors_per_region=2, policy__finance__value_hurdle=1.0,
                           policy__finance__min_trl=3)
    for call in spy.attempts():
        cost = model.pipeline.gate_cost[call["gate"].astype(int)]
        yield cost, call["outcome_args"][0], call["spent_after"] - call["spent"]


def test_an_unpaid_attempt_spends_nothing_and_a_paid_one_at_least_the_payers_minimum(monkeypatch):
    funded_attempts = 0
    for cost, funded, spent in spent_by_attempt(monkeypatch):
        np.testing.assert_allclose(spent[~funded], 0.0)
        assert (spent[funded] >= transfer.MIN_PAYER_SHARE * cost[funded] * (1 - 1e-9)).all()
        funded_attempts += int(funded.sum())
    assert funded_attempts > 0


def test_outside_money_never_pays_more_than_the_gate_cost(monkeypatch):
    """Outside money only replaces the payer's money: grant + investor + payer == the gate's cost
    (or the payer's minimum share plus the rest, when outside money would cover it all)."""
    for cost, funded, spent in spent_by_attempt(monkeypatch):
        assert (spent[funded] <= cost[funded] * (1 + 1e-9)).all(), "an attempt paid more than its gate costs"


def test_funding_intercept_depends_on_the_holder(monkeypatch):
    model, spy = spied_run(monkeypatch, steps=16)
    table = np.asarray(model.scenario.technology.funding_intercept)
    for call in spy.attempts():
        transferred = call["deal_mode"] != DealMode.NO_DEAL
        expected = np.where(transferred, table[2], table[call["owner_type"].astype(int)])
        np.testing.assert_allclose(call["funding_args"][2], expected)


def test_funding_follows_the_believed_value_not_the_hidden_one(monkeypatch):
    """Payers fund what they believe: the appraisal, raised by 1/T_G2 once a prototype test has
    shown the technology passes G2 (until it has passed it)."""
    model, spy = spied_run(monkeypatch, steps=16, policy__proof_of_concept__grant_size=0.5,
                           budget__proof_of_concept=0.1, budget__research_grants=0.75)
    revealed_seen = 0
    for call in spy.attempts():
        gate, field = call["gate"].astype(int), call["field"].astype(int)
        revealed = call["revealed_g2"] & (gate <= 1)
        expected = np.where(revealed, call["appraised"] / model.pipeline.technical_success[field, 1],
                            call["appraised"])
        np.testing.assert_allclose(call["funding_args"][0], expected)
        revealed_seen += int(revealed.sum())
    assert revealed_seen > 0


def test_gate_probabilities_stay_in_unit_interval(monkeypatch):
    _, spy = spied_run(monkeypatch, steps=16, policy__proof_of_concept__grant_size=50.0,
                       budget__proof_of_concept=0.15, budget__research_grants=0.6,
                       policy__managers__managers_per_region=40, policy__managers__skill_mean=1.0)
    for call in spy.attempts():
        funding = call["funding_p"]
        assert ((funding >= 0) & (funding <= 1)).all()
        if "matching_p" in call:
            matching = call["matching_p"]
            assert ((matching >= 0) & (matching <= 1)).all()


def test_funding_is_decided_before_the_technical_outcome(monkeypatch):
    """Money spent on a technology that then fails technically is lost; an unpaid attempt
    never learns its technical outcome and waits to retry instead of failing for good."""
    model, spy = spied_run(monkeypatch, steps=16)
    unpaid_unviable = 0
    t = model.pipeline.table
    for call in spy.attempts():
        funded, viable, _ = call["outcome_args"]
        rows = call["rows"]
        unpaid_unviable += int((~funded & ~viable).sum())
        lost = funded & ~viable
        assert (call["spent_after"][lost] > call["spent"][lost]).all()
        assert (t.col("status")[rows[lost]] == Status.FAILED).all()
    assert unpaid_unviable > 0


def test_retries_never_reroll_technical_viability():
    model = fresh_model(steps=1)
    before = model.pipeline.table.viability.copy()
    for _ in range(11):
        model.step()
    after = model.pipeline.table.viability[: before.shape[0]]
    np.testing.assert_array_equal(after, before)


# ------------------------------------------------------------------ orientation


def orientation_update(rule: str, publication=1.0, transfer_payoff=3.0, peer_mean=0.5, rate=0.2, peer_weight=0.3,
                       orientation=(0.0, 0.2, 0.5, 0.9), seed=0):
    a = np.array(orientation, dtype=float)
    x = OrientationInputs(a.copy(), publication, transfer_payoff, peer_mean, rate, peer_weight,
                          np.random.default_rng(seed))
    return a, get_rule("orientation", rule)(x)


def test_payoff_imitation_moves_toward_the_payoff_share_and_peers():
    a, new = orientation_update("payoff_imitation", publication=1.0, transfer_payoff=3.0, peer_mean=0.5,
                                rate=0.2, peer_weight=0.3)
    target = 3.0 / 4.0
    np.testing.assert_allclose(new, a + 0.2 * (0.7 * (target - a) + 0.3 * (0.5 - a)))


def test_better_transfer_payoff_turns_groups_toward_products():
    a, new = orientation_update("payoff_imitation", publication=1.0, transfer_payoff=9.0, peer_weight=0.0)
    assert (new >= a).all() and (new > a)[a < 0.9].all()
    a, new = orientation_update("payoff_imitation", publication=9.0, transfer_payoff=1.0, peer_weight=0.0)
    np.testing.assert_array_equal(np.sign(new - a), np.sign(0.1 - a))  # toward the target share 1/10


def test_orientation_stays_in_unit_interval_for_any_rule():
    for rule in ("payoff_imitation", "fixed", "myopic_best_response"):
        for rate in (0.0, 0.5, 1.0):
            _, new = orientation_update(rule, rate=rate, orientation=(0.0, 1.0, 0.3, 0.99))
            assert ((new >= 0) & (new <= 1)).all()


def test_fixed_orientation_never_changes():
    a, new = orientation_update("fixed", transfer_payoff=100.0)
    np.testing.assert_array_equal(new, a)


def test_myopic_best_response_jumps_to_the_better_shelf():
    a, new = orientation_update("myopic_best_response", publication=1.0, transfer_payoff=2.0, rate=1.0)
    np.testing.assert_array_equal(new, np.ones_like(a))
    a, new = orientation_update("myopic_best_response", publication=2.0, transfer_payoff=1.0, rate=1.0)
    np.testing.assert_array_equal(new, np.zeros_like(a))


def test_incentive_reform_turns_groups_toward_products_and_publications_down():
    base = dict(steps=12, universities__orientation_learning_rate=0.3)
    bookshelf = simulate(small_scenario(**base, policy__incentives__publication_weight=3.0,
                                        policy__incentives__transfer_weight=0.0), seed=8)
    goods = simulate(small_scenario(**base, policy__incentives__publication_weight=0.2,
                                    policy__incentives__transfer_weight=3.0), seed=8)
    assert goods.summary["mean_orientation"] > bookshelf.summary["mean_orientation"] + 0.2
    # product disclosures rise (metric-driven filings follow the publication weight instead)
    def product_disclosures(result):
        tech = result.technologies
        return int(((tech["owner_type"] == "university") & ~tech["metric_driven"]).sum())

    assert product_disclosures(goods) > product_disclosures(bookshelf)
    assert goods.technologies["metric_driven"].sum() < bookshelf.technologies["metric_driven"].sum()
    assert goods.summary["publications"] < bookshelf.summary["publications"]
    assert goods.summary["publications_forgone"] > 0 > bookshelf.summary["publications_forgone"]


# ------------------------------------------------------------------ budget allocation in the model


def test_government_allocates_the_shares_and_pays_research_grants_by_quality():
    model = fresh_model()
    gov = model.government_agents[0]
    b = model.scenario.budget
    gov.allocate()
    assert gov.allocated == pytest.approx(b.per_quarter * sum(getattr(b, k) for k in INSTRUMENTS))
    assert gov.spent["research_grants"] == pytest.approx(b.per_quarter * b.research_grants)
    assert gov.pools["research_grants"] == pytest.approx(0.0)
    universities = model.universities_by_region[gov.region]
    grants = np.array([u.grant_this_quarter for u in universities])
    quality = np.array([u.quality for u in universities])
    np.testing.assert_allclose(grants, b.per_quarter * b.research_grants * quality / quality.sum())
    assert gov.allocated == pytest.approx(gov.spent_total + sum(gov.pools.values()))


def test_manager_programme_money_trains_the_regions_managers():
    model = fresh_model(budget__manager_programme=0.1, budget__research_grants=0.7)
    gov = model.government_agents[0]
    managers = model.managers_by_region[gov.region]
    before = np.array([m.skill for m in managers])
    others = np.array([m.skill for m in model.managers_by_region[1 - gov.region]])
    gov.allocate()
    after = np.array([m.skill for m in managers])
    learning = before < 1.0  # a founding manager long in post may already be fully trained
    assert learning.any() and (after[learning] > before[learning]).all() and (after <= 1).all()
    np.testing.assert_array_equal([m.skill for m in model.managers_by_region[1 - gov.region]], others)


def test_founding_managers_have_the_skill_of_a_staff_that_has_been_turning_over():
    """Tenure is geometric with the turnover rate; training raised skill in every quarter in post."""
    from ecosim.agents.technology_manager import founding_skill

    s = load_scenario("scenarios/baseline.yaml")
    n = 20_000
    start = np.full(n, 0.35)
    skill = founding_skill(start, s, np.zeros(n, dtype=np.int64), np.random.default_rng(0))
    m, b = s.policy.managers, s.budget
    gain = 1 - np.exp(-m.training_gain_per_yuan * b.per_quarter * b.manager_programme / n)
    p = m.turnover_per_quarter
    # E[(1 − g)^τ] for τ ~ Geometric(p) on 0, 1, …  is p / (1 − (1 − p)(1 − g))
    expected = 1 - 0.65 * p / (1 - (1 - p) * (1 - gain))
    assert skill.mean() == pytest.approx(expected, rel=0.02)
    assert (skill >= start).all() and (skill <= 1).all()
    no_turnover = s.model_copy(update={"policy": s.policy.model_copy(
        update={"managers": m.model_copy(update={"turnover_per_quarter": 0.0})})})
    np.testing.assert_array_equal(founding_skill(start, no_turnover, np.zeros(n, dtype=np.int64),
                                                 np.random.default_rng(0)), start)


def test_government_cannot_spend_more_than_a_pool_holds():
    gov = fresh_model().government_agents[0]
    gov.pools["fairs"] = 1.0
    with pytest.raises(ValueError, match="cannot pay"):
        gov.spend("fairs", 2.0)
    gov.spend("fairs", 1.0)
    assert gov.pools["fairs"] == 0.0 and gov.spent["fairs"] == 1.0


def test_proof_of_concept_grants_are_paid_while_the_pool_lasts():
    model = fresh_model(steps=3, policy__proof_of_concept__grant_size=0.5)
    gov = model.government_agents[0]
    while True:  # enough eligible technologies for the pool to run out first
        model.step()
        t = model.pipeline.table
        low, high = model.scenario.policy.proof_of_concept.trl_window
        eligible = ((t.col("status") == 1) & (t.col("deal_mode") < 0) & (t.col("owner_type") == Owner.UNIVERSITY)
                    & ~t.col("poc_funded") & (t.col("region") == gov.region) & (t.col("trl") >= low)
                    & (t.col("trl") <= high) & (t.col("gate") <= 1) & (t.col("waiting_since") >= 0)
                    & (np.log(t.col("appraised")) >= model.scenario.policy.proof_of_concept.selection_threshold_log))
        if eligible.sum() >= 4:
            break
    gov.pools["proof_of_concept"] = 1.6  # three grants
    before = t.col("poc_funded").copy()
    spent_before = gov.spent["proof_of_concept"]
    short_before = model.accounts.poc_fund_short
    gov.fund_proof_of_concept()
    new = np.flatnonzero(t.col("poc_funded") & ~before)
    assert new.size == 3
    assert model.accounts.poc_fund_short == short_before + 1  # the fund ran out before the list did
    # each grant is there to pay gate costs, unless its prototype test stopped the technology
    stopped = t.col("stopped_by_poc")[new]
    np.testing.assert_allclose(t.col("grant_left")[new], np.where(stopped, 0.0, 0.5))
    assert gov.spent["proof_of_concept"] - spent_before == pytest.approx(1.5)
    assert gov.pools["proof_of_concept"] == pytest.approx(0.1)
    low, high = model.scenario.policy.proof_of_concept.trl_window
    assert (t.col("region")[new] == gov.region).all()
    assert (t.col("owner_type")[new] == Owner.UNIVERSITY).all()  # joint projects already have industry money
    assert ((t.col("trl")[new] >= low) & (t.col("trl")[new] <= high)).all()
    assert (t.col("waiting_since")[new] >= 0).all()  # additionality: only what the market did not take


def test_proof_of_concept_additionality_decides_who_may_apply(monkeypatch):
    """With additionality the fund pays only for technologies waiting after a setback; without it,
    a fresh disclosure may get a grant too."""
    from ecosim.agents.government import Government

    fund = Government.fund_proof_of_concept
    grants = []  # waiting_since of each technology at the moment it got its grant

    def watched(gov):
        t = gov.model.pipeline.table
        before, waiting = t.col("poc_funded").copy(), t.col("waiting_since").copy()
        fund(gov)
        grants.extend(waiting[t.col("poc_funded") & ~before].tolist())

    monkeypatch.setattr(Government, "fund_proof_of_concept", watched)
    fresh = {}
    for additionality in (True, False):
        grants.clear()
        fresh_model(steps=12, policy__proof_of_concept__additionality=additionality)
        assert grants, "the fund gave no grants to check"
        fresh[additionality] = sum(w < 0 for w in grants)
    assert fresh[True] == 0
    assert fresh[False] > 0


def test_performance_based_budget_rule_conserves_money_in_a_run():
    model = fresh_model(rules__budget_allocation="performance_based")
    for _ in range(12):
        model.step()
        for gov in model.government_agents:
            assert gov.allocated == pytest.approx(gov.spent_total + sum(gov.pools.values()), abs=1e-9)
            assert min(gov.pools.values()) >= -1e-12


def test_budget_rule_that_overspends_is_stopped():
    @register("budget_allocation", "test_overspend")
    def overspend(x):
        """Allocates twice the budget (a broken student rule)."""
        return {k: 2 * x.budget for k in INSTRUMENTS}

    model = fresh_model(rules__budget_allocation="test_overspend")
    with pytest.raises(RuleError, match="test_overspend.*more than the budget"):
        model.step()


# ------------------------------------------------------------------ fairs and investors


def test_fair_experts_select_the_selection_rate_of_applicants():
    summary = simulate(small_scenario(steps=16, policy__fairs__interval_quarters=2), seed=4).summary
    assert summary["fair_selection_rate"] == pytest.approx(0.136, abs=0.02)


def test_investor_never_pays_more_than_its_fund():
    model = fresh_model()
    investor = model.investor_agents[0]
    investor.fund = 3.0
    assert investor.pay(5.0) is False  # a share it cannot pay is not paid at all
    assert investor.fund == 3.0 and investor.invested == 0.0
    assert investor.pay(2.0) is True
    assert investor.fund == 1.0 and investor.invested == 2.0
    investor.receive(2.0)
    assert investor.fund == 3.0 and investor.returns == 2.0


def test_any_valid_poc_grant_size_runs_even_a_vanishingly_small_one():
    """The schema accepts any grant ≥ 0; a denormal grant must not overflow ``pool // grant``."""
    result = simulate(small_scenario(steps=6, policy__proof_of_concept__grant_size=1e-320), seed=1)
    assert result.summary["poc_funded"] > 0


def check_investor_money(model) -> None:
    """Private money is conserved: ``fund + invested + distributed == start + inflow + returns``,
    the fund is never negative and never above its target size."""
    target = model.scenario.policy.finance.fund_per_investor
    for investor in model.investor_agents:
        assert 0 <= investor.fund <= target + 1e-9
        assert investor.fund + investor.invested + investor.distributed == pytest.approx(
            investor.start + investor.inflow + investor.returns)


def run_with_investor_payments(monkeypatch, fund: float):
    """32 quarters with two investors per region; every ``Investor.pay`` call as (amount, paid),
    and investor money checked after every quarter."""
    from ecosim.agents.investor import Investor

    paid = []
    real_pay = Investor.pay

    def pay(self, amount):
        ok = real_pay(self, amount)
        paid.append((amount, ok))
        return ok

    monkeypatch.setattr(Investor, "pay", pay)
    spy = GateSpy(monkeypatch)
    model = fresh_model(policy__finance__fund_per_investor=fund, policy__finance__investors_per_region=2,
                        policy__finance__value_hurdle=1.0, policy__finance__min_trl=3,
                        policy__finance__fund_inflow_per_quarter=0.1)
    for _ in range(32):
        model.step()
        check_investor_money(model)
    return model, spy, paid


@pytest.mark.parametrize("fund", [5.0, 0.3])
def test_investor_money_is_conserved_in_a_run(monkeypatch, fund):
    model, _, paid = run_with_investor_payments(monkeypatch, fund)
    assert sum(amount for amount, ok in paid if ok) > 0
    assert sum(i.invested for i in model.investor_agents) == pytest.approx(sum(a for a, ok in paid if ok))


def test_investors_never_lower_a_cost_they_do_not_pay(monkeypatch):
    """The cost relief an investor gives a paid gate attempt must be money it actually pays.

    Otherwise backed technologies keep getting cheaper gates after the fund is empty, and
    money appears from nowhere. A small fund (0.3 M¥: two G1 shares, not three) is where
    several backed attempts in one quarter could overdraw it.
    """
    model, spy, paid = run_with_investor_payments(monkeypatch, 0.3)
    assert all(ok for _, ok in paid), "an investor was asked for a share after its fund could no longer pay it"
    # the investors' shares in paid attempts are exactly what investors paid
    relief = 0.0
    for call in spy.attempts():
        _, investor = outside_money(model, call)
        relief += float(investor[call["outcome_args"][0]].sum())
    assert relief == pytest.approx(sum(a for a, ok in paid if ok))


def test_spin_off_investors_back_only_untransferred_university_technologies(monkeypatch):
    """Venture investors here are spin-off investors: what they take on is a university
    technology without a deal, due at G1 or G2, and the first deal it makes is a spin-off."""
    import ecosim.agents.investor as investor_module
    from ecosim.agents.investor import INVESTOR_BACKS
    from ecosim.pipeline import DealMode

    taken = []
    real = investor_module.Investor.back_projects

    def back(self):
        t = self.model.pipeline.table
        before = t.col("investor").copy()
        real(self)
        new = np.flatnonzero((t.col("investor") >= 0) & (before < 0))
        taken.append({name: t.col(name)[new].copy() for name in ("owner_type", "deal_mode", "gate")})

    monkeypatch.setattr(investor_module.Investor, "back_projects", back)
    model = fresh_model(steps=32, policy__finance__investors_per_region=2, policy__finance__value_hurdle=1.0,
                        policy__finance__min_trl=3)
    owner = np.concatenate([c["owner_type"] for c in taken])
    assert owner.size > 0
    assert np.all(owner == Owner.UNIVERSITY)
    assert np.all(np.concatenate([c["deal_mode"] for c in taken]) == DealMode.NO_DEAL)
    assert np.all(np.isin(np.concatenate([c["gate"] for c in taken]), INVESTOR_BACKS))
    t = model.pipeline.table
    backed_and_converted = (t.col("investor") >= 0) & (t.col("deal_mode") != DealMode.NO_DEAL)
    assert backed_and_converted.any()
    assert np.all(t.col("deal_mode")[backed_and_converted] == DealMode.SPIN_OFF)


def test_investor_funds_are_topped_up_by_the_inflow_to_their_target_size():
    model = fresh_model(policy__finance__investors_per_region=1, policy__finance__value_hurdle=1e9,
                        policy__finance__fund_per_investor=2.0, policy__finance__fund_inflow_per_quarter=0.75)
    for investor in model.investor_agents:
        assert investor.fund == 2.0  # a fund starts at its target size
        investor.fund = investor.start = 0.0
    for expected in (0.75, 1.5, 2.0, 2.0):  # nothing is backed: the inflow fills it up to the target
        model.step()
        for investor in model.investor_agents:
            assert investor.invested == 0.0
            assert investor.fund == pytest.approx(expected)
            assert investor.inflow == pytest.approx(expected)
    check_investor_money(model)


def test_returns_above_the_target_size_are_distributed_to_the_backers():
    model = fresh_model(policy__finance__investors_per_region=1, policy__finance__fund_per_investor=2.0)
    investor = model.investor_agents[0]
    assert investor.pay(1.5)
    investor.receive(1.0)  # back to 1.5: kept
    assert investor.fund == pytest.approx(1.5) and investor.distributed == 0.0
    investor.receive(3.0)  # 4.5: the 2.5 above the target go out
    assert investor.fund == pytest.approx(2.0) and investor.distributed == pytest.approx(2.5)
    check_investor_money(model)


def test_investors_back_only_projects_they_hear_of_through_ties(monkeypatch):
    """An investor hears of a project through its university or the manager carrying it."""
    import ecosim.agents.investor as investor_module

    heard = []
    real = investor_module.Investor.back_projects

    def back(self):
        t = self.model.pipeline.table
        before = t.col("investor").copy()
        real(self)
        known = set(self.cell.connections.keys())
        for row in np.flatnonzero((t.col("investor") >= 0) & (before < 0)):
            heard.append(int(t.col("holder")[row]) in known or int(t.col("manager")[row]) in known)

    monkeypatch.setattr(investor_module.Investor, "back_projects", back)
    fresh_model(steps=32, policy__finance__investors_per_region=2, policy__finance__value_hurdle=1.0,
                policy__finance__min_trl=3)
    assert heard and all(heard)


def test_a_poc_grant_buys_proof_of_concept_not_a_partner():
    """A PoC-funded technology passes G1 only with a deal (a licensee, or a spin-off investor):
    none is left past G1 still held by its university, where G2's cost would shelve it."""
    model = fresh_model(steps=32, policy__proof_of_concept__grant_size=0.3, budget__proof_of_concept=0.15,
                        budget__research_grants=0.7)
    t = model.pipeline.table
    funded = t.col("poc_funded")
    assert funded.sum() > 0
    past_g1 = funded & t.col("entered_g1") & (t.col("gate") >= 1)  # (disclosures at TRL 4–5 start at G2)
    assert past_g1.any()
    assert np.all(t.col("deal_mode")[past_g1] != DealMode.NO_DEAL)
