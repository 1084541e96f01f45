"""``ecosim sweep --until-precision``: batches of common-random-number replications until the
primary outcomes are precise, resumable, with the replications it chose recorded."""

from __future__ import annotations

import json

import pytest

from ecosim import analysis
from ecosim.adaptive import adaptive_sweep
from ecosim.cli import main
from ecosim.experiment import load_experiment
from ecosim.store import load_runs
from sweep_helpers import TINY, write_experiment


def two_equal_scenarios(tmp_path):
    """Two scenarios with the same distribution of ``deals`` (the ranking never resolves)."""
    return load_experiment(write_experiment(
        tmp_path, name="adaptive", design=None, keep="summary", replications=2,
        scenarios=[{"file": TINY, "name": "baseline", "overrides": {"policy.managers.managers_per_region": 2}},
                   {"file": TINY, "name": "again", "overrides": {"policy.managers.managers_per_region": 3}}]))


def test_until_precision_stops_at_the_first_batch_that_reaches_the_target(tmp_path):
    experiment = two_equal_scenarios(tmp_path)
    out = tmp_path / "results"
    outcome = adaptive_sweep(experiment, out, relative=0.05, max_replications=60, batch=4, primary=["deals"],
                             executor="serial", model="sweep_helpers:simulate_known_noise")
    assert outcome.reason == "precision"
    chosen = outcome.replications
    # a half-width of 5 (5% of 100) with sd ≈ 14 needs about (2·14/5)² ≈ 30 replications
    assert 16 <= chosen <= 48 and chosen % 4 == 0
    runs = load_runs(out)
    assert runs.groupby("scenario").size().tolist() == [chosen, chosen]
    assert analysis.precision_status(runs, ["deals"], 0.05)["precise"]
    fewer = runs[runs["replication"] < chosen - 4]
    assert not analysis.precision_status(fewer, ["deals"], 0.05)["precise"]  # the batch before was not enough
    index = json.loads((out / "index.json").read_text())
    assert index["adaptive"]["replications_chosen"] == chosen and index["adaptive"]["stopped_because"] == "precision"
    assert index["replications"] == chosen and len(index["runs"]) == 2 * chosen


def test_an_interrupted_adaptive_sweep_resumes_to_the_same_result(tmp_path):
    experiment = two_equal_scenarios(tmp_path)
    first = tmp_path / "first"
    outcome = adaptive_sweep(experiment, first, relative=0.05, max_replications=60, batch=4, primary=["deals"],
                             executor="serial", model="sweep_helpers:simulate_known_noise")
    # as if killed during the last batch: its runs were never written
    for path in (first / "runs").glob("*.parquet"):
        if int(path.stem[-4:]) >= outcome.replications - 3:
            path.unlink()
    again = adaptive_sweep(experiment, first, relative=0.05, max_replications=60, batch=4, primary=["deals"],
                           resume=True, executor="serial", model="sweep_helpers:simulate_known_noise")
    assert again.replications == outcome.replications and again.reason == "precision"
    # only the missing runs of the last batch ran again
    assert [b.done for b in again.batches] == [2 * 3]
    assert load_runs(first).groupby("scenario").size().tolist() == [outcome.replications] * 2


def test_the_cap_stops_an_adaptive_sweep_that_cannot_reach_its_target(tmp_path):
    experiment = two_equal_scenarios(tmp_path)
    outcome = adaptive_sweep(experiment, tmp_path / "r", relative=0.001, max_replications=6, batch=4,
                             primary=["deals"], executor="serial", model="sweep_helpers:simulate_known_noise")
    assert outcome.reason == "cap" and outcome.replications == 6
    assert [b.total for b in outcome.batches] == [8, 12]


@pytest.mark.parametrize(("args", "message"), [
    (["--until-precision", "0.05"], "--until-precision and --max-replications go together"),
    (["--until-precision", "0.05", "--max-replications", "9", "--replications", "3"], "--until-precision chooses"),
])
def test_until_precision_needs_its_cap_and_no_fixed_replications(tmp_path, capsys, args, message):
    experiment = write_experiment(tmp_path, design=None)
    assert main(["sweep", str(experiment), "--out", str(tmp_path / "o"), "--executor", "serial", *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# The ranking stop rule on synthetic results ------------------------------------------------------

def synthetic_runs(means, n, sd=1.0, seed=0):
    """Runs of conditions with normal ``deals`` of the given means, common random numbers across
    conditions (replication i has the same seed, and shares a replication effect)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    shared = rng.normal(0, 5 * sd, n)  # what common random numbers cancel
    rows = []
    for name, mean in means.items():
        noise = rng.normal(0, sd, n)
        for i in range(n):
            rows.append({"scenario": name, "point": 0, "replication": i, "seed": 1000 + i, "status": "ok",
                         "deals": mean + shared[i] + noise[i]})
    return pd.DataFrame(rows)


def test_a_ranking_is_resolved_only_when_every_adjacent_pair_is_separated():
    runs = synthetic_runs({"a": 100.0, "b": 90.0, "c": 80.0}, n=20)
    status = analysis.precision_status(runs, ["deals"], relative=1e-9, looks=4)
    assert status["ranking_resolved"] and status["ties"] == [] and not status["precise"]


def test_a_stable_but_unseparated_ranking_is_not_resolved_and_names_the_pair():
    # a - b = 0.3 with paired sd ≈ 1.4: the order a > b holds in the means, but 20 replications
    # cannot separate the pair; b > c is clear
    runs = synthetic_runs({"a": 100.3, "b": 100.0, "c": 80.0}, n=20)
    assert runs.groupby("scenario")["deals"].mean().idxmax() == "a"
    status = analysis.precision_status(runs, ["deals"], relative=1e-9, looks=4)
    assert not status["ranking_resolved"]
    assert [(t["higher"], t["lower"], t["kind"]) for t in status["ties"]] == [("a", "b", "overlapping")]
    tie = status["ties"][0]
    assert tie["difference_low"] < 0 < tie["difference_high"]


def test_pairs_identical_in_every_replication_are_stated_ties_that_do_not_block_the_ranking():
    runs = synthetic_runs({"a": 100.0, "b": 80.0}, n=10)
    same = runs[runs["scenario"] == "b"].assign(scenario="b_again")
    status = analysis.precision_status(pd_concat(runs, same), ["deals"], relative=1e-9)
    assert status["ranking_resolved"]
    assert [(t["kind"], {t["higher"], t["lower"]}) for t in status["ties"]] == [("identical", {"b", "b_again"})]


def pd_concat(*tables):
    import pandas as pd

    return pd.concat(tables, ignore_index=True)


def test_more_looks_make_separation_harder():
    # the same data: separated at one look, not once the Bonferroni share covers 40 looks
    runs = synthetic_runs({"a": 101.2, "b": 100.0}, n=12, seed=3)
    one = analysis.precision_status(runs, ["deals"], relative=1e-9, looks=1)
    many = analysis.precision_status(runs, ["deals"], relative=1e-9, looks=1000)
    assert one["ranking_resolved"] and not many["ranking_resolved"]


def test_an_adaptive_sweep_at_its_cap_records_and_states_the_pairs_it_could_not_tell_apart(tmp_path):
    from ecosim.cli.sweep_command import format_ties

    experiment = two_equal_scenarios(tmp_path)
    out = tmp_path / "o"
    outcome = adaptive_sweep(experiment, out, relative=0.001, max_replications=6, batch=3, primary=["deals"],
                             executor="serial", model="sweep_helpers:simulate_known_noise")
    assert outcome.reason == "cap"
    index = json.loads((out / "index.json").read_text())
    ties = index["adaptive"]["ties"]
    assert [(t["metric"], {t["higher"], t["lower"]}, t["kind"]) for t in ties] == [
        ("deals", {"baseline", "again"}, "overlapping")]
    assert ties == outcome.ties
    text = format_ties(outcome.ties)
    assert "Ranking ties" in text and "deals:" in text and "includes no change" in text
    assert ("baseline vs again" in text) or ("again vs baseline" in text)
