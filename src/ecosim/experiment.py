"""Experiment files: scenarios × a design over parameters × seeded replications → a list of runs.

An experiment file (YAML, usually in ``experiments/``) names one or more scenarios, a design
over scenario parameters, the number of replications, a root seed, the steps and what to keep.
:func:`load_experiment` validates it with the same care as a scenario file (unknown keys,
bounds, nearest-key suggestions, every design point applied to every scenario) and returns an
:class:`Experiment`: plain data from which :meth:`Experiment.runs` lists the runs.

Designs are plain functions over plain data, in the spirit of SALib:

- :func:`grid_design` — full factorial grid over listed values;
- :func:`latin_hypercube_design` — Latin hypercube over ranges (``scipy.stats.qmc``);
- :func:`sobol_design` — Saltelli's extension of the Sobol' sequence (``SALib.sample.sobol``);
- :func:`morris_design` — Morris elementary-effects trajectories (``SALib.sample.morris``);
- an explicit list of parameter sets.

Replication seeds come from the root seed through ``SeedSequence.spawn``
(:func:`replication_seeds`); replication ``r`` has the same seed in every scenario and design
point (common random numbers), so that conditions can be compared run by run.

This module knows nothing about executors, files of results or Mesa.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from ecosim.errors import InputError
from ecosim.resources import check_runs
from ecosim.scenario import (
    Scenario,
    StrictFile,
    apply_overrides,
    check_safe_name,
    format_validation_error,
    load_scenario,
    validate_scenario,
)
from ecosim.strict_yaml import Document, load_mapping

if TYPE_CHECKING:  # numpy behind it: checking a file without a posterior stays on the light path
    from ecosim.posterior import Posterior

DESIGN_KINDS = ("grid", "lhs", "sobol", "morris", "list")
"""Designs over parameters; an experiment without a design has kind ``"scenarios"``."""

KEEP = ("steps", "summary")
"""What a sweep stores per run: the per-step table and the summary row, or only the summary."""

Scalar = bool | int | float | str


# ---------------------------------------------------------------- the file schema


class ScenarioEntry(StrictFile):
    """One scenario of an experiment: a scenario file, optionally with overrides and a new name."""

    file: str = Field(description="scenario file, relative to the experiment file")
    name: str | None = Field(None, description="name of this variant in the results (default: the scenario's name)")
    overrides: dict[str, Any] = Field(default_factory=dict, description="dotted scenario keys and values applied to the file")

    @field_validator("name")
    @classmethod
    def _safe(cls, name: str | None) -> str | None:
        return None if name is None else check_safe_name(name)


class Range(StrictFile):
    """A parameter range ``[low, high]`` for a sampled design."""

    low: float = Field(description="lower bound")
    high: float = Field(description="upper bound")
    integer: bool | None = Field(None, description="round samples to integers (default: when the scenario key is an integer)")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"expected low < high, got low={self.low}, high={self.high}")
        return self


class GridDesign(StrictFile):
    """Full factorial grid: every combination of the listed values."""

    kind: Literal["grid"]
    parameters: dict[str, list[Scalar]] = Field(min_length=1, description="dotted key → list of values")

    @field_validator("parameters")
    @classmethod
    def _values_listed(cls, parameters: dict[str, list[Scalar]]) -> dict[str, list[Scalar]]:
        for key, values in parameters.items():
            if not values:
                raise ValueError(f"{key}: give at least one value")
            if len(set(map(repr, values))) != len(values):
                raise ValueError(f"{key}: a value is listed twice")
        return parameters


class _SampledDesign(StrictFile):
    parameters: dict[str, Range] = Field(min_length=1, description="dotted key → {low, high} (or [low, high])")
    seed: int | None = Field(None, ge=0, lt=2**63, description="seed of the sample (default: from the root seed)")

    @field_validator("parameters", mode="before")
    @classmethod
    def _pairs_to_ranges(cls, parameters: Any) -> Any:
        if isinstance(parameters, dict):
            return {k: ({"low": v[0], "high": v[1]} if isinstance(v, list) and len(v) == 2 else v)
                    for k, v in parameters.items()}
        return parameters


class LatinHypercubeDesign(_SampledDesign):
    """Latin hypercube sample of ``samples`` points over the ranges (scipy.stats.qmc)."""

    kind: Literal["lhs"]
    samples: int = Field(ge=2, le=1_000_000, description="number of design points")


class _GroupedDesign(_SampledDesign):
    groups: dict[str, str] | None = Field(
        None, description="parameter → group name, to estimate indices for groups of parameters")

    @model_validator(mode="after")
    def _groups_cover_parameters(self):
        if self.groups is not None and set(self.groups) != set(self.parameters):
            missing = sorted(set(self.parameters) - set(self.groups))
            extra = sorted(set(self.groups) - set(self.parameters))
            raise ValueError(f"groups must name a group for every parameter; missing {missing}, unknown {extra}")
        return self


class SobolDesign(_GroupedDesign):
    """Saltelli's Sobol' sample: N·(D+2) points, or N·(2D+2) with second-order indices."""

    kind: Literal["sobol"]
    samples: int = Field(ge=2, le=2**20, description="base sample size N (a power of 2)")
    second_order: bool = Field(False, description="also estimate second-order indices (2D+2 points per N)")

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            lower = 1 << (n.bit_length() - 1)
            raise ValueError(f"Sobol' samples must be a power of 2 for the sequence's balance; use {lower} or {lower * 2}")
        return n


class MorrisDesign(_GroupedDesign):
    """Morris trajectories: ``trajectories`` × (D+1) points on a ``num_levels`` grid."""

    kind: Literal["morris"]
    trajectories: int = Field(ge=2, le=100_000, description="number of trajectories r")
    num_levels: int = Field(4, ge=2, le=100, description="levels p of the Morris grid (even)")

    @field_validator("num_levels")
    @classmethod
    def _even(cls, p: int) -> int:
        if p % 2:
            raise ValueError(f"num_levels must be even (Morris' Δ = p / (2(p − 1))), got {p}")
        return p


class ListDesign(StrictFile):
    """Explicit parameter sets, one design point each."""

    kind: Literal["list"]
    points: list[dict[str, Scalar]] = Field(min_length=1, description="list of {dotted key: value} mappings")


class PosteriorParameters(StrictFile):
    """Parameters from a posterior: replication r runs at posterior draw d_r in every scenario."""

    posterior: str = Field(min_length=1, description="posterior Parquet file (one column per dotted scenario key "
                                                     "and a weight column), relative to the experiment file")
    draws: int = Field(ge=1, le=100_000, description="posterior draws, one per replication (resampled by weight)")
    set_by_scenarios: list[str] = Field(
        default_factory=list, description="posterior keys that scenarios may set themselves: a scenario that sets "
                                          "one keeps its own value, the others take the draw's")


_DESIGN_CLASSES: dict[str, type[BaseModel]] = {
    "grid": GridDesign, "lhs": LatinHypercubeDesign, "sobol": SobolDesign, "morris": MorrisDesign, "list": ListDesign,
}


class ExperimentFile(StrictFile):
    """The keys of an experiment file (before scenarios and designs are resolved)."""

    name: str = Field(min_length=1, max_length=100, description="experiment name (the default results directory)")
    description: str = Field("", max_length=10_000, description="the question the experiment answers")
    scenarios: list[ScenarioEntry] = Field(min_length=1, description="scenario files (with optional overrides)")
    design: dict[str, Any] | None = Field(None, description="a design over parameters (see docs/SWEEPS.md)")
    replications: int | None = Field(None, ge=1, le=100_000,
                                     description="seeded replications of every scenario and design point "
                                                 "(with parameters.posterior: the number of draws)")
    parameters: PosteriorParameters | None = Field(
        None, description="take the free parameters from a posterior: {posterior: FILE, draws: N}")
    seed: int = Field(ge=0, lt=2**63, description="root seed of the replication seeds (and of sampled designs)")
    steps: int | None = Field(None, ge=1, le=2_000, description="quarters per run (default: each scenario's steps)")
    keep: Literal["steps", "summary"] = Field("steps", description="steps: per-step tables and summaries; summary: summaries only")
    primary: list[str] | None = Field(
        None, min_length=1, max_length=20,
        description="primary outcomes: the per-run metrics that get verdicts, corrected as one family "
                    "(default: the metric catalogue's headline outcomes)")
    baseline: str | None = Field(None, min_length=1, description="the scenario the others are compared with "
                                                                  "(default: 'baseline', else the first)")

    @model_validator(mode="after")
    def _replications_or_draws(self) -> ExperimentFile:
        if self.parameters is None:
            if self.replications is None:
                raise ValueError("replications: missing; give the number of seeded replications")
        elif self.replications is None:
            self.replications = self.parameters.draws
        elif self.replications != self.parameters.draws:
            raise ValueError(f"replications ({self.replications}) and parameters.draws ({self.parameters.draws}) "
                             "differ; each replication runs at one posterior draw, so give only parameters.draws")
        return self

    @field_validator("primary")
    @classmethod
    def _catalogued(cls, names: list[str] | None) -> list[str] | None:
        from ecosim import metric_catalogue

        for name in names or []:
            if not metric_catalogue.known(name):
                close = difflib.get_close_matches(name, list(metric_catalogue.CATALOGUE), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ValueError(f"{name!r} is not a per-run metric of the metric catalogue{hint}")
        return names

    @field_validator("name")
    @classmethod
    def _safe(cls, name: str) -> str:
        return check_safe_name(name)

    @field_validator("scenarios", mode="before")
    @classmethod
    def _paths_to_entries(cls, entries: Any) -> Any:
        if isinstance(entries, list):
            return [{"file": e} if isinstance(e, str) else e for e in entries]
        return entries


def _design_models() -> dict[str, type[BaseModel]]:
    """One whole-file model per design kind, so error paths read ``design.parameters...``."""
    models = {}
    for kind, design_class in _DESIGN_CLASSES.items():
        models[kind] = type(f"Experiment_{kind}", (ExperimentFile,), {
            "__annotations__": {"design": design_class},
            "design": Field(description=design_class.__doc__),
        })
    return models


_EXPERIMENT_MODELS = _design_models()


# ---------------------------------------------------------------- designs (plain functions)


def replication_seeds(root_seed: int, replications: int) -> list[int]:
    """Integer seeds of the replications: ``SeedSequence(root_seed).spawn(replications)``.

    Each child is turned into a 63-bit integer (what :func:`ecosim.model.simulate` takes).
    The first ``n`` seeds do not change when more replications are asked for.

    Examples
    --------
    >>> replication_seeds(7, 3) == replication_seeds(7, 5)[:3]
    True
    """
    import numpy as np

    children = np.random.SeedSequence(root_seed).spawn(replications)
    return [int(child.generate_state(1, np.uint64)[0] >> np.uint64(1)) for child in children]


def design_seed(root_seed: int) -> int:
    """Seed of a sampled design, drawn from its own stream of the root seed.

    The stream is ``SeedSequence(root_seed, spawn_key=(2**32 - 1,))``, which no replication
    seed uses (replications are children 0, 1, 2, ...).
    """
    import numpy as np

    child = np.random.SeedSequence(root_seed, spawn_key=(2**32 - 1,))
    return int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))


def grid_design(parameters: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Full factorial design: one point per combination, the last key varying fastest.

    Examples
    --------
    >>> grid_design({"a": [1, 2], "b": ["x", "y", "z"]})[:2]
    [{'a': 1, 'b': 'x'}, {'a': 1, 'b': 'y'}]
    """
    keys = list(parameters)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(parameters[k] for k in keys))]


def latin_hypercube_design(bounds: dict[str, tuple[float, float]], samples: int, seed: int) -> list[dict[str, float]]:
    """Latin hypercube sample over ``bounds`` (``scipy.stats.qmc.LatinHypercube``, scaled)."""
    import numpy as np
    from scipy.stats import qmc

    keys = list(bounds)
    unit = qmc.LatinHypercube(d=len(keys), rng=np.random.default_rng(seed)).random(samples)
    lows, highs = zip(*(bounds[k] for k in keys), strict=True)
    scaled = qmc.scale(unit, lows, highs)
    return [dict(zip(keys, map(float, row), strict=True)) for row in scaled]


def salib_problem(bounds: dict[str, tuple[float, float]], groups: dict[str, str] | None = None) -> dict[str, Any]:
    """The SALib problem dict (``num_vars``, ``names``, ``bounds``, optional ``groups``)."""
    problem: dict[str, Any] = {
        "num_vars": len(bounds), "names": list(bounds), "bounds": [[float(lo), float(hi)] for lo, hi in bounds.values()],
    }
    if groups is not None:
        problem["groups"] = [groups[k] for k in bounds]
    return problem


def sobol_design(problem: dict[str, Any], samples: int, second_order: bool, seed: int) -> list[dict[str, float]]:
    """Saltelli's extension of the Sobol' sequence (``SALib.sample.sobol.sample``), in SALib's order."""
    from SALib.sample import sobol

    matrix = sobol.sample(copy.deepcopy(problem), samples, calc_second_order=second_order, scramble=True, seed=seed)
    return [dict(zip(problem["names"], map(float, row), strict=True)) for row in matrix]


def morris_design(problem: dict[str, Any], trajectories: int, num_levels: int, seed: int) -> list[dict[str, float]]:
    """Morris trajectories (``SALib.sample.morris.sample``), in SALib's order."""
    from SALib.sample import morris

    matrix = morris.sample(copy.deepcopy(problem), trajectories, num_levels=num_levels, seed=seed)
    return [dict(zip(problem["names"], map(float, row), strict=True)) for row in matrix]


# ---------------------------------------------------------------- the resolved experiment


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: which scenario variant, design point, replication and seed."""

    run_id: str
    scenario: str
    point: int
    replication: int
    seed: int
    parameters: dict[str, Any]
    draw: int | None = None
    posterior: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """A validated, fully resolved experiment: plain data, ready to list its runs.

    Attributes
    ----------
    name, description : from the file
    source : the experiment file
    root_seed : the file's ``seed``
    replications : replications per scenario and design point
    steps : quarters per run (``None``: each scenario's own)
    keep : ``"steps"`` (per-step tables and summaries) or ``"summary"``
    scenarios : variant name → resolved scenario (a JSON-ready dict, steps already set)
    design_kind : ``"scenarios"``, ``"grid"``, ``"lhs"``, ``"sobol"``, ``"morris"`` or ``"list"``
    design : the design section as written (after validation), or ``None``
    parameters : the varied dotted keys, in order
    points : the design points (each a dict of dotted key → value); ``[{}]`` without a design
    problem : the SALib problem dict for Sobol and Morris designs, else ``None``
    trial : the ``--replications``/``--steps`` overrides of a quick trial (empty otherwise)
    primary : the primary outcomes named in the file (``None``: the catalogue's headline outcomes)
    baseline : the baseline scenario named in the file (``None``: the default)
    planned_runs : the runs the design makes, counted without making its points (equal to
        :attr:`n_runs` unless the experiment was loaded with ``sample=False`` for checking)
    posterior : the posterior the replications draw their free parameters from
        (``parameters: {posterior: FILE, draws: N}``), or ``None``
    posterior_keys : scenario name → the posterior keys applied to it (all of them, less the
        ``set_by_scenarios`` keys that scenario sets itself); empty without a posterior
    question : the question the file asks in its leading ``# Question:`` comment
        (:func:`file_question`), or ``None`` when it asks none
    """

    name: str
    description: str
    source: str
    root_seed: int
    replications: int
    steps: int | None
    keep: str
    scenarios: dict[str, dict[str, Any]]
    design_kind: str
    design: dict[str, Any] | None
    parameters: list[str]
    points: list[dict[str, Any]]
    problem: dict[str, Any] | None = None
    trial: dict[str, int] = field(default_factory=dict)
    primary: list[str] | None = None
    baseline: str | None = None
    planned_runs: int | None = None
    posterior: Posterior | None = None
    posterior_keys: dict[str, list[str]] = field(default_factory=dict)
    question: str | None = None

    @property
    def seeds(self) -> list[int]:
        """Seed of each replication (the same in every scenario and point)."""
        return replication_seeds(self.root_seed, self.replications)

    @property
    def draws(self) -> list[int] | None:
        """Posterior particle of each replication (the same in every scenario and point), or ``None``.

        Multinomial resampling by weight from the root seed (:func:`ecosim.posterior.posterior_draws`):
        the first ``n`` draws do not change when more replications are asked for.
        """
        if self.posterior is None:
            return None
        from ecosim.posterior import posterior_draws

        return posterior_draws(self.posterior.weights, self.replications, self.root_seed)

    def draw_overrides(self, scenario: str, draw: int) -> dict[str, float]:
        """The posterior values that particle ``draw`` sets in ``scenario`` (``{}`` without a posterior)."""
        if self.posterior is None:
            return {}
        values = self.posterior.particle(draw)
        data = self.scenarios[scenario]
        return {key: _as_schema_type(data, key, values[key]) for key in self.posterior_keys[scenario]}

    @property
    def n_runs(self) -> int:
        """Number of runs: scenarios × points × replications."""
        return len(self.scenarios) * len(self.points) * self.replications

    def runs(self) -> Iterator[RunSpec]:
        """The runs, replication by replication (so an interrupted sweep has whole replications).

        Within a replication: scenario by scenario in file order, then design points in order.
        """
        seeds = self.seeds
        draws = self.draws
        for replication, seed in enumerate(seeds):
            draw = None if draws is None else draws[replication]
            for scenario in self.scenarios:
                posterior = {} if draw is None else self.draw_overrides(scenario, draw)
                for point, values in enumerate(self.points):
                    yield RunSpec(
                        run_id=run_id(scenario, point, replication), scenario=scenario, point=point,
                        replication=replication, seed=seed, parameters=values, draw=draw, posterior=posterior,
                    )

    def with_trial(self, replications: int | None = None, steps: int | None = None) -> Experiment:
        """A quick trial of this experiment: fewer replications or steps, recorded in ``trial``."""
        trial = dict(self.trial)
        scenarios = self.scenarios
        if replications is not None:
            trial["replications"] = replications
        if steps is not None:
            trial["steps"] = steps
            scenarios = {name: {**data, "steps": steps} for name, data in scenarios.items()}
        return replace(
            self, replications=replications if replications is not None else self.replications,
            steps=steps if steps is not None else self.steps, scenarios=scenarios, trial=trial,
        )

    def resolved(self) -> dict[str, Any]:
        """Everything that decides the runs' results, as JSON-ready data (descriptions left out)."""
        return {
            "name": self.name,
            "root_seed": self.root_seed,
            "replications": self.replications,
            "steps": self.steps,
            "keep": self.keep,
            "scenarios": {name: {k: v for k, v in data.items() if k != "description"}
                          for name, data in self.scenarios.items()},
            "design_kind": self.design_kind,
            "design": self.design,
            "parameters": self.parameters,
            "points": self.points,
            "trial": self.trial,
            **({"posterior": self.posterior_summary()} if self.posterior is not None else {}),
        }

    def posterior_summary(self) -> dict[str, Any] | None:
        """The posterior as the index records it: file, content hash, keys, per-scenario keys, draws.

        The fingerprint covers the file's content (its SHA-256), not its path: the same posterior
        moved elsewhere resumes; a changed one does not.
        """
        if self.posterior is None:
            return None
        return {"file": self.posterior.file, "sha256": self.posterior.sha256, "keys": list(self.posterior.keys),
                "particles": self.posterior.particles,
                "effective_sample_size": round(self.posterior.effective_sample_size, 6),
                "scenario_keys": self.posterior_keys, "draws": self.draws}

    def fingerprint(self) -> str:
        """SHA-256 of :meth:`resolved`: equal fingerprints ⇔ the same runs with the same inputs."""
        resolved = self.resolved()
        if "posterior" in resolved:
            resolved["posterior"] = {k: v for k, v in resolved["posterior"].items() if k != "file"}
        text = json.dumps(resolved, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_id(scenario: str, point: int, replication: int) -> str:
    """The id (and file name stem) of a run: ``<scenario>-p<point>-r<replication>``."""
    return f"{scenario}-p{point:05d}-r{replication:04d}"


# ---------------------------------------------------------------- loading


def load_experiment(path: str | Path, max_runs: int | None = None, sample: bool = True) -> Experiment:
    """Read, validate and resolve an experiment file, or raise :class:`InputError`.

    With ``sample=False`` (``ecosim check``) a sampled design (Latin hypercube, Sobol, Morris)
    is not sampled: its points are the two corners of its ranges (every parameter at its low
    end, every one at its high end), which are validated like design points and bound a run's
    size from above, so checking needs neither SciPy's nor SALib's samplers (over a second to
    import). The returned experiment then has ``planned_runs`` set to the runs the sampled
    design will make, and must not be run.

    Every scenario is loaded (paths relative to the experiment file) and its overrides applied;
    every design point is applied to every scenario and validated like a scenario file; rule
    names (and rules files) are checked. Nothing is run and nothing is written. The number
    of runs is checked against ``max_runs`` (default :data:`ecosim.resources.MAX_RUNS`)
    before any design point is made.

    Examples
    --------
    >>> from ecosim.experiment import load_experiment
    >>> experiment = load_experiment("experiments/policy_levers.yaml")
    >>> experiment.design_kind, experiment.replications
    ('scenarios', 30)
    """
    path = Path(path)
    source = str(path)
    document = load_mapping(path)
    spec = _validate_file(document.data, source, document)
    points_planned = planned_points(spec.design)
    check_runs(len(spec.scenarios) * points_planned * spec.replications, max_runs, source,
               key="design" if spec.design is not None else
               "parameters.draws" if spec.parameters is not None else "replications",
               how=f" ({len(spec.scenarios):,} scenarios × {points_planned:,} design points × "
                   f"{spec.replications:,} replications)")
    scenarios = _resolve_scenarios(spec, path)
    design = spec.design.model_dump(mode="json") if isinstance(spec.design, BaseModel) else None
    kind = design["kind"] if design else "scenarios"
    points, problem = _design_points(spec, scenarios, source, sample=sample)
    parameters = list(dict.fromkeys(k for point in points for k in point))
    _check_points(scenarios, points, source)
    posterior, posterior_keys = (None, {}) if spec.parameters is None else _resolve_posterior(spec, path, scenarios)
    if spec.baseline is not None and spec.baseline not in scenarios:
        raise InputError(f"unknown baseline {spec.baseline!r}; the scenarios are: {', '.join(scenarios)}",
                         source=source, key="baseline")
    return Experiment(
        name=spec.name, description=spec.description, source=source, root_seed=spec.seed,
        replications=spec.replications, steps=spec.steps, keep=spec.keep, scenarios=scenarios,
        design_kind=kind, design=design, parameters=parameters, points=points, problem=problem,
        primary=spec.primary, baseline=spec.baseline,
        planned_runs=len(scenarios) * points_planned * spec.replications,
        posterior=posterior, posterior_keys=posterior_keys, question=file_question(path),
    )


_QUESTION_LINE = re.compile(r"#\s*Question:\s*(.*)", re.IGNORECASE)
_EMPHASIS = re.compile(r"\*+([^*]+?)\*+")


def question_from_text(text: str) -> str | None:
    """The question an experiment file asks in its leading comment, or ``None``.

    Experiment files open with a comment such as ``# Question: which single policy lever turns
    more research into products, at what cost, …?`` that may run over several comment lines and
    go on with how the experiment answers it. The question is the text after ``Question:`` up to
    and including the first ``?`` (comment lines joined, Markdown emphasis dropped, the first
    letter capitalised); nothing else is made up. A leading comment without ``Question:``, or
    whose first sentence ends before a ``?`` (``# Question: none - a small, fast experiment``)
    asks none.

    Examples
    --------
    >>> question_from_text("# Question: does the fund\\n# help? More text.\\nname: x\\n")
    'Does the fund help?'
    >>> question_from_text("# Question: none - a demonstration.\\nname: x\\n") is None
    True
    """
    lines = text.splitlines()
    found: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not found:
            if not stripped or stripped == "---":
                continue
            if not stripped.startswith("#"):
                return None  # the leading comment is over without a question
            match = _QUESTION_LINE.match(stripped)
            if match:
                found.append(match.group(1).strip())
            continue
        if not stripped.startswith("#") or not stripped.lstrip("#").strip():
            break  # the comment paragraph ends
        found.append(stripped.lstrip("#").strip())
    words = " ".join(part for part in found if part)
    end = words.find("?")
    if end < 0:
        return None
    question = _EMPHASIS.sub(r"\1", words[:end + 1]).strip()
    if re.search(r"[.!;]\s", question) or len(question) < 3:
        return None  # a sentence ends before the "?": what follows "Question:" is not the question
    return question[0].upper() + question[1:]


def file_question(path: str | Path) -> str | None:
    """:func:`question_from_text` of an experiment file; ``None`` when it cannot be read."""
    try:
        return question_from_text(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def planned_points(design: BaseModel | None) -> int:
    """How many points a validated design will make, computed without making them."""
    if design is None:
        return 1
    if isinstance(design, GridDesign):
        return math.prod(len(values) for values in design.parameters.values())
    if isinstance(design, ListDesign):
        return len(design.points)
    if isinstance(design, LatinHypercubeDesign):
        return design.samples
    factors = len(set(design.groups.values())) if design.groups else len(design.parameters)
    if isinstance(design, SobolDesign):
        return design.samples * (2 * factors + 2 if design.second_order else factors + 2)
    return design.trajectories * (factors + 1)  # Morris


def _validate_file(data: dict[str, Any], source: str, document: Document | None = None) -> ExperimentFile:
    data = dict(data)
    data.setdefault("name", Path(source).stem)
    model: type[BaseModel] = ExperimentFile
    design = data.get("design")
    if design is not None:
        if not isinstance(design, dict):
            raise InputError(f"expected a mapping with a 'kind' ({', '.join(DESIGN_KINDS)}), got {type(design).__name__}",
                             source=source, key="design")
        kind = design.get("kind")
        if kind not in _DESIGN_CLASSES:
            close = difflib.get_close_matches(str(kind), DESIGN_KINDS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            got = "missing" if kind is None else f"{kind!r}"
            raise InputError(f"expected one of {', '.join(DESIGN_KINDS)}, got {got}{hint}", source=source, key="design.kind")
        model = _EXPERIMENT_MODELS[kind]
    try:
        return model.model_validate(data)  # type: ignore[return-value]
    except ValidationError as exc:
        raise format_validation_error(exc, model, source, document) from None


def _resolve_scenarios(spec: ExperimentFile, path: Path) -> dict[str, dict[str, Any]]:
    source = str(path)
    resolved: dict[str, dict[str, Any]] = {}
    loaded: dict[Path, Scenario] = {}  # one file used by many entries is read and validated once
    for i, entry in enumerate(spec.scenarios):
        key = f"scenarios[{i}]"
        file = Path(entry.file)
        scenario_path = file if file.is_absolute() else path.parent / file
        if not scenario_path.is_file():
            raise InputError(f"scenario file {entry.file!r} not found (looked for {scenario_path})",
                             source=source, key=f"{key}.file")
        if scenario_path not in loaded:
            loaded[scenario_path] = load_scenario(scenario_path)  # a bad scenario file is reported as such
        scenario = loaded[scenario_path]
        if entry.overrides or spec.steps is not None:
            overrides = dict(entry.overrides)
            if spec.steps is not None:
                overrides["steps"] = spec.steps
            for dotted in entry.overrides:
                _check_key(scenario, dotted, source, f"{key}.overrides", scalar_only=False)
            scenario = _apply(scenario, overrides, source, f"{key}.overrides")
        name = entry.name or scenario.name
        if name in resolved:
            raise InputError(f"two scenarios are named {name!r}; give each entry its own 'name:'",
                             source=source, key=f"{key}.name")
        _check_rules(scenario, source, key)
        resolved[name] = scenario.model_dump(mode="json")
    return resolved


def _apply(scenario: Scenario | dict[str, Any], overrides: dict[str, Any], source: str, where: str) -> Scenario:
    try:
        return apply_overrides(scenario, overrides)
    except InputError as exc:
        raise InputError(str(exc), source=source, key=where) from None


def _check_rules(scenario: Scenario, source: str, where: str) -> None:
    from ecosim.scenario import chooses_only_built_in_rules

    if chooses_only_built_in_rules(scenario):
        return  # valid without importing the registry (and numpy): keeps `ecosim check` fast
    from ecosim.rules import check_scenario_rules

    check_scenario_rules(scenario, source, where)


def _check_key(scenario: Scenario | dict[str, Any], dotted: str, source: str, where: str, scalar_only: bool = True) -> Any:
    """The current value at ``dotted``, or InputError naming the nearest valid key."""
    if scalar_only and dotted in ("seed", "name"):
        why = ("replication seeds come from the experiment's root seed" if dotted == "seed"
               else "give scenario variants their own entries under scenarios")
        raise InputError(f"{dotted!r} cannot be varied by a design: {why}", source=source, key=where)
    node: Any = scenario.model_dump(mode="json") if isinstance(scenario, Scenario) else scenario
    parts = dotted.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            known = list(node) if isinstance(node, dict) else []
            prefix = ".".join(parts[:depth])
            close = difflib.get_close_matches(part, known, n=1, cutoff=0.5)
            if close:
                hint = f"; did you mean '{'.'.join([*parts[:depth], close[0]])}'?"
            elif known:
                hint = f"; keys under {prefix or 'the top level'}: {', '.join(known)}"
            else:
                hint = f"; {prefix} is a value, not a section"
            raise InputError(f"{dotted!r} is not a scenario key{hint}", source=source, key=where)
        node = node[part]
    if scalar_only and (isinstance(node, (dict, list)) or node is None):
        what = "a section" if isinstance(node, dict) else "a list" if isinstance(node, list) else "optional"
        raise InputError(f"{dotted!r} is {what}; a design varies single values (numbers, names, true/false)",
                         source=source, key=where)
    return node


def _design_points(spec: ExperimentFile, scenarios: dict[str, dict[str, Any]], source: str, sample: bool = True
                   ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    design = spec.design
    if design is None:
        return [{}], None
    first = next(iter(scenarios.values()))
    if isinstance(design, GridDesign):
        for key in design.parameters:
            _check_key(first, key, source, f"design.parameters.{key}")
        return grid_design(design.parameters), None
    if isinstance(design, ListDesign):
        for i, point in enumerate(design.points):
            if not point:
                raise InputError("a design point must set at least one key", source=source, key=f"design.points[{i}]")
            for key in point:
                _check_key(first, key, source, f"design.points[{i}].{key}")
        return [dict(point) for point in design.points], None
    # sampled designs: ranges; integer keys are rounded after sampling
    integer = {}
    for key, bounds in design.parameters.items():
        current = _check_key(first, key, source, f"design.parameters.{key}")
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise InputError(f"{key!r} is not a number; sample only numeric keys (use a grid or list for names)",
                             source=source, key=f"design.parameters.{key}")
        integer[key] = bounds.integer if bounds.integer is not None else isinstance(current, int)
    bounds = {k: (r.low, r.high) for k, r in design.parameters.items()}
    problem = None
    if not sample:  # the corners of the ranges: enough to validate them and to bound a run's size
        points = [{k: low for k, (low, _) in bounds.items()}, {k: high for k, (_, high) in bounds.items()}]
        return _round_integers(points, integer), problem
    seed = design.seed if design.seed is not None else design_seed(spec.seed)
    if isinstance(design, LatinHypercubeDesign):
        points = latin_hypercube_design(bounds, design.samples, seed)
    elif isinstance(design, SobolDesign):
        problem = salib_problem(bounds, design.groups)
        points = sobol_design(problem, design.samples, design.second_order, seed)
        problem.update(calc_second_order=design.second_order, num_points=len(points), samples=design.samples)
    else:
        problem = salib_problem(bounds, design.groups)
        points = morris_design(problem, design.trajectories, design.num_levels, seed)
        problem.update(num_levels=design.num_levels, num_points=len(points), trajectories=design.trajectories)
    return _round_integers(points, integer), problem


def _round_integers(points: list[dict[str, Any]], integer: dict[str, bool]) -> list[dict[str, Any]]:
    """Round the integer keys of sampled points to the nearest whole number (in place; returned)."""
    for point in points:
        for key, is_int in integer.items():
            if is_int:
                point[key] = int(math.floor(point[key] + 0.5))
    return points


def _check_points(scenarios: dict[str, dict[str, Any]], points: list[dict[str, Any]], source: str) -> None:
    """Apply every design point to every scenario, as a run would; the first failure is reported."""
    for name, data in scenarios.items():
        for i, point in enumerate(points):
            if not point:
                continue
            try:
                scenario = apply_overrides(data, point)
            except InputError as exc:
                shown = ", ".join(f"{k}={v!r}" for k, v in point.items())
                raise InputError(f"design point {i} ({shown}) is invalid for scenario {name!r}: {exc}",
                                 source=source, key="design") from None
            if any(k.startswith("rules.") for k in point):
                _check_rules(scenario, source, f"design point {i}")


def _resolve_posterior(spec: ExperimentFile, path: Path, scenarios: dict[str, dict[str, Any]]
                       ) -> tuple[Posterior, dict[str, list[str]]]:
    """Read the posterior, check its keys and values against every scenario, and say which keys
    each scenario takes from it; :class:`InputError` naming the file and what is wrong."""
    source = str(path)
    settings = spec.parameters
    assert settings is not None
    file = Path(settings.posterior)
    posterior_path = file if file.is_absolute() else path.parent / file
    from ecosim.posterior import read_posterior

    posterior = read_posterior(posterior_path, source=source, key="parameters.posterior")
    check_posterior_keys(posterior, next(iter(scenarios.values())))
    for key in settings.set_by_scenarios:
        if key not in posterior.keys:
            raise InputError(f"{key!r} is not a column of the posterior {posterior.file} "
                             f"(its keys: {', '.join(posterior.keys)})", source=source, key="parameters.set_by_scenarios")
    if isinstance(spec.design, ListDesign):
        varied = set().union(*spec.design.points)
    else:
        varied = set(getattr(spec.design, "parameters", None) or {})
    clash = sorted(varied & set(posterior.keys))
    if clash:
        raise InputError(f"the design varies {clash[0]!r}, which the posterior {posterior.file} also sets; "
                         "vary it or draw it, not both", source=source, key="design")
    keys_of: dict[str, list[str]] = {}
    for i, (entry, name) in enumerate(zip(spec.scenarios, scenarios, strict=True)):
        own = _keys_set_by(entry, path) & set(posterior.keys)
        refused = sorted(own - set(settings.set_by_scenarios))
        if refused:
            raise InputError(
                f"scenario {name!r} sets {refused[0]!r}, which the posterior {posterior.file} also sets: each draw "
                "would silently replace the scenario's value. Remove it from the scenario, or list it under "
                "parameters.set_by_scenarios so that scenarios that set it keep their value",
                source=source, key=f"scenarios[{i}]")
        keys_of[name] = [key for key in posterior.keys if key not in own]
    _check_particles(posterior, scenarios, keys_of)
    return posterior, keys_of


def check_posterior_keys(posterior: Posterior, scenario: dict[str, Any]) -> None:
    """Every column of ``posterior`` must be a numeric scenario key (:class:`InputError` naming the
    file, the column and the nearest valid key); integer keys get their values rounded, in place."""
    for key in posterior.keys:
        current = _check_key(scenario, key, posterior.file, f"column {key!r}")
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise InputError(f"{key!r} is not a number in the scenario schema; a posterior holds numeric parameters",
                             source=posterior.file, key=f"column {key!r}")
        if isinstance(current, int):  # integer keys take rounded draws, as sampled designs do
            import numpy as np

            j = posterior.keys.index(key)
            posterior.values[:, j] = np.floor(posterior.values[:, j] + 0.5)


def scenario_file_keys(path: str | Path) -> set[str]:
    """The dotted keys a scenario file sets itself (as written; defaults are not counted)."""
    return set(_dotted_keys(load_mapping(Path(path)).data))


def _keys_set_by(entry: ScenarioEntry, experiment_path: Path) -> set[str]:
    """The dotted keys a scenario entry sets: in its file (as written, defaults not counted) and its overrides."""
    file = Path(entry.file)
    keys = scenario_file_keys(file if file.is_absolute() else experiment_path.parent / file)
    for dotted, value in entry.overrides.items():
        keys.update(f"{dotted}.{k}" for k in _dotted_keys(value)) if isinstance(value, dict) else keys.add(dotted)
    return keys


def _dotted_keys(data: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _dotted_keys(value, dotted + ".")
        else:
            yield dotted


def _check_particles(posterior: Posterior, scenarios: dict[str, dict[str, Any]], keys_of: dict[str, list[str]]
                     ) -> None:
    """Every particle applied to every scenario must validate, as a run would apply it.

    A particle's values are checked in the sections that hold them (each section model with its
    own validators), and a section already checked with the same contents — the same particle in
    another scenario that leaves the section alone — is not checked again: 300 particles × 8
    scenarios took a second as whole scenarios. Keys that the scenario's cross-field rules read
    (:attr:`Scenario.CROSS_FIELD_KEYS`) are checked on the whole scenario. A failing section is
    re-checked on the whole scenario, whose message names the key as a run's would."""
    checked: set[tuple[Any, ...]] = set()
    particles = [posterior.particle(index) for index in range(posterior.particles)]
    for name, data in scenarios.items():
        base = Scenario.model_validate(data).model_dump(mode="json")
        keys = keys_of[name]
        whole = any(key.startswith(Scenario.CROSS_FIELD_KEYS) for key in keys)
        integer = {key: _is_integer_key(data, key) for key in keys}  # once per scenario, not per particle
        sections: dict[str, list[str]] = {}
        for key in keys:
            sections.setdefault(key.rpartition(".")[0], []).append(key)
        contents_before = {section: dotted_value(base, section) for section in sections}
        # a section's contents before the particle's values, once per scenario (the check's cache key)
        before = {section: json.dumps(contents, sort_keys=True) for section, contents in contents_before.items()}
        for index, values in enumerate(particles):
            overrides = {key: int(values[key]) if integer[key] else float(values[key]) for key in keys}
            try:
                if whole:
                    validate_scenario(_with_values(base, overrides))
                    continue
                for section, section_keys in sections.items():
                    signature = (section, before[section], *(overrides[key] for key in section_keys))
                    if signature in checked:
                        continue
                    contents = {**contents_before[section],
                                **{key.rpartition(".")[2]: overrides[key] for key in section_keys}}
                    try:
                        _section_model(section).model_validate(contents)
                    except ValidationError as exc:
                        validate_scenario(_with_values(base, overrides))  # raises, naming the key
                        # (a section invalid alone is invalid in the scenario; never a traceback)
                        raise InputError(f"{section}: {exc.errors()[0]['msg']}") from None
                    checked.add(signature)
            except InputError as exc:
                shown = ", ".join(f"{k}={v!r}" for k, v in overrides.items())
                raise InputError(f"particle {index} ({shown}) is invalid for scenario {name!r}: {exc}",
                                 source=posterior.file) from None


def _section_model(section: str) -> type[BaseModel]:
    """The schema class of a dotted section of a scenario (``"policy.finance"`` → ``Finance``)."""
    model: Any = Scenario
    for part in section.split("."):
        model = model.model_fields[part].annotation
    return model


def _with_values(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` (a full scenario dump) with existing dotted keys set, copying only the mappings on
    their paths: ``base`` is unchanged and the rest is shared (validation only reads it). The same
    data :func:`apply_overrides` validates, without copying the whole scenario for each particle."""
    data = dict(base)
    copied: set[tuple[str, ...]] = set()
    for key, value in overrides.items():
        *path, leaf = key.split(".")
        node = data
        for depth, part in enumerate(path):
            if tuple(path[: depth + 1]) not in copied:
                node[part] = dict(node[part])
                copied.add(tuple(path[: depth + 1]))
            node = node[part]
        node[leaf] = value
    return data


def _is_integer_key(data: dict[str, Any], key: str) -> bool:
    """Whether the scenario schema holds ``key`` as an integer (``data``: a resolved scenario)."""
    current = dotted_value(data, key)
    return isinstance(current, int) and not isinstance(current, bool)


def _as_schema_type(data: dict[str, Any], key: str, value: float) -> int | float:
    """A posterior value as the scenario schema types it (integers for integer keys)."""
    return int(value) if _is_integer_key(data, key) else float(value)


def dotted_value(data: dict[str, Any], key: str) -> Any:
    """``data[a][b][c]`` for ``key = 'a.b.c'`` (a resolved scenario dict)."""
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node
