"""Crash-safe sweep results on disk: written run by run, resumable, with provenance.

Layout of a results directory ``OUT``::

    OUT/index.json              the resolved experiment, ecosim version, start time, run list
                                (written first, before any run)
    OUT/runs/<run_id>.parquet   one summary row per finished run: ids, parameters, metrics
    OUT/steps/<run_id>.parquet  its per-step table (when the experiment keeps steps)
    OUT/failed/<run_id>.json    a run that raised: ids, parameters, seed, error, traceback

Every file is written under a hidden temporary name in the same directory, flushed, synced and
renamed into place, so a file is either whole or absent, whatever kills the sweep. A run is
*done* if and only if its summary file exists; its steps file is written before it. Readers
(pandas, pyarrow, polars, DuckDB) skip the hidden temporary files. Resuming compares the
experiment's fingerprint with the one in ``index.json`` and refuses a changed experiment.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ecosim import __version__
from ecosim.errors import InputError

INDEX = "index.json"
RUNS = "runs"
STEPS = "steps"
FAILED = "failed"
FORMAT = "ecosim-sweep/1"
ID_COLUMNS = ("run_id", "scenario", "point", "replication", "seed")


# ---------------------------------------------------------------- atomic files


def _atomic_write(path: Path, write) -> None:
    """Call ``write(file_object)`` on a hidden temporary file beside ``path``, then rename it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` atomically."""
    text = json.dumps(data, indent=1, default=str, allow_nan=True).encode("utf-8")
    _atomic_write(Path(path), lambda handle: handle.write(text))


def write_parquet(path: Path, table: pa.Table) -> None:
    """Write an Arrow table as Parquet to ``path`` atomically."""
    _atomic_write(Path(path), lambda handle: pq.write_table(table, handle))


# ---------------------------------------------------------------- the store


class ResultStore:
    """The results directory of one sweep.

    Parameters
    ----------
    directory : the results directory (created by :meth:`start`)
    """

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = Path(directory)

    # -- starting and resuming

    def start(self, index: dict[str, Any], resume: bool) -> set[str]:
        """Prepare the directory for a sweep and return the ids of the runs already done.

        A fresh sweep needs an empty or missing directory; ``resume`` continues the sweep whose
        ``index.json`` has the same ``fingerprint`` (or starts afresh if there is no index yet,
        as after a kill before the first write). Otherwise :class:`InputError`, and nothing
        is written.
        """
        existing = self.read_index_if_any()
        if existing is None:
            if self.directory.exists() and not self.directory.is_dir():
                raise InputError("exists and is not a directory", source=str(self.directory), key="--out")
            if self.directory.exists() and any(self._visible(self.directory.iterdir())):
                raise InputError("already holds files but no sweep index (index.json); choose another --out",
                                 source=str(self.directory), key="--out")
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"cannot create the results directory: {exc.strerror}",
                                 source=str(self.directory), key="--out") from None
            self._remove_temporaries()
            write_json(self.directory / INDEX, index)  # first, before any run
            self._make_dirs()
            return set()
        if not resume:
            raise InputError(
                "already holds a sweep; pass --resume to complete it, or choose another --out",
                source=str(self.directory), key="--out")
        if existing.get("fingerprint") != index["fingerprint"]:
            raise InputError(
                "the experiment has changed since this sweep started, so its results cannot be completed "
                f"with it ({_differences(existing.get('experiment', {}), index['experiment'])}); "
                "restore the experiment file (and the same --replications/--steps), or choose another --out",
                source=str(self.directory), key="--resume")
        self._make_dirs()
        self._remove_temporaries()
        resumed = {**existing, "resumed_at": [*existing.get("resumed_at", []), _now()],
                   "ecosim_versions": sorted({*existing.get("ecosim_versions", [existing.get("ecosim_version")]),
                                              __version__} - {None})}
        write_json(self.directory / INDEX, resumed)
        return self.done_ids()

    def _make_dirs(self) -> None:
        try:
            for sub in (RUNS, STEPS, FAILED):
                (self.directory / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the results directory: {exc.strerror}",
                             source=str(self.directory), key="--out") from None

    def _remove_temporaries(self) -> None:
        for sub in ("", RUNS, STEPS, FAILED):
            if not (self.directory / sub).is_dir():
                continue
            for tmp in (self.directory / sub).glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    @staticmethod
    def _visible(paths: Iterable[Path]) -> Iterable[Path]:
        return (p for p in paths if not p.name.startswith("."))

    def read_index_if_any(self) -> dict[str, Any] | None:
        """The index, or ``None`` when the directory has none."""
        path = self.directory / INDEX
        if not path.is_file():
            return None
        return json.loads(path.read_text(encoding="utf-8"))

    def done_ids(self) -> set[str]:
        """Ids of the runs whose summary file exists."""
        return {p.stem for p in self._visible((self.directory / RUNS).glob("*.parquet"))}

    # -- writing runs

    def write_run(self, run_id: str, summary_parquet: bytes, steps_parquet: bytes | None = None) -> None:
        """Write a finished run's files (Parquet bytes from :func:`run_tables`): steps first, then summary.

        A stale failure record of the same run (from an earlier attempt) is removed after.
        """
        if steps_parquet is not None:
            _atomic_write(self.directory / STEPS / f"{run_id}.parquet", lambda handle: handle.write(steps_parquet))
        _atomic_write(self.directory / RUNS / f"{run_id}.parquet", lambda handle: handle.write(summary_parquet))
        (self.directory / FAILED / f"{run_id}.json").unlink(missing_ok=True)

    def write_failure(self, record: dict[str, Any]) -> None:
        """Record a run that raised (ids, parameters, seed, error, traceback)."""
        write_json(self.directory / FAILED / f"{record['run_id']}.json", {**record, "failed_at": _now()})

    def update_index(self, **fields: Any) -> None:
        """Merge ``fields`` into the index (atomically)."""
        index = self.read_index_if_any() or {}
        index.update(fields)
        write_json(self.directory / INDEX, index)


def summary_table(row: dict[str, Any]) -> pa.Table:
    """One run's summary row as an Arrow table with a fixed schema.

    Ids are strings and 64-bit integers; every metric is a float64 (so every run's file has
    the same schema and the files read as one table); parameters keep their schema type.
    """
    arrays, names = [], []
    for name, value in row.items():
        if name in ("run_id", "scenario", "status"):
            array = pa.array([str(value)], pa.string())
        elif name in ("point", "replication", "seed"):
            array = pa.array([int(value)], pa.int64())
        elif "." in name:  # a varied parameter (dotted scenario key)
            if isinstance(value, bool):
                array = pa.array([value], pa.bool_())
            elif isinstance(value, int):
                array = pa.array([value], pa.int64())
            elif isinstance(value, float):
                array = pa.array([value], pa.float64())
            else:
                array = pa.array([str(value)], pa.string())
        else:
            array = pa.array([float(value) if value is not None else float("nan")], pa.float64())
        arrays.append(array)
        names.append(name)
    return pa.Table.from_arrays(arrays, names=names)


def steps_table(ids: dict[str, Any], steps: pd.DataFrame) -> pa.Table:
    """A run's per-step table with its ids (run_id, scenario, point, replication, seed) in front.

    Column types are kept (counts int64, measures float64). The values are read as one 2-D
    array rather than column by column: a per-step table has a few dozen columns and tens of
    rows, and looking up each column in pandas took 2.4 ms per run against 0.9 ms this way.
    """
    n = len(steps)
    columns: dict[str, Any] = {}
    for name in ID_COLUMNS:
        kind = pa.string() if name in ("run_id", "scenario") else pa.int64()
        columns[name] = pa.array([ids[name]] * n, kind)
    dtypes = steps.dtypes
    values = steps.to_numpy(dtype=np.float64) if all(d.kind in "if" for d in dtypes) else None
    integer = np.array([d.kind == "i" for d in dtypes], dtype=bool)
    # a float64 carries every integer below 2**53 exactly (a count of anything here is far below)
    if values is not None and not (np.abs(values[:, integer]) >= 2**53).any():
        for j, (name, dtype) in enumerate(dtypes.items()):
            columns[str(name)] = values[:, j].astype(dtype)
    else:  # other types, or huge integers: column by column
        for name, column in steps.items():
            columns[str(name)] = column.to_numpy()
    return pa.Table.from_pydict(columns)


def parquet_bytes(table: pa.Table) -> bytes:
    """An Arrow table as the bytes of a Parquet file.

    Column statistics and dictionaries are left out: a run's files are small (one row, or one
    row per quarter), and leaving them out takes a third off the time to write them.
    """
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, write_statistics=False, use_dictionary=False)
    return sink.getvalue().to_pybytes()


def run_tables(ids: dict[str, Any], parameters: dict[str, Any], summary: dict[str, Any],
               steps: pd.DataFrame | None) -> tuple[bytes, bytes | None]:
    """The Parquet bytes of a run's summary row and (if kept) its per-step table.

    Built where the run executed, so the driver only writes bytes to disk.
    """
    row = {**ids, "status": "ok", **parameters, **summary}
    return parquet_bytes(summary_table(row)), (None if steps is None else parquet_bytes(steps_table(ids, steps)))


# ---------------------------------------------------------------- loading


def load_index(results_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The sweep's index: experiment name, version, start time, seeds, design, run list.

    Keys include ``experiment_name``, ``ecosim_version``, ``started_at``, ``root_seed``,
    ``design`` (the kind: scenarios, grid, lhs, sobol, morris or list), ``problem`` (SALib
    problem dict for sobol/morris), ``replications``, ``steps``, ``keep``, ``trial``,
    ``parameters``, ``scenarios`` (resolved), ``experiment`` (the resolved experiment),
    ``fingerprint`` and ``runs`` (the run list: run_id, scenario, point, replication, seed,
    parameters).

    Raises
    ------
    InputError
        The directory has no ``index.json``.
    """
    path = Path(results_dir) / INDEX
    if not path.is_file():
        raise InputError("not a sweep results directory (no index.json); run `ecosim sweep EXPERIMENT --out DIR`",
                         source=str(results_dir))
    return json.loads(path.read_text(encoding="utf-8"))


def _read_dir(directory: Path, files: list[Path]) -> pd.DataFrame:
    if not files:
        return pd.DataFrame()
    import pyarrow.dataset as ds

    dataset = ds.dataset([str(f) for f in files], format="parquet")
    try:
        table = dataset.to_table()
    except pa.ArrowInvalid:  # schemas differ (e.g. a list design setting different keys): unify by name
        table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
    return table.to_pandas()


def _order(frame: pd.DataFrame, index: dict[str, Any] | None) -> pd.DataFrame:
    if frame.empty:
        return frame
    if index and isinstance(index.get("runs"), list):
        position = {r["run_id"]: i for i, r in enumerate(index["runs"])}
        key = frame["run_id"].map(position).fillna(len(position))
        frame = frame.assign(_order=key).sort_values(["_order", *(["step"] if "step" in frame else [])],
                                                    kind="stable").drop(columns="_order")
    else:
        frame = frame.sort_values(["run_id", *(["step"] if "step" in frame else [])], kind="stable")
    return frame.reset_index(drop=True)


def load_runs(results_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """One row per finished run: ids, status, varied parameters (dotted keys), summary metrics.

    Columns: ``run_id``, ``scenario``, ``point``, ``replication``, ``seed``, ``status``
    (``"ok"`` or ``"failed"``), the varied parameters, then every summary metric (float64).
    Failed runs have NaN metrics and an ``error`` message. Rows are in the order of the run
    list (replication by replication).

    Equivalent readers of the same files: ``pd.read_parquet(OUT / "runs")``,
    ``polars.read_parquet("OUT/runs/*.parquet")``, DuckDB's
    ``SELECT * FROM 'OUT/runs/*.parquet'`` (ok runs only).
    """
    directory = Path(results_dir)
    index = load_index(directory)
    files = sorted(ResultStore._visible((directory / RUNS).glob("*.parquet")))
    ok = _read_dir(directory / RUNS, files)
    done = set(ok["run_id"]) if not ok.empty else set()
    failed_rows = []
    for path in sorted(ResultStore._visible((directory / FAILED).glob("*.json"))):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["run_id"] in done:
            continue
        failed_rows.append({**{k: record[k] for k in ID_COLUMNS}, "status": "failed",
                            **record.get("parameters", {}), "error": record.get("error", "")})
    frames = [f for f in (ok, pd.DataFrame(failed_rows)) if not f.empty]
    if not frames:
        columns = [*ID_COLUMNS, "status", *index.get("parameters", [])]
        return pd.DataFrame({c: pd.Series(dtype="object" if c in ("run_id", "scenario", "status") else "float64")
                             for c in columns})
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return _order(frame, index)


def load_steps(results_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """One row per run × step: ``run_id``, ``scenario``, ``point``, ``replication``, ``seed``,
    ``step``, ``year``, ``quarter``, then the per-step metrics; finished runs only.

    Empty when the experiment kept only summaries. The same files read directly:
    ``pd.read_parquet(OUT / "steps")``, ``polars.read_parquet("OUT/steps/*.parquet")``,
    DuckDB ``SELECT * FROM 'OUT/steps/*.parquet'`` (these also see the steps of a run killed
    between its two files, which a resume rewrites).
    """
    directory = Path(results_dir)
    index = load_index(directory)
    done = {p.stem for p in ResultStore._visible((directory / RUNS).glob("*.parquet"))}
    files = sorted(p for p in ResultStore._visible((directory / STEPS).glob("*.parquet")) if p.stem in done)
    return _order(_read_dir(directory / STEPS, files), index)


def load_failures(results_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The failure records of runs that raised and have not since succeeded (error, traceback)."""
    directory = Path(results_dir)
    done = {p.stem for p in ResultStore._visible((directory / RUNS).glob("*.parquet"))}
    rows = [json.loads(p.read_text(encoding="utf-8"))
            for p in sorted(ResultStore._visible((directory / FAILED).glob("*.json"))) if p.stem not in done]
    return pd.DataFrame(rows)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _differences(old: dict[str, Any], new: dict[str, Any]) -> str:
    changed = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if isinstance(old.get(key), (dict, list)) or isinstance(new.get(key), (dict, list)):
                changed.append(f"{key} differs")
            else:
                changed.append(f"{key}: {old.get(key)!r} then, {new.get(key)!r} now")
    return "; ".join(changed) if changed else "its fingerprint differs"
