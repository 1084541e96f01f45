"""Posterior draws of the free parameters: read a weighted posterior, choose the draws of an experiment.

A posterior is a Parquet file (what ``ecosim calibrate`` writes as ``posterior.parquet``): one
column per free parameter, named by its dotted scenario key (the keys ``--set`` takes), a
``weight`` column (≥ 0, summing to 1) and one row per particle. An experiment file that says
``parameters: {posterior: FILE, draws: N}`` runs replication ``r`` at posterior draw ``d_r``
and seed ``s_r``, both shared by every scenario (common random numbers and common
parameters), so that paired differences carry parameter uncertainty as well as chance.

The draws are chosen by multinomial resampling in proportion to the weights, from a stream of
the experiment's root seed that no replication seed or design uses
(:func:`posterior_draws`), in the driver: the same file and seed give the same draws on every
executor and after a resume, and the first ``n`` draws do not change when more are asked for
(as with replication seeds). Because the draws are resampled by weight, every drawn
replication then weighs the same.

This module knows nothing of experiments, executors or Mesa; it reads one file and does
arithmetic on its weights.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecosim.errors import InputError

WEIGHT = "weight"
"""The posterior file's weight column."""

DRAW_COLUMN = "posterior_draw"
"""The runs table's column holding the posterior particle (row of the file) a run used."""

VALUE_PREFIX = "posterior."
"""Runs-table columns ``posterior.<dotted key>`` hold the value of each posterior key a run used."""

WEIGHT_TOLERANCE = 1e-6
"""How far the weights' sum may be from 1 (rounding in the file's writer) before the file is refused."""

_DRAW_STREAM = 2**32 - 2  # SeedSequence spawn key of the draws: no replication (0, 1, ...) or design (2**32 − 1) uses it


@dataclass(frozen=True, eq=False)  # arrays inside: compared by identity
class Posterior:
    """A weighted sample of the free parameters, as read from a posterior file.

    Attributes
    ----------
    file : the file's path
    sha256 : SHA-256 of the file's bytes (an experiment's fingerprint covers it)
    keys : the dotted scenario keys, in the file's column order
    values : particle × key array of values (float64)
    weights : the particles' weights, normalised to sum to exactly 1
    """

    file: str
    sha256: str
    keys: tuple[str, ...]
    values: np.ndarray
    weights: np.ndarray

    @property
    def particles(self) -> int:
        """Number of particles (rows of the file)."""
        return len(self.weights)

    @property
    def effective_sample_size(self) -> float:
        """Kish's effective sample size of the weights, ``1 / Σ w²``."""
        return float(1.0 / np.sum(self.weights**2))

    def particle(self, index: int) -> dict[str, float]:
        """The values of particle ``index`` as ``{dotted key: value}``."""
        return {key: float(v) for key, v in zip(self.keys, self.values[index], strict=True)}


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_posterior(path: str | Path, source: str | None = None, key: str | None = None) -> Posterior:
    """Read and check a posterior file, or raise :class:`InputError` naming the file and what is wrong.

    The file must be readable Parquet with a numeric ``weight`` column (finite, ≥ 0, not all
    zero, summing to 1 within :data:`WEIGHT_TOLERANCE`) and at least one other column, every
    one numeric, finite and named like a dotted scenario key. Whether the names are real
    scenario keys and the values valid is checked against the scenarios by the experiment
    (:func:`ecosim.experiment.load_experiment`).

    Parameters
    ----------
    path : the posterior file
    source, key : the file and key that named it (an experiment file and ``parameters.posterior``),
        for error messages about a missing file

    Examples
    --------
    >>> posterior = read_posterior("experiments/posterior/default.parquet")
    >>> round(float(posterior.weights.sum()), 12), "technology.matching_lambda" in posterior.keys
    (1.0, True)
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise InputError(f"posterior file {str(path)!r} not found", source=source, key=key)
    if not path.is_file():
        raise InputError(f"posterior file {str(path)!r} is not a file", source=source, key=key)
    name = str(path)
    try:  # ParquetFile, not pq.read_table: read_table goes through pyarrow.dataset, which imports pandas
        with pq.ParquetFile(path) as parquet:
            table = parquet.read()
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"is not a readable Parquet file ({exc}); expected a posterior.parquet as "
                         "`ecosim calibrate` writes it", source=name) from None
    columns = list(table.column_names)
    if len(set(columns)) != len(columns):
        raise InputError("has a column twice; expected one column per parameter", source=name)
    if WEIGHT not in columns:
        raise InputError(f"has no {WEIGHT!r} column; expected one column per parameter (dotted scenario key) "
                         f"and a {WEIGHT!r} column", source=name)
    keys = [c for c in columns if c != WEIGHT]
    if not keys:
        raise InputError("has only a weight column; expected one column per parameter (dotted scenario key)",
                         source=name)
    if table.num_rows == 0:
        raise InputError("has no rows (particles)", source=name)
    for column in columns:
        kind = table.schema.field(column).type
        if not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
            raise InputError(f"column {column!r} is {kind}, expected numbers", source=name)
    for column in keys:
        parts = column.split(".")
        if len(parts) < 2 or not all(part.isidentifier() for part in parts):
            raise InputError(f"column {column!r} is not a dotted scenario key (such as technology.matching_lambda)",
                             source=name)
    values = np.column_stack([_float64(table.column(c)) for c in keys])
    weights = _float64(table.column(WEIGHT))
    for j, column in enumerate(keys):
        bad = ~np.isfinite(values[:, j])
        if bad.any():
            raise InputError(f"column {column!r} has {int(bad.sum())} missing or infinite value(s) "
                             f"(first in row {int(np.flatnonzero(bad)[0])})", source=name)
    if not np.isfinite(weights).all():
        raise InputError(f"column {WEIGHT!r} has missing or infinite values", source=name)
    if (weights < 0).any():
        raise InputError(f"column {WEIGHT!r} has negative weights (first in row {int(np.flatnonzero(weights < 0)[0])}); "
                         "weights must be ≥ 0", source=name)
    total = float(weights.sum())
    if not math.isfinite(total) or total <= 0:
        raise InputError(f"column {WEIGHT!r} is all zero; at least one particle needs weight", source=name)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise InputError(f"weights sum to {total:.6g}, expected 1 (normalised importance weights)", source=name)
    return Posterior(file=name, sha256=file_sha256(path), keys=tuple(keys), values=values, weights=weights / total)


def _float64(column) -> np.ndarray:
    """A numeric Arrow column as float64, a missing value as NaN — the values
    ``column.to_numpy(zero_copy_only=False).astype(np.float64)`` gives, but through Python numbers:
    pyarrow's ``to_numpy`` imports pandas, most of a second of ``ecosim check`` (docs/RELIABILITY.md)."""
    return np.array(column.to_pylist(), dtype=np.float64)


def posterior_draws(weights: np.ndarray, draws: int, root_seed: int) -> list[int]:
    """The particle of each replication: ``draws`` multinomial draws in proportion to ``weights``.

    The uniforms come from ``SeedSequence(root_seed, spawn_key=(2**32 − 2,))``, a stream no
    replication seed or sampled design uses, so the draws depend only on the weights, the root
    seed and their number; the first ``n`` draws do not change when more are asked for.

    Examples
    --------
    >>> w = np.array([0.5, 0.25, 0.25])
    >>> posterior_draws(w, 3, 7) == posterior_draws(w, 6, 7)[:3]
    True
    >>> posterior_draws(np.array([0.0, 1.0, 0.0]), 4, 7)
    [1, 1, 1, 1]
    """
    weights = np.asarray(weights, dtype=np.float64)
    cumulative = np.cumsum(weights)
    cumulative /= cumulative[-1]
    rng = np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=(_DRAW_STREAM,)))
    uniforms = rng.random(draws)
    chosen = np.searchsorted(cumulative, uniforms, side="right")
    # a uniform can land on a zero-weight particle's boundary only through rounding; never choose one
    chosen = np.minimum(chosen, len(weights) - 1)
    return [int(i) for i in chosen]
