"""Experiments over posterior draws, the probability that a policy beats the baseline, and
``ecosim validate --posterior`` (issue 13)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

from ecosim import analysis
from ecosim.cli import main
from ecosim.errors import InputError
from ecosim.executors import run_sweep
from ecosim.experiment import load_experiment
from ecosim.posterior import posterior_draws, read_posterior
from ecosim.store import load_runs
from ecosim.validation import predictive_table, validate_posterior
from sweep_helpers import ROOT, TINY

SHIPPED = ROOT / "experiments" / "posterior" / "default.parquet"


def write_posterior(path: Path, rows: int = 5, weights=None, **columns) -> Path:
    """A small posterior over two tiny-world keys (or the given columns), uneven weights by default."""
    data = columns or {
        "technology.matching_lambda": np.linspace(0.4, 0.6, rows),
        "enterprises.joint_proposal_rate": np.linspace(0.05, 0.07, rows),
    }
    frame = pd.DataFrame(data)
    w = np.arange(1.0, len(frame) + 1) if weights is None else np.asarray(weights, float)
    frame["weight"] = w / w.sum() if weights is None else w
    frame.to_parquet(path, index=False)
    return path


def write_posterior_experiment(directory: Path, posterior: str = "post.parquet", draws: int = 3,
                               scenarios=None, **changes) -> Path:
    """Two tiny scenarios over ``draws`` posterior draws, 4 quarters."""
    data = {
        "name": "tiny_posterior",
        "scenarios": scenarios or [TINY, {"file": TINY, "name": "tiny_poc",
                                          "overrides": {"budget.research_grants": 0.7,
                                                        "budget.proof_of_concept": 0.15}}],
        "parameters": {"posterior": posterior, "draws": draws},
        "seed": 11,
        "steps": 4,
        "keep": "summary",
    }
    data.update(changes)
    path = directory / "tiny_posterior.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def ecosim(capsys, *args) -> tuple[int, str, str]:
    """Run ``ecosim ARGS`` in-process; return (exit status, stdout, stderr)."""
    try:
        status = main([str(a) for a in args])
    except SystemExit as exit_:  # `ecosim validate` exits 3 when a pattern is outside its range
        status = exit_.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---------------------------------------------------------------- the draws


def test_draws_are_deterministic_stable_when_more_are_asked_for_and_follow_the_weights():
    weights = np.array([0.5, 0.0, 0.3, 0.2])
    first = posterior_draws(weights, 4000, root_seed=5)
    assert first == posterior_draws(weights, 4000, root_seed=5)
    assert first[:30] == posterior_draws(weights, 30, root_seed=5)
    assert first != posterior_draws(weights, 4000, root_seed=6)
    counts = np.bincount(first, minlength=4) / len(first)
    assert counts[1] == 0  # a particle without weight is never drawn
    # multinomial: each share within 4 standard errors of its weight
    assert np.all(np.abs(counts - weights) <= 4 * np.sqrt(weights * (1 - weights) / len(first)) + 1e-12)


def test_each_replication_has_one_draw_and_seed_shared_by_every_scenario(tmp_path):
    write_posterior(tmp_path / "post.parquet")
    experiment = load_experiment(write_posterior_experiment(tmp_path, draws=6))
    assert experiment.draws == load_experiment(tmp_path / "tiny_posterior.yaml").draws
    by_replication: dict[int, set] = {}
    for run in experiment.runs():
        by_replication.setdefault(run.replication, set()).add(
            (run.draw, run.seed, tuple(sorted(run.posterior.items()))))
    assert len(by_replication) == 6
    assert all(len(shared) == 1 for shared in by_replication.values())
    for replication, shared in by_replication.items():
        draw, seed, values = next(iter(shared))
        assert draw == experiment.draws[replication]
        assert dict(values) == experiment.posterior.particle(draw)


def test_a_sweep_records_each_runs_draw_and_the_values_it_used(tmp_path):
    write_posterior(tmp_path / "post.parquet")
    experiment = load_experiment(write_posterior_experiment(tmp_path, draws=2))
    outcome = run_sweep(experiment, tmp_path / "out", executor="serial")
    assert outcome.done == 4 and outcome.failed == 0
    runs = load_runs(tmp_path / "out")
    posterior = experiment.posterior
    for _, run in runs.iterrows():
        assert run["posterior_draw"] == experiment.draws[run["replication"]]
        for key, value in posterior.particle(int(run["posterior_draw"])).items():
            assert run[f"posterior.{key}"] == pytest.approx(value)
    # the posterior columns are neither metrics nor design parameters
    assert not any(c.startswith("posterior") for c in analysis.metric_columns(runs))
    assert analysis.parameter_columns(runs) == []
    # compare pairs the runs by replication (one draw and seed) and states the probability
    table = analysis.compare(runs, "tiny", ["deals"], primary=["deals"]).iloc[0]
    ok = runs.sort_values("replication")
    expected = analysis.probability_better(ok[ok["scenario"] == "tiny"]["deals"], ok[ok["scenario"] == "tiny_poc"]["deals"], +1)
    assert table["p_better"] == pytest.approx(expected["probability"])


def test_the_fingerprint_covers_the_posterior_files_content_not_its_path(tmp_path):
    write_posterior(tmp_path / "post.parquet")
    before = load_experiment(write_posterior_experiment(tmp_path)).fingerprint()
    (tmp_path / "moved").mkdir()
    write_posterior(tmp_path / "moved" / "post.parquet")
    moved = load_experiment(write_posterior_experiment(tmp_path, posterior="moved/post.parquet")).fingerprint()
    assert moved == before
    write_posterior(tmp_path / "post.parquet", weights=[0.2] * 5)
    assert load_experiment(write_posterior_experiment(tmp_path)).fingerprint() != before


def test_resume_refuses_a_changed_posterior(tmp_path, capsys):
    write_posterior(tmp_path / "post.parquet")
    path = write_posterior_experiment(tmp_path, draws=1, scenarios=[TINY])
    assert ecosim(capsys, "sweep", path, "--executor", "serial", "--out", tmp_path / "out")[0] == 0
    write_posterior(tmp_path / "post.parquet", weights=[0.2] * 5)
    status, _, err = ecosim(capsys, "sweep", path, "--executor", "serial", "--out", tmp_path / "out", "--resume")
    assert status == 2 and "experiment has changed" in err


# ---------------------------------------------------------------- refused input


def test_a_scenario_that_sets_a_posterior_key_is_refused_naming_scenario_and_key(tmp_path, capsys):
    write_posterior(tmp_path / "post.parquet")
    scenario = tmp_path / "lever.yaml"
    scenario.write_text("name: lever\ntechnology:\n  matching_lambda: 0.9\n", encoding="utf-8")
    path = write_posterior_experiment(tmp_path, scenarios=[TINY, str(scenario)])
    status, out, err = ecosim(capsys, "check", path)
    assert status == 2 and out == ""
    assert "scenario 'lever' sets 'technology.matching_lambda'" in err and "Traceback" not in err
    # an entry's override is a setting too
    path = write_posterior_experiment(tmp_path, scenarios=[
        TINY, {"file": TINY, "name": "lever2", "overrides": {"enterprises.joint_proposal_rate": 0.1}}])
    status, _, err = ecosim(capsys, "check", path)
    assert status == 2 and "scenario 'lever2' sets 'enterprises.joint_proposal_rate'" in err


def test_set_by_scenarios_lets_a_scenario_keep_its_own_value(tmp_path):
    write_posterior(tmp_path / "post.parquet")
    scenario = tmp_path / "lever.yaml"
    scenario.write_text("name: lever\ntechnology:\n  matching_lambda: 0.9\n", encoding="utf-8")
    path = write_posterior_experiment(
        tmp_path, scenarios=[TINY, str(scenario)],
        parameters={"posterior": "post.parquet", "draws": 3, "set_by_scenarios": ["technology.matching_lambda"]})
    experiment = load_experiment(path)
    assert "technology.matching_lambda" in experiment.posterior_keys["tiny"]
    assert experiment.posterior_keys["lever"] == ["enterprises.joint_proposal_rate"]
    assert all("technology.matching_lambda" not in r.posterior for r in experiment.runs() if r.scenario == "lever")


@pytest.mark.parametrize(("make", "expected"), [
    (lambda d: d / "absent.parquet", "posterior file"),
    (lambda d: (d / "post.parquet").write_text("not parquet") and d / "post.parquet", "not a readable Parquet file"),
    (lambda d: pd.DataFrame({"technology.matching_lambda": [0.5]}).to_parquet(d / "post.parquet") or d / "post.parquet",
     "has no 'weight' column"),
    (lambda d: write_posterior(d / "post.parquet", weights=[0.5, 0.5, 0.5, -0.5, 0.0]), "negative weights"),
    (lambda d: write_posterior(d / "post.parquet", weights=[0.5, 0.5, 0.5, 0.5, 0.0]), "weights sum to 2"),
    (lambda d: write_posterior(d / "post.parquet", **{"technology.matching_lamda": [0.5], }),
     "did you mean 'technology.matching_lambda'"),
    (lambda d: write_posterior(d / "post.parquet", **{"technology.matching_lambda": [0.5, -1.0]}),
     "particle 1"),
    (lambda d: write_posterior(d / "post.parquet", **{"technology.matching_lambda": [0.5, np.nan]}),
     "missing or infinite"),
])
def test_a_bad_posterior_file_exits_2_naming_the_file_and_what_is_wrong(tmp_path, capsys, make, expected):
    posterior = make(tmp_path)
    path = write_posterior_experiment(tmp_path, posterior=Path(posterior).name)
    status, out, err = ecosim(capsys, "check", path)
    assert status == 2, err
    assert out == "" and "Traceback" not in err
    assert expected in err and Path(posterior).name in err


def test_draws_must_be_at_least_one_and_agree_with_replications(tmp_path, capsys):
    write_posterior(tmp_path / "post.parquet")
    status, _, err = ecosim(capsys, "check", write_posterior_experiment(tmp_path, draws=0))
    assert status == 2 and "parameters.draws" in err
    status, _, err = ecosim(capsys, "check", write_posterior_experiment(tmp_path, draws=3, replications=4))
    assert status == 2 and "give only parameters.draws" in err
    status, _, err = ecosim(capsys, "check", write_posterior_experiment(tmp_path, draws=300_000))
    assert status == 2 and "parameters.draws" in err


def test_posterior_values_are_what_arrows_to_numpy_gives_for_every_numeric_type(tmp_path):
    """The posterior's columns are read through Python numbers (pyarrow's ``to_numpy`` imports
    pandas): the same float64 values as ``to_numpy(zero_copy_only=False).astype(float64)`` for
    every integer and floating type, several row groups, and a missing value as NaN."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ecosim.posterior import _float64

    columns = {
        "a.f64": pa.array([0.1, 1e300, -0.0, 2.5], pa.float64()),
        "a.f32": pa.array([0.1, 3.4e38, -1.5, 2.5], pa.float32()),
        "a.f16": pa.array(np.array([0.1, 6.5e4, -1.5, 2.5], dtype=np.float16)),
        "a.i8": pa.array([-128, 127, 0, 1], pa.int8()),
        "a.i64": pa.array([2**53 + 1, -(2**63), 2**63 - 1, 7], pa.int64()),
        "a.u64": pa.array([2**64 - 1, 0, 2**53 + 3, 7], pa.uint64()),
        "weight": pa.array([0.25, 0.25, 0.25, 0.25]),
    }
    path = tmp_path / "types.parquet"
    pq.write_table(pa.table(columns), path, row_group_size=3)  # two row groups: chunked columns
    expected = pq.read_table(path)
    posterior = read_posterior(path)
    for j, key in enumerate(posterior.keys):
        reference = expected.column(key).to_numpy(zero_copy_only=False).astype(np.float64)
        assert np.array_equal(posterior.values[:, j], reference), key
    assert posterior.values.dtype == np.float64 and posterior.values.flags.writeable
    with_nulls = pa.chunked_array([[1.5, None], [None, 3]], pa.float64()), pa.chunked_array([[1, None], [3]], pa.int32())
    for column in with_nulls:
        assert np.array_equal(_float64(column), column.to_numpy(zero_copy_only=False).astype(np.float64),
                              equal_nan=True)


def test_the_shipped_posterior_experiment_checks(capsys):
    status, out, _ = ecosim(capsys, "check", ROOT / "experiments" / "policy_levers_posterior.yaml")
    assert status == 0 and "240 runs" in out
    posterior = read_posterior(SHIPPED)
    assert posterior.particles == 300 and math.isclose(posterior.weights.sum(), 1.0)  # the calibration's population


# ---------------------------------------------------------------- the probability


def test_probability_counts_wins_ties_half_and_weights():
    baseline = [1.0, 1.0, 1.0, 1.0]
    scenario = [2.0, 1.0, 0.0, 3.0]  # win, tie, loss, win
    assert analysis.probability_better(baseline, scenario, +1)["probability"] == pytest.approx(2.5 / 4)
    assert analysis.probability_better(baseline, scenario, -1)["probability"] == pytest.approx(1.5 / 4)
    weighted = analysis.probability_better(baseline, scenario, +1, weights=[1.0, 2.0, 4.0, 1.0])
    assert weighted["probability"] == pytest.approx((1 + 0.5 * 2 + 0 + 1) / 8)
    assert weighted["n_effective"] == pytest.approx(64 / 22)
    assert math.isnan(analysis.probability_better(baseline, scenario, 0)["probability"])


def test_probability_interval_is_jeffreys_and_reaches_the_ends_only_at_them():
    result = analysis.probability_better(np.zeros(30), np.r_[np.ones(24), -np.ones(6)], +1)
    assert result["probability"] == pytest.approx(0.8)
    assert result["low"] == pytest.approx(stats.beta.ppf(0.025, 24.5, 6.5))
    assert result["high"] == pytest.approx(stats.beta.ppf(0.975, 24.5, 6.5))
    every = analysis.probability_better(np.zeros(10), np.ones(10), +1)
    assert every["probability"] == 1.0 and every["high"] == 1.0 and 0.7 < every["low"] < 1.0


def test_compare_states_the_probability_for_primary_outcomes_with_a_direction():
    draws = [4, 7, 7, 1, 0, 2]
    runs = pd.DataFrame({
        "scenario": ["baseline"] * 6 + ["poc_fund"] * 6, "point": 0, "status": "ok",
        "replication": list(range(6)) * 2, "seed": [11, 12, 13, 14, 15, 16] * 2, "posterior_draw": draws * 2,
        "deals": [10.0, 12, 11, 9, 10, 10] + [12.0, 13, 11, 8, 14, 11],  # win, win, tie, loss, win, win
        "disclosures": [5.0] * 6 + [6.0] * 6,
    })
    table = analysis.compare(runs, "baseline", ["deals", "disclosures"], primary=["deals"])
    row = table.set_index("metric").loc["deals"]
    assert row["p_better"] == pytest.approx(4.5 / 6)
    assert row["p_better_low"] < row["p_better"] < row["p_better_high"]
    assert math.isnan(table.set_index("metric").loc["disclosures", "p_better"])  # descriptive
    assert analysis.compare(runs.drop(columns="posterior_draw"), "baseline", ["deals"],
                            primary=["deals"])["p_better"].isna().all()


def test_report_and_table_print_the_same_probability_with_its_meaning():
    from ecosim import report

    row = {"condition": "poc_fund", "baseline": "baseline", "metric": "deals", "direction": 1, "n": 30,
           "p_better": 0.8, "p_better_low": 0.63, "p_better_high": 0.91}
    table = pd.DataFrame([row])
    assert report.probability_text(row) == "80% [63%, 91%]"
    (cell,) = report.probability_table(table.assign(verdict="better"))["Technologies converted (first transfer)"]
    assert cell == "80% [63%, 91%] — better"
    assert report.probability_headline(table) == (
        "Across the 30 plausible worlds (posterior draws), poc_fund beats baseline most consistently: in at least "
        "80% of them on every primary outcome.")
    assert "not a p-value" in report.POSTERIOR_NOTE


def test_the_probability_headline_names_every_policy_that_ties_for_most_consistent():
    """levers_post_v5: incentive_reform and ecosystem both win in at least 25 of 30 worlds on every
    primary outcome; naming only the first would make an arbitrary pick look like a finding."""
    from ecosim import report

    rows = [{"condition": name, "baseline": "baseline", "metric": metric, "direction": 1, "n": 30,
             "p_better": p, "p_better_low": p - 0.1, "p_better_high": min(p + 0.1, 1.0)}
            for name, ps in (("incentive_reform", (1.0, 0.88, 25 / 30)), ("ecosystem", (1.0, 1.0, 25 / 30)),
                             ("poc_fund", (0.7, 0.55, 0.5)))
            for metric, p in zip(("deals", "commercialisations", "welfare"), ps, strict=True)]
    assert report.probability_headline(pd.DataFrame(rows)) == (
        "Across the 30 plausible worlds (posterior draws), incentive_reform and ecosystem beat baseline most "
        "consistently (a tie): each in at least 83% of them on every primary outcome.")


# ---------------------------------------------------------------- validate --posterior


def test_validate_on_posterior_draws_reports_predictive_mean_interval_and_coverage(tmp_path, capsys):
    posterior = read_posterior(write_posterior(tmp_path / "post.parquet"))
    from ecosim.scenario import load_scenario

    table, runs = validate_posterior(load_scenario(TINY, {"steps": 8}), posterior, replications=3, root_seed=4,
                                     workers=1)
    assert list(runs["posterior_draw"]) == posterior_draws(posterior.weights, 3, 4)
    assert list(runs["posterior.technology.matching_lambda"]) == [
        posterior.particle(d)["technology.matching_lambda"] for d in runs["posterior_draw"]]
    f1 = table.set_index("fact").loc["F1"]
    values = runs["fact_conversion_university"].dropna()
    assert f1["mean"] == pytest.approx(values.mean())
    assert f1["coverage"] == pytest.approx(((values >= 0.03) & (values <= 0.05)).mean())
    assert f1["pi_low"] <= f1["mean"] <= f1["pi_high"]
    assert set(table.loc[table["kind"] == "input", "fact"]) >= {"F4", "F10"}

    status, out, _ = ecosim(capsys, "validate", TINY, "--posterior", tmp_path / "post.parquet",
                            "--replications", "2", "--workers", "1")
    assert status in (0, 3)
    assert "coverage" in out and "predictive mean" in out and "input, not a test" in out


def test_validate_refuses_a_posterior_key_set_by_the_scenario_or_set(tmp_path, capsys):
    write_posterior(tmp_path / "post.parquet")
    status, _, err = ecosim(capsys, "validate", TINY, "--posterior", tmp_path / "post.parquet",
                            "--set", "technology.matching_lambda=0.9", "--workers", "1")
    assert status == 2 and "technology.matching_lambda" in err
    status, _, err = ecosim(capsys, "validate", TINY, "--posterior", tmp_path / "absent.parquet", "--workers", "1")
    assert status == 2 and "absent.parquet" in err


def test_predictive_coverage_is_the_share_of_runs_in_range():
    runs = pd.DataFrame({"fact_conversion_university": [0.02, 0.04, 0.045, 0.06]})
    row = predictive_table(runs).set_index("fact").loc["F1"]
    assert row["coverage"] == pytest.approx(0.5) and row["n"] == 4


def test_a_particle_a_scenario_refuses_is_named_with_its_index_and_scenario(tmp_path):
    # particle 2 breaks the schema's bound; particle 3 breaks a cross-field rule only where the
    # scenario's own budget leaves no room (tiny_poc: grants 0.7 + PoC 0.15 + 0.03 + 0.07 = 0.95)
    write_posterior(tmp_path / "post.parquet", **{"technology.matching_lambda": [0.5, 0.5, 150.0, 0.5],
                                                  "enterprises.joint_proposal_rate": [0.06] * 4})
    with pytest.raises(InputError, match=r"particle 2 .*matching_lambda=150\.0.*invalid for scenario 'tiny'"):
        load_experiment(write_posterior_experiment(tmp_path))
    write_posterior(tmp_path / "post.parquet", **{"budget.fairs": [0.05, 0.05, 0.05, 0.06]})
    scenarios = [{"file": TINY, "name": "tiny", "overrides": {"budget.fairs": 0.0}},
                 {"file": TINY, "name": "tiny_poc", "overrides": {"budget.research_grants": 0.7,
                                                                  "budget.proof_of_concept": 0.15}}]
    path = write_posterior_experiment(tmp_path, scenarios=scenarios,
                                      parameters={"posterior": "post.parquet", "draws": 3,
                                                  "set_by_scenarios": ["budget.fairs"]})
    with pytest.raises(InputError, match=r"particle 3 .*invalid for scenario 'tiny_poc'.*sum to at most 1"):
        load_experiment(path)


def test_setting_a_particle_leaves_the_scenario_it_starts_from_unchanged():
    from ecosim.experiment import _with_values
    from ecosim.scenario import Scenario

    base = Scenario().model_dump(mode="json")
    before = yaml.safe_dump(base)
    data = _with_values(base, {"technology.matching_lambda": 0.9, "technology.funding_slope": 1.1, "steps": 7})
    assert yaml.safe_dump(base) == before
    assert (data["technology"]["matching_lambda"], data["technology"]["funding_slope"], data["steps"]) == (0.9, 1.1, 7)
    assert data["world"] is base["world"]  # untouched sections are shared, not copied


def test_a_particle_that_breaks_a_whole_scenario_rule_is_refused(tmp_path, monkeypatch):
    # managers_per_region is read by the scenario's cross-field rule (at most MAX_AGENTS agents),
    # so its particles are checked on the whole scenario, not only in their section
    import ecosim.scenario

    monkeypatch.setattr(ecosim.scenario, "MAX_AGENTS", 1_500)
    (tmp_path / "small.yaml").write_text("name: small\nsteps: 4\nworld: {regions: 2, enterprises_per_region: 100}\n",
                                         encoding="utf-8")
    write_posterior(tmp_path / "post.parquet", **{"policy.managers.managers_per_region": [5.0, 5.0, 900.0]})
    path = write_posterior_experiment(tmp_path, scenarios=[str(tmp_path / "small.yaml")])
    with pytest.raises(InputError, match=r"particle 2 .*invalid for scenario 'small'.*agents"):
        load_experiment(path)


def test_the_keys_the_cross_field_rules_read_are_the_ones_checked_on_the_whole_scenario():
    """The particle check validates other keys in their section only: a key the scenario-level
    rules read must be listed in Scenario.CROSS_FIELD_KEYS, or an invalid particle would pass."""
    import inspect
    import re

    from ecosim.scenario import Scenario

    source = inspect.getsource(Scenario._cross_field_rules)
    read = set(re.findall(r"self\.([a-z_]+(?:\.[a-z_]+)*)", source))
    aliases = dict(re.findall(r"(\w+) = self\.([a-z_]+)\n", source))  # w = self.world
    for alias, section in aliases.items():
        read.update(f"{section}.{key}" for key in re.findall(rf"\b{alias}\.([a-z_]+)", source))
    read = {key for key in read if "." in key}
    assert read, "the rule's source was not parsed"
    for key in read:
        assert key.startswith(Scenario.CROSS_FIELD_KEYS), f"{key} is read by _cross_field_rules but not listed"
