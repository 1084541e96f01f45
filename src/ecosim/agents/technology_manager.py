"""Technology managers: scout disclosures, appraise them, dig out value, broker deals, learn."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent

from ecosim.network import NodeKind
from ecosim.pipeline import appraisal_sigma
from ecosim.rules import get_rule
from ecosim.rules.project_choice import ProjectChoiceInputs

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel


class TechnologyManager(FixedAgent):
    """A technology manager (technology broker).

    Attributes
    ----------
    skill : s ∈ [0, 1]; appraisal error is ``σ_min + σ_0 (1 − s)``; fit is raised by ``ρ·s``
    capacity : projects carried at once
    field : field of expertise
    employer : node of the employing university's transfer office, or −1 if independent
    """

    def __init__(self, model: EcosystemModel, region: int, skill: float, capacity: int, field: int, employer: int):
        super().__init__(model)
        self.region = region
        self.skill = skill
        self.capacity = capacity
        self.field = field
        self.employer = employer
        self.deals = 0

    @property
    def load(self) -> int:
        """Open projects now (derived from the technology table)."""
        return int(self.model.manager_load[self.cell.coordinate - self.model.layout.offsets[NodeKind.MANAGER]])

    def choose_projects(self, free: int, rule: Callable[[ProjectChoiceInputs], np.ndarray] | None = None) -> np.ndarray:
        """Take on up to ``free`` unmanaged disclosures this manager sees (project-choice rule).

        ``rule`` is the scenario's project-choice rule (looked up here if not given).

        Returns the technology rows taken, already marked as carried by this manager, so that
        the next manager in the quarter's order no longer sees them.
        """
        model = self.model
        pool = model.scouting_pool(self.employer, self.region)
        if pool.size == 0:
            return pool
        t = model.pipeline.table
        pool = pool[t.col("manager")[pool] < 0]
        if pool.size == 0:
            return pool
        rule = rule or get_rule("project_choice", model.scenario.rules.project_choice)
        order = np.asarray(
            rule(
                ProjectChoiceInputs(
                    appraised_value=t.col("appraised")[pool],
                    same_field=t.col("field")[pool] == self.field,
                    trl=t.col("trl")[pool],
                    age_quarters=model.steps - t.col("birth")[pool],
                    skill=self.skill,
                    slots=free,
                    rng=model.rng,
                )
            ),
            dtype=np.int64,
        )[:free]
        taken = pool[order]
        t.col("manager")[taken] = self.cell.coordinate
        return taken

    def learn_from_deal(self) -> None:
        """Each brokered deal teaches: ``s += learning_rate·(1 − s)``."""
        self.deals += 1
        self.skill += self.model.scenario.policy.managers.learning_rate * (1.0 - self.skill)

    def train(self, money: float) -> None:
        """Training paid by the manager programme closes ``1 − exp(−k·money)`` of the gap to full skill.

        Diminishing returns: the first yuan teaches most. ``k`` is ``training_gain_per_yuan``.
        """
        gain = 1.0 - np.exp(-self.model.scenario.policy.managers.training_gain_per_yuan * money)
        before = self.skill
        self.skill += gain * (1.0 - self.skill)
        self.model.accounts.training_skill_gain += self.skill - before


def founding_skill(starting_skill: np.ndarray, scenario, region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The skill of the managers in post when the run starts: a staff that has been turning over.

    With turnover ``p`` a quarter, the time a manager has been in post is geometric
    (``P(τ = t) = p (1 − p)^t``), the stationary tenure of a staff whose members leave at a
    constant rate. Each quarter in post, the manager programme's training closed
    ``g = 1 − exp(−k·m)`` of the gap to full skill, with ``m`` the region's training money per
    manager at the scenario's budget shares, so a manager hired with skill ``s₀`` now has
    ``1 − (1 − s₀)(1 − g)^τ``. Without this the whole staff would start as new hires and the
    measured window would ride their ~80-quarter climb (docs/VALIDATION.md, steady state).
    Learning from deals is left out (its rate is a result of the run), so founding skill is a
    little below the settled level. Without turnover the founding staff are new hires.
    """
    m = scenario.policy.managers
    if starting_skill.size == 0 or m.turnover_per_quarter <= 0:
        return starting_skill
    per_region = np.bincount(region, minlength=int(region.max()) + 1)
    money = scenario.budget.per_quarter * scenario.budget.manager_programme / np.maximum(per_region[region], 1)
    gain = 1.0 - np.exp(-m.training_gain_per_yuan * money)
    tenure = rng.geometric(m.turnover_per_quarter, starting_skill.size) - 1
    return 1.0 - (1.0 - starting_skill) * (1.0 - gain) ** tenure


def staff_turnover(model: EcosystemModel) -> None:
    """Managers leave with ``turnover_per_quarter`` and are replaced by new hires with a starting skill.

    What a manager learned leaves with them, so skill settles where learning and training
    balance turnover instead of ratcheting up for ever. The post (node, ties, projects) stays.
    """
    m = model.scenario.policy.managers
    managers = model.manager_agents
    if not managers or m.turnover_per_quarter <= 0:
        return
    leaving = np.flatnonzero(model.rng.random(len(managers)) < m.turnover_per_quarter)
    if leaving.size == 0:
        return
    new_skill = np.clip(model.rng.normal(m.skill_mean, m.skill_sd, leaving.size), 0.0, 1.0)
    for i, skill in zip(leaving.tolist(), new_skill.tolist(), strict=True):
        managers[i].skill = skill
    model.accounts.manager_departures += int(leaving.size)


def scout(model: EcosystemModel) -> None:
    """The quarter's scouting: managers with free capacity, in random order, choose projects;
    then every project taken on is appraised and has its value dug, on arrays.

    The choice is each manager's own (Python, the project-choice rule); what follows from it
    (value digging with chance ``value_digging_rate·s``, appraisal error with
    ``σ = σ_min + σ_0 (1 − s)``) is drawn for all new projects at once.
    """
    managers = model.manager_agents
    if not managers:
        return
    free = np.array([a.capacity for a in managers]) - model.manager_load
    order = model.rng.permutation(len(managers))
    rule = get_rule("project_choice", model.scenario.rules.project_choice)
    taken, by = [], []
    for i in order[free[order] > 0].tolist():
        rows = managers[i].choose_projects(int(free[i]), rule)
        if rows.size:
            taken.append(rows)
            by.append(np.full(rows.size, i))
    if taken:
        take_on(model, np.concatenate(taken), np.concatenate(by))


def take_on(model: EcosystemModel, rows: np.ndarray, by: np.ndarray | int) -> None:
    """Managers take on technology ``rows``: carried, appraised, and with value dug out.

    Parameters
    ----------
    model : the model
    rows : technology rows
    by : manager number (node − offset) carrying each row, or one number for all
    """
    m, tech = model.scenario.policy.managers, model.scenario.technology
    by = np.broadcast_to(np.asarray(by, np.int64), rows.shape)
    t, rng = model.pipeline.table, model.rng
    t.col("manager")[rows] = by + model.layout.offsets[NodeKind.MANAGER]
    t.col("was_managed")[rows] = True
    model.manager_load += np.bincount(by, minlength=model.manager_load.size)
    skill = model.manager_skill()[by]
    dig = rng.random(rows.size) < m.value_digging_rate * skill
    t.col("value")[rows[dig]] *= np.exp(m.value_digging_gain)
    model.accounts.value_dug += int(dig.sum())
    error = appraisal_sigma(skill, tech.appraisal_sigma_min, tech.appraisal_sigma_0) * rng.standard_normal(rows.size)
    t.col("appraised")[rows] = t.col("value")[rows] * np.exp(error)
    t.col("appraisal_log_error")[rows] = error
    t.col("managed_appraisal")[rows] = True
