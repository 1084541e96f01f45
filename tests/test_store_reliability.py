"""A store that verifies: the lock, damaged files on resume, code changes, --force, stale folders, modes."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecosim import provenance
from ecosim.errors import InputError
from ecosim.executors import build_index, run_sweep
from ecosim.experiment import load_experiment
from ecosim.output import remove_stale_temporaries
from ecosim.store import LOCK, DirectoryLock, ResultStore, load_index, load_runs, load_steps
from hostile_helpers import (
    ECOSIM,
    RUN_MEMORY_LIMIT_BYTES,
    TINY,
    assert_refused,
    run_ecosim,
    snapshot,
)
from sweep_helpers import write_experiment


def tree_bytes(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*.parquet"))}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted tiny sweep to compare repaired ones with."""
    directory = tmp_path_factory.mktemp("reference")
    experiment = load_experiment(write_experiment(directory))
    run_sweep(experiment, directory / "out", executor="serial")
    return experiment, directory / "out"


@pytest.fixture
def copy_of(reference, tmp_path):
    experiment, out = reference
    shutil.copytree(out, tmp_path / "out")
    return experiment, tmp_path / "out"


# ---------------------------------------------------------------- the lock


def test_a_locked_directory_is_refused_and_free_again_after_release(copy_of):
    experiment, out = copy_of
    holder = DirectoryLock(out)
    holder.acquire()
    try:
        with pytest.raises(InputError, match=f"another ecosim sweep \\(host .*, process {os.getpid()}\\) is writing"):
            ResultStore(out).start(build_index(experiment), resume=True)
    finally:
        holder.release()
    assert not (out / LOCK).exists()
    store = ResultStore(out)
    assert len(store.start(build_index(experiment), resume=True)) == experiment.n_runs
    assert (out / LOCK).exists()
    store.close()
    assert not (out / LOCK).exists()


def test_the_lock_dies_with_its_process(tmp_path):
    (tmp_path / "out").mkdir()
    code = ("import os, sys; from ecosim.store import DirectoryLock; "
            f"DirectoryLock(__import__('pathlib').Path({str(tmp_path / 'out')!r})).acquire(); os.kill(os.getpid(), 9)")
    subprocess.run([sys.executable, "-c", code], check=False)
    lock = DirectoryLock(tmp_path / "out")
    lock.acquire()  # the killed holder's lock went with it (its file stays, harmlessly)
    lock.release()


def test_two_concurrent_sweeps_into_one_folder_never_mix(tmp_path):
    experiment = write_experiment(tmp_path, steps=400)  # long enough to be caught in the act
    other = write_experiment(tmp_path, name="other", steps=400, seed=99)
    first = subprocess.Popen([ECOSIM, "sweep", str(experiment), "--out", "out", "--executor", "serial"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "out" / LOCK).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = run_ecosim("sweep", other, "--out", "out", "--executor", "serial", "--resume", cwd=tmp_path)
        third = run_ecosim("sweep", experiment, "--out", "out", "--executor", "serial", "--resume", cwd=tmp_path)
        fresh = run_ecosim("sweep", experiment, "--out", "out", "--executor", "serial", cwd=tmp_path)
        assert first.poll() is None, "the first sweep finished before the others tried"
    finally:
        first.terminate()  # like a batch system's time limit: finished runs are kept
        first.communicate(timeout=120)
    assert first.returncode == 130
    for refused in (second, third):
        assert_refused(refused, "another ecosim sweep")
    assert_refused(fresh, "another ecosim sweep", "already holds a sweep")
    index = load_index(tmp_path / "out")
    assert index["experiment_name"] == "tiny_sweep" and "resumed_at" not in index
    runs = load_runs(tmp_path / "out")
    assert set(runs["seed"]) <= set(index["replication_seeds"])
    assert not (tmp_path / "out" / LOCK).exists()


# ---------------------------------------------------------------- verification on resume


def damage_summary_zero_length(out: Path) -> str:
    path = sorted((out / "runs").glob("*.parquet"))[0]
    path.write_bytes(b"")
    return path.stem


def damage_summary_truncated(out: Path) -> str:
    path = sorted((out / "runs").glob("*.parquet"))[1]
    path.write_bytes(path.read_bytes()[:200])
    return path.stem


def damage_steps_truncated(out: Path) -> str:
    path = sorted((out / "steps").glob("*.parquet"))[2]
    path.write_bytes(path.read_bytes()[:-30])
    return path.stem


def damage_steps_missing(out: Path) -> str:
    path = sorted((out / "steps").glob("*.parquet"))[3]
    path.unlink()
    return path.stem


def damage_wrong_rows(out: Path) -> str:
    path = sorted((out / "steps").glob("*.parquet"))[4]
    table = pq.read_table(path)
    pq.write_table(table.slice(0, 2), path)  # a readable file, but two of the run's four quarters
    return path.stem


def damage_wrong_schema(out: Path) -> str:
    path = sorted((out / "runs").glob("*.parquet"))[5]
    pq.write_table(pa.table({"something": [1.0]}), path)
    return path.stem


def damage_garbage_failure(out: Path) -> str:
    (out / "failed" / "tiny-p00000-r0000.json").write_text("{garbage")
    return "tiny-p00000-r0000"


DAMAGES = [damage_summary_zero_length, damage_summary_truncated, damage_steps_truncated, damage_steps_missing,
           damage_wrong_rows, damage_wrong_schema, damage_garbage_failure]


@pytest.mark.parametrize("damage", DAMAGES, ids=[d.__name__[len("damage_"):] for d in DAMAGES])
def test_a_damaged_stored_file_is_run_again_on_resume(reference, copy_of, damage):
    experiment, out = copy_of
    run_id = damage(out)
    if damage in (damage_summary_zero_length, damage_summary_truncated, damage_wrong_schema):
        with pytest.raises(InputError, match=f"{run_id}.parquet: is damaged"):
            load_runs(out)  # readers say which file, rather than fail on the whole folder
    if damage is damage_steps_truncated:
        with pytest.raises(InputError, match=f"{run_id}.parquet: is damaged"):
            load_steps(out)
    outcome = run_sweep(experiment, out, executor="serial", resume=True)
    assert outcome.repaired == 1
    assert outcome.done == (0 if damage is damage_garbage_failure else 1)
    assert tree_bytes(out) == tree_bytes(reference[1])  # byte-identical to the sweep never damaged
    assert not list((out / "failed").glob("*.json")), run_id
    assert len(load_runs(out)) == experiment.n_runs


def test_files_of_another_experiment_are_not_counted_as_done(copy_of):
    experiment, out = copy_of
    stray = out / "runs" / "someone-p00000-r0000.parquet"
    shutil.copy(sorted((out / "runs").glob("*.parquet"))[0], stray)
    store = ResultStore(out)
    done = store.start(build_index(experiment), resume=True)
    store.close()
    assert stray.stem not in done and len(done) == experiment.n_runs


def test_a_damaged_index_is_bad_input_for_resume_and_for_readers(copy_of):
    experiment, out = copy_of
    (out / "index.json").write_text('{"runs": ')
    with pytest.raises(InputError, match="index.json: the sweep index is unreadable or damaged"):
        run_sweep(experiment, out, executor="serial", resume=True)
    with pytest.raises(InputError, match="index.json: the sweep index is unreadable or damaged"):
        load_index(out)
    assert not (out / LOCK).exists()


# ---------------------------------------------------------------- the code that made the runs


def test_resume_after_a_code_change_is_refused_unless_allowed(copy_of):
    experiment, out = copy_of
    index = json.loads((out / "index.json").read_text())
    assert index["code"]["model_sha256"] == provenance.model_code_sha256()
    old = {**index["code"], "model_sha256": "0" * 64, "ecosim_version": "0.0.1"}
    (out / "index.json").write_text(json.dumps({**index, "code": old}))
    before = snapshot(out)
    with pytest.raises(InputError, match="--resume: the code that would run differs .*ecosim_version: 0.0.1 then.*"
                                         "--allow-code-change"):
        run_sweep(experiment, out, executor="serial", resume=True)
    assert snapshot(out) == before
    outcome = run_sweep(experiment, out, executor="serial", resume=True, allow_code_change=True)
    assert outcome.skipped == experiment.n_runs
    history = load_index(out)["code_history"]
    assert history[0] == old and history[-1]["model_sha256"] == provenance.model_code_sha256()


def test_an_index_from_before_code_fingerprints_counts_as_a_change(copy_of):
    experiment, out = copy_of
    index = json.loads((out / "index.json").read_text())
    del index["code"]
    (out / "index.json").write_text(json.dumps(index))
    with pytest.raises(InputError, match="predate code fingerprints"):
        run_sweep(experiment, out, executor="serial", resume=True)


def test_the_model_hash_covers_model_code_and_not_the_cli(tmp_path, monkeypatch):
    package = tmp_path / "ecosim"
    shutil.copytree(provenance.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(provenance, "PACKAGE", package)

    def digest():
        provenance.model_code_sha256.cache_clear()
        return provenance.model_code_sha256()

    try:
        original = digest()
        (package / "cli" / "check_command.py").write_text("# the CLI changed\n", encoding="utf-8")
        assert digest() == original
        with (package / "pipeline.py").open("a", encoding="utf-8") as handle:
            handle.write("\n# a model change\n")
        assert digest() != original
    finally:
        monkeypatch.undo()
        provenance.model_code_sha256.cache_clear()


def test_a_rules_file_change_is_a_code_change(tmp_path):
    rules = tmp_path / "rules.py"
    rules.write_text("# version 1\n")
    first = provenance.code_identity([str(rules)])
    rules.write_text("# version 2\n")
    assert provenance.code_identity([str(rules)]) != first


# ---------------------------------------------------------------- --force, stale folders, modes


def test_force_refuses_a_folder_that_is_not_an_ecosim_result(tmp_path):
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("precious")
    done = run_ecosim("run", TINY, "--steps", 2, "--out", "thesis", "--force", cwd=tmp_path)
    assert_refused(done, "thesis: --out: holds files that are not the results of `ecosim run`")
    assert (tmp_path / "thesis" / "chapter1.tex").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thesis"]


def test_force_replaces_an_earlier_ecosim_run(tmp_path):
    for seed in (1, 2):
        done = run_ecosim("run", TINY, "--steps", 2, "--seed", seed, "--out", "out", "--force", "--no-csv",
                          cwd=tmp_path, memory=RUN_MEMORY_LIMIT_BYTES)  # a run, not a refusal: a run's limit
        assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "out" / "provenance.json").read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stale_temporary_folders_are_cleaned_and_live_ones_kept(tmp_path):
    stale = tmp_path / ".out.abc123.tmp"
    stale.mkdir()
    (stale / "steps.parquet").write_text("half")
    live = tmp_path / ".out.live99.tmp"
    live.mkdir()
    fd = os.open(live, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as the writer of a run still in progress holds it
    other = tmp_path / ".elsewhere.abc.tmp"
    other.mkdir()
    try:
        assert remove_stale_temporaries(tmp_path, "out") == [stale]
    finally:
        os.close(fd)
    assert live.exists() and other.exists() and not stale.exists()


def test_a_killed_force_is_undone_by_the_next_run(tmp_path):
    old = tmp_path / ".out.k1ll3d.old"
    (old / "previous").mkdir(parents=True)
    (old / "previous" / "provenance.json").write_text("{}")
    removed = remove_stale_temporaries(tmp_path, "out")
    assert removed == [old] and (tmp_path / "out" / "provenance.json").exists()


def test_a_killed_run_leaves_nothing_after_the_next_one(tmp_path):
    slow = subprocess.Popen([ECOSIM, "run", str(Path(TINY)), "--steps", "2000", "--out", "out"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    slow.kill()
    slow.wait()
    assert list(tmp_path.glob(".out.*.tmp")), "the killed run had made its temporary folder"
    done = run_ecosim("run", TINY, "--steps", 2, "--out", "out", "--no-csv", cwd=tmp_path,
                      memory=RUN_MEMORY_LIMIT_BYTES)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_results_are_created_with_the_user_s_umask(tmp_path, umask, file_mode, dir_mode):
    experiment = write_experiment(tmp_path, replications=1, steps=2)
    for args in (["sweep", experiment, "--out", "sweep", "--executor", "serial"],
                 ["run", TINY, "--steps", 2, "--out", "run", "--no-csv"]):
        subprocess.run([ECOSIM, *map(str, args)], cwd=tmp_path, check=True, capture_output=True,
                       preexec_fn=lambda: os.umask(umask))
    for top in ("sweep", "run"):
        paths = [tmp_path / top, *(tmp_path / top).rglob("*")]
        assert {oct(p.stat().st_mode & 0o777) for p in paths if p.is_dir()} == {oct(dir_mode)}, top
        assert {oct(p.stat().st_mode & 0o777) for p in paths if p.is_file()} == {oct(file_mode)}, top


@pytest.mark.slow
def test_an_unreachable_scheduler_leaves_nothing_so_the_retry_starts_fresh(tmp_path):
    experiment = write_experiment(tmp_path, replications=1, steps=2)
    done = run_ecosim("sweep", experiment, "--out", "out", "--executor", "dask", "--scheduler",
                      "tcp://127.0.0.1:9", cwd=tmp_path, timeout=120)
    assert_refused(done, "--scheduler: cannot reach the Dask scheduler")
    assert not (tmp_path / "out").exists()
    again = run_ecosim("sweep", experiment, "--out", "out", "--executor", "serial", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
