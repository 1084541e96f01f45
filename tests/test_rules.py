"""The rules registry and the contract of every built-in rule."""

from __future__ import annotations

import numpy as np
import pytest

from ecosim import rules
from ecosim.errors import InputError
from ecosim.rules.adoption import AdoptionCandidates, big_firms_first, risk_averse, value_hurdle
from ecosim.rules.budget_allocation import (
    INSTRUMENTS,
    BudgetInputs,
    equal_split,
    fixed_shares,
    performance_based,
)
from ecosim.rules.partner_search import SearchInputs, network, regional_only, wide_search
from ecosim.rules.poc_allocation import PocInputs, by_appraised_value, first_come, lottery
from ecosim.rules.project_choice import (
    ProjectChoiceInputs,
    field_first,
    highest_value,
    random_choice,
)
from ecosim.scenario import RULE_KINDS, Scenario

# ------------------------------------------------------------------ registry


def test_every_kind_has_its_default_and_an_alternative():
    for kind in RULE_KINDS:
        names = rules.available_rules(kind)
        assert rules.default_rule(kind) in names
        assert len(names) >= 2, kind


def test_scenario_defaults_name_the_registry_defaults():
    defaults = Scenario().rules
    for kind in RULE_KINDS:
        assert getattr(defaults, kind) == rules.default_rule(kind)


def test_every_builtin_rule_has_a_one_line_doc():
    for kind, names in rules.available_rules().items():
        for name in names:
            assert rules.rule_doc(kind, name), f"{kind}/{name} has no docstring"


def test_unknown_rule_lists_the_known_ones_and_suggests_the_nearest():
    with pytest.raises(InputError) as info:
        rules.get_rule("adoption", "risk_avers")
    message = str(info.value)
    assert "did you mean 'risk_averse'" in message
    for name in rules.available_rules("adoption"):
        assert name in message
    assert info.value.key == "rules.adoption"


def test_unknown_rule_kind_is_input_error():
    with pytest.raises(InputError, match="unknown rule kind"):
        rules.get_rule("weather", "sunny")
    with pytest.raises(ValueError, match="unknown rule kind"):
        rules.register("weather", "sunny")


def test_register_adds_a_rule_and_re_registering_replaces_it():
    @rules.register("adoption", "test_registry_always")
    def always(c):
        """Always willing."""
        return np.ones_like(c.fit)

    try:
        assert rules.get_rule("adoption", "test_registry_always").__wrapped__ is always
        assert rules.rule_doc("adoption", "test_registry_always") == "Always willing."

        @rules.register("adoption", "test_registry_always")
        def never(c):
            return np.zeros_like(c.fit)

        assert rules.get_rule("adoption", "test_registry_always").__wrapped__ is never
    finally:
        rules._REGISTRY["adoption"].pop("test_registry_always", None)


def test_rules_file_registers_its_rules_and_reports_them(tmp_path):
    path = tmp_path / "student_rules.py"
    path.write_text(
        "import numpy as np\n"
        "from ecosim.rules import register\n"
        "@register('adoption', 'test_file_everyone')\n"
        "def everyone(c):\n"
        "    '''Every reachable enterprise is willing.'''\n"
        "    return np.ones_like(c.fit)\n"
        "@register('orientation', 'test_file_all_products')\n"
        "def products(x):\n"
        "    '''All groups make products.'''\n"
        "    return np.ones_like(x.orientation)\n",
        encoding="utf-8",
    )
    try:
        added = rules.load_rules_file(path)
        assert sorted(added) == [("adoption", "test_file_everyone"), ("orientation", "test_file_all_products")]
        assert "test_file_everyone" in rules.available_rules("adoption")
    finally:
        rules._REGISTRY["adoption"].pop("test_file_everyone", None)
        rules._REGISTRY["orientation"].pop("test_file_all_products", None)


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("broken.py", "def f(:\n", r"syntax error at line 1"),
        ("raises.py", "raise RuntimeError('boom')\n", r"RuntimeError: boom"),
        ("imports.py", "import no_such_module_anywhere\n", r"ModuleNotFoundError"),
        ("rules.txt", "x = 1\n", r"must be a Python file"),
    ],
)
def test_broken_rules_file_is_input_error_naming_the_file(tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=expected) as info:
        rules.load_rules_file(path)
    assert info.value.source.startswith(str(path))


def test_missing_rules_file_is_input_error(tmp_path):
    with pytest.raises(InputError, match="rules file not found"):
        rules.load_rules_file(tmp_path / "absent.py")


# ------------------------------------------------------------------ adoption


def candidates(**overrides) -> AdoptionCandidates:
    n = 5
    base = dict(
        appraised_value=np.array([0.1, 1.0, 3.0, 10.0, 100.0]),
        trl=np.array([3.0, 4.0, 6.0, 8.0, 9.0]),
        fit=np.full(n, 0.5),
        absorptive_capacity=np.full(n, 0.5),
        hurdle_log=np.zeros(n),
        size=np.array([0.2, 0.5, 1.0, 2.0, 5.0]),
    )
    base.update(overrides)
    return AdoptionCandidates(**base)


@pytest.mark.parametrize("rule", [value_hurdle, risk_averse, big_firms_first])
def test_adoption_willingness_is_a_probability_that_rises_with_value(rule):
    c = candidates(trl=np.full(5, 6.0), size=np.ones(5))
    w = rule(c)
    assert w.shape == (5,)
    assert np.all((w >= 0) & (w <= 1))
    assert np.all(np.diff(w) > 0)


def test_value_hurdle_is_one_half_at_the_hurdle():
    c = candidates(appraised_value=np.full(5, np.e), hurdle_log=np.ones(5))
    np.testing.assert_allclose(value_hurdle(c), 0.5)


def test_risk_averse_discounts_early_technologies():
    c = candidates(appraised_value=np.full(5, 10.0))
    w, base = risk_averse(c), value_hurdle(c)
    assert np.all(w <= base)
    assert w[0] < w[-1]
    np.testing.assert_allclose(w[-1], base[-1])  # TRL 9: no discount


def test_big_firms_adopt_more_readily():
    w = big_firms_first(candidates(appraised_value=np.full(5, 2.0)))
    assert np.all(np.diff(w) > 0)


# ------------------------------------------------------------------ budget allocation


def budget_inputs(budget=10.0, shares=None, performance=None, seed=0) -> BudgetInputs:
    shares = shares or {"research_grants": 0.6, "proof_of_concept": 0.1, "manager_programme": 0.1,
                        "joint_rnd": 0.1, "fairs": 0.05}
    return BudgetInputs(budget, shares, performance or {k: 0.0 for k in INSTRUMENTS}, np.random.default_rng(seed))


def test_fixed_shares_allocates_the_scenario_shares():
    money = fixed_shares(budget_inputs())
    assert money == pytest.approx({"research_grants": 6.0, "proof_of_concept": 1.0, "manager_programme": 1.0,
                                   "joint_rnd": 1.0, "fairs": 0.5})


def test_performance_based_moves_money_toward_what_bought_deals_and_keeps_the_total():
    x = budget_inputs(performance={"research_grants": 5.0, "proof_of_concept": 3.0, "manager_programme": 0.0,
                                   "joint_rnd": 1.0, "fairs": 0.0})
    fixed, money = fixed_shares(x), performance_based(x)
    assert sum(money.values()) == pytest.approx(sum(fixed.values()))
    assert money["research_grants"] == pytest.approx(fixed["research_grants"])
    assert money["proof_of_concept"] > fixed["proof_of_concept"]
    assert money["manager_programme"] < fixed["manager_programme"]
    assert money["fairs"] < fixed["fairs"]
    assert all(v >= 0 for v in money.values())


def test_performance_based_without_evidence_is_fixed_shares():
    x = budget_inputs()
    assert performance_based(x) == pytest.approx(fixed_shares(x))


def test_equal_split_divides_the_allocated_total_over_funded_instruments():
    shares = {"research_grants": 0.5, "proof_of_concept": 0.2, "manager_programme": 0.0, "joint_rnd": 0.1, "fairs": 0.0}
    money = equal_split(budget_inputs(budget=8.0, shares=shares))
    assert money["manager_programme"] == 0.0 and money["fairs"] == 0.0
    assert money["research_grants"] == pytest.approx(8.0 * 0.8 / 3)
    assert sum(money.values()) == pytest.approx(8.0 * 0.8)


@pytest.mark.parametrize("rule", [fixed_shares, performance_based, equal_split])
def test_budget_rules_never_allocate_more_than_the_budget(rule):
    rng = np.random.default_rng(7)
    for _ in range(50):
        raw = rng.dirichlet(np.ones(6))[:5]  # sums to < 1
        shares = dict(zip(INSTRUMENTS, raw, strict=True))
        perf = dict(zip(INSTRUMENTS, rng.exponential(size=5) * (rng.random(5) < 0.6), strict=True))
        money = rule(BudgetInputs(12.0, shares, perf, rng))
        assert set(money) == set(INSTRUMENTS)
        assert sum(money.values()) <= 12.0 * (1 + 1e-9)
        assert min(money.values()) >= 0


# ------------------------------------------------------------------ PoC allocation


def poc_inputs(seed=0) -> PocInputs:
    return PocInputs(
        appraised_value=np.array([0.5, 5.0, 2.0, 0.9, 10.0]),
        trl=np.array([3, 3, 4, 4, 5]),
        age_quarters=np.array([1, 7, 3, 9, 0]),
        managed=np.array([False, True, False, True, False]),
        budget=2.0,
        grant_size=0.4,
        threshold_log=0.0,
        rng=np.random.default_rng(seed),
    )


def test_poc_by_appraised_value_funds_the_best_above_the_threshold_first():
    assert list(by_appraised_value(poc_inputs())) == [4, 1, 2]


def test_poc_lottery_funds_exactly_the_eligible_in_random_order():
    orders = {tuple(lottery(poc_inputs(seed))) for seed in range(20)}
    assert all(sorted(o) == [1, 2, 4] for o in orders)
    assert len(orders) > 1


def test_poc_first_come_funds_the_oldest_first_whatever_their_value():
    assert list(first_come(poc_inputs())) == [3, 1, 2, 0, 4]


# ------------------------------------------------------------------ project choice


def choice_inputs(slots=2, seed=0) -> ProjectChoiceInputs:
    return ProjectChoiceInputs(
        appraised_value=np.array([1.0, 4.0, 3.0, 2.5]),
        same_field=np.array([True, False, True, True]),
        trl=np.array([3, 3, 4, 4]),
        age_quarters=np.array([5, 0, 2, 1]),
        skill=0.5,
        slots=slots,
        rng=np.random.default_rng(seed),
    )


def test_highest_value_counts_own_field_double_and_respects_slots():
    assert list(highest_value(choice_inputs(slots=2))) == [2, 3]  # 6, 5 beat 4 and 2
    assert len(highest_value(choice_inputs(slots=10))) == 4


def test_field_first_takes_only_own_field_newest_first():
    assert list(field_first(choice_inputs(slots=3))) == [3, 2, 0]


def test_random_choice_takes_distinct_candidates_within_slots():
    picked = random_choice(choice_inputs(slots=3, seed=4))
    assert len(picked) == 3 and len(set(picked.tolist())) == 3 and set(picked.tolist()) <= {0, 1, 2, 3}


# ------------------------------------------------------------------ partner search


def search_inputs(extra=0, cross=0.0, seed=0) -> SearchInputs:
    # enterprises 0-3 in region 0, 4-7 in region 1; technology 0 in region 0, technology 1 in region 1
    pos = np.array([0, 0, 1, 1])
    ent = np.array([1, 5, 6, 2])
    return SearchInputs(
        network_reach=lambda: (pos.copy(), ent.copy()),
        tech_region=np.array([0, 1]),
        enterprise_region=np.array([0, 0, 0, 0, 1, 1, 1, 1]),
        cross_region_probability=cross,
        extra_contacts=extra,
        rng=np.random.default_rng(seed),
    )


def test_network_search_reaches_exactly_the_ties():
    pos, ent = network(search_inputs())
    assert list(zip(pos, ent, strict=True)) == [(0, 1), (0, 5), (1, 6), (1, 2)]


def test_regional_only_drops_contacts_in_other_regions():
    pos, ent = regional_only(search_inputs())
    assert list(zip(pos, ent, strict=True)) == [(0, 1), (1, 6)]


def test_wide_search_adds_contacts_in_the_home_region_when_closed():
    pos, ent = wide_search(search_inputs(extra=20, cross=0.0))
    assert pos.size == 4 + 2 * 20
    region = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    extra_pos, extra_ent = pos[4:], ent[4:]
    assert np.all(region[extra_ent] == np.array([0, 1])[extra_pos])


def test_wide_search_crosses_regions_when_fully_open():
    pos, ent = wide_search(search_inputs(extra=20, cross=1.0))
    region = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert np.all(region[ent[4:]] != np.array([0, 1])[pos[4:]])


def test_the_schemas_list_of_built_in_rules_is_the_registrys():
    """``ecosim check`` trusts ``scenario.BUILT_IN_RULES`` instead of importing the registry: the two
    must name the same rules (add a new built-in rule to both)."""
    from ecosim.rules import available_rules, rule_origin
    from ecosim.scenario import (
        BUILT_IN_RULES,
        RULE_KINDS,
        Rules,
        chooses_only_built_in_rules,
        load_scenario,
    )

    assert set(BUILT_IN_RULES) == set(RULE_KINDS)
    for kind in RULE_KINDS:  # (another test may have replaced a built-in name with its own rule: both inclusions)
        assert set(BUILT_IN_RULES[kind]) <= set(available_rules(kind)), kind
        assert {n for n in available_rules(kind) if rule_origin(kind, n) == "built-in"} <= set(BUILT_IN_RULES[kind])
    assert all(getattr(Rules(), kind) in BUILT_IN_RULES[kind] for kind in RULE_KINDS)  # the defaults too
    tiny = load_scenario("scenarios/tiny.yaml")
    assert chooses_only_built_in_rules(tiny)
    assert not chooses_only_built_in_rules(tiny.model_copy(update={"rules": Rules(adoption="everyone_adopts")}))
