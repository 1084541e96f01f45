"""The rule contract: what each kind of rule must return, checked where the registry hands it out.

Every rule the model calls comes from :func:`ecosim.rules.get_rule`, which returns the rule
wrapped by :func:`checked`. The wrapper

- calls the rule (a user's rule under an optional time limit per call, see
  :func:`set_time_limit`);
- turns an exception raised inside a *user's* rule (any rule not defined in ``ecosim.rules``)
  into a :class:`RuleError` that names the rule, the file and line in the user's code where it
  happened and the message — the student's mistake, not "a bug in ecosim";
- checks the result against the kind's :class:`Contract` (shape, dtype, range, uniqueness,
  on whole arrays, so the check costs a few array reductions per call) and raises a
  :class:`RuleError` naming what was returned and what was expected.

:class:`RuleError` is an :class:`~ecosim.errors.InputError`, so ``ecosim run`` and ``ecosim
sweep`` exit with status 2, print one message and write nothing; the visualiser shows it in
its error panel. :func:`sample_inputs` builds a small input of each kind, so a rule can be
tried against its contract without a model (the visualiser's Code tab does).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ecosim.errors import InputError

BUILTIN_PREFIX = "ecosim.rules."
"""Modules of the built-in rules; a rule defined anywhere else is a user's rule."""

_time_limit_seconds: float | None = None


def set_time_limit(seconds: float | None) -> float | None:
    """Limit every call of a user's rule to ``seconds`` (``None`` or 0: no limit); returns the old limit.

    The limit is watched with a trace function while a user's rule runs (built-in rules are
    not traced), so a rule stuck in an endless Python loop stops with a :class:`RuleError`
    naming the line it was on. A single numpy call that runs long is not interrupted.
    ``ecosim run --rule-time-limit`` and the visualiser set it.
    """
    global _time_limit_seconds
    old = _time_limit_seconds
    _time_limit_seconds = float(seconds) if seconds else None
    return old


def time_limit() -> float | None:
    """The current limit per call of a user's rule, in seconds (``None``: no limit)."""
    return _time_limit_seconds


# ------------------------------------------------------------------ errors


class RuleError(InputError):
    """A rule broke its contract or raised: bad input from the rule's author.

    Attributes
    ----------
    kind, name : the rule
    path, line : where to look (the user's line that raised, or the rule's ``def``)
    problem : what went wrong (what was returned and what was expected, or the exception)
    hint : what to do about it
    """

    def __init__(self, kind: str, name: str, problem: str, *, path: str | None = None, line: int | None = None,
                 hint: str = ""):
        self.kind, self.name, self.problem, self.path, self.line, self.hint = kind, name, problem, path, line, hint
        where = f" ({display_path(path)}:{line})" if path and line else f" ({display_path(path)})" if path else ""
        message = f"{kind} rule '{name}'{where}: {problem}"
        if hint:
            message += f"\nhint: {hint}"
        super().__init__(message)

    @property
    def location(self) -> str:
        """``file:line`` (or the file alone, or '')."""
        if not self.path:
            return ""
        return f"{display_path(self.path)}:{self.line}" if self.line else display_path(self.path)

    def __reduce__(self):  # so that an error in a sweep's worker process reaches the driver whole
        return (_rebuild_rule_error, (self.kind, self.name, self.problem, self.path, self.line, self.hint))


def _rebuild_rule_error(kind, name, problem, path, line, hint):
    return RuleError(kind, name, problem, path=path, line=line, hint=hint)


class RuleTimeout(Exception):
    """Raised inside a user's rule that ran longer than the time limit."""


def display_path(path: str | None) -> str:
    """``path`` relative to the working directory when it lies below it, else as given."""
    if not path:
        return ""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


def rule_source(function: Callable) -> tuple[str | None, int | None]:
    """The file and first line of a rule's definition (``None`` when unknown)."""
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if code is None:
        return None, None
    return code.co_filename, code.co_firstlineno


def is_builtin(function: Callable) -> bool:
    """True for the rules that ship with ecosim (defined in an ``ecosim.rules.*`` module)."""
    return (getattr(inspect.unwrap(function), "__module__", "") or "").startswith(BUILTIN_PREFIX)


def user_frame(exc: BaseException, path: str | None) -> tuple[str | None, int | None]:
    """File and line of the innermost frame of ``exc``'s traceback in the user's file ``path``.

    Falls back to the innermost frame outside ecosim and the standard library's numpy
    internals, so an error in a helper the rule calls still points at user code.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    for frame in reversed(frames):
        if path and frame.filename == path:
            return frame.filename, frame.lineno
    ecosim_dir = str(Path(__file__).resolve().parents[1])
    for frame in reversed(frames):
        if not frame.filename.startswith(ecosim_dir) and "site-packages" not in frame.filename \
                and not frame.filename.startswith(sys.prefix) and not frame.filename.startswith(sys.base_prefix):
            return frame.filename, frame.lineno
    return path, None


# ------------------------------------------------------------------ describing values


def describe(value: Any) -> str:
    """A short description of a returned value, for messages: type, dtype, shape and notable values."""
    if value is None:
        return "None"
    if isinstance(value, bool | np.bool_):
        return f"a boolean ({value})"
    if isinstance(value, int | float | np.number):
        return f"a single number ({value!r})"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))}"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}: (" + ", ".join(describe(v) for v in value[:3]) + ")"
    if isinstance(value, list | np.ndarray):
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):
            return f"a {type(value).__name__} that is not an array"
        kind = "list" if isinstance(value, list) else f"{array.dtype} array"
        text = f"a {kind} of shape {array.shape}"
        if array.dtype.kind == "f" and array.size:
            nan = int(np.isnan(array).sum())
            if nan:
                text += f" with {nan} NaN"
            finite = array[np.isfinite(array)]
            if finite.size:
                text += f", values {finite.min():g} to {finite.max():g}"
        elif array.dtype.kind in "iu" and array.size:
            text += f", values {array.min()} to {array.max()}"
        return text
    return f"a {type(value).__name__}"


# ------------------------------------------------------------------ the contracts


def _as_array(value: Any) -> np.ndarray | None:
    if not isinstance(value, list | tuple | np.ndarray):
        return None
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):
        return None
    return array


def check_fractions(value: Any, n: int, what: str) -> str | None:
    """``None`` if ``value`` is a numeric array of shape ``(n,)`` with every value in [0, 1], else the problem."""
    array = _as_array(value)
    if array is None or array.dtype.kind not in "biuf":
        return f"returned {describe(value)}"
    if array.shape != (n,):
        return f"returned {describe(value)}, not one {what} for each of the {n} entries"
    if n and not (array.min() >= 0.0 and array.max() <= 1.0):  # a NaN fails both comparisons
        return f"returned {describe(value)}, outside [0, 1]" if not np.isnan(array).any() else \
            f"returned {describe(value)}"
    return None


def check_positions(value: Any, n: int, *, unique: bool = True) -> str | None:
    """``None`` if ``value`` is a 1-D array of whole-number positions in [0, n) (distinct if ``unique``)."""
    array = _as_array(value)
    if array is None:
        return f"returned {describe(value)}"
    if array.size == 0:
        return None if array.ndim == 1 else f"returned {describe(value)}"
    if array.ndim != 1:
        return f"returned {describe(value)}, not a one-dimensional array of positions"
    if array.dtype.kind == "b":
        return f"returned {describe(value)} (a yes/no mask); positions are whole numbers — np.flatnonzero(mask) gives them"
    if array.dtype.kind not in "iu":
        return f"returned {describe(value)}: positions must be whole numbers (an integer array)"
    if array.size <= 32:  # the usual case (a manager's few slots): plain Python is quicker than numpy calls
        values = array.tolist()
        low, high = min(values), max(values)
        repeated = unique and len(set(values)) != len(values)
    else:
        low, high = int(array.min()), int(array.max())
        ordered = np.sort(array) if unique else array
        repeated = unique and bool((ordered[1:] == ordered[:-1]).any())
    if low < 0 or high >= n:
        return f"returned {describe(value)}: a position outside 0 … {n - 1} (there are {n} candidates)"
    if repeated:
        counts = np.bincount(array, minlength=n)
        first = int(np.flatnonzero(counts > 1)[0])
        return (f"returned {describe(value)} with position {first} {int(counts[first])} times; "
                "each candidate may appear once")
    return None


def _check_orientation(inputs, value):
    return check_fractions(value, np.asarray(inputs.orientation).size, "orientation")


def _check_project_choice(inputs, value):
    return check_positions(value, np.asarray(inputs.appraised_value).size)


def _check_adoption(inputs, value):
    return check_fractions(value, np.asarray(inputs.fit).size, "willingness")


def _check_poc_allocation(inputs, value):
    return check_positions(value, np.asarray(inputs.appraised_value).size)


def _check_partner_search(inputs, value):
    if not isinstance(value, tuple | list) or len(value) != 2:
        return f"returned {describe(value)}"
    n_tech = np.asarray(inputs.tech_region).size
    n_ent = np.asarray(inputs.enterprise_region).size
    positions, enterprises = (_as_array(v) for v in value)
    if positions is None or enterprises is None:
        return f"returned {describe(value)}"
    if positions.shape != enterprises.shape or positions.ndim != 1:
        return f"returned {describe(value)}: the two arrays must have the same length"
    problem = check_positions(positions, n_tech, unique=False)
    if problem:
        return "positions: " + problem
    problem = check_positions(enterprises, n_ent, unique=False)
    if problem:
        return "enterprises: " + problem
    return None


def _check_budget_allocation(inputs, value):
    from ecosim.rules.budget_allocation import INSTRUMENTS

    if not isinstance(value, dict):
        return f"returned {describe(value)}"
    missing = [k for k in INSTRUMENTS if k not in value]
    extra = [str(k) for k in value if k not in INSTRUMENTS]
    if missing or extra:
        return (f"returned {describe(value)}" + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else ""))
    for k in INSTRUMENTS:
        amount = value[k]
        if isinstance(amount, bool) or not isinstance(amount, int | float | np.integer | np.floating) \
                or not math.isfinite(float(amount)) or float(amount) < 0:
            return f"returned {k} = {amount!r}; each amount must be a number ≥ 0"
    total = sum(float(value[k]) for k in INSTRUMENTS)
    if total > inputs.budget * (1 + 1e-9):
        return f"allocated {total:.4g} M¥ in all, more than the budget of {inputs.budget:.4g} M¥"
    return None


@dataclass(frozen=True)
class Contract:
    """What a rule of one kind must return.

    Attributes
    ----------
    kind : the rule kind
    returns : the expectation in words (shown in messages, the docs and the visualiser)
    check : ``check(inputs, result)`` → ``None`` when the result keeps the contract, else the problem
    hint : a suggestion shown with a violation
    """

    kind: str
    returns: str
    check: Callable[[Any, Any], str | None]
    hint: str


CONTRACTS: dict[str, Contract] = {
    "orientation": Contract(
        "orientation",
        "a float array with one orientation in [0, 1] per group (the shape of x.orientation), no NaN",
        _check_orientation,
        "start from x.orientation.copy() and change entries; np.clip(a, 0, 1) keeps them in range",
    ),
    "project_choice": Contract(
        "project_choice",
        "an integer array of distinct positions into the candidate arrays (0 … n−1), best first",
        _check_project_choice,
        "np.argsort(-score)[: x.slots] gives positions, best first",
    ),
    "adoption": Contract(
        "adoption",
        "a float array with one willingness in [0, 1] per candidate pair (the shape of c.fit), no NaN",
        _check_adoption,
        "compute on the arrays (np.where, not if); np.clip(w, 0, 1) keeps it in range; "
        "a single number must be spread with np.full_like(c.fit, value)",
    ),
    "poc_allocation": Contract(
        "poc_allocation",
        "an integer array of distinct positions into the candidate arrays (0 … n−1), in the order to fund",
        _check_poc_allocation,
        "np.flatnonzero(mask) turns a yes/no mask into positions; np.argsort(-score) orders them",
    ),
    "partner_search": Contract(
        "partner_search",
        "a pair (positions, enterprises) of integer arrays of equal length: positions in 0 … n_technologies−1, "
        "enterprise indices in 0 … n_enterprises−1",
        _check_partner_search,
        "start from pos, ent = x.network_reach() and add or keep pairs",
    ),
    "budget_allocation": Contract(
        "budget_allocation",
        "a dict of money ≥ 0 (M¥) for each of research_grants, proof_of_concept, manager_programme, joint_rnd, "
        "fairs, adding up to at most x.budget",
        _check_budget_allocation,
        "start from {k: x.budget * x.shares[k] for k in x.shares}",
    ),
}
"""The contract of each rule kind."""


# ------------------------------------------------------------------ calling rules


def _call_with_deadline(function: Callable, inputs: Any, seconds: float):
    deadline = time.monotonic() + seconds

    def tracer(frame, event, arg):
        if time.monotonic() > deadline:
            raise RuleTimeout(f"still running after {seconds:g} s (the time limit per call)")
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return function(inputs)
    finally:
        sys.settrace(previous)


def checked(kind: str, name: str, function: Callable) -> Callable:
    """``function`` wrapped so that every call keeps the contract of ``kind`` (or raises :class:`RuleError`)."""
    contract = CONTRACTS[kind]
    builtin = is_builtin(function)
    path, line = rule_source(function)

    @functools.wraps(function)
    def rule(inputs):
        try:
            limit = _time_limit_seconds
            result = function(inputs) if builtin or limit is None else _call_with_deadline(function, inputs, limit)
        except RuleError:
            raise
        except (Exception, SystemExit) as exc:  # noqa: BLE001 — the user's code, reported as theirs
            if builtin:
                raise
            where, at = user_frame(exc, path)
            if isinstance(exc, RuleTimeout):
                problem, hint = str(exc), "look for a loop that never ends near this line"
            elif isinstance(exc, SystemExit):
                problem, hint = "called sys.exit() (or exit())", "a rule returns its answer; it must not end the program"
            else:
                problem, hint = f"raised {type(exc).__name__}: {exc}", "the error is in your rule, at the line named"
            raise RuleError(kind, name, problem, path=where or path, line=at, hint=hint) from exc
        problem = contract.check(inputs, result)
        if problem:
            raise RuleError(kind, name, f"{problem}; expected {contract.returns}", path=path, line=line,
                            hint=contract.hint)
        return result

    rule.rule_kind = kind  # type: ignore[attr-defined]
    rule.rule_name = name  # type: ignore[attr-defined]
    return rule


def try_rule(kind: str, name: str, function: Callable, rng: np.random.Generator | None = None) -> Any:
    """Call ``function`` as a rule of ``kind`` on :func:`sample_inputs` and check the result.

    Returns the result; raises :class:`RuleError` as a run would.
    """
    return checked(kind, name, function)(sample_inputs(kind, rng))


# ------------------------------------------------------------------ sample inputs


def _make(cls, rng: np.random.Generator, **fields: Any) -> Any:
    """``cls(**fields)``, with ``rng`` added when the input dataclass has that field."""
    if "rng" in {f.name for f in dataclasses.fields(cls)}:
        fields["rng"] = rng
    return cls(**fields)


def sample_inputs(kind: str, rng: np.random.Generator | None = None) -> Any:
    """A small, plausible input of ``kind`` (the fields a rule of that kind receives), for trying a rule."""
    rng = rng if rng is not None else np.random.default_rng(0)
    if kind == "orientation":
        from ecosim.rules.orientation import OrientationInputs

        return _make(OrientationInputs, rng, orientation=rng.uniform(0, 1, 8), publication_payoff=1.0, transfer_payoff=0.6,
                                 peer_mean=0.4, learning_rate=0.1, peer_weight=0.3)
    if kind == "project_choice":
        from ecosim.rules.project_choice import ProjectChoiceInputs

        n = 6
        return _make(ProjectChoiceInputs, rng, appraised_value=rng.lognormal(0, 1, n), same_field=rng.random(n) < 0.5,
                                   trl=rng.integers(2, 5, n), age_quarters=rng.integers(0, 12, n),
                                   skill=0.5, slots=3)
    if kind == "adoption":
        from ecosim.rules.adoption import AdoptionCandidates

        n = 12
        return _make(AdoptionCandidates, rng, appraised_value=rng.lognormal(0, 1, n), trl=rng.integers(3, 9, n).astype(float),
                                  fit=rng.uniform(0, 1, n), absorptive_capacity=rng.uniform(0, 1, n),
                                  hurdle_log=rng.normal(0, 0.5, n), size=rng.lognormal(0, 0.5, n))
    if kind == "poc_allocation":
        from ecosim.rules.poc_allocation import PocInputs

        n = 8
        return _make(PocInputs, rng, appraised_value=rng.lognormal(0, 1, n), trl=rng.integers(3, 5, n),
                         age_quarters=rng.integers(0, 12, n), managed=rng.random(n) < 0.5, budget=0.2,
                         grant_size=0.04, threshold_log=-1.0)
    if kind == "partner_search":
        from ecosim.rules.partner_search import SearchInputs

        n_tech, n_ent = 5, 20
        positions = np.repeat(np.arange(n_tech), 3)
        enterprises = rng.integers(0, n_ent, positions.size)
        return _make(SearchInputs, rng, network_reach=lambda: (positions.copy(), enterprises.copy()),
                            tech_region=rng.integers(0, 2, n_tech), enterprise_region=np.arange(n_ent) % 2,
                            cross_region_probability=0.1, extra_contacts=2)
    if kind == "budget_allocation":
        from ecosim.rules.budget_allocation import INSTRUMENTS, BudgetInputs

        shares = dict(zip(INSTRUMENTS, (0.6, 0.1, 0.1, 0.1, 0.05), strict=True))
        return _make(BudgetInputs, rng, budget=10.0, shares=shares, deals_per_yuan=dict.fromkeys(INSTRUMENTS, 0.5))
    raise ValueError(f"unknown rule kind {kind!r}")
