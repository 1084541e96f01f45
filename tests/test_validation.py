"""Validation: fact definitions, the validation table, the facts' distance and ``ecosim validate``."""

from __future__ import annotations

import math
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import ECOSIM, SMALL_WORLD, TINY
from ecosim.calibration import fact_distance
from ecosim.scenario import apply_overrides, load_scenario
from ecosim.validation import (
    FACTS,
    FACTS_BY_ID,
    fact_measures,
    format_table,
    mean_interval,
    medicine_transition_product,
    simulate_with_facts,
    technical_failure_rates,
    validation_table,
)


def _tech(**columns) -> pd.DataFrame:
    """A hand-made technology table with the columns the fact measures read."""
    n = len(next(iter(columns.values())))
    defaults = {
        "owner_type": ["university"] * n, "status": ["active"] * n, "deal_mode": [None] * n,
        "metric_driven": [False] * n, "birth": [1] * n, "deal_step": [-1] * n, "poc_funded": [False] * n,
        "field": [0] * n, "disclosure_trl": [3] * n, "gate": [0] * n, "fail_gate": [-1] * n,
        "fail_cause": [None] * n, "waiting_since": [-1] * n,
    }
    defaults.update(columns)
    frame = pd.DataFrame(defaults)
    for col in ("owner_type", "status", "deal_mode", "fail_cause"):
        frame[col] = frame[col].astype("category")
    return frame


def _summary(**values) -> dict[str, float]:
    base = {"enterprise_rd_share": 0.77, "top10_value_share": 0.7, "trl3_share_at_disclosure": 0.45,
            "trl4_share_at_disclosure": 0.37, "fair_selection_rate": 0.136, "researchers_per_manager": 100.0,
            "medicine_g3_to_market": 0.08}
    base.update(values)
    return base


def test_facts_cover_f1_to_f12_with_ordered_ranges_and_definitions():
    ids = {f.id.rstrip("ab") for f in FACTS}
    assert ids == {f"F{i}" for i in range(1, 13)}
    for fact in FACTS:
        assert fact.low < fact.high, fact.id
        assert fact.definition and fact.source and fact.measure.startswith("fact_")


def test_conversion_counts_only_valid_patents_technically_dead_unused_ones_lapse():
    t = _tech(
        owner_type=["university"] * 4,
        status=["failed", "failed", "shelved", "active"],
        deal_mode=["licence", None, None, None],
    )
    out = fact_measures(_summary(), t, steps=40)
    # the failed technology without a deal leaves the denominator; the licensed one stays converted
    assert out["fact_conversion_university"] == pytest.approx(1 / 3)


def test_autm_flows_count_only_the_last_five_years_and_leave_out_metric_filings():
    t = _tech(
        owner_type=["university"] * 6,
        deal_mode=["licence", "assignment", "licence", "spin_off", None, "licence"],
        deal_step=[39, 30, 10, 35, -1, 38],
        birth=[25, 5, 1, 30, 30, 30],
        metric_driven=[False, False, False, False, False, True],
    )
    out = fact_measures(_summary(), t, steps=40)
    # window = quarters 21..40: disclosures born there and not metric-driven: births 25, 30, 30, 30 → 3
    # (the metric-driven one is not an invention disclosure); licences in the window of invention
    # disclosures: deal steps 39 and 30 (born before the window, counted as AUTM counts flows)
    assert out["fact_licences_per_disclosure"] == pytest.approx(2 / 3)
    assert out["fact_startups_per_disclosure"] == pytest.approx(1 / 3)


def test_poc_advantage_compares_with_all_technologies_of_the_same_cohort():
    t = _tech(
        owner_type=["university"] * 5,
        deal_mode=["licence", None, "licence", None, None],
        poc_funded=[True, True, False, False, False],
        birth=[1, 1, 1, 1, 35],  # the last is too young for the cohort
        metric_driven=[False, False, False, True, False],
    )
    out = fact_measures(_summary(), t, steps=40)
    assert out["fact_poc_cohort_conversion"] == pytest.approx(0.5)
    assert out["fact_all_disclosure_conversion"] == pytest.approx(2 / 4)
    assert out["fact_invention_disclosure_conversion"] == pytest.approx(2 / 3)
    assert out["fact_poc_advantage"] == pytest.approx(1.0)


def test_medicine_transition_product_multiplies_gate_rates_any_cause():
    # medicine: 2 pass every gate, 2 fail technically at G1, 1 shelved at G3 after passing G1, G2
    t = _tech(
        field=[3] * 5, status=["market", "market", "failed", "failed", "shelved"],
        gate=[4, 4, 0, 0, 2], fail_gate=[-1, -1, 0, 0, 2], fail_cause=[None, None, "technical", "technical", "funding"],
    )
    # G1: 3 passed / 5; G2: 3/3; G3: 2/3; G4: 2/2
    assert medicine_transition_product(t) == pytest.approx(0.6 * 1 * 2 / 3 * 1)
    # from G3 entry (F8's diagnostic, BIO's phase I onwards): G3 and G4 only
    assert medicine_transition_product(t, first_gate=2) == pytest.approx(2 / 3 * 1)


def test_technical_failure_rate_counts_every_technology_that_attempted_the_gate():
    t = _tech(
        status=["failed", "active", "active", "active", "shelved"],
        gate=[0, 1, 0, 0, 0], fail_gate=[0, -1, -1, -1, 0], fail_cause=["technical", None, None, None, "funding"],
        waiting_since=[-1, -1, 5, -1, -1],
    )
    rates = technical_failure_rates(t)
    # attempted G1: failed, passed (now at G2), waiting to retry, shelved → 4; the fresh one has not tried
    assert rates[0, 0] == pytest.approx(1 / 4)


def test_fact_distance_is_zero_inside_and_in_half_widths_outside():
    f1 = FACTS_BY_ID["F1"]  # 0.03–0.05, half-width 0.01
    assert fact_distance(f1, 0.04) == 0.0
    assert fact_distance(f1, 0.07) == pytest.approx(2.0)
    assert fact_distance(f1, 0.02) == pytest.approx(1.0)
    assert fact_distance(FACTS_BY_ID["F2b"], 2.5) == pytest.approx(1.0)  # ≥ 5, scale 2.5
    assert math.isinf(fact_distance(f1, float("nan")))


def test_validation_table_reports_mean_interval_and_whether_inside():
    runs = pd.DataFrame({f.measure: np.full(5, f.low) for f in FACTS})
    runs["fact_conversion_university"] = [0.06, 0.07, 0.08, 0.07, 0.07]
    table = validation_table(runs)
    row = table.set_index("fact").loc["F1"]
    assert row["mean"] == pytest.approx(0.07) and not row["inside"]
    assert row["ci_low"] < 0.07 < row["ci_high"]
    assert table.set_index("fact").loc["F3", "inside"]
    text = format_table(table)
    assert "F1" in text and "NO" in text
    assert format_table(table, markdown=True).startswith("| fact |")


def test_inputs_are_listed_beside_the_patterns_but_never_judged():
    """F4, F9, F10 and F12 are set from data (parameters or arithmetic on them): reporting
    them as validated would be circular, so the table marks them as inputs."""
    assert {f.id for f in FACTS if f.input} == {"F4", "F9a", "F9b", "F10", "F12"}
    runs = pd.DataFrame({f.measure: np.full(4, f.low) for f in FACTS})
    runs["fact_researchers_per_manager"] = 200.0  # outside F12's range
    table = validation_table(runs).set_index("fact")
    assert table.loc["F12", "kind"] == "input" and table.loc["F1", "kind"] == "pattern"
    assert (table["kind"] == "pattern").sum() == len(FACTS) - 5
    text = format_table(table.reset_index())
    f12 = next(line for line in text.splitlines() if line.startswith("F12"))
    assert "input, not a test" in f12 and "NO" not in f12


def test_fact_measures_count_only_technologies_disclosed_after_the_burn_in():
    t = _tech(
        owner_type=["university"] * 4,
        status=["active"] * 4,
        deal_mode=["licence", None, "licence", None],
        birth=[3, 5, 25, 30],
    )
    whole_run = fact_measures(_summary(measured_from_quarter=1.0), t, steps=40)
    assert whole_run["fact_conversion_university"] == pytest.approx(2 / 4)
    # burn-in of 20 quarters: the two disclosed in quarters 3 and 5 leave every rate
    after_burn_in = fact_measures(_summary(measured_from_quarter=21.0), t, steps=40)
    assert after_burn_in["fact_conversion_university"] == pytest.approx(1 / 2)
    t.loc[2, "deal_mode"] = None
    assert fact_measures(_summary(measured_from_quarter=21.0), t, steps=40)["fact_conversion_university"] == 0.0


def test_mean_interval_matches_student_t():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    mean, lo, hi = mean_interval(values)
    assert mean == 2.5
    assert hi - mean == pytest.approx(3.182446305 * values.std(ddof=1) / 2, rel=1e-6)


def test_simulate_with_facts_adds_every_fact_measure_to_a_real_run():
    scenario = apply_overrides(load_scenario(TINY), SMALL_WORLD | {"steps": 24})
    result = simulate_with_facts(scenario, seed=3)
    for fact in FACTS:
        assert fact.measure in result.summary
    s = result.summary
    assert 0 <= s["fact_conversion_university"] <= 1
    assert 0 <= s["fact_medicine_g3_to_market"] <= 1 or np.isnan(s["fact_medicine_g3_to_market"])
    assert s["fact_medicine_g3_to_market"] == s["medicine_g3_to_market"] or np.isnan(s["medicine_g3_to_market"])
    assert "fact_medicine_g1_to_market" not in s  # F8 is realised from G3 entry now
    assert s["check_g1_to_market"] <= s["check_technical_ceiling"]
    again = simulate_with_facts(scenario, seed=3)
    assert again.summary == pytest.approx(s, nan_ok=True)


def test_ecosim_validate_prints_the_table_and_exits_3_when_a_fact_is_outside(tmp_path):
    csv = tmp_path / "runs.csv"
    proc = subprocess.run(
        [str(ECOSIM), "validate", str(TINY), "--replications", "2", "--workers", "1", "--set", "steps=16",
         "--csv", str(csv)], capture_output=True, text=True, timeout=300,
    )
    assert "F12" in proc.stdout and "produced patterns inside their target range" in proc.stdout
    # the tiny world has 200 researchers per manager, outside F12's 90–110, but F12 is an
    # input (arithmetic on the world's sizes): listed, never counted as a pass or a failure
    f12 = next(line for line in proc.stdout.splitlines() if line.startswith("F12"))
    assert "200.0" in f12 and "input, not a test" in f12 and "NO" not in f12
    assert "of 10 produced patterns" in proc.stdout  # 15 facts, 5 of them inputs
    # 16 quarters leave no PoC cohort old enough (20 quarters) for F11a: a pattern outside → exit 3
    f11a = next(line for line in proc.stdout.splitlines() if line.startswith("F11a"))
    assert f11a.rstrip().endswith("NO")
    assert proc.returncode == 3, proc.stderr
    assert len(pd.read_csv(csv)) == 2


def test_ecosim_validate_rejects_a_bad_scenario_with_exit_2(tmp_path):
    proc = subprocess.run([str(ECOSIM), "validate", str(tmp_path / "missing.yaml")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "file not found" in proc.stderr
    proc = subprocess.run([str(ECOSIM), "validate", str(TINY), "--set", "world.regions=0"], capture_output=True, text=True)
    assert proc.returncode == 2 and "world.regions" in proc.stderr
