"""The network: layout, tie table, decay and pruning, reach, measures, and the Mesa space in step."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mesa.discrete_space import Network

from conftest import small_scenario
from ecosim.model import EcosystemModel
from ecosim.network import (
    EcosystemNetwork,
    NodeKind,
    TieKind,
    TieTable,
    build_ties,
    graph_from_ties,
    make_layout,
    replenish_ties,
    sampled_betweenness,
    tie_lifetime,
)

PER_REGION = {NodeKind.GOVERNMENT: 1, NodeKind.UNIVERSITY: 2, NodeKind.ENTERPRISE: 4, NodeKind.MANAGER: 1, NodeKind.INVESTOR: 1}


def small_network(decay: float = 0.1) -> EcosystemNetwork:
    layout = make_layout(2, PER_REGION)
    ties = TieTable(layout.n_nodes, decay)
    space = Network(graph_from_ties(layout, ties), random=random.Random(0), layout=None)
    return EcosystemNetwork(layout, ties, space)


def graph_edges(net: EcosystemNetwork) -> set[tuple[int, int]]:
    return {(min(u, v), max(u, v)) for u, v in net.graph.edges()}


def alive_ties(net: EcosystemNetwork) -> set[tuple[int, int]]:
    t = net.ties
    return {(int(u), int(v)) for u, v in zip(t.u[t.alive], t.v[t.alive], strict=True)}


def test_layout_puts_kinds_in_blocks_region_by_region():
    layout = make_layout(2, PER_REGION)
    assert layout.n_nodes == 2 * 9
    assert list(layout.nodes(NodeKind.GOVERNMENT)) == [0, 1]
    assert list(layout.nodes(NodeKind.UNIVERSITY)) == [2, 3, 4, 5]
    assert list(layout.region[layout.nodes(NodeKind.UNIVERSITY)]) == [0, 0, 1, 1]
    assert list(layout.kind[layout.nodes(NodeKind.ENTERPRISE)]) == [NodeKind.ENTERPRISE] * 8
    assert layout.offsets[NodeKind.INVESTOR] + layout.counts[NodeKind.INVESTOR] == layout.n_nodes


def test_tie_table_drops_duplicates_and_self_loops_and_orders_pairs():
    ties = TieTable(10, 0.1)
    rows = ties.add_many([3, 1, 5, 2], [1, 3, 5, 7], TieKind.COLLABORATION, 1.0, False, False)
    assert rows.size == 2
    assert {(int(u), int(v)) for u, v in zip(ties.u, ties.v, strict=True)} == {(1, 3), (2, 7)}
    assert ties.add_many([7], [2], TieKind.LICENCE, 1.0, False, False).size == 0  # already there
    assert ties.find(7, 2) == ties.find(2, 7) >= 0
    assert ties.find(4, 5) == -1
    assert len(ties) == 2


def test_unused_ties_decay_and_structural_ties_do_not():
    ties = TieTable(10, 0.1)
    ties.add_many([0, 2], [1, 3], TieKind.FINANCE, 2.0, False, [True, False], step=0)
    np.testing.assert_allclose(ties.current_weight(3), [2.0, 2.0 * 0.9**3])


def test_deal_strengthens_an_existing_tie_after_decay():
    net = small_network(decay=0.5)
    net.ties.add_many([2], [6], TieKind.COLLABORATION, 1.0, False, False, step=0)
    net.graph.add_edge(2, 6)
    assert net.strengthen(2, 6, TieKind.LICENCE, 0.5, step=2) is False
    row = net.ties.find(2, 6)
    assert net.ties.weight[row] == pytest.approx(0.25 + 0.5)
    assert net.ties.kind[row] == TieKind.LICENCE  # a licence upgrades a collaboration tie
    assert net.graph.edges[2, 6]["kind"] == "licence"


def test_strengthen_creates_a_tie_in_the_graph_and_the_mesa_space():
    net = small_network()
    a, b = int(net.layout.nodes(NodeKind.UNIVERSITY)[0]), int(net.layout.nodes(NodeKind.ENTERPRISE)[7])
    assert net.strengthen(a, b, TieKind.BROKERAGE, 0.7, step=1) is True
    assert net.graph.has_edge(a, b)
    assert net.graph.edges[a, b]["cross_region"] is True  # university 0 is in region 0, enterprise 7 in region 1
    assert net.space[b] in net.space[a].connections.values()
    assert alive_ties(net) == graph_edges(net)


def test_pruning_removes_weak_ties_everywhere_and_a_deal_revives_them():
    net = small_network(decay=0.5)
    for a, b in [(2, 6), (3, 7)]:
        net.strengthen(a, b, TieKind.COLLABORATION, 1.0, step=0)
    net.strengthen(3, 7, TieKind.COLLABORATION, 1.0, step=3)  # kept fresh
    assert net.prune(step=4, threshold=0.1) == 1
    assert not net.graph.has_edge(2, 6) and net.graph.has_edge(3, 7)
    assert alive_ties(net) == graph_edges(net)
    assert net.space[6] not in net.space[2].connections.values()
    assert net.strengthen(2, 6, TieKind.LICENCE, 0.5, step=5) is True
    assert net.graph.has_edge(2, 6) and alive_ties(net) == graph_edges(net)


def test_structural_ties_are_never_pruned():
    net = small_network(decay=0.9)
    net.ties.add_many([0], [2], TieKind.FINANCE, 1.0, False, True)
    net.graph.add_edge(0, 2)
    assert net.prune(step=100, threshold=0.5) == 0
    assert net.graph.has_edge(0, 2)


def test_enterprise_reach_lists_each_nodes_enterprise_neighbours():
    net = small_network()
    e = net.layout.nodes(NodeKind.ENTERPRISE)
    net.strengthen(2, int(e[0]), TieKind.COLLABORATION, 1.0, 0)
    net.strengthen(2, int(e[3]), TieKind.COLLABORATION, 1.0, 0)
    net.strengthen(3, 2, TieKind.COLLABORATION, 1.0, 0)  # university–university: not reach
    net.strengthen(int(e[5]), 4, TieKind.COLLABORATION, 1.0, 0)
    pos, ent = net.enterprise_neighbours(np.array([4, 2, 3]))
    assert sorted(zip(pos.tolist(), ent.tolist(), strict=True)) == [(0, 5), (1, 0), (1, 3)]


def test_density_counts_living_ties_over_possible_pairs():
    net = small_network()
    for a, b in [(2, 6), (3, 7), (4, 8)]:
        net.strengthen(a, b, TieKind.COLLABORATION, 1.0, 0)
    n = net.layout.n_nodes
    assert net.density() == pytest.approx(3 / (n * (n - 1) / 2))
    assert net.density() == pytest.approx(nx.density(net.graph))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampled_betweenness_from_all_sources_equals_networkx(seed):
    graph = nx.connected_watts_strogatz_graph(40, 4, 0.3, seed=seed)
    adjacency = nx.to_scipy_sparse_array(graph, nodelist=range(40), format="csr").astype(float)
    ours = sampled_betweenness(adjacency, np.arange(40))
    exact = nx.betweenness_centrality(graph, normalized=True)
    np.testing.assert_allclose(ours, [exact[i] for i in range(40)], atol=1e-12)


def test_sampled_betweenness_matches_networkx_for_the_same_sources():
    graph = nx.barabasi_albert_graph(60, 2, seed=5)
    adjacency = nx.to_scipy_sparse_array(graph, nodelist=range(60), format="csr").astype(float)
    sources = np.array([3, 17, 42, 8])
    ours = sampled_betweenness(adjacency, sources)
    theirs = nx.betweenness_centrality_subset(graph, sources=list(sources), targets=list(graph), normalized=False)
    scale = 60 / (4 * 59 * 58)
    # networkx's subset version halves undirected counts; the sampled estimator does not
    np.testing.assert_allclose(ours, [2 * theirs[i] * scale for i in range(60)], atol=1e-12)


def test_initial_ties_are_seeded_and_respect_openness():
    scenario = small_scenario(policy__openness__cross_region_tie_probability=0.0)
    model = EcosystemModel(scenario, seed=1)
    layout = model.layout
    first = build_ties(scenario, layout, np.random.default_rng(5), model.enterprises.size, np.full(10, -1))
    again = build_ties(scenario, layout, np.random.default_rng(5), model.enterprises.size, np.full(10, -1))
    np.testing.assert_array_equal(first.u, again.u)
    np.testing.assert_array_equal(first.v, again.v)
    assert not first.cross.any()
    assert (layout.region[first.u] == layout.region[first.v]).all()
    np.testing.assert_array_equal(first.cross, layout.region[first.u] != layout.region[first.v])


def test_every_government_is_tied_to_its_own_universities(tiny_model):
    layout, ties = tiny_model.layout, tiny_model.network.ties
    for gov in layout.nodes(NodeKind.GOVERNMENT):
        for uni in layout.nodes(NodeKind.UNIVERSITY):
            tied = ties.find(int(gov), int(uni)) >= 0
            assert tied == (layout.region[gov] == layout.region[uni])


def test_graph_and_mesa_space_mirror_the_living_ties_after_a_run(tiny_model):
    net = tiny_model.network
    assert alive_ties(net) == graph_edges(net)
    assert net.space.G is net.graph
    assert set(net.graph.nodes) == set(range(tiny_model.layout.n_nodes))
    t = net.ties
    np.testing.assert_array_equal(t.cross, tiny_model.layout.region[t.u] != tiny_model.layout.region[t.v])


def test_every_agent_sits_on_its_own_node(tiny_model):
    agents = (tiny_model.government_agents + tiny_model.university_agents + tiny_model.enterprise_agents
              + tiny_model.manager_agents + tiny_model.investor_agents)
    nodes = [a.cell.coordinate for a in agents]
    assert sorted(nodes) == list(range(tiny_model.layout.n_nodes))
    assert len(tiny_model.agents) == tiny_model.layout.n_nodes


def _mesa_edges(net: EcosystemNetwork) -> set[tuple[int, int]]:
    """Pairs connected in Mesa's cells (each must be connected both ways)."""
    edges = set()
    for node, cell in net.space._cells.items():
        for other in cell.connections.values():
            assert net.space[node] in other.connections.values(), f"{node}–{other.coordinate} one way only"
            edges.add((min(node, other.coordinate), max(node, other.coordinate)))
    return edges


def _tie_state(net: EcosystemNetwork) -> dict[tuple[int, int], tuple]:
    t = net.ties
    return {(int(t.u[r]), int(t.v[r])): (bool(t.alive[r]), int(t.kind[r]), int(t.last_used[r]), round(float(t.weight[r]), 12))
            for r in range(t.n)}


pairs = st.lists(st.tuples(st.integers(2, 17), st.integers(2, 17)), min_size=0, max_size=25)


@settings(max_examples=60, deadline=None)
@given(before=pairs, batch=pairs, kind=st.sampled_from([TieKind.COLLABORATION, TieKind.LICENCE, TieKind.BROKERAGE]))
def test_strengthening_many_pairs_at_once_equals_one_by_one(before, batch, kind):
    """strengthen_many (a fair's ties) leaves tie table, graph and Mesa cells as pair-by-pair
    strengthen does: repeated pairs, living, pruned and absent ties alike."""
    nets = [small_network(decay=0.3), small_network(decay=0.3)]
    for net in nets:
        for a, b in before:
            if a != b:
                net.strengthen(a, b, TieKind.COLLABORATION, 1.0, step=0)
        net.prune(step=6, threshold=0.5)  # some of them come back below
    one, many = nets
    made_one = sum(one.strengthen(a, b, kind, 0.4, step=7) for a, b in batch if a != b)
    made_many = many.strengthen_many(np.array([a for a, _ in batch], np.int64),
                                     np.array([b for _, b in batch], np.int64), kind, 0.4, step=7)
    assert made_many == made_one
    assert _tie_state(many) == _tie_state(one)
    assert graph_edges(many) == graph_edges(one) == alive_ties(many) == _mesa_edges(many)
    assert {e: many.graph.edges[e]["kind"] for e in graph_edges(many)} == {
        e: one.graph.edges[e]["kind"] for e in graph_edges(one)}


def test_pruning_keeps_mesa_cells_graph_and_tie_table_in_step():
    net = small_network(decay=0.5)
    e = [int(x) for x in net.layout.nodes(NodeKind.ENTERPRISE)]
    net.strengthen_many(np.array([2, 2, 3, e[0]]), np.array([e[1], e[2], e[3], e[4]]), TieKind.COLLABORATION, 1.0, step=0)
    net.strengthen(2, e[1], TieKind.COLLABORATION, 1.0, step=3)  # kept fresh
    neighbours_before = set(net.space[2].neighborhood.cells)  # fills Mesa's cache
    assert net.prune(step=4, threshold=0.1) == 3
    assert graph_edges(net) == alive_ties(net) == _mesa_edges(net) == {(2, e[1])}
    assert set(net.space[2].neighborhood.cells) == {net.space[e[1]]} != neighbours_before  # cache cleared


def test_founding_ties_have_steady_state_ages_and_do_not_die_together():
    scenario = small_scenario()
    model = EcosystemModel(scenario, seed=3)
    t, net = model.network.ties, scenario.network
    lifetime = tie_lifetime(1.0, net.decay_per_quarter, net.prune_below)
    assert (t.last_used[t.structural] == 0).all()
    ages = -t.last_used[~t.structural].astype(np.int64)
    assert ages.min() >= 0 and ages.max() < lifetime
    # without use or replacement, the founding ties leave a few at each yearly check, not all at once
    founding = int((~t.structural).sum())
    pruned = [model.network.prune(step, net.prune_below) for step in range(4, 4 * int(lifetime // 4) + 8, 4)]
    assert sum(pruned) == founding
    assert max(pruned) < 0.12 * founding, pruned


def test_tie_lifetime_is_the_quarters_until_an_unused_tie_falls_below_the_threshold():
    life = tie_lifetime(1.0, 0.03, 0.05)
    assert 0.97 ** np.floor(life) >= 0.05 > 0.97 ** np.ceil(life)
    assert tie_lifetime(0.05, 0.03, 0.05) == 0.0
    assert tie_lifetime(1.0, 0.0, 0.05) == float("inf")


def test_replenishment_gives_every_enterprise_its_enterprise_ties_back():
    scenario = small_scenario()
    model = EcosystemModel(scenario, seed=4)
    network, m = model.network, scenario.enterprises.ties_per_enterprise
    network.prune(10_000, scenario.network.prune_below)  # every tie that can decay is gone
    kind = model.layout.kind
    enterprises = model.layout.nodes(NodeKind.ENTERPRISE)

    def enterprise_degree() -> np.ndarray:
        t = network.ties
        u, v = t.u[t.alive], t.v[t.alive]
        both = (kind[u] == NodeKind.ENTERPRISE) & (kind[v] == NodeKind.ENTERPRISE)
        return np.bincount(np.concatenate([u[both], v[both]]), minlength=model.layout.n_nodes)[enterprises]

    assert enterprise_degree().sum() == 0
    replenish_ties(scenario, network, np.random.default_rng(1), model.enterprises.size, 10_000)
    degree = enterprise_degree()
    assert (degree >= m).mean() > 0.9 and degree.min() >= m - 2
    assert alive_ties(network) == graph_edges(network)


def test_founding_universities_carry_the_ties_of_their_past_deals():
    def university_ties(extra: int) -> float:
        model = EcosystemModel(small_scenario(enterprises__founding_deal_ties_per_university=extra), seed=5)
        t, kind = model.network.ties, model.layout.kind
        u, v = t.u[t.alive], t.v[t.alive]
        tied = ((kind[u] == NodeKind.UNIVERSITY) & (kind[v] == NodeKind.ENTERPRISE)) | (
            (kind[v] == NodeKind.UNIVERSITY) & (kind[u] == NodeKind.ENTERPRISE))
        return tied.sum() / model.layout.nodes(NodeKind.UNIVERSITY).size

    base = small_scenario().enterprises.university_ties_per_university
    assert university_ties(0) <= base
    assert university_ties(20) > university_ties(0) + 5  # draws with replacement among 60 enterprises a region
