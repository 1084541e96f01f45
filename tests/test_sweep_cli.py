"""`ecosim sweep` end to end: exit statuses, bad files, and kill -9 then --resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from ecosim.cli import main
from ecosim.executors import run_sweep
from ecosim.experiment import load_experiment
from ecosim.store import load_index, load_runs, load_steps
from sweep_helpers import ROOT, write_experiment, write_exploding_experiment


def test_sweep_writes_every_run_and_exits_zero(tmp_path, capsys):
    path = write_experiment(tmp_path)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--executor", "serial"]) == 0
    assert "12 runs done, 0 failed" in capsys.readouterr().err
    assert len(load_runs(tmp_path / "out")) == 12


def test_quick_trial_overrides_are_recorded(tmp_path):
    path = write_experiment(tmp_path)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial", "--replications", "1",
                 "--steps", "2"]) == 0
    assert load_index(out)["trial"] == {"replications": 1, "steps": 2}
    assert len(load_runs(out)) == 4 and load_steps(out)["step"].max() == 2


def test_some_failed_runs_give_exit_status_3(tmp_path, capsys):
    path = write_exploding_experiment(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["sweep", str(path), "--out", str(tmp_path / "out"), "--executor", "serial"])
    assert info.value.code == 3
    err = capsys.readouterr().err
    assert "3 runs done, 3 failed" in err and "failed" in err


@pytest.mark.parametrize("changes, expected", [
    ({"replications": 0}, "replications: Input should be greater than or equal to 1"),
    ({"desing": {}}, "desing: unknown key; did you mean 'design'?"),
    ({"scenarios": ["missing.yaml"]}, "scenarios[0].file"),
])
def test_bad_experiment_exits_2_with_one_message_and_writes_nothing(tmp_path, capsys, changes, expected):
    path = write_experiment(tmp_path, **changes)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err and err.startswith("error: ")
    assert not out.exists()


def test_check_validates_experiment_files(tmp_path, capsys):
    assert main(["check", str(ROOT / "experiments" / "poc_managers_grid.yaml")]) == 0
    assert "valid experiment" in capsys.readouterr().out
    assert main(["check", str(write_experiment(tmp_path, keep="everything"))]) == 2
    assert "keep" in capsys.readouterr().err


def test_resume_with_a_changed_experiment_exits_2(tmp_path, capsys):
    path = write_experiment(tmp_path, replications=1)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial"]) == 0
    write_experiment(tmp_path, replications=1, seed=12)
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial", "--resume"]) == 2
    assert "experiment has changed" in capsys.readouterr().err


def test_fresh_sweep_into_a_used_directory_exits_2(tmp_path, capsys):
    path = write_experiment(tmp_path, replications=1)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial"]) == 0
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial"]) == 2
    assert "pass --resume" in capsys.readouterr().err


@pytest.mark.slow  # about 25 s: a fresh interpreter and worker pool, killed and resumed
def test_sigkilled_sweep_resumed_equals_an_uninterrupted_sweep(tmp_path):
    path = write_experiment(tmp_path, replications=4, steps=6)
    experiment = load_experiment(path)
    reference = tmp_path / "reference"
    run_sweep(experiment, reference, executor="serial")

    out = tmp_path / "killed"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "ecosim"), "sweep", str(path), "--out", str(out), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "runs").glob("*.parquet"))) < 4:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)  # the driver and its workers, mid-sweep
    process.wait()
    finished_before = len(list((out / "runs").glob("*.parquet")))
    assert 4 <= finished_before < experiment.n_runs, "the kill came too late to test resuming"

    assert main(["sweep", str(path), "--out", str(out), "--workers", "2", "--resume"]) == 0
    runs, expected = load_runs(out), load_runs(reference)
    assert runs["run_id"].is_unique and len(runs) == experiment.n_runs
    pd.testing.assert_frame_equal(runs, expected)
    pd.testing.assert_frame_equal(load_steps(out), load_steps(reference))
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]
    assert load_index(out)["resumed_at"]


@pytest.mark.slow  # about 25 s: a fresh interpreter and worker pool, interrupted and resumed
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_sweep_exits_130_keeps_finished_runs_and_resume_completes(tmp_path, signum):
    path = write_experiment(tmp_path, replications=4, steps=6)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "ecosim"), "sweep", str(path), "--out", str(out), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "runs").glob("*.parquet"))) < 3:
        time.sleep(0.02)
    os.killpg(process.pid, signum)  # as a terminal's Ctrl-C reaches the whole process group
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    finished = len(load_runs(out))
    assert 3 <= finished < 16
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2", "--resume"]) == 0
    runs = load_runs(out)
    assert len(runs) == 16 and runs["run_id"].is_unique and (runs["status"] == "ok").all()


def _descendants(pid: int) -> set[int]:
    found, frontier = set(), [pid]
    while frontier:
        out = subprocess.run(["pgrep", "-P", str(frontier.pop())], capture_output=True, text=True).stdout
        children = {int(p) for p in out.split()}
        found |= children
        frontier += children
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow  # about 15 s
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_worker_processes_exit_when_the_driver_is_killed(tmp_path):
    path = write_experiment(tmp_path, replications=6, steps=8)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "ecosim"), "sweep", str(path), "--out", str(out), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "runs").glob("*.parquet"))) < 2:
        time.sleep(0.02)
    workers = _descendants(process.pid)
    assert workers, "the sweep had no worker processes"
    process.kill()  # kill -9 the driver alone
    process.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)
