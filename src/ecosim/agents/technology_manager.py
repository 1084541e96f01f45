"""Technology managers: scout disclosures, appraise them, dig out value, broker deals, learn."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent

from ecosim.network import MANAGER
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
        return int(self.model.manager_load[self.cell.coordinate - self.model.layout.offsets[MANAGER]])

    def scout(self) -> None:
        """Take on disclosures while capacity is free (project-choice rule), appraise and dig value."""
        model, s = self.model, self.model.scenario
        free = self.capacity - self.load
        if free <= 0:
            return
        pool = model.scouting_pool(self.employer, self.region)
        if pool.size == 0:
            return
        t = model.pipeline.table
        pool = pool[t.col("manager")[pool] < 0]
        if pool.size == 0:
            return
        rule = get_rule("project_choice", s.rules.project_choice)
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
        if order.size == 0:
            return
        taken = pool[order]
        self._take_on(taken)

    def _take_on(self, rows: np.ndarray) -> None:
        model, s = self.model, self.model.scenario
        m, tech = s.policy.managers, s.technology
        t = model.pipeline.table
        rng = model.rng
        t.col("manager")[rows] = self.cell.coordinate
        t.col("was_managed")[rows] = True
        model.manager_load[self.cell.coordinate - model.layout.offsets[MANAGER]] += rows.size
        dig = rng.random(rows.size) < m.value_digging_rate * self.skill
        t.col("value")[rows[dig]] *= np.exp(m.value_digging_gain)
        model.accounts.value_dug += int(dig.sum())
        error = appraisal_sigma(self.skill, tech.appraisal_sigma_min, tech.appraisal_sigma_0) * rng.standard_normal(rows.size)
        t.col("appraised")[rows] = t.col("value")[rows] * np.exp(error)
        t.col("appraisal_log_error")[rows] = error
        t.col("managed_appraisal")[rows] = True

    def learn_from_deal(self) -> None:
        """Each brokered deal teaches: ``s += learning_rate·(1 − s)``."""
        self.deals += 1
        self.skill += self.model.scenario.policy.managers.learning_rate * (1.0 - self.skill)

    def train(self, money: float) -> None:
        """Training paid by the manager programme: ``s += gain·money·(1 − s)``, capped at 1."""
        gain = self.model.scenario.policy.managers.training_gain_per_yuan * money
        self.skill += min(gain, 1.0) * (1.0 - self.skill)
