"""Enterprises: own R&D, search, adoption and joint R&D proposals.

There are many enterprises, so their state lives in arrays (:class:`EnterprisePopulation`)
and their bulk behaviour runs on arrays once per quarter; each :class:`Enterprise` agent is
a Mesa agent on its network node whose attributes read those arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent

from ecosim.agents.knowledge import blend, field_vectors
from ecosim.network import COLLABORATION
from ecosim.pipeline import ENTERPRISE, JOINT

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel


@dataclass
class EnterprisePopulation:
    """State of every enterprise, indexed 0 … n−1 (node = index + offset)."""

    node: np.ndarray
    region: np.ndarray
    field: np.ndarray
    size: np.ndarray  # mean 1, log-normal
    rd_budget_per_quarter: np.ndarray  # M¥
    absorptive_capacity: np.ndarray  # A in [0, 1]
    need: np.ndarray  # unit vectors, (n, dims)
    hurdle_log: np.ndarray  # ln M¥

    @classmethod
    def create(cls, scenario, nodes: np.ndarray, region: np.ndarray, rng: np.random.Generator) -> EnterprisePopulation:
        """Draw the enterprises of a scenario."""
        e = scenario.enterprises
        n = nodes.size
        shares = np.array([f.share for f in scenario.fields.values()])
        field = rng.choice(len(shares), size=n, p=shares / shares.sum())
        size = rng.lognormal(-0.5 * e.size_sigma**2, e.size_sigma, n)
        return cls(
            node=nodes,
            region=region.astype(np.int64),
            field=field,
            size=size,
            rd_budget_per_quarter=e.rd_budget_per_quarter_mean * size,
            absorptive_capacity=rng.beta(e.absorptive_capacity_alpha, e.absorptive_capacity_beta, n),
            need=field_vectors(field, scenario.world.knowledge_dims, rng),
            hurdle_log=e.profit_hurdle_log + 0.5 * rng.standard_normal(n) - 0.3 * np.log(size),
        )

    def learn(self, index: np.ndarray | int, rate: float) -> None:
        """Absorptive capacity grows with each joint project or adoption: A += rate·(1 − A)."""
        self.absorptive_capacity[index] += rate * (1.0 - self.absorptive_capacity[index])


class Enterprise(FixedAgent):
    """An enterprise on its network node; its state is a row of the population arrays."""

    def __init__(self, model: EcosystemModel, index: int):
        super().__init__(model)
        self.index = index

    @property
    def _pop(self) -> EnterprisePopulation:
        return self.model.enterprises

    @property
    def region(self) -> int:
        """Region the enterprise is in."""
        return int(self._pop.region[self.index])

    @property
    def field(self) -> int:
        """Field index (0 IT, 1 materials, 2 equipment, 3 medicine)."""
        return int(self._pop.field[self.index])

    @property
    def absorptive_capacity(self) -> float:
        """A ∈ [0, 1]: how well it can take in outside technology."""
        return float(self._pop.absorptive_capacity[self.index])

    @property
    def rd_budget_per_quarter(self) -> float:
        """Own R&D spending per quarter, M¥."""
        return float(self._pop.rd_budget_per_quarter[self.index])

    @property
    def size(self) -> float:
        """Relative size (mean 1)."""
        return float(self._pop.size[self.index])


def do_own_rnd(model: EcosystemModel) -> None:
    """Every enterprise spends its R&D budget; results become enterprise-owned technologies.

    Enterprises perform most R&D (FACTS F4); their results are close to their own need, so
    they mostly self-implement (F3).
    """
    pop, s = model.enterprises, model.scenario
    rng = model.rng
    counts = rng.poisson(s.enterprises.own_technologies_per_rd_yuan * pop.rd_budget_per_quarter)
    model.accounts.enterprise_rd += float(pop.rd_budget_per_quarter.sum())
    who = np.repeat(np.arange(counts.size), counts)
    if who.size == 0:
        return
    knowledge = blend(pop.need[who], field_vectors(pop.field[who], s.world.knowledge_dims, rng), 0.6)
    model.pipeline.disclose(
        owner_type=ENTERPRISE,
        owner=pop.node[who],
        holder=pop.node[who],
        group=np.full(who.size, -1),
        partner=np.full(who.size, -1),
        region=pop.region[who],
        field=pop.field[who],
        knowledge=knowledge,
        orientation=np.ones(who.size),
        quality=np.full(who.size, 0.5),
    )


def propose_joint_rnd(model: EcosystemModel) -> None:
    """Enterprises propose joint R&D; matched proposals become joint technologies.

    A proposal is made with probability ``rate·A·(1 + 2·subsidy)``, finds a university with
    the matching rate, and is subsidised from the region's joint R&D pool while money lasts
    (without the subsidy, it goes ahead only at the unsubsidised rate).
    """
    pop, s = model.enterprises, model.scenario
    j = s.policy.joint_rnd
    rng = model.rng
    boost = 1.0 + 2.0 * j.subsidy_rate
    propose = rng.random(pop.node.size) < s.enterprises.joint_proposal_rate * pop.absorptive_capacity * boost
    propose &= rng.random(pop.node.size) < j.matching_rate
    proposers = np.flatnonzero(propose)
    if proposers.size == 0:
        return
    keep = np.ones(proposers.size, bool)
    subsidised = np.zeros(proposers.size, bool)
    subsidy = j.subsidy_rate * j.project_cost
    unsubsidised_go = rng.random(proposers.size) < 1.0 / boost
    for i, e in enumerate(proposers):
        gov = model.governments_by_region[int(pop.region[e])]
        if subsidy > 0 and gov.pools["joint_rnd"] >= subsidy:
            gov.spend("joint_rnd", subsidy)
            subsidised[i] = True
        else:
            keep[i] = unsubsidised_go[i]
    proposers, subsidised = proposers[keep], subsidised[keep]
    if proposers.size == 0:
        return
    universities = model.pick_universities(pop.region[proposers])
    uni_agents = [model.university_by_node[int(u)] for u in universities]
    groups = np.array([u.random_group(rng) for u in uni_agents])
    quality = np.array([u.quality for u in uni_agents])
    dims = s.world.knowledge_dims
    knowledge = blend(pop.need[proposers], field_vectors(pop.field[proposers], dims, rng), 0.7)
    rows = model.pipeline.disclose(
        owner_type=JOINT,
        owner=universities,
        holder=universities,
        group=groups,
        partner=pop.node[proposers],
        region=model.layout.region[universities].astype(np.int64),
        field=pop.field[proposers],
        knowledge=knowledge,
        orientation=np.ones(proposers.size),
        quality=quality,
        trl_bonus=j.trl_bonus,
    )
    model.pipeline.table.col("subsidised")[rows] = subsidised
    np.add.at(model.university_disclosures_step, [model.university_index[int(u)] for u in universities], 1)
    pop.learn(proposers, s.enterprises.absorptive_learning)
    for u, e in zip(universities, pop.node[proposers], strict=False):
        model.network.strengthen(int(u), int(e), COLLABORATION, s.network.deal_strengthening, model.steps)
