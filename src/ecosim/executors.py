"""Running an experiment's runs on any ``concurrent.futures.Executor`` and storing each at once.

Three executors, one interface:

- ``serial`` — in this process, one run after another (:class:`SerialExecutor`);
- ``process`` — a local pool of worker processes (``ProcessPoolExecutor``, start method
  ``forkserver`` where available, else ``spawn``; never ``fork``, which is unsafe with threads);
- ``dask`` — Dask distributed: a ``LocalCluster`` on 127.0.0.1, or an existing cluster at a
  scheduler address (``tcp://host:8786``), through ``Client.get_executor()``. A worker that
  dies mid-run has its run rescheduled on another worker by the Dask scheduler.

:func:`run_sweep` submits the runs with a bounded number in flight, writes each finished run
to the :class:`~ecosim.store.ResultStore` as soon as it completes and drops it, so the
driver's memory does not grow with the number of runs. The worker function
:func:`execute_run` is a top-level function of a small picklable spec; it calls the model and
returns tables; the driver writes all files (workers may be on other machines).
Same experiment and root seed ⇒ identical results, whatever the executor and worker count.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import re
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ecosim import __version__
from ecosim.errors import InputError
from ecosim.experiment import Experiment, RunSpec
from ecosim.posterior import DRAW_COLUMN, VALUE_PREFIX
from ecosim.provenance import code_identity
from ecosim.store import ResultStore
from ecosim.worker_pool import default_workers, process_context, single_threaded_workers

EXECUTORS = ("serial", "process", "dask")
DEFAULT_MODEL = "ecosim.model:simulate"
MAX_ATTEMPTS = 3  # a run whose worker process dies is tried at most this often
MAX_POOL_RESTARTS = 20  # a local pool that keeps breaking (e.g. no memory at all) stops the sweep


# ---------------------------------------------------------------- the worker side


def execute_run(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one simulation from a picklable spec and return its files' bytes (never raises for the model).

    Parameters
    ----------
    spec : ``ids`` (run_id, scenario, point, replication, seed), ``scenario`` (the resolved
        scenario as a dict), ``overrides`` (the design point), ``parameters`` (the varied keys
        to record), ``posterior`` (``None``, or the run's ``draw``, the ``values`` it applies and
        the posterior's ``keys``, recorded as ``posterior_draw`` and ``posterior.<key>``),
        ``keep_steps`` and ``model`` (``"module:function"`` with the signature of
        :func:`ecosim.model.simulate`; tests may substitute another)

    Returns
    -------
    dict
        ``{"run_id", "status": "ok", "summary_parquet": bytes, "steps_parquet": bytes | None,
        "seconds"}``, or ``{"run_id", "status": "failed", "error", "traceback", "seconds"}`` if
        the run raised. The Parquet bytes are built here so that the driver only writes them.
    """
    start = time.perf_counter()
    ids = spec["ids"]
    try:
        from ecosim.experiment import dotted_value
        from ecosim.scenario import apply_overrides, validate_scenario
        from ecosim.store import run_tables

        module_name, _, function_name = spec.get("model", DEFAULT_MODEL).partition(":")
        simulate = getattr(importlib.import_module(module_name), function_name)
        posterior = spec.get("posterior")
        overrides = {**spec["overrides"], **(posterior["values"] if posterior else {})}
        scenario = apply_overrides(spec["scenario"], overrides) if overrides else validate_scenario(spec["scenario"])
        resolved = scenario.model_dump(mode="json") if spec["parameters"] or posterior else {}
        parameters = {key: dotted_value(resolved, key) for key in spec["parameters"]}
        if posterior:  # the draw and the values the run used (a scenario may keep its own, set_by_scenarios)
            parameters[DRAW_COLUMN] = posterior["draw"]
            parameters.update({VALUE_PREFIX + key: float(dotted_value(resolved, key)) for key in posterior["keys"]})
        result = simulate(scenario, seed=ids["seed"])
        summary_parquet, steps_parquet = run_tables(
            ids, parameters, dict(result.summary), result.steps if spec["keep_steps"] else None)
        return {"run_id": ids["run_id"], "status": "ok", "summary_parquet": summary_parquet,
                "steps_parquet": steps_parquet, "seconds": time.perf_counter() - start}
    except Exception as exc:  # a failed run is a result, recorded with its traceback
        return {
            "run_id": ids["run_id"], "status": "failed", "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(), "seconds": time.perf_counter() - start,
        }


def _init_worker(driver_pid: int) -> None:
    """Worker initialiser: Ctrl-C is the driver's to handle (it stops the pool itself), and a
    worker whose driver was killed (``kill -9``) exits instead of waiting forever for work."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(driver_pid,), daemon=True,
                     name="ecosim-orphan-watch").start()


def _exit_when_orphaned(driver_pid: int, interval_seconds: float = 1.0) -> None:
    while True:
        time.sleep(interval_seconds)
        try:
            os.kill(driver_pid, 0)
        except ProcessLookupError:
            os._exit(70)
        except PermissionError:  # alive, owned by someone else (cannot be our driver, but keep going)
            pass


# ---------------------------------------------------------------- executors


class SerialExecutor(Executor):
    """Runs each submitted call at once, in this process (a reference and for debugging)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        """Call ``fn(*args, **kwargs)`` now and return a finished future."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future


@dataclass
class ExecutorHandle:
    """An open executor, the number of runs to keep in flight and a way to stop it at once."""

    executor: Executor
    slots: int
    description: str
    kind: str
    factory: Callable[[], Executor] | None = None
    generation: int = 0

    def restart(self) -> None:
        """Replace a broken local process pool (a worker died) with a fresh one."""
        if self.factory is None:
            raise RuntimeError(f"a {self.kind} executor cannot be restarted")
        self.terminate()
        self.executor = self.factory()
        self.generation += 1

    def terminate(self) -> None:
        """Stop worker processes without waiting for their current runs (after Ctrl-C)."""
        if isinstance(self.executor, ProcessPoolExecutor):
            processes = dict(getattr(self.executor, "_processes", None) or {})
            result_queue = getattr(self.executor, "_result_queue", None)
            self.executor.shutdown(wait=False, cancel_futures=True)
            for process in processes.values():
                with contextlib.suppress(Exception):
                    process.terminate()
            for process in processes.values():
                with contextlib.suppress(Exception):
                    process.join(timeout=5)
            # A worker killed while sending its result leaves half a message in the result pipe,
            # and the pool's manager thread would wait for the rest for ever (and Python's exit
            # with it: seen in 2 of 15 interrupted sweeps). With the workers gone, closing this
            # process's own end of that pipe ends the wait: the thread reads end-of-file, calls
            # the pool broken and exits. (A private attribute of ProcessPoolExecutor, so guarded.)
            writer = getattr(result_queue, "_writer", None)
            if writer is not None:
                with contextlib.suppress(Exception):
                    writer.close()


@contextlib.contextmanager
def open_executor(kind: str = "process", workers: int | None = None, scheduler: str | None = None,
                  quiet: bool = True) -> Iterator[ExecutorHandle]:
    """Open an executor of ``kind`` (serial, process or dask) and close it afterwards.

    Parameters
    ----------
    kind : ``"serial"``, ``"process"`` or ``"dask"``
    workers : worker processes (default: all cores); for Dask without ``scheduler``, the
        LocalCluster's workers; ignored for an existing Dask cluster
    scheduler : address of an existing Dask scheduler (``tcp://host:8786``); Dask only
    quiet : silence Dask's informational logging
    """
    if kind not in EXECUTORS:
        raise InputError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}", key="--executor")
    if scheduler and kind != "dask":
        raise InputError("--scheduler needs --executor dask", key="--scheduler")
    if kind == "serial":
        yield ExecutorHandle(SerialExecutor(), 1, "serial (this process)", kind)
        return
    if kind == "process":
        n = workers or default_workers()

        def new_pool() -> Executor:
            return ProcessPoolExecutor(max_workers=n, mp_context=process_context(), initializer=_init_worker,
                                       initargs=(os.getpid(),))

        handle = ExecutorHandle(new_pool(), 2 * n, f"{n} local worker process{'es' if n > 1 else ''}", kind,
                                factory=new_pool)
        try:
            with single_threaded_workers():
                yield handle
        finally:
            handle.executor.shutdown(wait=True, cancel_futures=True)
        return
    with _dask_client(workers, scheduler, quiet) as (client, description):
        n_threads = sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values()) or 1
        yield ExecutorHandle(client.get_executor(pure=False), max(2 * n_threads, 4), description, kind)


_SCHEDULER_ADDRESS = re.compile(
    r"^(?:(?P<scheme>tcp|tls|ws|wss|ucx|inproc)://)?(?P<host>[A-Za-z0-9_.\-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<port>[0-9]{1,5}))?/?$")


def check_scheduler_address(address: str) -> None:
    """Refuse a ``--scheduler`` that is not a Dask address (``tcp://host:8786``, ``host:8786``)."""
    match = _SCHEDULER_ADDRESS.match(address.strip())
    if not match or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
        raise InputError(f"{address!r} is not a Dask scheduler address; expected e.g. tcp://10.0.0.5:8786",
                         key="--scheduler")


@contextlib.contextmanager
def _dask_client(workers: int | None, scheduler: str | None, quiet: bool):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask[distributed] is a dependency
        raise InputError("--executor dask needs dask[distributed] (pip install 'dask[distributed]')") from None
    if quiet:
        for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker",
                     "distributed.core", "distributed.http.proxy", "bokeh"):
            logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler:
        check_scheduler_address(scheduler)
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler: {exc}", source=scheduler, key="--scheduler") from None
        try:
            yield client, f"Dask cluster at {scheduler}"
        finally:
            client.close()
        return
    n = workers or default_workers()
    cluster = LocalCluster(host="127.0.0.1", n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.ERROR if quiet else logging.WARNING)
    client = Client(cluster)
    try:
        yield client, f"Dask LocalCluster, {n} worker{'s' if n > 1 else ''} on 127.0.0.1"
    finally:
        client.close()
        cluster.close()


# ---------------------------------------------------------------- the driver


@dataclass
class SweepOutcome:
    """What a sweep did: runs done now, failed now, skipped (already done), planned, interrupted."""

    done: int
    failed: int
    skipped: int
    total: int
    interrupted: bool
    directory: str
    seconds: float
    pool_broken: bool = False
    repaired: int = 0  # stored runs that did not verify on resume, removed and run again

    @property
    def missing(self) -> int:
        """Runs neither done nor failed (not attempted after an interruption)."""
        return self.total - self.skipped - self.done - self.failed


def build_index(experiment: Experiment) -> dict[str, Any]:
    """The sweep's ``index.json``: provenance, the resolved experiment and the run list."""
    resolved = experiment.resolved()
    return {
        "format": "ecosim-sweep/1",
        "experiment_name": experiment.name,
        "description": experiment.description,
        "question": experiment.question,
        "scenario_descriptions": {name: str(data.get("description") or "")
                                  for name, data in experiment.scenarios.items()},
        "source": experiment.source,
        "ecosim_version": __version__,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "root_seed": experiment.root_seed,
        "design": experiment.design_kind,
        "problem": experiment.problem,
        "replications": experiment.replications,
        "replication_seeds": experiment.seeds,
        "steps": experiment.steps,
        "keep": experiment.keep,
        "trial": experiment.trial,
        "primary": experiment.primary,
        "baseline": experiment.baseline,
        "parameters": experiment.parameters,
        "scenarios": list(experiment.scenarios),
        "n_runs": experiment.n_runs,
        "fingerprint": experiment.fingerprint(),
        "code": code_identity([data["rules_file"] for data in experiment.scenarios.values() if data.get("rules_file")]),
        "experiment": resolved,
        "posterior": experiment.posterior_summary(),
        "runs": [
            {"run_id": r.run_id, "scenario": r.scenario, "point": r.point, "replication": r.replication,
             "seed": r.seed, "parameters": r.parameters,
             **({DRAW_COLUMN: r.draw} if r.draw is not None else {})}
            for r in experiment.runs()
        ],
    }


def run_sweep(
    experiment: Experiment,
    out: str | os.PathLike[str],
    executor: str = "process",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: Callable[[int, int, int, int], None] | None = None,
    model: str = DEFAULT_MODEL,
    on_start: Callable[[ExecutorHandle, int, int], None] | None = None,
    allow_code_change: bool = False,
    replication_limit: int | None = None,
) -> SweepOutcome:
    """Run every missing run of ``experiment`` and write each to ``out`` as it finishes.

    Parameters
    ----------
    experiment : the resolved experiment (:func:`ecosim.experiment.load_experiment`)
    out : results directory (see :mod:`ecosim.store`)
    executor, workers, scheduler : see :func:`open_executor`
    resume : continue the sweep already in ``out`` (refused if the experiment changed, or the
        code did and ``allow_code_change`` is false; stored files that do not verify run again)
    progress : called as ``progress(done, failed, skipped, total)`` after each run
    model : ``"module:function"`` run for each spec (the model's ``simulate``)
    on_start : called as ``on_start(handle, to_run, total)`` once the executor is open
    replication_limit : run only replications ``0 .. limit−1`` (a batch of an adaptive sweep,
        :mod:`ecosim.adaptive`); the others stay missing for a later batch

    Returns
    -------
    SweepOutcome
        ``interrupted`` is true after Ctrl-C (``KeyboardInterrupt`` is not re-raised); every
        run written before then is complete, and ``resume=True`` finishes the rest.
    """
    store = ResultStore(out)
    done_before = store.start(build_index(experiment), resume=resume, allow_code_change=allow_code_change)
    try:
        return _run_locked(experiment, store, done_before, executor, workers, scheduler, progress, model, on_start,
                           replication_limit)
    finally:
        store.close()


def _run_locked(experiment: Experiment, store: ResultStore, done_before: set[str], executor: str,
                workers: int | None, scheduler: str | None, progress, model: str, on_start,
                replication_limit: int | None = None) -> SweepOutcome:
    out = store.directory
    specs = [spec for spec in experiment.runs() if replication_limit is None or spec.replication < replication_limit]
    total = len(specs)
    done_before = done_before & {spec.run_id for spec in specs}
    pending = (spec for spec in specs if spec.run_id not in done_before)
    to_run = total - len(done_before)
    keep_steps = experiment.keep == "steps"
    counts = {"done": 0, "failed": 0}
    interrupted = broken = False
    restarts = 0
    start = time.perf_counter()
    if progress:
        progress(0, 0, len(done_before), total)
    # One writer thread: files are written (and synced) while the next runs compute; its
    # backlog is bounded like the runs in flight, so memory stays flat.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecosim-store")
    writes: deque[Future] = deque()

    def record(spec: RunSpec, future: Future) -> None:
        ok = _store_result(store, spec, future)
        counts["done" if ok else "failed"] += 1
        if progress:
            progress(counts["done"], counts["failed"], len(done_before), total)

    def drain(limit: int) -> None:
        while writes and (writes[0].done() or len(writes) > limit):
            writes.popleft().result()  # re-raises a write error (e.g. disk full)

    try:
        try:
            opened = open_executor(executor, workers, scheduler)
            handle = opened.__enter__()
        except InputError:  # e.g. an unreachable scheduler: leave no index behind, so the retry is a fresh start
            store.abandon()
            raise
        with contextlib.ExitStack() as stack:
            stack.push(opened)
            if on_start:
                on_start(handle, to_run, total)
            in_flight: dict[Future, tuple[RunSpec, int]] = {}
            retry: deque[RunSpec] = deque()  # runs whose worker process died, to run again
            attempts: dict[str, int] = {}
            try:
                exhausted = False
                while in_flight or retry or not exhausted:
                    while len(in_flight) < handle.slots and (retry or not exhausted):
                        spec = retry.popleft() if retry else next(pending, None)
                        if spec is None:
                            exhausted = True
                            break
                        try:
                            future = handle.executor.submit(execute_run, _payload(experiment, spec, keep_steps, model))
                        except BrokenProcessPool:  # the pool broke since the last wait
                            retry.appendleft(spec)
                            broken = _restart(handle, restarts)
                            restarts += 1
                            if broken:
                                exhausted = True
                                retry.clear()
                                break
                            continue
                        in_flight[future] = (spec, handle.generation)
                    if not in_flight:
                        break
                    finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                    restart = False
                    for future in finished:
                        spec, generation = in_flight.pop(future)
                        if (future.cancelled() or isinstance(future.exception(), BrokenProcessPool)) and not broken:
                            # A worker process died (killed, out of memory): run it again on a
                            # fresh pool, at most MAX_ATTEMPTS times, then record it as failed.
                            attempts[spec.run_id] = attempts.get(spec.run_id, 1) + 1
                            if attempts[spec.run_id] <= MAX_ATTEMPTS:
                                retry.append(spec)
                                restart = restart or generation == handle.generation
                                continue
                        writes.append(writer.submit(record, spec, future))
                    if restart:
                        broken = _restart(handle, restarts)
                        restarts += 1
                        if broken:  # give up: the rest stay missing, for --resume
                            exhausted = True
                            retry.clear()
                    drain(handle.slots)
            except KeyboardInterrupt:
                interrupted = True
                for future in in_flight:
                    future.cancel()
                handle.terminate()
    except KeyboardInterrupt:  # a second Ctrl-C while the executor shuts down
        interrupted = True
    finally:
        writer.shutdown(wait=True)  # finish writing every run that completed
    drain(0)
    return SweepOutcome(done=counts["done"], failed=counts["failed"], skipped=len(done_before), total=total,
                        interrupted=interrupted, directory=str(out), seconds=time.perf_counter() - start,
                        pool_broken=broken, repaired=len(store.repaired))


def _restart(handle: ExecutorHandle, restarts: int) -> bool:
    """Restart a broken process pool; true if it has broken too often (give up)."""
    if restarts >= MAX_POOL_RESTARTS:
        return True
    handle.restart()
    return False


def _payload(experiment: Experiment, spec: RunSpec, keep_steps: bool, model: str) -> dict[str, Any]:
    return {
        "ids": {"run_id": spec.run_id, "scenario": spec.scenario, "point": spec.point,
                "replication": spec.replication, "seed": spec.seed},
        "scenario": experiment.scenarios[spec.scenario], "overrides": spec.parameters,
        "parameters": experiment.parameters, "keep_steps": keep_steps, "model": model,
        "posterior": None if spec.draw is None else {
            "draw": spec.draw, "values": spec.posterior, "keys": list(experiment.posterior.keys)},
    }


def _store_result(store: ResultStore, spec: RunSpec, future: Future) -> bool:
    """Write one finished run (or its failure); true if it succeeded."""
    try:
        result = future.result()
    except BrokenProcessPool as exc:
        result = {"status": "failed", "error": f"worker process died: {exc}", "traceback": traceback.format_exc()}
    except Exception as exc:  # the executor could not run it (e.g. Dask gave up after repeated worker deaths)
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    if result["status"] == "ok":
        store.write_run(spec.run_id, result["summary_parquet"], result["steps_parquet"])
        return True
    store.write_failure({"run_id": spec.run_id, "scenario": spec.scenario, "point": spec.point,
                         "replication": spec.replication, "seed": spec.seed, "status": "failed",
                         "parameters": {**spec.parameters, **({DRAW_COLUMN: spec.draw} if spec.draw is not None else {}),
                                        **{VALUE_PREFIX + k: v for k, v in spec.posterior.items()}},
                         "error": result["error"],
                         "traceback": result["traceback"]})
    return False
