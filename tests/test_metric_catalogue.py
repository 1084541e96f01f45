"""The metric catalogue: every output the model returns is declared, with a meaning a reader can use."""

from __future__ import annotations

import pytest

from ecosim import analysis, metric_catalogue
from ecosim.metric_catalogue import CATALOGUE, HIGHER, LOWER, NEITHER


@pytest.fixture(scope="module")
def summary_keys():
    from ecosim.model import simulate
    from ecosim.scenario import Scenario

    return list(simulate(Scenario(steps=6), seed=3).summary)


@pytest.fixture(scope="module")
def summary():
    """A short run in which technologies are shelved (patience of one quarter) and the fairs'
    experts cannot review every application, so that keys counted differently differ."""
    from ecosim.model import simulate
    from ecosim.scenario import Scenario

    scenario = Scenario(steps=6)
    scenario.technology.patience_quarters = 1
    scenario.technology.retry_quarters = 1
    scenario.policy.fairs.expert_reviews = 5
    return dict(simulate(scenario, seed=3).summary)


def test_every_summary_key_that_simulate_returns_is_in_the_catalogue(summary_keys):
    missing = [key for key in summary_keys if not metric_catalogue.known(key)]
    assert not missing, (f"simulate() returns {missing}, which src/ecosim/metric_catalogue.py does not declare; "
                         "add each with its label, unit, direction, tails and family")


def test_every_step_column_is_in_the_catalogue():
    from ecosim.metrics import STEP_COLUMNS

    missing = [c for c in STEP_COLUMNS if c not in ("step", "year", "quarter") and not metric_catalogue.known(c)]
    assert not missing


def test_every_entry_is_complete_and_readable():
    families = {"headline", "mechanism", "cost"}
    for name, entry in CATALOGUE.items():
        assert entry.name == name
        assert entry.label.strip() and "_" not in entry.label.replace("T_UIG", ""), name
        assert entry.unit.strip(), name
        assert entry.direction in (HIGHER, LOWER, NEITHER), name
        assert entry.family in families, name
        if entry.heavy_tailed:
            # a ratio of means needs a positive metric
            assert entry.low == 0.0, name
        if entry.unit.startswith("share"):
            assert (entry.low, entry.high) == (0.0, 1.0), name


def test_meanings_issue_14_found_guessed_wrong_are_declared_right():
    # a matching failure rate is a share, and lower is better
    for side in ("academic", "enterprise"):
        entry = metric_catalogue.entry(f"matching_failure_rate_{side}")
        assert entry.direction == LOWER and entry.unit == "share, 0–1"
    # T_UIG: negative means synergy (docs/ODD.md §7.20), not an index in [0, 1]
    synergy = metric_catalogue.entry("triple_helix_synergy")
    assert synergy.unit == "bits" and synergy.low is None and synergy.direction == LOWER
    # the G2 stock is a level, not a flow per quarter
    assert metric_catalogue.entry("at_G2").stock


def test_labels_say_what_their_keys_count(summary):
    """A label names what run_summary actually counts (issue 14: "Technologies failed at a gate"
    counted technical failures only, the shelved ones being counted apart)."""
    from ecosim.scenario import GATES

    entry = metric_catalogue.entry
    technical = sum(summary[f"fail_{g}_technical"] for g in GATES)
    waited = sum(summary[f"fail_{g}_{c}"] for g in GATES for c in ("funding", "matching"))
    assert technical > 0 and waited > 0  # the run has both, so the sums below tell them apart
    assert summary["failed"] == technical and summary["shelved"] == waited
    assert "technically" in entry("failed").label and "at a gate" not in entry("failed").label
    assert "no money or partner" in entry("shelved").label
    assert "technically" in entry("failed_total").label
    # licences_per_disclosure counts licences and assignments (docs/ODD.md §8.2)
    assert "assignments" in entry("licences_per_disclosure").label
    # fair_selection_rate is selected over reviewed applications, not over all applications
    assert summary["fair_selected"] > 0
    assert summary["fair_selection_rate"] > summary["fair_selected"] / summary["fair_applicants"]
    assert "reviewed" in entry("fair_selection_rate").label
    # the medicine share is over entrants whose fate is decided, not over all entrants
    assert "decided" in entry("medicine_g3_to_market").label


def test_consumers_read_the_catalogue():
    for name, entry in CATALOGUE.items():
        assert analysis.metric_label(name) == entry.label
        assert analysis.metric_unit(name) == entry.unit
        assert analysis.metric_direction(name) == entry.direction
        assert analysis.is_heavy_tailed(name) == entry.heavy_tailed


def test_default_primary_outcomes_are_the_headline_family():
    assert metric_catalogue.primary_defaults() == ["deals", "commercialisations", "welfare"]


def test_an_experiment_file_declares_its_primary_outcomes_and_names_are_checked(tmp_path):
    from ecosim.errors import InputError
    from ecosim.experiment import load_experiment

    scenario = str((__import__("pathlib").Path("scenarios/tiny.yaml")).resolve())
    path = tmp_path / "e.yaml"
    path.write_text(f"name: e\nscenarios: [{scenario}]\nreplications: 2\nseed: 1\nprimary: [deals, welfare]\n")
    assert load_experiment(path).primary == ["deals", "welfare"]
    path.write_text(f"name: e\nscenarios: [{scenario}]\nreplications: 2\nseed: 1\nprimary: [wellfare]\n")
    with pytest.raises(InputError, match="did you mean 'welfare'"):
        load_experiment(path)


def test_no_label_states_a_span_the_scenario_sets():
    """Windows are scenario parameters (``outputs.cohort_window_quarters``, the burn-in), so a
    label that says "5-year" is wrong whenever a scenario changes them."""
    import re

    for name, entry in CATALOGUE.items():
        assert not re.search(r"\d+[- ](year|quarter)", entry.label), (name, entry.label)
    for owner in ("university", "joint", "enterprise"):
        assert "within the cohort window" in metric_catalogue.entry(f"cohort_conversion_{owner}").label


def test_cohort_conversion_counts_conversions_within_the_scenarios_window():
    """The window the cohort labels name is the scenario's: a longer window admits fewer
    technologies to the cohort and gives each longer to convert, so the rate changes with it."""
    from ecosim.model import simulate
    from ecosim.scenario import Scenario

    rates = {}
    for window in (2, 6):
        scenario = Scenario(steps=12)
        scenario.outputs.cohort_window_quarters = window
        rates[window] = simulate(scenario, seed=3).summary["cohort_conversion_enterprise"]
    assert rates[2] == rates[2] and rates[6] == rates[6]  # both windows have a cohort (not NaN)
    assert rates[2] != rates[6]


def test_poc_advantage_label_says_what_it_divides(summary):
    """poc_advantage = PoC-funded academic (university and joint) technologies' conversion rate
    over the conversion rate of all university technologies (PoC-funded or not), as
    metrics.run_summary computes it; the label says both sides."""
    assert summary["poc_funded"] > 0 and summary["conversion_university"] > 0
    assert summary["poc_advantage"] == pytest.approx(summary["poc_cohort_conversion"]
                                                     / summary["conversion_university"])
    label = metric_catalogue.entry("poc_advantage").label
    numerator, _, denominator = label.partition(" over ")
    assert "PoC-funded" in numerator and "university and joint" in numerator
    assert "university technologies" in denominator and "PoC" not in denominator and "joint" not in denominator
    assert "university and joint" in metric_catalogue.entry("poc_cohort_conversion").label
