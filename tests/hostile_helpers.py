"""Running ``ecosim`` on hostile input under a memory limit, and checking how it refuses."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ECOSIM = str(Path(sys.executable).parent / "ecosim")
TINY = str(ROOT / "scenarios" / "tiny.yaml")

MEMORY_LIMIT_BYTES = 1536 * 2**20
"""Address space allowed to each ``ecosim`` under test: a check needs ~600 MB of it; an alias
bomb expanded, or a world built, would need many times more and die (exit 1) instead."""

RUN_MEMORY_LIMIT_BYTES = 2048 * 2**20
"""Address space for an ``ecosim run`` that builds and steps a small world: with one OpenBLAS
thread (``OPENBLAS_NUM_THREADS=1``, as a sweep's workers set it) OpenBLAS's buffers do not fit
in 1.5 GiB of address space next to the imports (measured: 4 of 4 runs of the tiny world fail
at 1.5 GiB, 0 of 4 at 2 GiB)."""

TIME_LIMIT_SECONDS = 120  # generous: the test machine is shared, and a refusal takes 1-2 s when it is idle


def limited(file_size: int | None = None, memory: int = MEMORY_LIMIT_BYTES):
    """A ``preexec_fn``: the memory limit, and optionally a file-size limit (a full disk, as far as writes see)."""
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if file_size is not None:
            import signal

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    return apply


def run_ecosim(*args, cwd: Path, file_size: int | None = None, timeout: float = TIME_LIMIT_SECONDS,
               memory: int = MEMORY_LIMIT_BYTES) -> subprocess.CompletedProcess:
    """Run ``ecosim ARGS`` in ``cwd`` under the limits; also records its wall time as ``.seconds``."""
    env = {**os.environ, "COLUMNS": "200"}
    started = time.perf_counter()
    done = subprocess.run([ECOSIM, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          preexec_fn=limited(file_size, memory), env=env)
    done.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    return done


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``directory`` with its size and mode (to prove that nothing was written)."""
    found = {}
    for path in sorted(Path(directory).rglob("*")):
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        found[str(path.relative_to(directory))] = (info.st_size if path.is_file() else 0, info.st_mode)
    return found


def assert_refused(done: subprocess.CompletedProcess, *names: str) -> None:
    """Exit 2, one ``error:`` message naming at least one of ``names``, and no traceback."""
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr[-2000:]
    assert any(name in done.stderr for name in names), (names, done.stderr[-2000:])


def make_unwritable(*paths: Path) -> bool:
    """Make ``paths`` unwritable even for root (``chattr +i``) or by mode; false if that is impossible here."""
    for path in paths:
        if os.geteuid() == 0:
            if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
                return False
        else:
            path.chmod(0o555 if path.is_dir() else 0o444)
    return not any(os.access(path, os.W_OK) for path in paths)


def make_writable(*paths: Path) -> None:
    for path in paths:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        path.chmod(0o755 if path.is_dir() else 0o644)
