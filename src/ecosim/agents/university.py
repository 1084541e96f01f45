"""Universities and research institutes: research groups publish and disclose, and reorient."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent

from ecosim.agents.knowledge import field_vectors
from ecosim.pipeline import UNIVERSITY
from ecosim.rules import get_rule
from ecosim.rules.orientation import OrientationInputs

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel

DEAL_BONUS = 10.0  # a deal counts like ten disclosures in a transfer-minded evaluation


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
        self.deals_per_disclosure = 0.05  # smoothed, what groups believe a disclosure brings
        self.income_per_disclosure = 0.0  # smoothed licensing income per disclosure, M¥
        self.licensing_income = 0.0
        self._disclosures_this_quarter = 0
        self._deals_this_quarter = 0
        self._income_this_quarter = 0.0

    def random_group(self, rng: np.random.Generator) -> int:
        """A random group of this university (global group index)."""
        return int(rng.integers(self.groups.start, self.groups.stop))

    def research(self) -> None:
        """Groups publish and disclose this quarter, in proportion to orientation and money.

        Research money has diminishing returns: productivity ``sqrt((core + grant)/(core + 1))``.
        Product-oriented effort yields disclosures; publication-weighted evaluations also
        yield low-value "metric" patents.
        """
        model, s = self.model, self.model.scenario
        u = s.universities
        inc = s.policy.incentives
        rng = model.rng
        core = u.research_budget_per_quarter
        productivity = np.sqrt((core + self.grant_this_quarter) / (core + 1.0))
        model.accounts.university_research += core + self.grant_this_quarter
        self.grant_this_quarter = 0.0
        a = model.groups.orientation[self.groups]
        q = 0.5 + self.quality
        pubs = rng.poisson(u.publications_per_group_quarter * (1 - a) * q * productivity)
        products = rng.poisson(u.disclosures_per_group_quarter * a * q * productivity)
        metric_share = inc.publication_weight / max(inc.publication_weight + inc.transfer_weight, 1e-9)
        metric = rng.poisson(u.metric_disclosures_per_group_quarter * metric_share * q * productivity, a.size)
        model.accounts.publications_step += int(pubs.sum())
        a0 = model.groups.initial_orientation[self.groups]
        model.accounts.publications_forgone_step += float(
            (u.publications_per_group_quarter * (a - a0) * q * productivity).sum()
        )
        group_ids = np.arange(self.groups.start, self.groups.stop)
        for counts, metric_driven in ((products, False), (metric, True)):
            who = np.repeat(group_ids, counts)
            if who.size == 0:
                continue
            fields = model.groups.field[who]
            rows = model.pipeline.disclose(
                owner_type=UNIVERSITY,
                owner=np.full(who.size, self.cell.coordinate),
                holder=np.full(who.size, self.cell.coordinate),
                group=who,
                partner=np.full(who.size, -1),
                region=np.full(who.size, self.region),
                field=fields,
                knowledge=field_vectors(fields, s.world.knowledge_dims, rng),
                orientation=model.groups.orientation[who],
                quality=np.full(who.size, self.quality),
                value_penalty=u.metric_disclosure_value_penalty if metric_driven else 0.0,
            )
            if metric_driven:
                model.pipeline.table.col("metric_driven")[rows] = True
            self._disclosures_this_quarter += who.size

    def record_deal(self, income: float) -> None:
        """A technology of this university was transferred, bringing ``income`` M¥."""
        self._deals_this_quarter += 1
        self._income_this_quarter += income
        self.licensing_income += income

    def update_orientation(self) -> None:
        """Groups reconsider their orientation from the payoffs they see (orientation rule)."""
        model, s = self.model, self.model.scenario
        u, inc = s.universities, s.policy.incentives
        n = max(self._disclosures_this_quarter, 1)
        smoothing = 0.1
        self.deals_per_disclosure += smoothing * (self._deals_this_quarter / n - self.deals_per_disclosure)
        self.income_per_disclosure += smoothing * (self._income_this_quarter / n - self.income_per_disclosure)
        self._disclosures_this_quarter = self._deals_this_quarter = 0
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
