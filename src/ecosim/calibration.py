"""Calibration as estimation: ABC-SMC (``pyabc``) of the free parameters against the facts.

A calibration file (``experiments/calibration.yaml``, schema :class:`CalibrationFile`) names
a scenario, uniform priors ``[low, high]`` on some of its numeric keys, the produced patterns
of the facts (docs/VALIDATION.md §1) to fit (ids of :data:`ecosim.validation.FACTS`; inputs are refused) and a
budget. :func:`run_calibration` estimates the posterior by approximate Bayesian computation
with sequential Monte Carlo (pyabc's :class:`pyabc.ABCSMC`):

- each particle is one simulation (:func:`ecosim.validation.simulate_with_facts`) with one
  seed; a target's distance is how far the simulated measure lies outside the target range,
  in half-widths of the range (0 inside, :func:`target_distance`); the particle's distance is
  the root of the sum of their squares (:func:`particle_distance`);
- generation 0 samples the prior and accepts every particle whose targets are all measurable;
  each later generation's threshold ε is the weighted median of the previous generation's
  distances (:class:`ResumableMedianEpsilon`); once it reaches 0 (every accepted particle fits
  every target range) the run goes on at ε = 0 until the budget or the generation cap, so the
  posterior comes from a generation whose particles all fit and later generations even out the
  weights; proposals come from pyabc's multivariate normal kernel fitted to the previous
  generation, with twice its weighted covariance (:func:`twice_the_covariance`);
- a candidate whose worker process dies is run again in a fresh pool, like a sweep's run;
- candidates are evaluated by :class:`IndexOrderSampler` on ecosim's executors (serial,
  local processes, Dask): candidate ``i`` of generation ``t`` draws its proposal and its
  simulation's seed from ``(seed, t, i)``, and the generation keeps the first ``n`` accepted
  candidates in index order. So the posterior does not depend on the executor, the number of
  workers or the order in which results arrive — and a killed generation redone from its
  seed gives the same particles.

pyabc's sqlite database (``DIR/abc.db``) keeps every finished generation;
``--resume`` continues after the last one (pyabc reloads the population, the proposal kernel
and ε from it). ``DIR/calibration.json`` holds the provenance and a fingerprint of the
calibration, so a directory of another calibration is refused.

Simulate-and-recover: with ``targets_from`` the targets are not the facts' published ranges
but the mean of ``replications`` runs at known parameter values, ± a relative tolerance
(:func:`recover_targets`), so a test can check that the known values are recovered.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ecosim.errors import InputError
from ecosim.facts import FACTS, FACTS_BY_ID, Fact
from ecosim.scenario import StrictFile

if TYPE_CHECKING:  # numpy and pandas are imported by the functions that use them: checking a
    # calibration file (ecosim check) reads the file and the facts only (docs/RELIABILITY.md)
    import numpy as np
    import pandas as pd

FORMAT = "ecosim-calibration/1"
DATABASE = "abc.db"
INDEX = "calibration.json"
GENERATION_LOG = "generation_seconds.json"
INITIAL_EPSILON = sys.float_info.max  # = float(np.finfo(float).max)
"""Generation 0's threshold: every prior draw whose targets are all measurable is accepted."""

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "ecosim.validation:simulate_with_facts"
"""The simulation a particle is (``"module:function"``, the signature of :func:`ecosim.model.simulate`)."""

PATTERN_IDS = tuple(f.id for f in FACTS if not f.input)
"""The facts a calibration may target (produced patterns, not inputs)."""


# ---------------------------------------------------------------- the file


class TargetsFrom(StrictFile):
    """Simulate-and-recover: targets made by the model itself at known parameter values."""

    parameters: dict[str, float] = Field(description="the known value of every calibrated parameter")
    replications: int = Field(ge=2, le=1_000, description="runs at the known values; each target is their mean")
    seed: int = Field(ge=0, lt=2**63, description="root seed of those runs")
    tolerance: float = Field(1.0, gt=0, le=10, description="target range: mean ± tolerance × one run's standard deviation")


class CalibrationFile(StrictFile):
    """The keys of a calibration file (``ecosim calibrate``); see docs/VALIDATION.md §7."""

    name: str = Field(min_length=1, max_length=100, description="calibration name")
    description: str = Field("", max_length=10_000, description="what is calibrated, and why")
    scenario: str = Field(description="scenario file, relative to the calibration file")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted scenario keys applied to the scenario")
    steps: int | None = Field(None, ge=1, le=2_000, description="quarters per run (default: the scenario's)")
    parameters: dict[str, tuple[float, float]] = Field(
        min_length=1, max_length=50, description="uniform prior [low, high] per dotted scenario key")
    targets: list[str] = Field(min_length=1, description="ids of the facts to fit (produced patterns, docs/VALIDATION.md §1)")
    targets_from: TargetsFrom | None = Field(None, description="simulate-and-recover: targets from known parameters")
    population_size: int = Field(ge=2, le=100_000, description="accepted particles per generation")
    populations: int = Field(ge=1, le=1_000, description="most generations")
    simulations: int = Field(ge=1, le=10_000_000, description="simulation budget (stop at the end of the generation that reaches it)")
    seed: int = Field(ge=0, lt=2**63, description="root seed of proposals and simulations")
    predictive_draws: int = Field(100, ge=1, le=100_000, description="fresh simulations at posterior draws for the predictive check")
    proposal: Literal["twice_covariance", "silverman"] = Field(
        "twice_covariance", description="proposal kernel's covariance: 2 × the weighted covariance of the last "
                                        "generation (Beaumont et al. 2009), or pyabc's default (Silverman's rule)")

    @field_validator("name")
    @classmethod
    def _safe(cls, name: str) -> str:
        from ecosim.scenario import check_safe_name

        return check_safe_name(name)

    @field_validator("parameters")
    @classmethod
    def _ordered(cls, parameters: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for key, (low, high) in parameters.items():
            if not low < high:
                raise ValueError(f"{key}: expected [low, high] with low < high, got [{low}, {high}]")
        return parameters

    @field_validator("targets")
    @classmethod
    def _patterns(cls, targets: list[str]) -> list[str]:
        import difflib

        for target in targets:
            fact = FACTS_BY_ID.get(target)
            if fact is None:
                close = difflib.get_close_matches(target, list(FACTS_BY_ID), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ValueError(f"{target!r} is not a fact id{hint}; the patterns are {', '.join(PATTERN_IDS)}")
            if fact.input:
                raise ValueError(f"{target} is an input (set from data, docs/VALIDATION.md §1), not a produced pattern; "
                                 f"a calibration targets only {', '.join(PATTERN_IDS)}")
        if len(set(targets)) != len(targets):
            raise ValueError("a target is listed twice")
        return targets

    @model_validator(mode="after")
    def _known_values(self) -> CalibrationFile:
        if self.targets_from is not None:
            given, wanted = set(self.targets_from.parameters), set(self.parameters)
            if given != wanted:
                raise ValueError(f"targets_from.parameters must give every calibrated parameter: missing "
                                 f"{sorted(wanted - given)}, unknown {sorted(given - wanted)}")
            for key, value in self.targets_from.parameters.items():
                low, high = self.parameters[key]
                if not low <= value <= high:
                    raise ValueError(f"targets_from.parameters.{key} = {value} lies outside its prior [{low}, {high}]")
        return self


@dataclass(frozen=True)
class Target:
    """One target of a calibration: the fact, the measure and the range its distance is measured to."""

    id: str
    measure: str
    low: float
    high: float


@dataclass
class Calibration:
    """A validated, resolved calibration file (:func:`load_calibration`)."""

    name: str
    description: str
    source: str
    scenario: dict[str, Any]
    parameters: dict[str, tuple[float, float]]
    targets: list[Target]
    population_size: int
    populations: int
    simulations: int
    seed: int
    predictive_draws: int
    targets_from: dict[str, Any] | None = None
    proposal: str = "twice_covariance"
    defaults: dict[str, float] = field(default_factory=dict)
    model: str = DEFAULT_MODEL
    """The simulation function (``"module:function"``); tests substitute one (not in the fingerprint)."""

    def resolved(self) -> dict[str, Any]:
        """What determines the posterior (not the budget): the basis of :meth:`fingerprint`."""
        return {"scenario": self.scenario, "parameters": {k: list(v) for k, v in self.parameters.items()},
                "targets": [t.id for t in self.targets], "targets_from": self.targets_from,
                "population_size": self.population_size, "seed": self.seed, "proposal": self.proposal}

    def fingerprint(self) -> str:
        """SHA-256 of :meth:`resolved`: equal fingerprints ⇔ the same generations for the same seed.

        The budget (simulations, populations) is left out, so a finished calibration can be
        resumed with a larger one.
        """
        text = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_calibration(data: dict[str, Any]) -> bool:
    """A calibration file has ``parameters`` and ``targets`` at its top level."""
    return "targets" in data and "parameters" in data


def load_calibration(path: str | Path, simulations: int | None = None, populations: int | None = None,
                     seed: int | None = None) -> Calibration:
    """Read and validate a calibration file, or raise :class:`InputError` (nothing is run).

    The scenario is loaded (relative to the file) with its overrides; every parameter must be
    a numeric (non-integer) scenario key, and the scenario must stay valid at both ends of
    every prior. ``simulations``, ``populations`` and ``seed`` override the file's.

    Examples
    --------
    >>> calibration = load_calibration("experiments/calibration.yaml")
    >>> calibration.targets[0].id, calibration.population_size
    ('F1', 300)
    """
    from ecosim.experiment import _check_key
    from ecosim.scenario import apply_overrides, format_validation_error, load_scenario
    from ecosim.strict_yaml import load_mapping

    path = Path(path)
    source = str(path)
    document = load_mapping(path)
    data = dict(document.data)
    data.setdefault("name", path.stem)
    try:
        spec = CalibrationFile.model_validate(data)
    except ValidationError as exc:
        raise format_validation_error(exc, CalibrationFile, source, document) from None
    scenario_path = Path(spec.scenario) if Path(spec.scenario).is_absolute() else path.parent / spec.scenario
    if not scenario_path.is_file():
        raise InputError(f"scenario file {spec.scenario!r} not found (looked for {scenario_path})",
                         source=source, key="scenario")
    scenario = load_scenario(scenario_path)
    overrides = dict(spec.overrides)
    for key in overrides:
        _check_key(scenario, key, source, "overrides", scalar_only=False)
    if spec.steps is not None:
        overrides["steps"] = spec.steps
    if overrides:
        try:
            scenario = apply_overrides(scenario, overrides)
        except InputError as exc:
            raise InputError(str(exc), source=source, key="overrides") from None
    resolved = scenario.model_dump(mode="json")
    defaults = {}
    for key in spec.parameters:
        current = _check_key(resolved, key, source, f"parameters.{key}")
        if isinstance(current, bool) or not isinstance(current, float):
            raise InputError(f"{key!r} is not a real-valued scenario key (it is {current!r}); a prior is "
                             "continuous", source=source, key=f"parameters.{key}")
        defaults[key] = float(current)
    for end, index in (("low", 0), ("high", 1)):
        point = {key: bounds[index] for key, bounds in spec.parameters.items()}
        try:
            apply_overrides(resolved, point)
        except InputError as exc:
            raise InputError(f"the scenario is invalid with every parameter at its {end} end: {exc}",
                             source=source, key="parameters") from None
    targets = [Target(f.id, f.measure, f.low, f.high) for f in (FACTS_BY_ID[i] for i in spec.targets)]
    total = spec.simulations if simulations is None else simulations
    if total < spec.population_size:
        raise InputError(f"a budget of {total} simulations cannot fill one generation of {spec.population_size}",
                         source=source, key="--simulations" if simulations is not None else "simulations")
    return Calibration(
        name=spec.name, description=spec.description, source=source, scenario=resolved,
        parameters={k: (float(lo), float(hi)) for k, (lo, hi) in spec.parameters.items()}, targets=targets,
        population_size=spec.population_size, populations=spec.populations if populations is None else populations,
        simulations=total, seed=spec.seed if seed is None else seed, predictive_draws=spec.predictive_draws,
        targets_from=spec.targets_from.model_dump(mode="json") if spec.targets_from else None, defaults=defaults,
        proposal=spec.proposal)


# ---------------------------------------------------------------- distance


def half_width(low: float, high: float) -> float:
    """The scale of a target's distance: half the range, or half the bound for "at least"."""
    if math.isinf(high):
        return max(abs(low) / 2, 1e-9)
    return max((high - low) / 2, 1e-9)


def target_distance(low: float, high: float, value: float) -> float:
    """How far ``value`` lies outside ``[low, high]``, in half-widths (0 inside; inf if NaN).

    Examples
    --------
    >>> target_distance(0.03, 0.05, 0.04), target_distance(0.03, 0.05, 0.07)
    (0.0, 2.0)
    """
    import numpy as np

    if not np.isfinite(value):
        return math.inf
    outside = max(low - value, value - high, 0.0)
    return outside / half_width(low, high)


def fact_distance(fact: Fact, value: float) -> float:
    """:func:`target_distance` to a fact's published range."""
    return target_distance(fact.low, fact.high, value)


def particle_distance(x: dict[str, float], x_0: dict[str, Any]) -> float:
    """A particle's distance: root of the sum of squared target distances.

    Parameters
    ----------
    x : the simulated measures (``fact_*`` key → value)
    x_0 : the observed data as pyabc stores it: ``fact_*`` key → ``[low, high]``

    Examples
    --------
    >>> particle_distance({"a": 0.07, "b": 1.0}, {"a": [0.03, 0.05], "b": [0.0, 2.0]})
    2.0
    """
    import numpy as np

    total = 0.0
    for measure, bounds in x_0.items():
        low, high = (float(b) for b in np.asarray(bounds, dtype=float).ravel()[:2])
        d = target_distance(low, high, float(x.get(measure, math.nan)))
        total += d * d
    return math.sqrt(total)


def observed_data(targets: list[Target]) -> dict[str, np.ndarray]:
    """The observed data pyabc stores: each target's measure → ``[low, high]``."""
    import numpy as np

    return {t.measure: np.array([t.low, t.high], dtype=float) for t in targets}


# ---------------------------------------------------------------- the model pyabc runs


def simulate_measures(scenario: dict[str, Any], overrides: dict[str, float], seed: int,
                      measures: tuple[str, ...], model: str = DEFAULT_MODEL) -> dict[str, float]:
    """One simulation of ``scenario`` with ``overrides`` and ``seed``: the named ``fact_*`` measures.

    ``model`` names the simulation function (tests substitute one that kills its process).
    """
    import importlib

    from ecosim.scenario import apply_overrides

    module_name, _, function_name = model.partition(":")
    simulate = getattr(importlib.import_module(module_name), function_name)
    result = simulate(apply_overrides(scenario, overrides), seed=seed)
    return {m: float(result.summary.get(m, math.nan)) for m in measures}


class FactsModel:
    """The model pyabc calls: parameters → the targets' measures of one simulation.

    The simulation's seed is drawn from numpy's global generator, which
    :func:`evaluate_candidate` has seeded from ``(seed, generation, candidate)`` — the one way
    pyabc lets randomness in (its proposals use the global generator too).
    """

    def __init__(self, scenario: dict[str, Any], measures: tuple[str, ...], model: str = DEFAULT_MODEL):
        self.scenario = scenario
        self.measures = measures
        self.model = model

    def __call__(self, parameters: dict[str, float]) -> dict[str, float]:
        """Simulate at ``parameters`` (dotted key → value)."""
        import numpy as np

        seed = int(np.random.randint(0, 2**62, dtype=np.int64))
        overrides = {key: float(value) for key, value in dict(parameters).items()}
        return simulate_measures(self.scenario, overrides, seed, self.measures, self.model)


def candidate_seed(seed: int, generation: int, candidate: int) -> np.ndarray:
    """The seed of candidate ``candidate`` of ``generation``: a SeedSequence of the three numbers."""
    import numpy as np

    return np.random.SeedSequence(seed, spawn_key=(generation, candidate)).generate_state(8)


_SIMULATE_ONE: dict[str, Callable] = {}  # per worker process: the current generation's unpickled simulate_one


def evaluate_candidate(simulate_one: bytes, digest: str, seed: int, generation: int, candidate: int):
    """Worker side: propose, simulate and accept or reject one candidate (a pyabc Particle).

    ``simulate_one`` is pyabc's closure for the generation, pickled with cloudpickle
    (unpickled once per generation and worker). numpy's global generator is seeded from
    :func:`candidate_seed` for the call and restored afterwards.
    """
    import numpy as np

    function = _SIMULATE_ONE.get(digest)
    if function is None:
        import cloudpickle

        _SIMULATE_ONE.clear()
        function = _SIMULATE_ONE[digest] = cloudpickle.loads(simulate_one)
    state = np.random.get_state()
    np.random.seed(candidate_seed(seed, generation, candidate))
    try:
        return function()
    finally:
        np.random.set_state(state)


def _simulate_task(args: tuple[Any, ...]) -> dict[str, float]:
    return simulate_measures(*args)


class WorkerDied(RuntimeError):
    """A task killed its worker process :data:`ecosim.executors.MAX_ATTEMPTS` times."""


def _lost_to_a_dead_worker(future: Future) -> bool:
    """The future's worker process died (the local pool broke) before it returned."""
    from concurrent.futures.process import BrokenProcessPool

    return future.cancelled() or isinstance(future.exception(), BrokenProcessPool)


def _retry_after_death(handle, lost: list[Any], attempts: dict[Any, int], what: Callable[[Any], str]) -> None:
    """Count one more attempt for every task ``lost`` with a broken pool and restart the pool.

    Like a sweep (:data:`ecosim.executors.MAX_ATTEMPTS`): a task whose worker died is run again
    in a fresh pool, and a task that has lost its worker that often raises :class:`WorkerDied`.
    A task's result depends only on its arguments (its seed among them), so a retried task
    gives what it would have given the first time.
    """
    from ecosim.executors import MAX_ATTEMPTS

    for key in lost:
        attempts[key] = attempts.get(key, 0) + 1
        if attempts[key] >= MAX_ATTEMPTS:
            raise WorkerDied(f"{what(key)} lost its worker process {attempts[key]} times (killed, or out of memory?); "
                             "the calibration stops here and --resume redoes the generation")
    logger.warning("a worker process died; %d task(s) rerun in a fresh pool", len(lost))
    handle.restart()


def run_tasks(handle, tasks: list[tuple[Any, ...]], what: str = "a simulation") -> list[dict[str, float]]:
    """``[_simulate_task(t) for t in tasks]`` on ``handle``'s executor, in order; a task whose
    worker process dies is rerun (:func:`_retry_after_death`)."""
    results: dict[int, dict[str, float]] = {}
    attempts: dict[int, int] = {}
    pending = list(range(len(tasks)))
    while pending:
        futures = {i: handle.executor.submit(_simulate_task, tasks[i]) for i in pending}
        wait(list(futures.values()))
        lost = [i for i, f in futures.items() if _lost_to_a_dead_worker(f)]
        for i, f in futures.items():
            if i not in lost:
                results[i] = f.result()
        if lost:
            _retry_after_death(handle, lost, attempts, lambda i: f"{what} (task {i})")
        pending = lost
    return [results[i] for i in range(len(tasks))]


# ---------------------------------------------------------------- pyabc pieces


def _pyabc():
    logging.getLogger("ABC").setLevel(logging.WARNING)
    import pyabc

    return pyabc


def make_sampler(handle, seed: int, progress: Callable[[dict[str, Any]], None] | None = None,
                 log_generation: Callable[[int, dict[str, Any]], None] | None = None):
    """An :class:`IndexOrderSampler` on an open executor (:func:`ecosim.executors.open_executor`)."""
    import numpy as np

    pyabc = _pyabc()

    class IndexOrderSampler(pyabc.Sampler):
        """Evaluates candidates 0, 1, 2, … of a generation on ecosim's executor; keeps the first
        ``n`` accepted in index order.

        At most ``handle.slots`` candidates are in flight; no new one is started once ``n``
        are accepted among the finished ones. ``nr_evaluations_`` is the index of the n-th
        accepted candidate plus one — the simulations the generation *needed* — so it, like
        the population, does not depend on the executor; candidates evaluated past it (at
        most the slots in flight) are discarded and counted in ``generation_seconds.json``.
        """

        def __init__(self):
            super().__init__()

        def sample_until_n_accepted(self, n, simulate_one, t, *, max_eval=np.inf, all_accepted=False,
                                    ana_vars=None):
            import cloudpickle

            start = time.perf_counter()
            payload = cloudpickle.dumps(simulate_one)
            digest = hashlib.sha256(payload).hexdigest()
            epsilon = float(ana_vars.eps(t)) if ana_vars is not None else math.nan
            results: dict[int, Any] = {}
            in_flight: dict[Future, int] = {}
            next_index = prefix = prefix_accepted = accepted_finished = 0
            limit = max_eval

            def report() -> None:
                if progress:
                    progress({"generation": t, "accepted": min(accepted_finished, n), "population_size": n,
                              "evaluated": len(results), "epsilon": epsilon})

            report()
            retry: list[int] = []  # candidates whose worker process died, to run again
            attempts: dict[int, int] = {}
            try:
                while prefix_accepted < n and prefix < limit:
                    while len(in_flight) < handle.slots and (retry or (next_index < limit and accepted_finished < n)):
                        index = retry.pop(0) if retry else next_index
                        future = handle.executor.submit(evaluate_candidate, payload, digest, seed, t, index)
                        in_flight[future] = index
                        next_index += index == next_index
                    finished, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
                    lost = []
                    for future in finished:
                        index = in_flight.pop(future)
                        if _lost_to_a_dead_worker(future):
                            lost.append(index)
                            continue
                        particle = future.result()  # a simulation that raises stops the calibration (resume redoes it)
                        results[index] = particle
                        accepted_finished += bool(particle.accepted)
                    if lost:  # a dead worker breaks the whole local pool: everything in flight is lost
                        lost += list(in_flight.values())
                        in_flight.clear()
                        _retry_after_death(handle, lost, attempts,
                                           lambda i: f"candidate {i} of generation {t}")
                        retry = sorted(set(retry) | set(lost))
                    while prefix_accepted < n and prefix in results:
                        prefix_accepted += bool(results[prefix].accepted)
                        prefix += 1
                    report()
            finally:
                for future in in_flight:
                    future.cancel()
            sample = self._create_empty_sample()
            for index in range(prefix):
                sample.append(results[index])
            self.nr_evaluations_ = prefix
            if prefix_accepted < n:
                sample.ok = False
            if log_generation:
                log_generation(t, {"seconds": time.perf_counter() - start, "evaluated": len(results),
                                   "needed": prefix})
            return sample

    return IndexOrderSampler()


def make_epsilon():
    """pyabc's weighted-median ε, starting at :data:`INITIAL_EPSILON`, that resumes correctly.

    pyabc's ``MedianEpsilon`` with a number as initial ε would restart a loaded run at that
    number; this one recomputes ε from the last stored generation instead.
    """
    pyabc = _pyabc()

    class ResumableMedianEpsilon(pyabc.MedianEpsilon):
        def initialize(self, t, get_weighted_distances, get_all_records, max_nr_populations, acceptor_config):
            if t == 0:
                self._look_up = {0: self._initial_epsilon}
            else:
                self._update(t, get_weighted_distances())

    return ResumableMedianEpsilon(initial_epsilon=INITIAL_EPSILON)


def twice_the_covariance(effective_sample_size: float, dimension: int) -> float:
    """Bandwidth factor √2: the proposal kernel's covariance is twice the last generation's
    weighted covariance (Beaumont, Cornuet, Marin & Robert 2009, Biometrika 96: 983–990).

    pyabc's default, Silverman's rule, shrinks the kernel as ``n^(-1/(d+4))`` (×0.33 of the
    covariance for 40 particles in 3 dimensions): a bumpy mixture of narrow kernels whose
    density varies a lot between accepted particles, so the importance weights ``prior ÷
    proposal`` vary a lot and the effective sample size falls (docs/VALIDATION.md §7.1).
    """
    return math.sqrt(2.0)


def make_abc(calibration: Calibration, sampler):
    """The :class:`pyabc.ABCSMC` of a calibration (uniform priors, :func:`particle_distance`,
    the proposal kernel of ``calibration.proposal``)."""
    pyabc = _pyabc()
    if calibration.proposal == "twice_covariance":
        transitions = pyabc.MultivariateNormalTransition(bandwidth_selector=twice_the_covariance)
    else:
        transitions = pyabc.MultivariateNormalTransition()
    priors = pyabc.Distribution(**{key: pyabc.RV("uniform", low, high - low)
                                    for key, (low, high) in calibration.parameters.items()})
    model = FactsModel(calibration.scenario, tuple(t.measure for t in calibration.targets), calibration.model)
    return pyabc.ABCSMC(model, priors, particle_distance, population_size=calibration.population_size,
                        sampler=sampler, eps=make_epsilon(), transitions=transitions)


# ---------------------------------------------------------------- the run


@dataclass
class CalibrationOutcome:
    """What :func:`run_calibration` did."""

    directory: Path
    generations: int
    simulations: int
    stopped_because: str
    seconds: float
    resumed_from: int = 0


def _database_url(directory: Path) -> str:
    return f"sqlite:///{(directory / DATABASE).resolve()}"


def _start_directory(calibration: Calibration, out: Path, resume: bool, force: bool) -> dict[str, Any] | None:
    """Check ``out`` and return its stored index when resuming (None for a fresh start)."""
    from ecosim.provenance import code_identity

    index_path = out / INDEX
    if index_path.exists():
        try:
            index = json.loads(index_path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"holds an unreadable {INDEX} ({exc}); use --force to start over",
                             source=str(out), key="--out") from None
        if force:
            shutil.rmtree(out)
            return None
        if not resume:
            raise InputError(f"already holds calibration {index.get('name')!r}; --resume continues it, "
                             "--force starts over", source=str(out), key="--out")
        if index.get("fingerprint") != calibration.fingerprint():
            raise InputError(f"holds a different calibration ({index.get('name')!r}: other scenario, priors, "
                             "targets, population size or seed); choose another --out or use --force",
                             source=str(out), key="--out")
        code = code_identity()
        if index.get("code", {}).get("model_sha256") != code["model_sha256"]:
            raise InputError("was calibrated with other model code (or another ecosim version); its "
                             "generations would mix two models — use --force to start over",
                             source=str(out), key="--out")
        return index
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError("exists and is not empty (and holds no calibration); choose another --out or use --force",
                         source=str(out), key="--out")
    if out.exists() and force:
        shutil.rmtree(out)
    return None


def recover_targets(calibration: Calibration, handle) -> list[Target]:
    """Simulate-and-recover targets: each target's mean over the runs at the known values ± tolerance.

    The tolerance is in standard deviations of one run's measure (over the same runs), so a
    target's range is as wide as the noise of the single simulation each particle is.
    """
    import pandas as pd

    from ecosim.experiment import replication_seeds

    spec = calibration.targets_from
    measures = tuple(t.measure for t in calibration.targets)
    seeds = replication_seeds(spec["seed"], spec["replications"])
    rows = pd.DataFrame(run_tasks(handle, [(calibration.scenario, spec["parameters"], s, measures, calibration.model)
                                           for s in seeds], "a run at the known values"))
    targets = []
    for t in calibration.targets:
        mean = float(rows[t.measure].mean())
        if not math.isfinite(mean) or not math.isfinite(float(rows[t.measure].std(ddof=1))):
            raise InputError(f"target {t.id} cannot be measured at the known values (no denominator)",
                             source=calibration.source, key="targets_from")
        spread = spec["tolerance"] * float(rows[t.measure].std(ddof=1))
        targets.append(Target(t.id, t.measure, mean - spread, mean + spread))
    return targets


def run_calibration(calibration: Calibration, out: str | Path, executor: str = "serial", workers: int | None = None,
                    scheduler: str | None = None, resume: bool = False, force: bool = False,
                    progress: Callable[[dict[str, Any]], None] | None = None,
                    on_generation: Callable[[dict[str, Any]], None] | None = None,
                    report: bool = True) -> CalibrationOutcome:
    """Run (or resume) a calibration into ``out`` and write its outputs there.

    Parameters
    ----------
    calibration : :func:`load_calibration`
    out : the calibration directory
    executor, workers, scheduler : see :func:`ecosim.executors.open_executor`
    resume : continue the calibration in ``out`` after its last finished generation
    force : delete what ``out`` holds and start over
    progress : called with ``{generation, accepted, population_size, evaluated, epsilon}`` as
        candidates finish
    on_generation : called with ``{generation, seconds, evaluated, needed}`` when a generation's
        sampling ends
    report : also run the posterior-predictive check and write the figures and ``calibration.md``
        (:func:`ecosim.calibration_report.write_report`); ``posterior.parquet`` and
        ``generations.csv`` are always written
    """
    from ecosim import __version__
    from ecosim.executors import open_executor
    from ecosim.provenance import code_identity
    from ecosim.store import write_json

    out = Path(out)
    start = time.perf_counter()
    index = _start_directory(calibration, out, resume, force)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / GENERATION_LOG
    seconds_log: dict[str, Any] = json.loads(log_path.read_text()) if index and log_path.exists() else {}

    def log_generation(t: int, record: dict[str, Any]) -> None:
        seconds_log[str(t)] = record
        write_json(log_path, seconds_log)
        if on_generation:
            on_generation({"generation": t, **record})

    with open_executor(executor, workers, scheduler) as handle:
        if index is None:
            targets = recover_targets(calibration, handle) if calibration.targets_from else calibration.targets
            index = {"format": FORMAT, "name": calibration.name, "description": calibration.description,
                     "source": calibration.source, "fingerprint": calibration.fingerprint(),
                     "ecosim_version": __version__, "code": code_identity(),
                     "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
                     "calibration": calibration.resolved(),
                     "targets": [vars(t) for t in targets], "status": "running"}
            write_json(out / INDEX, index)
        targets = [Target(**t) for t in index["targets"]]
        calibration.targets = targets
        sampler = make_sampler(handle, calibration.seed, progress, log_generation)
        abc = make_abc(calibration, sampler)
        db = _database_url(out)
        if (out / DATABASE).exists():
            history = abc.load(db, 1)
        else:
            history = abc.new(db, observed_data(targets))
        resumed_from = history.max_t + 1
        remaining = calibration.populations - resumed_from
        if remaining > 0 and history.total_nr_simulations < calibration.simulations:
            # ε = 0 is not a reason to stop: with interval targets every later generation is run at
            # ε = 0 (all particles fit every range) with a proposal fitted to the last, so the
            # weights even out; only the budget and the generation cap stop the run.
            abc.run(max_nr_populations=remaining, max_total_nr_simulations=calibration.simulations,
                    minimum_epsilon=-1.0)  # distances are ≥ 0: never reached
        generations = history.max_t + 1
        total = int(history.total_nr_simulations)
        reason = stop_reason(history, calibration)
        index.update(status="finished", stopped_because=reason, generations=generations, simulations=total,
                     finished_at=datetime.now(UTC).isoformat(timespec="seconds"))
        write_json(out / INDEX, index)
        write_posterior_files(out, calibration, history)
        if report:
            from ecosim.calibration_report import write_report

            write_report(out, calibration, handle)
    return CalibrationOutcome(out, generations, total, reason, time.perf_counter() - start, resumed_from)


def first_exact_generation(history) -> int | None:
    """The first generation run at ε = 0 (every particle fits every target range), or None."""
    populations = history.get_all_populations()
    exact = populations[(populations["t"] >= 0) & (populations["epsilon"] <= 0)]
    return int(exact["t"].iloc[0]) if len(exact) else None


def stop_reason(history, calibration: Calibration) -> str:
    """Why a calibration stopped (or would not continue), and whether its particles all fit, in words."""
    generations = history.max_t + 1
    total = int(history.total_nr_simulations)
    if total >= calibration.simulations:
        reason = (f"the budget of {calibration.simulations:,} simulations was reached in generation "
                  f"{generations - 1} ({total:,} used: a generation is always finished)")
    elif generations >= calibration.populations:
        reason = f"the most generations ({calibration.populations}) were run"
    else:
        reason = f"stopped after generation {generations - 1} with {total:,} simulations"
    exact = first_exact_generation(history)
    if exact is None:
        return reason + "; ε never reached 0, so the last generation's particles do not all fit the targets"
    return reason + f"; ε = 0 from generation {exact} (every particle of the posterior fits every target)"


# ---------------------------------------------------------------- outputs


def posterior_frame(history, calibration: Calibration, t: int | None = None) -> pd.DataFrame:
    """Generation ``t``'s particles (default: the last): one column per parameter and ``weight`` (sums to 1)."""
    import numpy as np

    frame, weights = history.get_distribution(m=0, t=history.max_t if t is None else t)
    posterior = frame.reset_index(drop=True)[list(calibration.parameters)].astype(float)
    w = np.asarray(weights, dtype=float)
    posterior["weight"] = w / w.sum()
    return posterior


def effective_sample_size(weights: np.ndarray) -> float:
    """Kish's effective sample size ``(Σw)² / Σw²``."""
    import numpy as np

    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (w * w).sum()) if len(w) else 0.0


def generations_table(history, out: Path, calibration: Calibration) -> pd.DataFrame:
    """One row per finished generation: t, epsilon, simulations, accepted, acceptance_rate, ess, wall_seconds."""
    import numpy as np
    import pandas as pd

    populations = history.get_all_populations()
    populations = populations[populations["t"] >= 0]
    log_path = out / GENERATION_LOG
    seconds = json.loads(log_path.read_text()) if log_path.exists() else {}
    rows = []
    for _, row in populations.iterrows():
        t = int(row["t"])
        _, w = history.get_distribution(m=0, t=t)
        simulations = int(row["samples"])
        accepted = int(row["particles"])
        rows.append({"t": t, "epsilon": float(row["epsilon"]), "simulations": simulations, "accepted": accepted,
                     "acceptance_rate": accepted / simulations if simulations else math.nan,
                     "ess": effective_sample_size(np.asarray(w)),
                     "wall_seconds": float(seconds.get(str(t), {}).get("seconds", math.nan))})
    return pd.DataFrame(rows, columns=["t", "epsilon", "simulations", "accepted", "acceptance_rate", "ess",
                                       "wall_seconds"])


def write_posterior_files(out: Path, calibration: Calibration, history) -> pd.DataFrame:
    """Write ``posterior.parquet`` and ``generations.csv``; return the posterior."""
    from ecosim.store import _atomic_write

    posterior = posterior_frame(history, calibration)
    _atomic_write(out / "posterior.parquet", lambda handle: posterior.to_parquet(handle, index=False))
    table = generations_table(history, out, calibration)
    _atomic_write(out / "generations.csv", lambda handle: handle.write(table.to_csv(index=False).encode()))
    return posterior


def load_posterior(path: str | Path) -> pd.DataFrame:
    """Read a ``posterior.parquet`` (parameter columns and ``weight``)."""
    import pandas as pd

    return pd.read_parquet(path)
