"""Adaptive replications: run an experiment in batches of common-random-number replications
until its primary outcomes are pinned down (``ecosim sweep --until-precision``).

Each batch is an ordinary sweep of the next replication indices (the same seeds in every
scenario, the first n seeds never change when more are added), written to the same results
directory by :func:`ecosim.executors.run_sweep` on any executor, so an interrupted adaptive
sweep resumes like any other. After each batch :func:`ecosim.analysis.precision_status` reads the
finished runs and the loop stops when every primary outcome's interval half-width is at most
``relative`` of its mean, or the ranking of the conditions on every primary outcome is resolved
(every adjacent pair's interval excludes no change: a ranking that only keeps its order is not
enough), or ``max_replications`` is reached. The index records the replications chosen, why it
stopped and the pairs of conditions it could not tell apart (``ties``: at the cap, the ranking's
remaining ties; pairs identical in every replication are ties at any point).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from ecosim.executors import SweepOutcome, run_sweep
from ecosim.experiment import Experiment


@dataclasses.dataclass
class AdaptiveOutcome:
    """What an adaptive sweep did: the batches' outcomes, the replications it chose and why it stopped."""

    batches: list[SweepOutcome]
    replications: int
    reason: str
    status: dict[str, Any] | None

    @property
    def ties(self) -> list[dict[str, Any]]:
        """The adjacent pairs of conditions the last look could not tell apart (see
        :func:`ecosim.analysis.precision_status`)."""
        return list(self.status["ties"]) if self.status else []

    @property
    def interrupted(self) -> bool:
        return any(b.interrupted or b.pool_broken for b in self.batches)

    @property
    def failed(self) -> int:
        return sum(b.failed for b in self.batches)


def adaptive_sweep(
    experiment: Experiment,
    out: str | os.PathLike[str],
    relative: float,
    max_replications: int,
    batch: int = 5,
    primary: Sequence[str] | None = None,
    resume: bool = False,
    on_batch: Callable[[int, dict[str, Any]], None] | None = None,
    **sweep_options: Any,
) -> AdaptiveOutcome:
    """Add batches of replications until the primary outcomes are precise (see the module docstring).

    Parameters
    ----------
    experiment : the resolved experiment; its ``replications`` are ignored (the cap decides)
    out : results directory
    relative : target half-width of every primary outcome's 95% interval, as a share of its mean
    max_replications : the cap
    batch : replications added per batch (the first batch too)
    primary : primary outcomes (default: the experiment's, else the catalogue's headline outcomes)
    resume : continue an adaptive sweep already in ``out`` (same experiment, same cap)
    on_batch : called as ``on_batch(replications, status)`` after each batch
    sweep_options : passed to :func:`ecosim.executors.run_sweep` (executor, workers, ...)
    """
    from ecosim import analysis
    from ecosim.store import ResultStore, load_runs

    if experiment.design_kind not in ("scenarios", "list"):
        raise ValueError("--until-precision compares scenarios: it needs a scenario list, not a "
                         f"{experiment.design_kind} design")
    capped = dataclasses.replace(experiment, replications=max_replications)
    store = ResultStore(out)
    batches: list[SweepOutcome] = []
    status: dict[str, Any] | None = None
    done = 0
    if resume and store.read_index_if_any() is not None:
        # continue from the last whole batch, so that the looks fall where they would have
        done = min(_whole_replications(store, capped) // batch * batch, max_replications)
    reason = "cap"
    while True:
        if done:
            runs = load_runs(out)
            chosen = list(primary or experiment.primary or analysis.default_primary(analysis.ok_runs(runs)))
            status = analysis.precision_status(runs, chosen, relative, looks=math.ceil(max_replications / batch))
            if on_batch:
                on_batch(done, status)
            if status["precise"]:
                reason = "precision"
                break
            if status["ranking_resolved"]:
                reason = "ranking"
                break
        if done >= max_replications:
            reason = "cap"
            break
        target = min(done + batch, max_replications)
        outcome = run_sweep(capped, out, resume=resume or bool(batches) or done > 0, replication_limit=target,
                            **sweep_options)
        batches.append(outcome)
        if outcome.interrupted or outcome.pool_broken:
            reason = "interrupted"
            break
        done = target
    index = store.read_index_if_any() or {}
    store.update_index(
        replications=done,
        n_runs=sum(1 for r in index.get("runs", []) if r.get("replication", 0) < done),
        runs=[r for r in index.get("runs", []) if r.get("replication", 0) < done],
        adaptive={
        "until_precision": relative, "max_replications": max_replications, "batch": batch,
        "replications_chosen": done, "stopped_because": reason,
        "worst": status["worst"] if status else None,
        "ties": status["ties"] if status else []})
    return AdaptiveOutcome(batches=batches, replications=done, reason=reason, status=status)


def _whole_replications(store: Any, experiment: Experiment) -> int:
    """The number of leading replications every run of which has finished (a resumed sweep
    continues from there)."""
    finished = store.done_ids()
    count = 0
    per_replication: dict[int, list[str]] = {}
    for spec in experiment.runs():
        per_replication.setdefault(spec.replication, []).append(spec.run_id)
    while count in per_replication and all(r in finished for r in per_replication[count]):
        count += 1
    return count


__all__ = ["AdaptiveOutcome", "adaptive_sweep"]
