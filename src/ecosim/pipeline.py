"""The technology table and the stage gates, on arrays.

Technologies are records, not agents: one row per research result in a column-oriented
table that grows by doubling. Gate attempts for all technologies due in a quarter are drawn
at once: ``P(pass) = T_g · F_g · M_g``.

- ``F_g`` funding: the payer is willing with a logistic probability in ``ln(V̂ / its share of
  the cost)`` and pays only while its fund lasts (:mod:`ecosim.funding`); a PoC grant or an
  investor lowers the payer's share. Funding is decided first, before anyone knows the
  technical outcome, so money spent on a technology that then fails is lost.
- ``T_g`` technical success is intrinsic: each technology carries a hidden uniform draw per
  gate fixed at birth (its technical viability), so retries never re-roll it and no policy
  changes it — but a PoC test can *reveal* the G2 draw early.
- ``M_g`` matching is ``1 − exp(−λ Σ fit·A·willingness)`` over the reachable enterprises.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from ecosim.scenario import CAUSES, DEAL_MODES, GATES, OWNER_TYPES


# Technology status: every technology is in exactly one.
class Status(IntEnum):
    """Where a technology is: every technology is in exactly one status."""

    RESEARCH = 0
    ACTIVE = 1
    MARKET = 2
    FAILED = 3
    SHELVED = 4


STATUS_NAMES = ("research", "active", "market", "failed", "shelved")

# TRL reached by passing each gate, and the first TRL of each gate's span.
GATE_START_TRL = np.array([3, 4, 6, 8])
GATE_END_TRL = np.array([4, 6, 8, 9])



class Owner(IntEnum):
    """Who owns a technology (``OWNER_TYPES`` names them); not a node kind (``ecosim.network.NodeKind``)."""

    UNIVERSITY = 0
    JOINT = 1
    ENTERPRISE = 2


class Cause(IntEnum):
    """Why a gate attempt failed (``CAUSES`` names them)."""

    TECHNICAL = 0
    FUNDING = 1
    MATCHING = 2


class DealMode(IntEnum):
    """How a technology was transferred (``DEAL_MODES`` names them); ``NO_DEAL`` before any deal."""

    NO_DEAL = -1
    LICENCE = 0
    ASSIGNMENT = 1
    JOINT_DEVELOPMENT = 2
    SPIN_OFF = 3
    SELF_IMPLEMENTATION = 4


assert len(OWNER_TYPES) == 3 and len(CAUSES) == 3 and len(GATES) == 4 and len(DEAL_MODES) == 5


def gate_for_trl(trl: np.ndarray) -> np.ndarray:
    """Index of the next gate for a technology at ``trl`` (4 = already at market)."""
    return np.searchsorted(GATE_END_TRL, trl, side="right")


def logistic(z: np.ndarray) -> np.ndarray:
    """The logistic function, numerically safe."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))


def appraisal_sigma(skill: np.ndarray | float, sigma_min: float, sigma_0: float) -> np.ndarray:
    """Appraisal error σ: ``σ_min + σ_0 (1 − s)``; without a manager pass ``skill = 0``."""
    return sigma_min + sigma_0 * (1.0 - np.asarray(skill, dtype=float))


def funding_probability(
    appraised_value: np.ndarray, effective_cost: np.ndarray, intercept: np.ndarray, slope: float
) -> np.ndarray:
    """``F = logistic(intercept + slope · ln(V̂ / effective cost))``."""
    ratio = np.asarray(appraised_value, float) / np.maximum(np.asarray(effective_cost, float), 1e-9)
    return logistic(np.asarray(intercept, float) + slope * np.log(ratio))


def raised_fit(fit: np.ndarray, skill: np.ndarray | float, rho: float) -> np.ndarray:
    """A manager of skill ``s`` raises fit: ``fit + ρ·s·(1 − fit)``."""
    fit = np.asarray(fit, dtype=float)
    return fit + rho * np.asarray(skill, dtype=float) * (1.0 - fit)


def matching_probability(pair_position: np.ndarray, contribution: np.ndarray, n: int, lam: float) -> np.ndarray:
    """``M = 1 − exp(−λ Σ contribution)`` per technology, summing pairs by position."""
    total = np.bincount(pair_position, weights=contribution, minlength=n) if n else np.zeros(0)
    return 1.0 - np.exp(-lam * total)


def group_rows(rows: np.ndarray, keys: np.ndarray) -> dict[int, np.ndarray]:
    """Split ``rows`` by ``keys`` into a dict key → rows (in row order)."""
    if rows.size == 0:
        return {}
    order = np.argsort(keys, kind="stable")
    keys, rows = keys[order], rows[order]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    return {int(k[0]): r for k, r in zip(np.split(keys, cuts), np.split(rows, cuts), strict=False)}


@dataclass
class GateDraw:
    """The outcome of one quarter's gate attempts (positions index the attempting technologies)."""

    passed: np.ndarray  # bool
    cause: np.ndarray  # int8: −1 passed, else Cause.TECHNICAL / Cause.FUNDING / Cause.MATCHING


def gate_outcomes(funded: np.ndarray, technical_viable: np.ndarray, matched: np.ndarray) -> GateDraw:
    """Pass/fail and the cause of failure, in the order the work happens: funding, technical, matching.

    An attempt nobody pays for fails for funding (its technical outcome stays unknown); a paid
    attempt fails technically if its hidden draw says so (the money is spent); a paid, viable
    attempt that finds no partner fails for matching.
    """
    cause = np.full(funded.size, -1, dtype=np.int8)
    cause[~funded] = Cause.FUNDING
    cause[funded & ~technical_viable] = Cause.TECHNICAL
    cause[funded & technical_viable & ~matched] = Cause.MATCHING
    return GateDraw(passed=cause < 0, cause=cause)


class TechnologyTable:
    """Column-oriented table of technologies; rows are appended, never removed.

    Columns are numpy arrays of the current capacity; ``n`` rows are in use. Read a column
    through :meth:`col` (a view of the used rows).
    """

    _SPEC: dict[str, tuple[type, float]] = {
        "owner_type": (np.int8, -1),
        "owner": (np.int64, -1),  # university node (university/joint) or enterprise node
        "group": (np.int64, -1),  # global research-group index (university/joint), else −1
        "holder": (np.int64, -1),  # node that currently develops it (owner, then adopter)
        "partner": (np.int64, -1),  # joint-R&D enterprise, then the adopter after a deal
        "region": (np.int16, -1),
        "field": (np.int8, -1),
        "trl": (np.int8, 0),
        "gate": (np.int8, 0),
        "status": (np.int8, Status.RESEARCH),
        "value": (np.float64, 0.0),  # hidden V, M¥
        "appraised": (np.float64, 0.0),  # V̂, M¥
        "appraisal_log_error": (np.float64, 0.0),  # ln V̂ − ln V at the last appraisal
        "managed_appraisal": (np.bool_, False),
        "birth": (np.int32, -1),
        "next_attempt": (np.int32, -1),
        "waiting_since": (np.int32, -1),
        "attempts": (np.int16, 0),
        "entered_g1": (np.bool_, False),
        "entered_g3": (np.bool_, False),  # passed G2: TRL 6, the first trial in people (F8)
        "spent": (np.float64, 0.0),  # M¥ paid for its gate attempts, by anyone
        "spent_by_payer": (np.float64, 0.0),  # of which its payer's own fund (transfer office, enterprise)
        "deal_mode": (np.int8, DealMode.NO_DEAL),
        "deal_step": (np.int32, -1),
        "deal_cross_region": (np.bool_, False),
        "deal_channel": (np.int8, -1),  # index into ecosim.metrics.DEAL_CHANNELS
        "market_step": (np.int32, -1),
        "end_step": (np.int32, -1),
        "fail_gate": (np.int8, -1),
        "fail_cause": (np.int8, -1),
        "manager": (np.int64, -1),
        "was_managed": (np.bool_, False),
        "investor": (np.int64, -1),
        "poc_funded": (np.bool_, False),
        "grant_left": (np.float64, 0.0),  # PoC money not yet spent on its gate costs, M¥
        "revealed_g2": (np.bool_, False),  # a PoC test showed that it will pass G2 technically
        "stopped_by_poc": (np.bool_, False),  # a PoC test showed that it would fail G2: stopped early
        "fair_step": (np.int32, -1),  # quarter of the fair that selected it
        "fair_selected": (np.bool_, False),
        "subsidised": (np.bool_, False),
        "metric_driven": (np.bool_, False),
        "disclosure_trl": (np.int8, 0),
    }

    def __init__(self, knowledge_dims: int, capacity: int = 1024):
        self.n = 0
        self.dims = knowledge_dims
        self._cols = {name: np.full(capacity, fill, dtype=dtype) for name, (dtype, fill) in self._SPEC.items()}
        self._knowledge = np.zeros((capacity, knowledge_dims), dtype=np.float64)
        self._viability = np.zeros((capacity, 4), dtype=np.float64)  # hidden uniform per gate
        self.fair_contacts: dict[int, np.ndarray] = {}

    @property
    def capacity(self) -> int:
        """Rows allocated."""
        return self._knowledge.shape[0]

    def col(self, name: str) -> np.ndarray:
        """A writable view of column ``name`` over the used rows."""
        return self._cols[name][: self.n]

    @property
    def knowledge(self) -> np.ndarray:
        """Unit knowledge vectors, shape (n, dims)."""
        return self._knowledge[: self.n]

    @property
    def viability(self) -> np.ndarray:
        """Hidden technical draws, shape (n, 4): passes gate g iff below its T_g."""
        return self._viability[: self.n]

    def _grow(self, needed: int) -> None:
        new = max(self.capacity * 2, needed)
        for name, (dtype, fill) in self._SPEC.items():
            column = np.full(new, fill, dtype=dtype)
            column[: self.n] = self._cols[name][: self.n]
            self._cols[name] = column
        for attr in ("_knowledge", "_viability"):
            old = getattr(self, attr)
            grown = np.zeros((new, old.shape[1]), dtype=old.dtype)
            grown[: self.n] = old[: self.n]
            setattr(self, attr, grown)

    def append(self, knowledge: np.ndarray, viability: np.ndarray, **columns: np.ndarray) -> np.ndarray:
        """Add ``len(knowledge)`` rows; returns their indices. Unnamed columns take defaults."""
        k = knowledge.shape[0]
        if self.n + k > self.capacity:
            self._grow(self.n + k)
        rows = np.arange(self.n, self.n + k)
        self.n += k
        self._knowledge[rows] = knowledge
        self._viability[rows] = viability
        for name, values in columns.items():
            self._cols[name][rows] = values
        return rows

    def to_frame(self):
        """The table as a pandas DataFrame (one row per technology, hidden values included)."""
        import pandas as pd

        data = {name: self.col(name).copy() for name in self._SPEC}
        frame = pd.DataFrame(data)
        frame["owner_type"] = pd.Categorical.from_codes(frame["owner_type"], OWNER_TYPES)
        frame["status"] = pd.Categorical.from_codes(frame["status"], STATUS_NAMES)
        mode = frame["deal_mode"].to_numpy()
        frame["deal_mode"] = pd.Categorical.from_codes(mode, DEAL_MODES)
        frame["fail_cause"] = pd.Categorical.from_codes(frame["fail_cause"], CAUSES)
        return frame


class Pipeline:
    """The technology table plus the scenario's gate parameters: disclosure and maturation.

    Parameters
    ----------
    scenario : the validated scenario
    rng : the model's random generator
    clock : a function returning the current step
    """

    def __init__(self, scenario, rng: np.random.Generator, clock):
        self.scenario = scenario
        self.rng = rng
        self.clock = clock
        self.table = TechnologyTable(scenario.world.knowledge_dims)
        fields = list(scenario.fields.values())
        self.field_log_value_mean = np.array([f.log_value_mean for f in fields])
        self.technical_success = np.array([f.technical_success for f in fields])  # (fields, gates)
        tech = scenario.technology
        self.gate_cost = np.asarray(tech.gate_cost, dtype=float)
        self.gate_quarters = np.asarray(tech.gate_quarters, dtype=np.int32)
        self.disclosures_step = np.zeros(3, dtype=np.int64)

    def disclose(self, *, owner_type: int, owner, holder, group, partner, region, field, knowledge,
                 orientation, quality, value_penalty: float = 0.0, trl_bonus: int = 0) -> np.ndarray:
        """Add new research results; draw their hidden value, viability, readiness and appraisal.

        ``ln V = μ_field + effect·(orientation − ½) + effect·(quality − ½) − penalty + σ_V·z``;
        the owner's appraisal ``V̂ = V·exp(ε)`` has the unmanaged error ``σ_min + σ_0``.
        """
        n = knowledge.shape[0]
        tech = self.scenario.technology
        rng, now = self.rng, self.clock()
        field = np.asarray(field, dtype=np.int64)
        log_value = (
            self.field_log_value_mean[field]
            + tech.orientation_value_effect * (np.asarray(orientation) - 0.5)
            + tech.quality_value_effect * (np.asarray(quality) - 0.5)
            - value_penalty
            + tech.log_value_sigma * rng.standard_normal(n)
        )
        value = np.exp(log_value)
        trl = 2 + rng.choice(4, size=n, p=np.asarray(tech.disclosure_trl_probs)) + trl_bonus
        trl = np.minimum(trl, 8).astype(np.int8)  # nothing is disclosed already at market
        error = appraisal_sigma(0.0, tech.appraisal_sigma_min, tech.appraisal_sigma_0) * rng.standard_normal(n)
        viability = rng.random((n, 4))
        researching = trl < 3
        gate = gate_for_trl(np.maximum(trl, 3))
        next_attempt = np.where(
            researching, now + tech.research_quarters_to_trl3, now + self.gate_quarters[np.minimum(gate, 3)]
        )
        rows = self.table.append(
            knowledge,
            viability,
            owner_type=owner_type,
            owner=owner,
            holder=holder,
            group=group,
            partner=partner,
            region=region,
            field=field,
            trl=trl,
            disclosure_trl=trl,
            gate=gate,
            status=np.where(researching, Status.RESEARCH, Status.ACTIVE),
            value=value,
            appraised=value * np.exp(error),
            appraisal_log_error=error,
            birth=now,
            next_attempt=next_attempt,
        )
        self.disclosures_step[owner_type] += n
        return rows

    def believed_value(self, rows: np.ndarray) -> np.ndarray:
        """What payers and adopters believe ``rows`` are worth: ``V̂``, or ``V̂ / T_G2`` while a
        PoC test has shown that the technology will pass the valley of death (its biggest
        technical risk is gone, so the same appraisal is worth more)."""
        t = self.table
        value = t.col("appraised")[rows].astype(float)
        revealed = t.col("revealed_g2")[rows] & (t.col("gate")[rows] <= 1)
        if revealed.any():
            value[revealed] /= self.technical_success[t.col("field")[rows][revealed].astype(np.int64), 1]
        return value

    def mature(self) -> int:
        """Research results whose time has come reach TRL 3 and enter the pipeline at G1."""
        t = self.table
        now = self.clock()
        ready = np.flatnonzero((t.col("status") == Status.RESEARCH) & (t.col("next_attempt") <= now))
        t.col("trl")[ready] = 3
        t.col("gate")[ready] = 0
        t.col("status")[ready] = Status.ACTIVE
        t.col("next_attempt")[ready] = now + self.gate_quarters[0]
        return int(ready.size)

    def due(self) -> np.ndarray:
        """Rows of active technologies whose gate attempt is this quarter."""
        t = self.table
        return np.flatnonzero((t.col("status") == Status.ACTIVE) & (t.col("next_attempt") <= self.clock()))

    def state_counts(self) -> np.ndarray:
        """How many technologies are in each status (research, active, market, failed, shelved)."""
        return np.bincount(self.table.col("status"), minlength=5)
