"""Resource bounds decided before any work: a run's memory, a sweep's runs, its workers.

A scenario that validates can still ask for more memory than the machine has (a million
research groups, ties by the billion), and an experiment can still ask for more runs than
anyone could wait for. These checks are cheap arithmetic on the scenario's sizes, made by
``ecosim check``, ``run``, ``sweep``, ``validate`` and ``viz`` before anything is built, and
each refusal says what was asked, what is allowed and how to override it.

The memory estimate is a sum of per-item costs measured on this model (peak resident
memory of ``simulate``, see docs/RELIABILITY.md); :func:`scenario_sizes` is the one place
that reads the scenario's fields, so a change in the schema is a change there.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ecosim.errors import InputError

if TYPE_CHECKING:
    from ecosim.scenario import Scenario

BASE_BYTES = 230 * 2**20
"""A process with ecosim, numpy, pandas, networkx and Mesa imported (measured 215 MB)."""

BYTES_PER_AGENT = 2_000
"""A Mesa agent, its network node and its state."""

BYTES_PER_GROUP = 200
"""A research group's rows in the universities' arrays."""

BYTES_PER_TIE = 600
"""A networkx edge with its attributes plus its row in the tie table."""

BYTES_PER_TECHNOLOGY = 800
"""A technology's row (≈ 750 B measured with the table's doubling slack and the results frame)."""

LOCAL_WORKER_BYTES = 130 * 2**20
"""A local worker process before its run (measured ≈ 125 MB)."""

DASK_WORKER_BYTES = 230 * 2**20
"""A Dask LocalCluster worker before its run (measured ≈ 220 MB)."""

MAX_RUNS = 200_000
"""Most runs a sweep may plan by default (its run list and index stay under ~100 MB)."""

MAX_WORKERS = 512
"""Most worker processes, whatever the memory (each holds pipes and a process slot)."""

MEMORY_SHARE = 0.8
"""Share of the machine's memory (or the container's limit) allowed by default."""


@dataclass(frozen=True)
class Sizes:
    """What a run of a scenario holds: agents, research groups, ties, and technologies over the horizon."""

    agents: int
    groups: int
    ties: int
    technologies: int
    steps: int

    @property
    def bytes(self) -> int:
        """Estimated peak memory of one run, bytes."""
        return int(BASE_BYTES + self.agents * BYTES_PER_AGENT + self.groups * BYTES_PER_GROUP
                   + self.ties * BYTES_PER_TIE + self.technologies * BYTES_PER_TECHNOLOGY)

    def describe(self) -> str:
        """The sizes in words, for messages."""
        return (f"{self.agents:,} agents, {self.groups:,} research groups, about {self.ties:,} ties and "
                f"{self.technologies:,} technologies over {self.steps:,} quarters")


def scenario_sizes(scenario: Scenario | dict[str, Any]) -> Sizes:
    """The sizes of a run of ``scenario`` (a :class:`Scenario` or its resolved dict).

    The only function here that knows the scenario's field names. Technologies are an upper
    estimate: every group at full product orientation and every metric-driven disclosure,
    plus the enterprises' own R&D at the mean budget.
    """
    s = scenario if isinstance(scenario, dict) else scenario.model_dump(mode="python")
    world, policy, enterprises, universities = s["world"], s["policy"], s["enterprises"], s["universities"]
    regions = world["regions"]
    institutions = regions * (world["universities_per_region"] + world["institutes_per_region"])
    n_enterprises = regions * world["enterprises_per_region"]
    managers = regions * policy["managers"]["managers_per_region"]
    investors = regions * policy["finance"]["investors_per_region"]
    agents = regions + institutions + n_enterprises + managers + investors
    groups = institutions * world["groups_per_university"]
    ties = (n_enterprises * enterprises["ties_per_enterprise"]
            + regions * world["universities_per_region"] * (enterprises["university_ties_per_university"] + enterprises["founding_deal_ties_per_university"])
            + investors * s["network"]["investor_ties"]
            + managers * (1 + policy["managers"]["contacts"]))
    per_group = (universities["disclosures_per_group_quarter"]
                 + universities["metric_disclosures_per_group_quarter"]
                 * max(1.0, s["policy"]["incentives"]["publication_weight"]))
    per_enterprise = enterprises["rd_budget_per_quarter_mean"] * enterprises["own_technologies_per_rd_yuan"]
    technologies = int(s["steps"] * (groups * per_group + n_enterprises * per_enterprise))
    return Sizes(agents=agents, groups=groups, ties=ties, technologies=technologies, steps=s["steps"])


def largest_run(scenarios: dict[str, dict[str, Any]], points: list[dict[str, Any]]) -> tuple[str, Sizes]:
    """The scenario variant and design point whose run needs the most memory: (description, sizes).

    ``scenarios`` are resolved scenario dicts, ``points`` dotted-key overrides (an
    :class:`~ecosim.experiment.Experiment`'s); only the mappings on each point's paths are copied.
    """
    best: tuple[str, Sizes] | None = None
    for name, data in scenarios.items():
        for i, point in enumerate(points or [{}]):
            sizes = scenario_sizes(_with_point(data, point))
            if best is None or sizes.bytes > best[1].bytes:
                best = (f"scenario {name!r}" + (f", design point {i}" if point else ""), sizes)
    assert best is not None
    return best


def _with_point(data: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    copy = dict(data)
    for dotted, value in point.items():
        node = copy
        *parents, last = dotted.split(".")
        for part in parents:
            node[part] = dict(node[part])
            node = node[part]
        node[last] = value
    return copy


# ---------------------------------------------------------------- the limits


def machine_memory_bytes() -> int:
    """Physical memory, or the container's (cgroup) limit when lower."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as handle:
                text = handle.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def default_memory_limit() -> int:
    """The memory allowed when no ``--memory-limit`` is given: a share of the machine's."""
    return int(machine_memory_bytes() * MEMORY_SHARE)


_UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 10**3, "KIB": 2**10, "M": 2**20, "MB": 10**6, "MIB": 2**20,
          "G": 2**30, "GB": 10**9, "GIB": 2**30, "T": 2**40, "TB": 10**12, "TIB": 2**40}


def parse_memory(text: str, option: str = "--memory-limit") -> int:
    """``"4G"``, ``"500MiB"``, ``"2e9"`` → bytes, or :class:`InputError` naming ``option``."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = match.group(2).upper() if match else None
    if not match or unit not in _UNITS:
        raise InputError(f"expected a size such as 4G, 500M or 2GiB, got {text!r}", key=option)
    value = float(match.group(1)) * _UNITS[unit]
    if not 2**20 <= value <= 2**60:
        raise InputError(f"expected a size between 1 MiB and 1 EiB, got {text!r}", key=option)
    return int(value)


def format_bytes(n: float) -> str:
    """Bytes in the largest binary unit below them (``1.5 GiB``)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def _limit_words(limit: int | None) -> tuple[int, str]:
    if limit is None:
        limit = default_memory_limit()
        return limit, f"{format_bytes(limit)} ({MEMORY_SHARE:.0%} of this machine's memory)"
    return limit, format_bytes(limit)


def check_memory(scenario: Scenario | dict[str, Any], limit: int | None = None, source: str | None = None,
                 key: str | None = None) -> Sizes:
    """Refuse a scenario whose estimated run memory exceeds ``limit`` (default: :func:`default_memory_limit`).

    Returns the sizes when it fits.
    """
    return check_sizes(scenario_sizes(scenario), limit, source, key)


def check_experiment_memory(scenarios: dict[str, dict[str, Any]], points: list[dict[str, Any]],
                            limit: int | None = None, source: str | None = None) -> Sizes:
    """:func:`check_memory` for the largest run of an experiment (named in the message)."""
    where, sizes = largest_run(scenarios, points)
    return check_sizes(sizes, limit, source, where)


def check_sizes(sizes: Sizes, limit: int | None = None, source: str | None = None, key: str | None = None) -> Sizes:
    """Refuse ``sizes`` whose estimated memory exceeds ``limit``; returns them when they fit."""
    limit, words = _limit_words(limit)
    if sizes.bytes > limit:
        raise InputError(
            f"a run would need about {format_bytes(sizes.bytes)} of memory ({sizes.describe()}); "
            f"the limit is {words}. Make the world smaller, or raise the limit with --memory-limit SIZE",
            source=source, key=key)
    return sizes


def check_runs(n_runs: int, limit: int | None = None, source: str | None = None, key: str | None = None,
               how: str = "") -> None:
    """Refuse a sweep of more than ``limit`` runs (default :data:`MAX_RUNS`); ``how`` says how they multiply."""
    limit = MAX_RUNS if limit is None else limit
    if n_runs > limit:
        raise InputError(f"the sweep would make {n_runs:,} runs{how}; at most {limit:,} are allowed. "
                         "Use fewer replications or design points, or raise the cap with --max-runs N",
                         source=source, key=key)


def check_workers(workers: int | None, run_bytes: int, executor: str, limit: int | None = None) -> None:
    """Refuse more local workers than fit in the memory limit (or than :data:`MAX_WORKERS`)."""
    if workers is None or executor == "serial":
        return
    per_worker = (DASK_WORKER_BYTES if executor == "dask" else LOCAL_WORKER_BYTES) + run_bytes - BASE_BYTES
    limit, words = _limit_words(limit)
    allowed = max(1, min(MAX_WORKERS, limit // per_worker))
    if workers > allowed:
        raise InputError(
            f"{workers:,} workers asked for; at most {allowed:,} fit (each needs about {format_bytes(per_worker)}, "
            f"the memory limit is {words}, and never more than {MAX_WORKERS}). "
            "Lower --workers, or raise the limit with --memory-limit SIZE", key="--workers")
