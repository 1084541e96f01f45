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
from ecosim.network import TieKind
from ecosim.pipeline import Owner

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
    initial_absorptive_capacity: np.ndarray  # A at founding, what it falls back to without practice

    @classmethod
    def create(cls, scenario, nodes: np.ndarray, region: np.ndarray, rng: np.random.Generator) -> EnterprisePopulation:
        """Draw the enterprises of a scenario."""
        e = scenario.enterprises
        n = nodes.size
        shares = np.array([f.share for f in scenario.fields.values()])
        field = rng.choice(len(shares), size=n, p=shares / shares.sum())
        size = rng.lognormal(-0.5 * e.size_sigma**2, e.size_sigma, n)
        capacity = rng.beta(e.absorptive_capacity_alpha, e.absorptive_capacity_beta, n)
        return cls(
            node=nodes,
            region=region.astype(np.int64),
            field=field,
            size=size,
            rd_budget_per_quarter=e.rd_budget_per_quarter_mean * size,
            absorptive_capacity=capacity,
            need=field_vectors(field, scenario.world.knowledge_dims, rng),
            hurdle_log=e.profit_hurdle_log + 0.5 * rng.standard_normal(n) - 0.3 * np.log(size),
            initial_absorptive_capacity=capacity.copy(),
        )

    def __post_init__(self) -> None:
        self._order = np.argsort(self.region, kind="stable")
        regions = int(self.region.max()) + 1 if self.region.size else 0
        self._region_bounds = np.searchsorted(self.region[self._order], np.arange(regions + 1))

    def sample(self, region: int, k: int, foreign_share: float, rng: np.random.Generator) -> np.ndarray:
        """``k`` enterprise indices (with repeats) from ``region``, each from another region with ``foreign_share``."""
        R = self._region_bounds.size - 1
        target = np.full(k, region)
        if R > 1:
            cross = rng.random(k) < foreign_share
            target[cross] = (region + rng.integers(1, R, cross.sum())) % R
        bounds = self._region_bounds
        lo, hi = bounds[target], bounds[target + 1]
        empty = hi <= lo  # a region without enterprises: fall back to the home region
        lo[empty], hi[empty] = bounds[region], bounds[region + 1]
        picks = lo + (rng.random(k) * (hi - lo)).astype(np.int64)
        return self._order[picks]

    def learn(self, index: np.ndarray | int, rate: float) -> None:
        """Absorptive capacity grows with each joint project or adoption: A += rate·(1 − A)."""
        self.absorptive_capacity[index] += rate * (1.0 - self.absorptive_capacity[index])

    def forget(self, rate: float) -> None:
        """Without practice capacity falls back toward its founding level: A −= rate·(A − A₀)."""
        self.absorptive_capacity -= rate * (self.absorptive_capacity - self.initial_absorptive_capacity)


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
    """Every enterprise spends the research part of its R&D budget; results become enterprise-owned technologies.

    The R&D budget (all of it counts toward F4) is split: ``development_budget_share`` goes to
    the development fund that pays gate costs (:mod:`ecosim.funding`), the rest is research
    that produces technologies at ``own_technologies_per_rd_yuan`` per M¥.

    Enterprises perform most R&D (FACTS F4); their results are close to their own need, so
    they mostly self-implement (F3).
    """
    pop, s = model.enterprises, model.scenario
    rng = model.rng
    research_money = (1.0 - s.enterprises.development_budget_share) * pop.rd_budget_per_quarter
    counts = rng.poisson(s.enterprises.own_technologies_per_rd_yuan * research_money)
    model.accounts.enterprise_rd += float(pop.rd_budget_per_quarter.sum())
    who = np.repeat(np.arange(counts.size), counts)
    if who.size == 0:
        return
    knowledge = blend(pop.need[who], field_vectors(pop.field[who], s.world.knowledge_dims, rng), 0.6)
    model.pipeline.disclose(
        owner_type=Owner.ENTERPRISE,
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
    """Enterprises propose joint R&D from their needs; research groups accept or not ("meeting halfway").

    An enterprise proposes with probability ``rate·A·(1 + 2·subsidy)`` (the subsidy draws
    proposals), to a university chosen by quality (another region with the openness
    probability) and one of its groups, which accepts with probability
    ``matching_rate·(1 − w + 2w·a)``: product-oriented groups (``a`` near 1, which incentive
    reform raises) meet enterprises halfway, publishing groups mostly decline. The region's
    joint-R&D pool pays the subsidy share of the project while it lasts; the enterprise pays
    the rest from its development fund — a project it cannot pay for does not start.
    """
    pop, s = model.enterprises, model.scenario
    j = s.policy.joint_rnd
    rng = model.rng
    boost = 1.0 + 2.0 * j.subsidy_rate
    proposers = np.flatnonzero(
        rng.random(pop.node.size) < s.enterprises.joint_proposal_rate * pop.absorptive_capacity * boost
    )
    if proposers.size == 0:
        return
    universities = model.pick_universities(pop.region[proposers])
    uni_agents = [model.university_by_node[int(u)] for u in universities]
    groups = np.array([u.random_group(rng) for u in uni_agents])
    w = s.universities.joint_acceptance_orientation
    accept = rng.random(proposers.size) < j.matching_rate * (1.0 - w + 2.0 * w * model.groups.orientation[groups])
    model.accounts.joint_proposals += int(proposers.size)
    keep = accept.copy()
    subsidised = np.zeros(proposers.size, bool)
    subsidy = j.subsidy_rate * j.project_cost
    for i in np.flatnonzero(accept):
        e = proposers[i]
        gov = model.governments_by_region[int(pop.region[e])]
        pool_pays = subsidy > 0 and gov.pools["joint_rnd"] >= subsidy
        own_share = j.project_cost - (subsidy if pool_pays else 0.0)
        if not model.funds.pay_in_order(pop.node[e:e + 1], np.ones(1), np.array([own_share]))[0]:
            keep[i] = False
            continue
        if pool_pays:
            gov.spend("joint_rnd", subsidy)
            subsidised[i] = True
    proposers, subsidised, universities, groups = proposers[keep], subsidised[keep], universities[keep], groups[keep]
    if proposers.size == 0:
        return
    uni_agents = [model.university_by_node[int(u)] for u in universities]
    quality = np.array([u.quality for u in uni_agents])
    dims = s.world.knowledge_dims
    knowledge = blend(pop.need[proposers], field_vectors(pop.field[proposers], dims, rng), 0.7)
    rows = model.pipeline.disclose(
        owner_type=Owner.JOINT,
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
        model.network.strengthen(int(u), int(e), TieKind.COLLABORATION, s.network.deal_strengthening, model.steps)
