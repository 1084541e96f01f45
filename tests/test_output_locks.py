"""Two ecosim commands never write one output at once: the second is refused (exit 2), the first
finishes intact (``ecosim.locks``)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from ecosim.cli import main
from ecosim.errors import InputError
from ecosim.locks import PathLock, lock_path_for, output_lock
from hostile_helpers import (
    ECOSIM,
    RUN_MEMORY_LIMIT_BYTES,
    TINY,
    assert_refused,
    limited,
    run_ecosim,
)


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


@pytest.mark.slow
def test_two_concurrent_runs_into_one_folder_refuse_the_second_and_keep_the_first_whole(tmp_path):
    # the first run is long enough (800 quarters of the tiny world, ~15 s) to be caught in the act; a refusal
    # that names "another ecosim run" proves the two overlapped (after the first, the message would differ)
    first = subprocess.Popen([ECOSIM, "run", TINY, "--seed", "1", "--steps", "800", "--out", "out", "--no-csv"],
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=limited(memory=RUN_MEMORY_LIMIT_BYTES))
    try:
        wait_for(tmp_path / ".out.lock", first)
        second = run_ecosim("run", TINY, "--seed", "2", "--steps", "4", "--out", "out", "--no-csv", cwd=tmp_path,
                            memory=RUN_MEMORY_LIMIT_BYTES)
        forced = run_ecosim("run", TINY, "--seed", "3", "--steps", "4", "--out", "out", "--force", "--no-csv",
                            cwd=tmp_path, memory=RUN_MEMORY_LIMIT_BYTES)
        out, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    for refused in (second, forced):
        assert_refused(refused, "another ecosim run")
        assert "process" in refused.stderr and "out" in refused.stderr
    assert first.returncode == 0, err[-2000:]
    provenance = json.loads((tmp_path / "out" / "provenance.json").read_text())
    assert provenance["seed"] == 1 and provenance["steps"] == 800
    assert len(pd.read_parquet(tmp_path / "out" / "steps.parquet")) == 800
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no lock file, no temporary folder left


def test_a_run_into_a_folder_another_run_is_writing_is_refused_and_writes_nothing(tmp_path, capsys):
    with output_lock(tmp_path / "out", "run"):
        code = main(["run", TINY, "--steps", "2", "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "another ecosim run" in err and "out" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_finished_run_frees_its_folder_for_a_forced_replacement(tmp_path):
    # the lock is released with the run: --force into the same folder works straight after
    assert main(["run", TINY, "--seed", "1", "--steps", "2", "--out", str(tmp_path / "out"), "--no-csv"]) == 0
    assert not lock_path_for(tmp_path / "out").exists()
    assert main(["run", TINY, "--seed", "2", "--steps", "2", "--out", str(tmp_path / "out"), "--no-csv",
                 "--force"]) == 0
    assert json.loads((tmp_path / "out" / "provenance.json").read_text())["seed"] == 2


@pytest.mark.parametrize(("argv", "target", "what"), [
    (["bench", "--sizes", "1", "--json-out", "{dir}/bench.json"], "bench.json", "another ecosim bench"),
    (["validate", TINY, "--replications", "2", "--csv", "{dir}/facts.csv"], "facts.csv", "another ecosim validate"),
])
def test_bench_and_validate_outputs_are_locked_before_any_work(tmp_path, capsys, argv, target, what):
    with output_lock(tmp_path / target, what.split()[-1], "--json-out"):
        code = main([a.replace("{dir}", str(tmp_path)) for a in argv])
    assert code == 2
    out, err = capsys.readouterr()
    assert what in err
    assert out.strip() == ""  # refused before the benchmark or the replications printed anything
    assert not (tmp_path / target).exists()


def test_a_lock_names_its_holder_and_is_free_again_after_release(tmp_path):
    holder = PathLock(tmp_path / ".x.lock", tmp_path / "x", "report")
    holder.acquire()
    try:
        with pytest.raises(InputError, match=r"another ecosim report \(host .*, process \d+\)"):
            PathLock(tmp_path / ".x.lock", tmp_path / "x", "report").acquire()
    finally:
        holder.release()
    assert not (tmp_path / ".x.lock").exists()
    with PathLock(tmp_path / ".x.lock", tmp_path / "x", "report"):
        pass
