"""The results store: atomic files, tidy tables, resume rules."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.dataset as ds
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ecosim.errors import InputError
from ecosim.executors import build_index, run_sweep
from ecosim.experiment import load_experiment
from ecosim.store import (
    ResultStore,
    load_failures,
    load_index,
    load_runs,
    load_steps,
    steps_table,
    write_json,
)
from sweep_helpers import write_experiment, write_exploding_experiment


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    directory = tmp_path_factory.mktemp("store")
    experiment = load_experiment(write_experiment(directory))
    outcome = run_sweep(experiment, directory / "out", executor="serial")
    return experiment, directory / "out", outcome


def test_runs_table_has_one_tidy_row_per_run(finished):
    experiment, out, outcome = finished
    runs = load_runs(out)
    assert outcome.done == len(runs) == experiment.n_runs and outcome.failed == 0
    assert list(runs.columns[:7]) == ["run_id", "scenario", "point", "replication", "seed", "status",
                                      "policy.managers.managers_per_region"]
    assert runs["run_id"].is_unique and (runs["status"] == "ok").all()
    assert runs["policy.managers.managers_per_region"].dtype == "int64"
    assert {"disclosures", "deals", "conversion_university", "welfare"} <= set(runs.columns)
    assert runs.groupby("replication")["seed"].nunique().eq(1).all()


def test_steps_table_has_one_row_per_run_and_step(finished):
    experiment, out, _ = finished
    steps = load_steps(out)
    assert len(steps) == experiment.n_runs * 4
    assert list(steps.columns[:6]) == ["run_id", "scenario", "point", "replication", "seed", "step"]
    assert not steps.duplicated(["run_id", "step"]).any()


def test_files_read_directly_as_one_dataset(finished):
    experiment, out, _ = finished
    direct = ds.dataset(str(out / "runs"), format="parquet").to_table().to_pandas()
    assert len(direct) == experiment.n_runs
    assert len(pd.read_parquet(out / "steps")) == experiment.n_runs * 4


def test_index_is_written_with_provenance_and_run_list(finished):
    experiment, out, _ = finished
    index = load_index(out)
    assert index["experiment_name"] == experiment.name and index["design"] == "list"
    assert index["fingerprint"] == experiment.fingerprint() and len(index["runs"]) == experiment.n_runs
    assert index["replication_seeds"] == experiment.seeds and "ecosim_version" in index and "started_at" in index


def test_no_temporary_file_is_left_behind(finished):
    _, out, _ = finished
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]


def test_fresh_sweep_into_a_used_directory_is_refused(finished):
    experiment, out, _ = finished
    with pytest.raises(InputError, match="pass --resume"):
        ResultStore(out).start(build_index(experiment), resume=False)


def test_resume_with_a_changed_experiment_is_refused_and_says_what_changed(finished):
    experiment, out, _ = finished
    changed = experiment.with_trial(replications=5)
    with pytest.raises(InputError, match=r"experiment has changed.*replications: 3 then, 5 now"):
        ResultStore(out).start(build_index(changed), resume=True)


def test_resume_of_a_complete_sweep_runs_nothing(finished):
    experiment, out, _ = finished
    before = load_runs(out)
    outcome = run_sweep(experiment, out, executor="serial", resume=True)
    assert (outcome.done, outcome.failed, outcome.skipped) == (0, 0, experiment.n_runs)
    pd.testing.assert_frame_equal(load_runs(out), before)


def test_failed_runs_are_recorded_with_traceback_and_the_rest_finish(tmp_path):
    experiment = load_experiment(write_exploding_experiment(tmp_path))
    outcome = run_sweep(experiment, tmp_path / "out", executor="serial")
    assert (outcome.done, outcome.failed) == (3, 3)
    runs = load_runs(tmp_path / "out")
    failed = runs[runs["status"] == "failed"]
    assert len(runs) == 6 and set(failed["rules.budget_allocation"]) == {"exploding"}
    assert failed["error"].str.contains("the budget office exploded").all()
    assert failed["disclosures"].isna().all()
    records = load_failures(tmp_path / "out")
    assert records["traceback"].str.contains("RuntimeError").all() and set(records["seed"]) == set(experiment.seeds)


def test_atomic_json_replaces_whole_files(tmp_path):
    write_json(tmp_path / "x.json", {"a": 1})
    write_json(tmp_path / "x.json", {"a": 2})
    assert json.loads((tmp_path / "x.json").read_text()) == {"a": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_load_index_of_a_non_sweep_directory_is_bad_input(tmp_path):
    with pytest.raises(InputError, match="no index.json"):
        load_index(tmp_path)


def test_a_directory_of_other_files_is_refused_even_with_resume(finished, tmp_path):
    experiment, _, _ = finished
    (tmp_path / "notes.txt").write_text("mine")
    for resume in (False, True):
        with pytest.raises(InputError, match="no sweep index"):
            ResultStore(tmp_path).start(build_index(experiment), resume=resume)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_resume_into_a_missing_directory_starts_the_sweep(finished, tmp_path):
    experiment, _, _ = finished
    store = ResultStore(tmp_path / "new")
    assert store.start(build_index(experiment), resume=True) == set()
    store.close()  # the sweep is over: its lock file goes
    assert load_index(tmp_path / "new")["fingerprint"] == experiment.fingerprint()
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["failed", "index.json", "runs", "steps"]


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=6),
    measures=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=6),
    flag=st.booleans(),
)
@example(counts=[2**53 + 1, -(2**63), 2**63 - 1], measures=[float("nan"), float("inf"), -0.0], flag=False)
def test_steps_table_keeps_every_value_and_type_exactly(counts, measures, flag):
    # the table is read as one float64 array when it can be: huge integers, NaN, infinities and
    # non-numeric columns must still come out exactly as pandas holds them
    n = min(len(counts), len(measures))
    frame = pd.DataFrame({"step": range(1, n + 1), "deals": counts[:n], "welfare": measures[:n]})
    if flag:
        frame["label"] = ["x"] * n
    ids = {"run_id": "s0-p0-r0", "scenario": "baseline", "point": 0, "replication": 1, "seed": 7}
    table = steps_table(ids, frame)
    assert table.column_names == [*ids, *frame.columns]
    assert [str(t) for t in table.schema.types[5:8]] == ["int64", "int64", "double"]
    back = table.to_pandas()
    assert back["deals"].tolist() == counts[:n]
    assert back["welfare"].equals(frame["welfare"])
    assert (back["run_id"] == "s0-p0-r0").all() and (back["seed"] == 7).all()
