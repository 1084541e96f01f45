"""Serial, local processes and Dask give identical results; a Dask worker's death loses no run."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import pandas as pd
import pytest

from ecosim.executors import SerialExecutor, open_executor, run_sweep
from ecosim.experiment import load_experiment
from ecosim.store import load_runs, load_steps
from sweep_helpers import TINY, worker_state, write_experiment


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    return load_experiment(write_experiment(tmp_path_factory.mktemp("exp")))


@pytest.fixture(scope="module")
def serial_results(experiment, tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "out"
    run_sweep(experiment, out, executor="serial")
    return load_runs(out), load_steps(out)


def _assert_same(out, serial_results):
    runs, steps = serial_results
    pd.testing.assert_frame_equal(load_runs(out), runs)
    pd.testing.assert_frame_equal(load_steps(out), steps)


def test_serial_executor_runs_at_submit():
    future = SerialExecutor().submit(pow, 2, 10)
    assert future.done() and future.result() == 1024


def test_fork_server_started_early_gives_warm_single_threaded_workers(monkeypatch):
    # `ecosim sweep` starts the fork server before reading the experiment; the pool made later
    # must fork from it, with one BLAS thread per worker, and the driver's environment intact
    from concurrent.futures import ProcessPoolExecutor

    from ecosim.worker_pool import WORKER_THREAD_VARIABLES, process_context, start_fork_server

    for name in WORKER_THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert start_fork_server()
    assert all(name not in os.environ for name in WORKER_THREAD_VARIABLES)
    with ProcessPoolExecutor(2, mp_context=process_context()) as pool:
        states = [future.result() for future in [pool.submit(worker_state) for _ in range(2)]]
    assert {(omp, preloaded) for omp, preloaded, _ in states} == {("1", True)}
    assert all(pid != os.getpid() for _, _, pid in states)


def test_terminate_frees_a_pool_stuck_on_a_half_sent_result():
    # a worker killed while sending its result leaves half a message in the result pipe; the
    # pool's manager thread then waits for the rest for ever, and so would Python's exit
    # (seen in 2 of 15 interrupted sweeps). terminate() must end that wait.
    import struct
    from concurrent.futures import ProcessPoolExecutor

    from ecosim.executors import ExecutorHandle
    from ecosim.worker_pool import process_context

    pool = ProcessPoolExecutor(1, mp_context=process_context())
    assert pool.submit(pow, 2, 3).result() == 8
    manager = pool._executor_manager_thread
    os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 1_000_000) + b"half")  # header of a long message
    time.sleep(0.2)  # the manager thread is now inside recv(), waiting for the rest
    assert manager.is_alive()
    ExecutorHandle(pool, 2, "test", "process").terminate()
    manager.join(timeout=10)
    assert not manager.is_alive(), "the pool's manager thread still waits on the half-sent result"


def test_process_pool_gives_the_serial_results(experiment, serial_results, tmp_path):
    outcome = run_sweep(experiment, tmp_path / "out", executor="process", workers=2)
    assert outcome.done == experiment.n_runs
    _assert_same(tmp_path / "out", serial_results)


def test_one_worker_gives_the_serial_results(experiment, serial_results, tmp_path):
    run_sweep(experiment, tmp_path / "out", executor="process", workers=1)
    _assert_same(tmp_path / "out", serial_results)


def test_process_worker_killed_mid_run_is_retried_on_a_fresh_pool(tmp_path):
    experiment = load_experiment(write_experiment(tmp_path, replications=2))
    reference = tmp_path / "reference"
    run_sweep(experiment, reference, executor="serial")
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    dying = load_experiment(write_experiment(tmp_path, name="dying", replications=2, scenarios=[
        {"file": TINY, "name": "tiny", "overrides": {"description": str(marker_dir)}},
        {"file": TINY, "name": "tiny_poc", "overrides": {"description": str(marker_dir), "budget.research_grants": 0.7,
                                                         "budget.proof_of_concept": 0.15}}]))
    outcome = run_sweep(dying, tmp_path / "out", executor="process", workers=2,
                        model="sweep_helpers:simulate_dying_once")
    assert (marker_dir / "a-worker-died").exists()
    assert (outcome.done, outcome.failed, outcome.pool_broken) == (dying.n_runs, 0, False)
    pd.testing.assert_frame_equal(load_runs(tmp_path / "out"), load_runs(reference))


@pytest.mark.slow  # a Dask LocalCluster takes a while to start on small machines
def test_dask_local_cluster_gives_the_serial_results(experiment, serial_results, tmp_path):
    outcome = run_sweep(experiment, tmp_path / "out", executor="dask", workers=2)
    assert outcome.done == experiment.n_runs
    _assert_same(tmp_path / "out", serial_results)


@pytest.mark.slow
def test_dask_worker_killed_mid_run_loses_no_run(tmp_path):
    from dask.distributed import Client, LocalCluster

    experiment = load_experiment(write_experiment(tmp_path, replications=4, steps=16))
    reference = tmp_path / "reference"
    run_sweep(experiment, reference, executor="serial")
    with LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        killed = []

        def kill_a_busy_worker():
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                busy = [w for w, tasks in client.processing().items() if tasks]
                done = len(list((tmp_path / "out" / "runs").glob("*.parquet")))
                if busy and done >= 2:
                    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
                time.sleep(0.01)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        outcome = run_sweep(experiment, tmp_path / "out", executor="dask", scheduler=cluster.scheduler_address)
        killer.join()
    assert killed, "no worker was killed"
    assert (outcome.done, outcome.failed) == (experiment.n_runs, 0)
    pd.testing.assert_frame_equal(load_runs(tmp_path / "out"), load_runs(reference))


def test_scheduler_without_dask_is_bad_input():
    from ecosim.errors import InputError

    with pytest.raises(InputError, match="--scheduler needs --executor dask"):
        with open_executor("process", scheduler="tcp://127.0.0.1:1"):
            pass
