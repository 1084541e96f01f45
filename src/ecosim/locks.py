"""Exclusive locks on outputs, so that two ecosim commands never write one place at once.

Every command that writes a results folder or an output file takes an exclusive,
non-blocking ``flock`` on a lock file first, for as long as it writes:

- a sweep locks its results directory with ``DIR/.ecosim.lock`` (:class:`ecosim.store.DirectoryLock`);
- ``ecosim run --out DIR`` locks ``DIR`` (which appears only at the end, renamed into place) with
  ``.DIR.lock`` beside it; ``report``, ``validate --csv`` and ``bench --json-out`` lock their file
  ``F`` with ``.F.lock`` beside it (:func:`output_lock`).

A second command that wants the same place is refused at once with :class:`InputError` (exit 2)
naming the holder's host and process id, while the first finishes intact. The kernel releases a
``flock`` when its process dies, however it dies, so a killed command never leaves a place
locked (its empty lock file may stay; the next writer takes it over and removes it).

This module imports only the standard library, so the commands can take their lock before the
heavy imports of the work itself.
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ecosim.errors import InputError

LOCK_FILE_MODE = 0o666  # the user's umask applies (0644 by default), as for results


class PathLock:
    """An exclusive, non-blocking ``flock`` on the file ``path`` that guards the output ``guarded``.

    Parameters
    ----------
    path : the lock file (created if missing, removed on :meth:`release`)
    guarded : the folder or file the lock protects (named in the refusal)
    what : the kind of writer, for the refusal ("sweep", "run", "report", ...)
    key : the option that chose ``guarded`` (named in the refusal)
    """

    def __init__(self, path: str | os.PathLike[str], guarded: str | os.PathLike[str], what: str, key: str = "--out"):
        self.path = Path(path)
        self.guarded = Path(guarded)
        self.what = what
        self.key = key
        self.fd: int | None = None

    def refusal(self, holder: str) -> str:
        """The message a second writer gets while ``holder`` (host and process) holds the lock."""
        return (f"another ecosim {self.what} ({holder}) is writing it; wait for it to finish, "
                f"or choose another {self.key}")

    def acquire(self) -> None:
        """Take the lock or raise :class:`InputError` naming who holds it."""
        where = {"source": str(self.guarded), "key": self.key}
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, LOCK_FILE_MODE)
            except OSError as exc:
                raise InputError(f"cannot create its lock file {self.path}: {exc.strerror}", **where) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise InputError(self.refusal(holder), **where) from None
                raise InputError(f"cannot lock it: {exc.strerror}", **where) from None
            try:  # the holder before us may have removed the file after we opened it: lock the one on disk
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"host {os.uname().nodename}, process {os.getpid()}".encode(), 0)
                self.fd = fd
                return
            os.close(fd)
        raise InputError("cannot lock it (its lock file keeps changing)", **where)

    def release(self) -> None:
        """Remove the lock file and release the lock (no-op when not held)."""
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
            fcntl.flock(self.fd, fcntl.LOCK_UN)  # explicitly: a forked child may share the descriptor
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> PathLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def lock_path_for(target: str | os.PathLike[str]) -> Path:
    """The lock file of an output ``target`` that is replaced whole: ``.NAME.lock`` beside it."""
    target = Path(target)
    return target.parent / f".{target.name}.lock"


@contextmanager
def output_lock(target: str | os.PathLike[str], what: str, key: str = "--out") -> Iterator[PathLock]:
    """Hold the lock of the output ``target`` (a file, or a folder renamed into place) while writing it.

    The folder that holds ``target`` is created if missing (the command would create it to write
    anyway). A second ``ecosim`` command writing the same ``target`` meanwhile gets an
    :class:`InputError` naming this one.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create its folder: {exc.strerror}", source=str(target), key=key) from None
    lock = PathLock(lock_path_for(target), target, what, key)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()


__all__ = ["PathLock", "lock_path_for", "output_lock"]
