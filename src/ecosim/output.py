"""Writing one run's results: a directory that appears whole or not at all."""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ecosim.errors import InputError
from ecosim.locks import output_lock
from ecosim.scenario import scenario_to_yaml
from ecosim.store import DIRECTORY_MODE

STALE_AFTER_SECONDS = 24 * 3600
"""Where a folder cannot be locked (some network filesystems), a leftover older than this is stale."""


@contextmanager
def atomic_directory(target: Path, replace: bool = False):
    """Yield a temporary directory beside ``target``; on success rename it to ``target``.

    While it writes, ``target`` is locked (:func:`ecosim.locks.output_lock`, ``.NAME.lock`` beside
    it): a second ``ecosim run`` into the same folder is refused (exit 2) and the first finishes
    intact. On any error the temporary directory is removed, so no partial output is left behind;
    temporary folders left by a killed earlier run (``.NAME.*.tmp``, ``.NAME.*.old``) are
    removed first — each writer holds a ``flock`` on its own, so a folder whose lock is free is
    stale. An existing non-empty ``target`` is an error unless ``replace`` is true, and even
    then only when it holds the results of ``ecosim run`` (a ``provenance.json``). The
    directory gets the user's umask (0755 by default), not ``mkdtemp``'s 0700.
    """
    target = Path(target)
    _check_target(target, replace)
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output directory: {exc.strerror}", source=str(parent), key="--out") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError("cannot write in this directory: permission denied", source=str(parent), key="--out")
    with output_lock(target, "run"):
        _check_target(target, replace)  # again, under the lock: another run may have finished meanwhile
        remove_stale_temporaries(parent, target.name)
        yield from _write_in_place(target, parent)


def _write_in_place(target: Path, parent: Path):
    """The body of :func:`atomic_directory` once ``target`` is locked: write a temporary folder, rename it."""
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise InputError(f"cannot create the output directory: {exc.strerror}", source=str(parent), key="--out") from None
    held = [_lock_folder(tmp)]
    try:
        os.chmod(tmp, DIRECTORY_MODE)
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            held.append(_lock_folder(old))
            os.replace(target, old / "previous")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        for fd in held:
            if fd is not None:
                os.close(fd)


def _check_target(target: Path, replace: bool) -> None:
    where = {"source": str(target), "key": "--out"}
    if target.is_symlink():
        raise InputError("is a symbolic link" + ("" if target.exists() else " to nothing")
                         + "; give the directory itself", **where)
    if target.exists() and not target.is_dir():
        raise InputError("exists and is not a directory", **where)
    here = Path.cwd().resolve()
    resolved = target.resolve()
    if resolved == here or resolved in here.parents:
        raise InputError("is the current directory or contains it, so it cannot be replaced; choose another --out",
                         **where)
    if target.exists() and os.path.ismount(target):
        raise InputError("is a mount point, so it cannot be replaced; choose a folder inside it", **where)
    if target.exists() and any(target.iterdir()):
        if not replace:
            raise InputError("already holds results; choose another --out or pass --force to replace them", **where)
        if not (target / "provenance.json").is_file():
            raise InputError("holds files that are not the results of `ecosim run` (no provenance.json), and "
                             "--force replaces only those; choose another --out, or remove it yourself", **where)


def _lock_folder(folder: Path) -> int | None:
    """Hold an exclusive ``flock`` on ``folder`` (its descriptor), or ``None`` where folders cannot be locked."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def remove_stale_temporaries(parent: Path, name: str) -> list[Path]:
    """Remove the temporary folders of killed writes of ``parent/name``; returns what was removed.

    A ``.old`` folder holds the results a ``--force`` was replacing; if the kill came before the
    new results took their place, they are put back rather than removed.
    """
    removed = []
    for folder in sorted(parent.glob(f".{glob.escape(name)}.*.tmp")) + sorted(parent.glob(f".{glob.escape(name)}.*.old")):
        if not folder.is_dir() or folder.is_symlink():
            continue
        fd = _lock_folder(folder)
        if fd is None:  # in use, or a filesystem without folder locks: only clearly old leftovers go
            try:
                if time.time() - folder.stat().st_mtime < STALE_AFTER_SECONDS:
                    continue
            except OSError:
                continue
        try:
            previous = folder / "previous"
            target = parent / name
            if folder.suffix == ".old" and previous.is_dir() and not target.exists():
                os.replace(previous, target)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
        finally:
            if fd is not None:
                os.close(fd)
    return removed


def write_run(result, directory: Path, csv: bool = True) -> list[Path]:
    """Write a :class:`~ecosim.model.RunResult`'s tables and provenance into ``directory``."""
    directory = Path(directory)
    steps = result.steps.copy()
    summary = pd.DataFrame([{"scenario": result.scenario.name, "seed": result.seed, **result.summary}])
    written = []
    for name, frame in (("steps", steps), ("summary", summary)):
        path = directory / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        written.append(path)
        if csv:
            frame.to_csv(directory / f"{name}.csv", index=False)
            written.append(directory / f"{name}.csv")
    technologies = result.technologies
    technologies.to_parquet(directory / "technologies.parquet", index=False)
    scenario = result.scenario
    rules_source = scenario.rules_file
    if rules_source:  # keep the user's rules with the results, so scenario.yaml re-runs as is
        shutil.copyfile(rules_source, directory / "rules.py")
        scenario = scenario.model_copy(update={"rules_file": "rules.py"})
    header = f"# resolved scenario, ecosim {result.version}, seed {result.seed}\n"
    (directory / "scenario.yaml").write_text(header + scenario_to_yaml(scenario), encoding="utf-8")
    from ecosim.rules import rules_in_effect

    provenance = {
        "rules": rules_in_effect(result.scenario.rules),
        "rules_file": rules_source,
        "rules_sha256": hashlib.sha256(Path(rules_source).read_bytes()).hexdigest() if rules_source else None,
        "ecosim_version": result.version,
        "seed": result.seed,
        "scenario": result.scenario.name,
        "steps": int(len(result.steps)),
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (directory / "provenance.json").write_text(json.dumps(provenance, indent=2), encoding="utf-8")
    written += [directory / "technologies.parquet", directory / "scenario.yaml", directory / "provenance.json"]
    return written
