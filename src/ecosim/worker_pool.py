"""Local worker processes: how they start, what they preload, and starting them early.

Kept apart from :mod:`ecosim.executors` and light to import (standard library only), so that
``ecosim sweep`` can start the fork server before it imports anything heavy itself: the
server imports the model (about 2–3 s: Mesa, pandas, SciPy, networkx) while the driver reads
the experiment file, instead of after.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from collections.abc import Iterator

PRELOAD = ("ecosim.model", "ecosim.executors")
"""Modules the fork server imports once, so that every worker forked from it starts warm."""

WORKER_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def process_context() -> multiprocessing.context.BaseContext:
    """``forkserver`` (workers fork from a server that has already imported the model) or ``spawn``.

    Never ``fork``: the driver runs threads (the writer, Dask's), and forking a threaded
    process is unsafe.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PRELOAD))
        return context
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def single_threaded_workers() -> Iterator[None]:
    """One BLAS/OpenMP thread per worker process (N workers on N cores must not oversubscribe).

    Worker processes (and the fork server they fork from) inherit the environment when they
    start; the driver's own environment is restored afterwards. Dask's nanny does the same.
    """
    saved = {name: os.environ.get(name) for name in WORKER_THREAD_VARIABLES}
    for name in WORKER_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def start_fork_server() -> bool:
    """Start the fork server now (it preloads the model in the background); true if started.

    Returns at once: the server's imports run in its own process while the caller goes on.
    A pool made later with :func:`process_context` forks its workers from this server. Does
    nothing where there is no ``forkserver`` start method.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    from multiprocessing import forkserver

    process_context()  # sets the preload list, which the server reads when it starts
    with single_threaded_workers():
        forkserver.ensure_running()
    return True
