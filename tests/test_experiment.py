"""Experiment files: designs (sizes, bounds), common-random-number seeds, validation errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from ecosim.errors import InputError
from ecosim.experiment import (
    grid_design,
    latin_hypercube_design,
    load_experiment,
    morris_design,
    replication_seeds,
    salib_problem,
    sobol_design,
)
from sweep_helpers import ROOT, TINY, write_experiment

BOUNDS = {"a": (0.0, 1.0), "b": (10.0, 20.0), "c": (-1.0, 1.0)}


def _within(points, bounds):
    return all(bounds[k][0] <= v <= bounds[k][1] for p in points for k, v in p.items())


def test_grid_design_has_every_combination_once():
    points = grid_design({"x": [1, 2, 3], "y": ["u", "v"], "z": [0.5, 1.5]})
    assert len(points) == 3 * 2 * 2
    assert len({tuple(p.items()) for p in points}) == 12


def test_latin_hypercube_has_one_point_per_stratum_of_each_parameter():
    points = latin_hypercube_design(BOUNDS, samples=20, seed=3)
    assert len(points) == 20 and _within(points, BOUNDS)
    for key, (low, high) in BOUNDS.items():
        strata = np.floor((np.array([p[key] for p in points]) - low) / (high - low) * 20).astype(int)
        assert sorted(strata) == list(range(20))


def test_sobol_design_has_saltelli_size_and_stays_in_bounds():
    problem = salib_problem(BOUNDS)
    assert len(sobol_design(problem, 16, second_order=False, seed=1)) == 16 * (3 + 2)
    points = sobol_design(problem, 16, second_order=True, seed=1)
    assert len(points) == 16 * (2 * 3 + 2) and _within(points, BOUNDS)
    assert problem == salib_problem(BOUNDS)  # SALib did not alter the stored problem


def test_morris_design_has_trajectories_times_inputs_plus_one_on_the_level_grid():
    points = morris_design(salib_problem(BOUNDS), trajectories=6, num_levels=4, seed=1)
    assert len(points) == 6 * (3 + 1) and _within(points, BOUNDS)
    levels = {round((p["a"] - 0.0) / 1.0 * 3, 9) for p in points}
    assert levels <= {0.0, 1.0, 2.0, 3.0}


def test_replication_seeds_are_distinct_and_stable_when_more_are_asked_for():
    seeds = replication_seeds(42, 200)
    assert len(set(seeds)) == 200 and all(0 <= s < 2**63 for s in seeds)
    assert replication_seeds(42, 5) == seeds[:5]
    assert replication_seeds(43, 5) != seeds[:5]


def test_every_scenario_and_point_shares_the_replication_seeds(tmp_path):
    experiment = load_experiment(write_experiment(tmp_path))
    runs = list(experiment.runs())
    assert len(runs) == experiment.n_runs == 2 * 2 * 3
    by_replication: dict[int, set[int]] = {}
    for run in runs:
        by_replication.setdefault(run.replication, set()).add(run.seed)
    assert all(len(seeds) == 1 for seeds in by_replication.values())  # common random numbers
    assert len({next(iter(s)) for s in by_replication.values()}) == 3  # distinct across replications
    assert len({r.run_id for r in runs}) == len(runs)


def test_sampled_integer_keys_are_rounded_and_stay_in_range(tmp_path):
    path = write_experiment(tmp_path, design={"kind": "lhs", "samples": 12, "parameters": {
        "policy.managers.managers_per_region": [1, 30], "policy.managers.skill_mean": {"low": 0.2, "high": 0.6}}})
    experiment = load_experiment(path)
    managers = [p["policy.managers.managers_per_region"] for p in experiment.points]
    skills = [p["policy.managers.skill_mean"] for p in experiment.points]
    assert len(experiment.points) == 12 and experiment.design_kind == "lhs"
    assert all(isinstance(m, int) and 1 <= m <= 30 for m in managers)
    assert all(0.2 <= s <= 0.6 for s in skills)


def test_sobol_experiment_records_the_salib_problem(tmp_path):
    path = write_experiment(tmp_path, design={"kind": "sobol", "samples": 8, "parameters": {
        "policy.managers.skill_mean": [0.2, 0.6], "technology.matching_lambda": [0.03, 0.2]}})
    experiment = load_experiment(path)
    assert len(experiment.points) == 8 * 4
    assert experiment.problem["names"] == ["policy.managers.skill_mean", "technology.matching_lambda"]
    assert experiment.problem["num_points"] == 32 and experiment.problem["calc_second_order"] is False


def test_trial_overrides_change_the_fingerprint_and_are_recorded(tmp_path):
    experiment = load_experiment(write_experiment(tmp_path))
    trial = experiment.with_trial(replications=1, steps=2)
    assert trial.n_runs == 4 and trial.trial == {"replications": 1, "steps": 2}
    assert all(s["steps"] == 2 for s in trial.scenarios.values())
    assert trial.fingerprint() != experiment.fingerprint()
    assert load_experiment(write_experiment(tmp_path)).fingerprint() == experiment.fingerprint()


SWEEP_EXPERIMENTS = sorted(p for p in (ROOT / "experiments").glob("*.yaml")
                          if "\ntargets:" not in p.read_text())  # calibration files: tests/test_calibration.py


@pytest.mark.parametrize("path", SWEEP_EXPERIMENTS, ids=lambda p: p.stem)
def test_shipped_experiments_are_valid(path):
    experiment = load_experiment(path)
    assert experiment.n_runs > 0


def test_shipped_experiments_answer_the_scenario_questions():
    levers = load_experiment(ROOT / "experiments" / "policy_levers.yaml")
    assert "baseline" in levers.scenarios and len(levers.scenarios) >= 7 and levers.replications >= 30
    grid = load_experiment(ROOT / "experiments" / "poc_managers_grid.yaml")
    assert grid.design_kind == "grid" and set(grid.parameters) == {
        "budget.proof_of_concept", "policy.managers.managers_per_region"}
    sobol = load_experiment(ROOT / "experiments" / "sensitivity_sobol.yaml")
    assert sobol.design_kind == "sobol" and len(sobol.parameters) >= 8


def test_the_calibration_sensitivity_asks_where_the_calibration_looked():
    """sensitivity_calibration.yaml's ranges are calibration.yaml's priors, parameter for parameter."""
    from ecosim.calibration import load_calibration

    calibration = load_calibration(ROOT / "experiments" / "calibration.yaml")
    sensitivity = load_experiment(ROOT / "experiments" / "sensitivity_calibration.yaml")
    bounds = dict(zip(sensitivity.problem["names"], map(tuple, sensitivity.problem["bounds"]), strict=True))
    assert bounds == {key: (float(low), float(high)) for key, (low, high) in calibration.parameters.items()}


# ---------------------------------------------------------------- bad files


def _bad(tmp_path, **changes) -> str:
    with pytest.raises(InputError) as info:
        load_experiment(write_experiment(tmp_path, **changes))
    return str(info.value)


def test_unknown_top_level_key_suggests_the_nearest(tmp_path):
    message = _bad(tmp_path, replicatons=3)
    assert "replicatons: unknown key; did you mean 'replications'?" in message


def test_unknown_design_kind_is_named(tmp_path):
    message = _bad(tmp_path, design={"kind": "gird", "parameters": {"steps": [1, 2]}})
    assert "design.kind" in message and "did you mean 'grid'?" in message


def test_design_key_that_is_not_a_scenario_key_suggests_the_nearest(tmp_path):
    message = _bad(tmp_path, design={"kind": "grid", "parameters": {"policy.managers.managers_per_regon": [1, 2]}})
    assert "did you mean 'policy.managers.managers_per_region'?" in message


def test_design_value_out_of_bounds_names_the_point_and_key(tmp_path):
    message = _bad(tmp_path, design={"kind": "grid", "parameters": {"policy.managers.skill_mean": [0.5, 1.5]}})
    assert "design point 1" in message and "policy.managers.skill_mean" in message and "1.5" in message


def test_design_over_a_section_is_refused(tmp_path):
    assert "a section" in _bad(tmp_path, design={"kind": "grid", "parameters": {"policy.managers": [1, 2]}})


def test_seed_and_name_cannot_be_design_parameters(tmp_path):
    assert "root seed" in _bad(tmp_path, design={"kind": "grid", "parameters": {"seed": [1, 2]}})
    assert "cannot be varied" in _bad(tmp_path, design={"kind": "list", "points": [{"name": "x"}]})


def test_sampled_range_must_be_ordered_and_numeric(tmp_path):
    assert "low < high" in _bad(tmp_path, design={"kind": "lhs", "samples": 4,
                                                  "parameters": {"policy.managers.skill_mean": [0.6, 0.2]}})
    assert "not a number" in _bad(tmp_path, design={"kind": "lhs", "samples": 4,
                                                    "parameters": {"rules.adoption": [0, 1]}})


def test_sobol_samples_must_be_a_power_of_two(tmp_path):
    message = _bad(tmp_path, design={"kind": "sobol", "samples": 100,
                                     "parameters": {"policy.managers.skill_mean": [0.2, 0.6]}})
    assert "power of 2" in message and "64 or 128" in message


def test_missing_scenario_file_is_named_with_its_entry(tmp_path):
    message = _bad(tmp_path, scenarios=["no_such.yaml"])
    assert "scenarios[0].file" in message and "no_such.yaml" in message


def test_bad_override_names_the_entry(tmp_path):
    message = _bad(tmp_path, scenarios=[{"file": TINY, "overrides": {"policy.managers.skill_mean": 2}}])
    assert "scenarios[0].overrides" in message and "skill_mean" in message


def test_two_scenarios_with_one_name_are_refused(tmp_path):
    assert "two scenarios are named 'tiny'" in _bad(tmp_path, scenarios=[TINY, TINY])


def test_unsafe_names_are_refused(tmp_path):
    assert "not a safe name" in _bad(tmp_path, scenarios=[{"file": TINY, "name": "../escape"}])
    path = write_experiment(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["name"] = "a/b"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="not a safe name"):
        load_experiment(path)


def test_unknown_rule_in_a_design_point_is_refused(tmp_path):
    message = _bad(tmp_path, design={"kind": "list", "points": [{"rules.adoption": "risk_avers"}]})
    assert "unknown adoption rule" in message


def test_broken_yaml_is_reported_with_its_line(tmp_path):
    path = Path(tmp_path) / "broken.yaml"
    path.write_text("name: x\nscenarios: [a\nreplications: 2\n")
    with pytest.raises(InputError, match="broken YAML at line"):
        load_experiment(path)


def test_checking_a_sampled_design_validates_its_corners_without_sampling(tmp_path):
    """``ecosim check`` loads a sampled design with ``sample=False``: the two corners of its
    ranges are validated (a range reaching an invalid value is refused) and the planned runs
    counted, without importing SciPy's or SALib's samplers (over a second of a check's time)."""
    import subprocess
    import sys

    code = (
        "import sys; from ecosim.experiment import load_experiment\n"
        "e = load_experiment('experiments/sensitivity_sobol.yaml', sample=False)\n"
        "print(e.planned_runs, len(e.points), 'SALib.sample.sobol' in sys.modules, 'scipy.stats' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent).stdout.split()
    sampled = load_experiment(Path(__file__).resolve().parent.parent / "experiments" / "sensitivity_sobol.yaml")
    assert int(out[0]) == sampled.n_runs and out[1] == "2" and out[2:] == ["False", "False"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"name: bad\nscenarios:\n  - {Path(__file__).resolve().parent.parent / 'scenarios' / 'tiny.yaml'}\n"
        "design:\n  kind: lhs\n  samples: 4\n  parameters:\n    budget.proof_of_concept: [0.0, 0.9]\n"
        "replications: 1\nseed: 1\n")
    with pytest.raises(InputError, match="budget"):
        load_experiment(bad, sample=False)


def test_checking_every_shipped_file_imports_no_heavy_library():
    """``ecosim check`` on every scenario, experiment and calibration file in the repository stays on
    the light path: no numpy, pandas, matplotlib, Mesa, networkx, Dask, SciPy or SALib, and no
    package-metadata lookup (``ecosim.__version__`` is read only when used). Their imports were most
    of a check's time (benchmarks/bench_check.py measures the whole command; docs/RELIABILITY.md has
    the numbers). Experiments over posterior draws are left out: checking them reads the posterior's
    Parquet file (pyarrow, numpy; see the next test)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    files = sorted(str(p) for p in [*root.glob("scenarios/*.yaml"), *root.glob("experiments/*.yaml")]
                   # an experiment over posterior draws must read its Parquet file (pyarrow, numpy)
                   if "posterior:" not in Path(p).read_text())
    assert len(files) >= 10 and any(Path(f).name == "calibration.yaml" for f in files)
    heavy = ["numpy", "pandas", "matplotlib", "mesa", "networkx", "dask", "scipy", "SALib"]
    code = (
        "import sys, ecosim; from ecosim.cli import main\n"
        f"status = main(['check', *{files!r}])\n"
        f"print(status, [m for m in {heavy!r} if m in sys.modules], ecosim._installed_version.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout
    assert out.strip().splitlines()[-1] == "0 [] 0", out[-2000:]


@pytest.mark.parametrize(("name", "imported"), [
    ("calibration.yaml", []),  # the facts come from ecosim.facts, not ecosim.validation
    ("policy_levers_posterior.yaml", ["numpy", "pyarrow"]),  # reads and checks the posterior's values
])
def test_checking_the_calibration_and_the_posterior_experiment_imports_no_pandas_or_scipy(name, imported):
    """``ecosim check`` on the calibration file and on the experiment over posterior draws imports
    neither pandas nor SciPy (nor pyabc, pyarrow's dataset layer or the validation's statistics),
    which took it from about 0.5 s to 1.9 s (docs/RELIABILITY.md, "Checks stay fast"): the facts are
    read from ecosim.facts, and the posterior's Parquet file with pyarrow alone. An import-level
    check, not a timing: the heavy modules' names in ``sys.modules`` after the check."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    watched = ["numpy", "pandas", "scipy", "pyarrow", "pyarrow.dataset", "pyabc", "matplotlib", "mesa",
               "networkx", "dask", "SALib", "ecosim.validation", "ecosim.model"]
    code = (
        "import sys, ecosim; from ecosim.cli import main\n"
        f"status = main(['check', {str(root / 'experiments' / name)!r}])\n"
        f"print(status, [m for m in {watched!r} if m in sys.modules], ecosim._installed_version.cache_info().currsize)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout
    lines = out.strip().splitlines()
    assert f"{name}: valid" in lines[0], out[-2000:]
    assert lines[-1] == f"0 {imported!r} 0", out[-2000:]
