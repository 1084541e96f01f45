"""Universities and research institutes: research groups publish and disclose, and reorient."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent

from ecosim.agents.knowledge import field_vectors
from ecosim.network import NodeKind
from ecosim.pipeline import Owner
from ecosim.rules import get_rule
from ecosim.rules.orientation import OrientationInputs

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel

DEAL_BONUS = 10.0  # a deal counts like ten disclosures in a transfer-minded evaluation
SETTLED_DEALS_PER_DISCLOSURE = 0.065  # the default world's, quarters 101–200 (experiments/settled_state.py)
SETTLED_INCOME_PER_DISCLOSURE = 0.05  # M¥, likewise


class University(FixedAgent):
    """A university or public research institute with research groups.

    Each group has an orientation ``a ∈ [0, 1]`` (0 publish, 1 products) and a field; the
    groups' arrays live in the model (``model.groups``) and this agent owns a slice of them.
    """

    def __init__(self, model: EcosystemModel, region: int, quality: float, groups: slice, institute: bool):
        super().__init__(model)
        self.region = region
        self.quality = quality
        self.groups = groups
        self.institute = institute
        self.grant_this_quarter = 0.0
        # smoothed beliefs: what groups think a disclosure brings. A founding university has a
        # history, so they start at the default world's settled values (experiments/
        # settled_state.py), not at zero, and the founding orientation is not pulled down.
        self.deals_per_disclosure = SETTLED_DEALS_PER_DISCLOSURE
        self.income_per_disclosure = SETTLED_INCOME_PER_DISCLOSURE  # M¥
        self.licensing_income = 0.0
        self._deals_this_quarter = 0
        self._income_this_quarter = 0.0

    def random_group(self, rng: np.random.Generator) -> int:
        """A random group of this university (global group index)."""
        return int(rng.integers(self.groups.start, self.groups.stop))

    def take_grant(self) -> float:
        """This quarter's research money (core budget plus government grant); the grant is used up."""
        money = self.model.scenario.universities.research_budget_per_quarter + self.grant_this_quarter
        self.grant_this_quarter = 0.0
        return money

    def record_deal(self, income: float) -> None:
        """A technology of this university was transferred, bringing ``income`` M¥."""
        self._deals_this_quarter += 1
        self._income_this_quarter += income
        self.licensing_income += income

    def update_orientation(self) -> None:
        """Groups reconsider their orientation from the payoffs they see (orientation rule)."""
        model, s = self.model, self.model.scenario
        u, inc = s.universities, s.policy.incentives
        index = self.model.university_index[self.cell.coordinate]
        n = max(int(self.model.university_disclosures_step[index]), 1)
        smoothing = 0.1
        self.deals_per_disclosure += smoothing * (self._deals_this_quarter / n - self.deals_per_disclosure)
        self.income_per_disclosure += smoothing * (self._income_this_quarter / n - self.income_per_disclosure)
        self._deals_this_quarter = 0
        self._income_this_quarter = 0.0
        transfer_payoff = inc.transfer_weight * (1.0 + DEAL_BONUS * self.deals_per_disclosure) + (
            inc.inventor_share * self.income_per_disclosure
        )
        rule = get_rule("orientation", s.rules.orientation)
        new = rule(
            OrientationInputs(
                orientation=model.groups.orientation[self.groups].copy(),
                publication_payoff=inc.publication_weight,
                transfer_payoff=transfer_payoff,
                peer_mean=model.regional_orientation[self.region],
                learning_rate=u.orientation_learning_rate,
                peer_weight=u.peer_weight,
                rng=model.rng,
            )
        )
        model.groups.orientation[self.groups] = np.clip(new, 0.0, 1.0)


def do_research(model: EcosystemModel) -> None:
    """All research groups publish and disclose this quarter (on arrays, one draw per group).

    Per group: publications ``~ Poisson(p·(1 − a)·q·m)``, product disclosures
    ``~ Poisson(d·a·q·m)`` and "metric" disclosures ``~ Poisson(d_m·w_P/(w_P + w_T)·q·m)``
    with ``q = ½ + quality`` and productivity ``m = sqrt((core + grant)/(core + 1))``
    (diminishing returns to research money). Metric-driven disclosures — patents filed for
    publication-weighted evaluations — carry a value penalty.
    """
    s, rng, groups = model.scenario, model.rng, model.groups
    u, inc = s.universities, s.policy.incentives
    agents = model.university_agents
    if not agents:
        return
    money = np.array([a.take_grant() for a in agents])
    model.accounts.university_research += float(money.sum())
    core = u.research_budget_per_quarter
    productivity = np.sqrt(money / (core + 1.0))[groups.university]
    quality = np.array([a.quality for a in agents])[groups.university]
    a, a0 = groups.orientation, groups.initial_orientation
    scale = (0.5 + quality) * productivity
    pubs = rng.poisson(u.publications_per_group_quarter * (1 - a) * scale)
    products = rng.poisson(u.disclosures_per_group_quarter * a * scale)
    metric_share = inc.publication_weight / max(inc.publication_weight + inc.transfer_weight, 1e-9)
    metric = rng.poisson(u.metric_disclosures_per_group_quarter * metric_share * scale)
    model.accounts.publications_step += int(pubs.sum())
    model.accounts.publications_forgone_step += float((u.publications_per_group_quarter * (a - a0) * scale).sum())
    who = np.concatenate([np.repeat(np.arange(a.size), products), np.repeat(np.arange(a.size), metric)])
    if who.size == 0:
        return
    metric_driven = np.repeat([False, True], [int(products.sum()), int(metric.sum())])
    owner = model.layout.nodes(NodeKind.UNIVERSITY)[groups.university[who]]
    fields = groups.field[who]
    rows = model.pipeline.disclose(
        owner_type=Owner.UNIVERSITY,
        owner=owner,
        holder=owner,
        group=who,
        partner=np.full(who.size, -1),
        region=groups.region[who],
        field=fields,
        knowledge=field_vectors(fields, s.world.knowledge_dims, rng),
        orientation=a[who],
        quality=quality[who],
        value_penalty=np.where(metric_driven, u.metric_disclosure_value_penalty, 0.0),
    )
    model.pipeline.table.col("metric_driven")[rows] = metric_driven
    np.add.at(model.university_disclosures_step, groups.university[who], 1)
