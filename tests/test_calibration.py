"""``ecosim calibrate``: the calibration file, the distance, determinism and resume, the posterior's form."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, TINY
from ecosim.calibration import (
    INDEX,
    load_calibration,
    particle_distance,
    run_calibration,
    target_distance,
)
from ecosim.cli import main

# A world small enough that a calibration of a few dozen simulations takes seconds.
TINY_CALIBRATION = f"""
name: tiny_calibration
scenario: {TINY}
steps: 12
overrides:
  world.enterprises_per_region: 30
parameters:
  technology.matching_lambda: [0.2, 1.5]
  technology.log_value_sigma: [1.3, 1.9]
targets: [F3, F7]
population_size: 8
populations: 3
simulations: 400
seed: 11
predictive_draws: 3
"""


def write(tmp_path: Path, text: str = TINY_CALIBRATION, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def refused(tmp_path: Path, capsys, text: str) -> str:
    """Run ``ecosim check`` on a calibration file; assert exit 2 and return the message."""
    path = write(tmp_path, text)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# ---------------------------------------------------------------- the file


def test_shipped_calibration_file_is_valid_and_every_default_lies_inside_its_prior():
    calibration = load_calibration(REPO / "experiments" / "calibration.yaml")
    assert [t.id for t in calibration.targets] == ["F1", "F2a", "F2b", "F3", "F5", "F6", "F7", "F8", "F11a", "F11b"]
    assert calibration.population_size == 300 and calibration.simulations >= 5000  # issue 13: a full calibration
    for key, (low, high) in calibration.parameters.items():
        assert low <= calibration.defaults[key] <= high, key


def test_check_accepts_a_calibration_file(tmp_path, capsys):
    assert main(["check", str(write(tmp_path))]) == 0
    assert "valid calibration 'tiny_calibration'" in capsys.readouterr().out


@pytest.mark.parametrize("target", ["F4", "F9a", "F10", "F12"])
def test_inputs_are_refused_as_targets(tmp_path, capsys, target):
    err = refused(tmp_path, capsys, TINY_CALIBRATION.replace("targets: [F3, F7]", f"targets: [F3, {target}]"))
    assert f"{target} is an input" in err and "targets" in err


def test_unknown_target_is_refused_with_a_suggestion(tmp_path, capsys):
    err = refused(tmp_path, capsys, TINY_CALIBRATION.replace("targets: [F3, F7]", "targets: [F3, F77]"))
    assert "'F77' is not a fact id" in err


def test_unknown_parameter_key_is_refused_with_the_nearest_key(tmp_path, capsys):
    err = refused(tmp_path, capsys, TINY_CALIBRATION.replace("technology.matching_lambda:", "technology.matching_lamda:"))
    assert "technology.matching_lamda" in err and "did you mean 'technology.matching_lambda'" in err


def test_reversed_or_invalid_ranges_are_refused(tmp_path, capsys):
    err = refused(tmp_path, capsys, TINY_CALIBRATION.replace("[0.2, 1.5]", "[1.5, 0.2]"))
    assert "low < high" in err
    err = refused(tmp_path, capsys, TINY_CALIBRATION.replace("[1.3, 1.9]", "[1.3, 9.0]"))
    assert "high end" in err  # log_value_sigma ≤ 5 in the scenario schema


def test_integer_keys_and_unknown_file_keys_are_refused(tmp_path, capsys):
    err = refused(tmp_path, capsys, TINY_CALIBRATION.replace(
        "  technology.log_value_sigma: [1.3, 1.9]", "  policy.managers.managers_per_region: [1.0, 9.0]"))
    assert "not a real-valued scenario key" in err
    err = refused(tmp_path, capsys, TINY_CALIBRATION + "generations: 4\n")
    assert "generations" in err


def test_a_budget_below_one_generation_is_refused(tmp_path, capsys):
    path = write(tmp_path)
    assert main(["calibrate", str(path), "--out", str(tmp_path / "out"), "--simulations", "5"]) == 2
    assert "cannot fill one generation" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- the distance


def test_target_distance_is_zero_inside_and_in_half_widths_outside():
    assert target_distance(0.03, 0.05, 0.04) == 0.0
    assert target_distance(0.03, 0.05, 0.07) == pytest.approx(2.0)
    assert target_distance(0.03, 0.05, 0.02) == pytest.approx(1.0)
    assert target_distance(5.0, math.inf, 2.5) == pytest.approx(1.0)  # "at least 5": scale 2.5
    assert target_distance(5.0, math.inf, 50.0) == 0.0
    assert math.isinf(target_distance(0.03, 0.05, math.nan))


def test_particle_distance_is_the_root_of_the_sum_of_squares():
    observed = {"a": np.array([0.03, 0.05]), "b": np.array([5.0, np.inf]), "c": np.array([0.5, 0.9])}
    assert particle_distance({"a": 0.08, "b": 1.0, "c": 0.7}, observed) == pytest.approx(math.sqrt(3.0**2 + 1.6**2))
    assert particle_distance({"a": 0.04, "b": 7.0, "c": 0.7}, observed) == 0.0
    assert math.isinf(particle_distance({"a": math.nan, "b": 7.0, "c": 0.7}, observed))


# ---------------------------------------------------------------- determinism and resume


class Crash(Exception):
    """Stands for a kill in the middle of a generation."""


def calibrate(tmp_path: Path, out: str, **kwargs):
    calibration = load_calibration(write(tmp_path))
    return run_calibration(calibration, tmp_path / out, executor="serial", report=False, **kwargs)


def test_serial_calibration_twice_gives_the_same_posterior(tmp_path):
    first = calibrate(tmp_path, "a")
    second = calibrate(tmp_path, "b")
    assert first.generations == second.generations == 3
    a = pd.read_parquet(tmp_path / "a" / "posterior.parquet")
    pd.testing.assert_frame_equal(a, pd.read_parquet(tmp_path / "b" / "posterior.parquet"))
    cols = ["t", "epsilon", "simulations", "accepted", "ess"]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a" / "generations.csv")[cols],
                                  pd.read_csv(tmp_path / "b" / "generations.csv")[cols])


def test_calibration_killed_in_a_generation_and_resumed_equals_an_uninterrupted_one(tmp_path):
    calibrate(tmp_path, "whole")

    def crash_in_generation_2(state):
        if state["generation"] == 2 and state["evaluated"] >= 3:
            raise Crash

    with pytest.raises(Crash):
        calibrate(tmp_path, "killed", progress=crash_in_generation_2)
    assert not (tmp_path / "killed" / "posterior.parquet").exists()
    with pytest.raises(Exception, match="--resume continues it"):
        calibrate(tmp_path, "killed")
    outcome = calibrate(tmp_path, "killed", resume=True)
    assert outcome.resumed_from == 2 and outcome.generations == 3
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "whole" / "posterior.parquet"),
                                  pd.read_parquet(tmp_path / "killed" / "posterior.parquet"))


def test_resume_refuses_a_directory_of_another_calibration(tmp_path):
    calibrate(tmp_path, "a", )
    other = load_calibration(write(tmp_path, TINY_CALIBRATION.replace("seed: 11", "seed: 12"), "other.yaml"))
    with pytest.raises(Exception, match="holds a different calibration"):
        run_calibration(other, tmp_path / "a", executor="serial", resume=True, report=False)


def test_posterior_file_has_one_column_per_parameter_and_weights_summing_to_one(tmp_path):
    calibrate(tmp_path, "a")
    posterior = pd.read_parquet(tmp_path / "a" / "posterior.parquet")
    assert list(posterior.columns) == ["technology.matching_lambda", "technology.log_value_sigma", "weight"]
    assert len(posterior) == 8
    assert (posterior["weight"] >= 0).all() and posterior["weight"].sum() == pytest.approx(1.0)
    assert posterior["technology.matching_lambda"].between(0.2, 1.5).all()
    assert posterior["technology.log_value_sigma"].between(1.3, 1.9).all()
    generations = pd.read_csv(tmp_path / "a" / "generations.csv")
    assert list(generations.columns) == ["t", "epsilon", "simulations", "accepted", "acceptance_rate", "ess",
                                         "wall_seconds"]
    assert list(generations["t"]) == [0, 1, 2]
    assert (generations["epsilon"].diff().dropna() <= 0).all()  # ε never rises
    assert (tmp_path / "a" / INDEX).exists() and (tmp_path / "a" / "abc.db").exists()


# ---------------------------------------------------------------- simulate and recover

RECOVER = f"""
name: recover
description: simulate-and-recover on a tiny world (tests/test_calibration.py)
scenario: {TINY}
steps: 12
overrides:
  world.universities_per_region: 1
  world.enterprises_per_region: 30
parameters:
  technology.log_value_sigma: [1.0, 4.0]
  technology.matching_lambda: [0.1, 4.0]
  policy.finance.return_share: [0.05, 0.5]
targets: [F1, F5, F7]
targets_from:
  parameters:
    technology.log_value_sigma: 2.0
    technology.matching_lambda: 0.5
    policy.finance.return_share: 0.2
  replications: 8
  seed: 3
  tolerance: 1.0
population_size: 30
populations: 10
simulations: 1200
seed: 21
predictive_draws: 10
"""


@pytest.mark.slow
def test_simulate_and_recover_finds_the_known_values_of_the_parameters_it_pins_down(tmp_path):
    """Targets simulated at known values (mean of 8 runs ± 1 SD of one run) are calibrated back.

    Why ± 1 SD of one run: each particle is one simulation, so even at the known values a
    particle's measure scatters by one run's SD around the targets' centre (which is itself off
    by about SD/√8); a range narrower than that rejects the truth most of the time and ε hits 0
    before the proposals have moved, a much wider one pins nothing down. With one run per
    particle the posterior can be no sharper than one run's noise allows, so the priors are
    wide (σ_V in [1, 4], λ in [0.1, 4]): what the targets pin down is judged against them.
    σ_V moves F7 by many run-SDs and is pinned down; the matching rate λ moves F1 and F5 by only
    a few run-SDs (and they level off at high λ), and in the runs tried it was *not* pinned down
    (90% interval ~0.9 of its prior) — if a seed reports it pinned down, its known value must
    still lie inside its interval. The finance return share pays investors only after exits,
    which hardly happen in 12 quarters: it moves none of F1, F5, F7.

    Cost: at most 1,200 simulations of ~0.09 s CPU each (148 s wall on a loaded machine).
    Seeds tried: 21 (this one), 22 and 23 met every assertion (3 of 3) on the model before the
    founding managers' skill, with a budget of 600 simulations and 6 generations (numbers in
    docs/VALIDATION.md §7.1); on today's model seed 21 ended at ε = 0.69 with that budget and
    passes with 1,200 and 10 generations; seeds 22 and 23 were not re-run.
    """
    from ecosim.calibration_report import IDENTIFIED_SHARE

    calibration = load_calibration(write(tmp_path, RECOVER))
    run_calibration(calibration, tmp_path / "out", executor="serial")
    generations = pd.read_csv(tmp_path / "out" / "generations.csv")
    assert generations["epsilon"].iloc[-1] == 0  # the posterior's particles all fit every target
    summary = pd.read_csv(tmp_path / "out" / "posterior_summary.csv").set_index("parameter")
    identified = summary[summary["identified"]]
    # the top-10% value share (F7) moves with σ_V far more than one run's noise over the prior
    assert "technology.log_value_sigma" in identified.index
    assert identified["known_inside"].all(), identified
    assert (identified["width_share"] < IDENTIFIED_SHARE).all()
    assert not summary.loc["policy.finance.return_share", "identified"], summary
    report = (tmp_path / "out" / "calibration.md").read_text()
    not_pinned = next(line for line in report.splitlines() if line.startswith("Not pinned down:"))
    assert "policy.finance.return_share" in not_pinned
    pinned = next(line for line in report.splitlines() if line.startswith("Pinned down:"))
    assert "technology.log_value_sigma" in pinned and "return_share" not in pinned
    for name in ("predictive.csv", "posterior_marginals.png", "posterior_pairs.png", "predictive.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0


# ---------------------------------------------------------------- workers that die, and Dask

SMALL_CALIBRATION = TINY_CALIBRATION.replace("populations: 3", "populations: 2").replace(
    "population_size: 8", "population_size: 6")


def test_a_worker_that_dies_is_retried_and_the_posterior_is_unchanged(tmp_path):
    """The first simulation kills its worker process; the pool is restarted and the candidates
    that were in flight are run again (as sweeps do), giving the serial posterior."""
    reference = load_calibration(write(tmp_path, SMALL_CALIBRATION, "reference.yaml"))
    run_calibration(reference, tmp_path / "serial", executor="serial", report=False)
    markers = tmp_path / "markers"
    markers.mkdir()
    dying = load_calibration(write(tmp_path, SMALL_CALIBRATION.replace(
        "overrides:\n", f"overrides:\n  description: {markers}\n"), "dying.yaml"))
    dying.model = "sweep_helpers:simulate_with_facts_dying_once"
    outcome = run_calibration(dying, tmp_path / "process", executor="process", workers=2, report=False)
    assert (markers / "a-worker-died").exists()
    assert outcome.generations == 2
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "serial" / "posterior.parquet"),
                                  pd.read_parquet(tmp_path / "process" / "posterior.parquet"))


def test_a_candidate_that_always_kills_its_worker_stops_with_a_clear_error(tmp_path, monkeypatch):
    from ecosim import calibration as module

    monkeypatch.setattr("ecosim.executors.MAX_ATTEMPTS", 1)
    dying = load_calibration(write(tmp_path, SMALL_CALIBRATION))
    dying.model = "sweep_helpers:simulate_killing_its_worker"
    with pytest.raises(module.WorkerDied, match="lost its worker process 1 times.*--resume"):
        run_calibration(dying, tmp_path / "out", executor="process", workers=1, report=False)


def test_dask_calibration_gives_the_serial_posterior(tmp_path):
    """A LocalCluster with one worker (as the sweep tests use) runs the same candidates."""
    calibration = load_calibration(write(tmp_path, SMALL_CALIBRATION))
    run_calibration(calibration, tmp_path / "serial", executor="serial", report=False)
    calibration = load_calibration(write(tmp_path, SMALL_CALIBRATION))
    outcome = run_calibration(calibration, tmp_path / "dask", executor="dask", workers=1, report=False)
    assert outcome.generations == 2
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "serial" / "posterior.parquet"),
                                  pd.read_parquet(tmp_path / "dask" / "posterior.parquet"))
    cols = ["t", "epsilon", "simulations", "accepted", "ess"]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "serial" / "generations.csv")[cols],
                                  pd.read_csv(tmp_path / "dask" / "generations.csv")[cols])
