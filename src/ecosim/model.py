"""The ecosystem model: builds the world from a :class:`~ecosim.scenario.Scenario` and runs quarters.

``EcosystemModel.step()`` reads as the quarter's story (docs/ODD.md, "Process overview"):
governments allocate, universities and enterprises do research, managers scout, money is
granted, fairs are held, investors commit, gates are attempted, groups reorient, ties decay,
and the quarter is recorded.

:func:`simulate` is the pure function ``(scenario, seed) → tables`` that the command line,
sweeps and notebooks use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import mesa
import numpy as np
import pandas as pd
from mesa.discrete_space import Network

from ecosim import __version__
from ecosim.agents import (
    Enterprise,
    EnterprisePopulation,
    Government,
    Investor,
    TechnologyManager,
    University,
)
from ecosim.agents.enterprise import do_own_rnd, propose_joint_rnd
from ecosim.agents.investor import prepare_investment
from ecosim.agents.technology_manager import founding_skill, scout, staff_turnover
from ecosim.agents.university import do_research
from ecosim.funding import DevelopmentFunds
from ecosim.metrics import Accounts, StepRecorder, run_summary, snapshot_accounts
from ecosim.network import (
    EcosystemNetwork,
    NodeKind,
    build_ties,
    graph_from_ties,
    make_layout,
    replenish_ties,
    tie_lifetime,
)
from ecosim.pipeline import DealMode, Owner, Pipeline, Status, TechnologyTable, group_rows
from ecosim.rules import get_rule, load_rules_file
from ecosim.scenario import RULE_KINDS, Scenario
from ecosim.transfer import attempt_gates

INDEPENDENT_SCOUTING_SAMPLE = 60  # disclosures an independent manager looks at per quarter


@dataclass
class ResearchGroups:
    """All research groups of all universities, as arrays (index = global group id)."""

    orientation: np.ndarray
    initial_orientation: np.ndarray
    field: np.ndarray
    region: np.ndarray
    university: np.ndarray  # index into model.university_agents


def seed_from(seed_sequence: np.random.SeedSequence) -> int:
    """A 63-bit integer seed drawn from a SeedSequence (what Mesa's ``rng=`` takes)."""
    return int(seed_sequence.generate_state(1, np.uint64)[0] >> np.uint64(1))


class EcosystemModel(mesa.Model):
    """The technology-transfer ecosystem.

    Parameters
    ----------
    scenario : the validated scenario (defaults to the built-in baseline)
    seed : root seed; ``None`` draws one (recorded in ``self.seed``)
    rules_file : a Python file registering extra rules (overrides ``scenario.rules_file``)

    Examples
    --------
    >>> from ecosim.model import EcosystemModel
    >>> from ecosim.scenario import Scenario
    >>> model = EcosystemModel(Scenario(steps=4), seed=1)
    >>> for _ in range(4):
    ...     model.step()
    >>> model.steps
    4
    """

    def __init__(self, scenario: Scenario | None = None, seed: int | None = None, rules_file: str | None = None):
        scenario = scenario if scenario is not None else Scenario()
        rules_file = rules_file or scenario.rules_file
        if rules_file:
            load_rules_file(rules_file)
        for kind in RULE_KINDS:  # fail before building anything if a rule name is unknown
            get_rule(kind, getattr(scenario.rules, kind))
        if seed is None:
            seed = scenario.seed if scenario.seed is not None else seed_from(np.random.SeedSequence())
        self.seed = int(seed)
        # three streams: the model's decisions, building the world, and measurement (so that
        # how often the network is measured never changes what happens)
        streams = np.random.SeedSequence(self.seed).spawn(3)
        super().__init__(rng=seed_from(streams[0]))
        self.scenario = scenario
        self.planned_steps = scenario.steps
        self.accounts = Accounts()
        self.recorder = StepRecorder()
        self.pipeline = Pipeline(scenario, self.rng, lambda: self.steps)
        self.measurement_rng = np.random.default_rng(streams[2])
        self._build_world(np.random.default_rng(streams[1]))
        self.regional_orientation = self._regional_orientation()
        self.fair_contact_lifetime = fair_contact_lifetime(scenario)

    # Mesa 3.5's Model has an experimental ``scenario`` property of its own (a
    # mesa.experimental.scenarios.Scenario); ecosim's scenario replaces it.
    @property
    def scenario(self) -> Scenario:
        """The ecosim scenario this model was built from."""
        return self._ecosim_scenario

    @scenario.setter
    def scenario(self, value) -> None:
        self._ecosim_scenario = value

    # ------------------------------------------------------------------ building

    def _build_world(self, build_rng: np.random.Generator) -> None:
        s, w = self.scenario, self.scenario.world
        R = w.regions
        per_region = {
            NodeKind.GOVERNMENT: 1,
            NodeKind.UNIVERSITY: w.universities_per_region + w.institutes_per_region,
            NodeKind.ENTERPRISE: w.enterprises_per_region,
            NodeKind.MANAGER: s.policy.managers.managers_per_region,
            NodeKind.INVESTOR: s.policy.finance.investors_per_region,
        }
        self.layout = layout = make_layout(R, per_region)
        uni_nodes, ent_nodes = layout.nodes(NodeKind.UNIVERSITY), layout.nodes(NodeKind.ENTERPRISE)
        man_nodes, inv_nodes = layout.nodes(NodeKind.MANAGER), layout.nodes(NodeKind.INVESTOR)

        # enterprises (arrays) and research groups (arrays)
        self.enterprises = EnterprisePopulation.create(s, ent_nodes, layout.region[ent_nodes], build_rng)
        u = s.universities
        n_groups = uni_nodes.size * w.groups_per_university
        orientation = np.clip(build_rng.normal(u.orientation_mean, u.orientation_sd, n_groups), 0, 1)
        shares = np.array([f.share for f in s.fields.values()])
        self.groups = ResearchGroups(
            orientation=orientation,
            initial_orientation=orientation.copy(),
            field=build_rng.choice(shares.size, size=n_groups, p=shares / shares.sum()),
            region=np.repeat(layout.region[uni_nodes], w.groups_per_university),
            university=np.repeat(np.arange(uni_nodes.size), w.groups_per_university),
        )
        quality = np.clip(build_rng.normal(u.quality_mean, u.quality_sd, uni_nodes.size), 0.05, 1.0)
        m = s.policy.managers
        skill = np.clip(build_rng.normal(m.skill_mean, m.skill_sd, man_nodes.size), 0.0, 1.0)
        skill = founding_skill(skill, s, layout.region[man_nodes], build_rng)
        manager_field = build_rng.integers(0, shares.size, man_nodes.size)
        employed = build_rng.random(man_nodes.size) < m.university_employed_share
        employer = np.full(man_nodes.size, -1, dtype=np.int64)
        for i in np.flatnonzero(employed):
            in_region = uni_nodes[layout.region[uni_nodes] == layout.region[man_nodes[i]]]
            employer[i] = build_rng.choice(in_region)

        # ties, graph and Mesa space
        ties = build_ties(s, layout, build_rng, self.enterprises.size, employer)
        space = Network(graph_from_ties(layout, ties), random=self.random, layout=None)
        self.network = EcosystemNetwork(layout, ties, space)

        # agents, one per node
        cells = space
        self.government_agents = [Government(self, r) for r in range(R)]
        for agent, node in zip(self.government_agents, layout.nodes(NodeKind.GOVERNMENT), strict=False):
            agent.cell = cells[int(node)]
        self.governments_by_region = self.government_agents
        institutes = np.tile(np.arange(per_region[NodeKind.UNIVERSITY]) >= w.universities_per_region, R)
        self.university_agents = []
        for i, node in enumerate(uni_nodes):
            groups = slice(i * w.groups_per_university, (i + 1) * w.groups_per_university)
            agent = University(self, int(layout.region[node]), float(quality[i]), groups, bool(institutes[i]))
            agent.cell = cells[int(node)]
            self.university_agents.append(agent)
        self.university_by_node = {a.cell.coordinate: a for a in self.university_agents}
        self.university_index = {a.cell.coordinate: i for i, a in enumerate(self.university_agents)}
        self.university_disclosures_step = np.zeros(len(self.university_agents), dtype=np.int64)
        self.universities_by_region = [[a for a in self.university_agents if a.region == r] for r in range(R)]
        self.enterprise_agents = []
        for i, node in enumerate(ent_nodes):
            agent = Enterprise(self, i)
            agent.cell = cells[int(node)]
            self.enterprise_agents.append(agent)
        self.manager_agents = []
        for i, node in enumerate(man_nodes):
            agent = TechnologyManager(self, int(layout.region[node]), float(skill[i]), m.capacity,
                                      int(manager_field[i]), int(employer[i]))
            agent.cell = cells[int(node)]
            self.manager_agents.append(agent)
        self.manager_by_node = {a.cell.coordinate: a for a in self.manager_agents}
        self.managers_by_region = [[a for a in self.manager_agents if a.region == r] for r in range(R)]
        self.manager_load = np.zeros(man_nodes.size, dtype=np.int64)
        self.investor_agents = []
        for node in inv_nodes:
            agent = Investor(self, int(layout.region[node]), s.policy.finance.fund_per_investor)
            agent.cell = cells[int(node)]
            self.investor_agents.append(agent)
        self.investor_by_node = {a.cell.coordinate: a for a in self.investor_agents}
        # the funds that pay gate costs: transfer offices and enterprises' development budgets
        inflow = np.zeros(layout.n_nodes)
        inflow[uni_nodes] = u.transfer_budget_per_quarter
        inflow[ent_nodes] = self.enterprises.rd_budget_per_quarter * s.enterprises.development_budget_share
        self.funds = DevelopmentFunds(inflow, s.technology.reserve_quarters, s.technology.founding_reserve_share)

    # ------------------------------------------------------------------ the quarter

    def step(self) -> None:
        """One quarter, in the order of the ODD process overview."""
        self.accounts.reset_step()
        self.university_disclosures_step[:] = 0
        self.agents_by_type[Government].do("allocate")
        self.funds.refill()
        do_research(self)
        do_own_rnd(self)
        propose_joint_rnd(self)
        self.pipeline.mature()
        staff_turnover(self)
        self._prepare_scouting()
        scout(self)
        self.agents_by_type[Government].do("fund_proof_of_concept")
        self.agents_by_type[Government].do("hold_fair")
        prepare_investment(self)
        if self.investor_agents:
            self.agents_by_type[Investor].shuffle_do("back_projects")
        attempt_gates(self)
        self.regional_orientation = self._regional_orientation()
        self.agents_by_type[University].do("update_orientation")
        self.enterprises.forget(self.scenario.enterprises.absorptive_forgetting)
        self._evolve_network()
        self._record()

    def _regional_orientation(self) -> np.ndarray:
        g = self.groups
        regions = self.scenario.world.regions
        totals = np.bincount(g.region, weights=g.orientation, minlength=regions)
        counts = np.maximum(np.bincount(g.region, minlength=regions), 1)
        return totals / counts

    def _prepare_scouting(self) -> None:
        """Index this quarter's unmanaged university disclosures by university and by region."""
        t = self.pipeline.table
        status = t.col("status")
        open_rows = (status == Status.RESEARCH) | (status == Status.ACTIVE)
        managers = t.col("manager")
        self.manager_load[:] = 0
        carried = open_rows & (managers >= 0) & (t.col("deal_mode") == DealMode.NO_DEAL)
        if self.manager_agents:
            np.add.at(self.manager_load, managers[carried] - self.layout.offsets[NodeKind.MANAGER], 1)
        candidates = np.flatnonzero(
            open_rows & (managers < 0) & (t.col("deal_mode") == DealMode.NO_DEAL) & (t.col("owner_type") == Owner.UNIVERSITY)
        )
        self._pool_by_owner = group_rows(candidates, t.col("owner")[candidates])
        self._pool_by_region = group_rows(candidates, t.col("region")[candidates].astype(np.int64))

    def scouting_pool(self, employer: int, region: int) -> np.ndarray:
        """Unmanaged university disclosures a manager sees this quarter.

        A transfer-office manager sees all of its employer's; an independent manager sees a
        random sample of :data:`INDEPENDENT_SCOUTING_SAMPLE` of its region's (nobody reads
        every disclosure of a region, and the cost stays independent of the world's size).
        """
        if employer >= 0:
            return self._pool_by_owner.get(employer, np.zeros(0, np.int64))
        pool = self._pool_by_region.get(region, np.zeros(0, np.int64))
        if pool.size <= INDEPENDENT_SCOUTING_SAMPLE:
            return pool
        return pool[np.sort(self.rng.choice(pool.size, INDEPENDENT_SCOUTING_SAMPLE, replace=False))]

    def manager_skill(self) -> np.ndarray:
        """Skill of every manager, indexed by manager number (node − offset)."""
        return np.array([a.skill for a in self.manager_agents])

    def pick_universities(self, regions: np.ndarray) -> np.ndarray:
        """A university node for each region given, by quality; another region with the openness probability."""
        R = self.scenario.world.regions
        regions = np.asarray(regions, dtype=np.int64).copy()
        if R > 1:
            cross = self.rng.random(regions.size) < self.scenario.policy.openness.cross_region_tie_probability
            regions[cross] = (regions[cross] + self.rng.integers(1, R, cross.sum())) % R
        out = np.empty(regions.size, dtype=np.int64)
        for r in np.unique(regions):
            agents = self.universities_by_region[r]
            quality = np.array([a.quality for a in agents])
            mask = regions == r
            choice = self.rng.choice(len(agents), size=mask.sum(), p=quality / quality.sum())
            out[mask] = [agents[c].cell.coordinate for c in choice]
        return out

    def _evolve_network(self) -> None:
        if self.steps % 4 == 0:  # unused ties decay continuously; once a year the dead are
            # pruned and agents replace the contacts they lost (a network in steady state)
            self.network.prune(self.steps, self.scenario.network.prune_below)
            replenish_ties(self.scenario, self.network, self.rng, self.enterprises.size, self.steps)

    def _record(self) -> None:
        every = self.scenario.outputs.network_measures_every_quarters
        measure = self.steps == 1 or self.steps % every == 0 or self.steps == self.planned_steps
        self.recorder.record(self, measure_network=measure)
        if self.steps == self.scenario.outputs.burn_in_quarters:
            self.accounts_at_burn_in = snapshot_accounts(self.accounts)
            self.allocated_at_burn_in = sum(g.allocated for g in self.government_agents)

    # ------------------------------------------------------------------ results

    def step_table(self) -> pd.DataFrame:
        """The per-step table so far (one row per quarter)."""
        return self.recorder.frame()

    def summary(self) -> dict[str, float]:
        """The per-run summary of the quarters so far."""
        return run_summary(self, self.step_table())

    def technology_table(self) -> pd.DataFrame:
        """Every technology with its hidden value, state, gate and failure cause."""
        return self.pipeline.table.to_frame()


def fair_contact_lifetime(scenario: Scenario) -> float:
    """Quarters a fair contact stays in a technology's reach: until a fair tie of
    ``fair_tie_weight`` would have decayed below ``prune_below`` (contacts fade like ties)."""
    net = scenario.network
    return tie_lifetime(net.fair_tie_weight, net.decay_per_quarter, net.prune_below)


@dataclass
class RunResult:
    """The tables of one run.

    Attributes
    ----------
    steps : one row per quarter (columns :data:`ecosim.metrics.STEP_COLUMNS`)
    summary : the per-run metrics
    scenario : the scenario that was run
    seed : the root seed used
    version : ecosim version
    technologies : one row per technology (a property: built from the run's technology
        table on first use, because a sweep that keeps only summaries never needs it)
    """

    steps: pd.DataFrame
    summary: dict[str, float]
    scenario: Scenario
    seed: int
    technology_table: TechnologyTable = field(repr=False)
    version: str = __version__

    @cached_property
    def technologies(self) -> pd.DataFrame:
        """Every technology with its hidden value, state, gate and failure cause."""
        return self.technology_table.to_frame()


def simulate(
    scenario: Scenario,
    seed: int | None = None,
    steps: int | None = None,
    rules_file: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    extra_measures: Callable[[EcosystemModel, dict[str, float], pd.DataFrame], dict[str, float]] | None = None,
) -> RunResult:
    """Run one scenario with one root seed and return its tables.

    A pure function: the same scenario and seed give identical tables in any process.

    Parameters
    ----------
    scenario : the validated scenario
    seed : root seed; ``None`` uses ``scenario.seed`` or draws one (returned in the result)
    steps : quarters to run (default ``scenario.steps``)
    rules_file : a Python file registering extra rules
    progress : called as ``progress(done, total)`` after each quarter
    extra_measures : called as ``extra_measures(model, summary, technologies)`` at the end;
        the measures it returns are added to the summary (e.g. the facts of ``ecosim validate``)

    Examples
    --------
    >>> from ecosim.model import simulate
    >>> from ecosim.scenario import Scenario
    >>> result = simulate(Scenario(steps=8), seed=42)
    >>> len(result.steps)
    8
    """
    model = EcosystemModel(scenario, seed=seed, rules_file=rules_file)
    total = steps if steps is not None else scenario.steps
    model.planned_steps = total
    for done in range(1, total + 1):
        model.step()
        if progress is not None:
            progress(done, total)
    table = model.step_table()
    summary = run_summary(model, table)
    result = RunResult(steps=table, summary=summary, scenario=scenario, seed=model.seed,
                       technology_table=model.pipeline.table)
    if extra_measures is not None:
        summary.update(extra_measures(model, summary, result.technologies))
    return result
