"""Building, evolving and measuring the network.

Nodes are integers laid out in blocks by agent kind (governments, universities and
institutes, enterprises, technology managers, investors); the networkx graph lives inside
Mesa's ``discrete_space.Network``. Tie attributes are kept in :class:`TieTable` arrays so
that decay and reach are vectorised; the graph mirrors the living ties for measures and the
visualiser.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import networkx as nx
import numpy as np
import scipy.sparse as sp

TIE_KINDS = ("collaboration", "licence", "brokerage", "finance")


class TieKind(IntEnum):
    """What a tie is (``TIE_KINDS`` names them)."""

    COLLABORATION = 0
    LICENCE = 1
    BROKERAGE = 2
    FINANCE = 3


class NodeKind(IntEnum):
    """What kind of agent sits on a node (``NODE_KINDS`` names them); not an owner (``ecosim.pipeline.Owner``)."""

    GOVERNMENT = 0
    UNIVERSITY = 1
    ENTERPRISE = 2
    MANAGER = 3
    INVESTOR = 4

NODE_KINDS = ("government", "university", "enterprise", "technology_manager", "investor")


@dataclass
class NodeLayout:
    """Where each kind of agent sits in the node numbering, and each node's region."""

    offsets: dict[int, int]
    counts: dict[int, int]
    kind: np.ndarray  # node -> kind code
    region: np.ndarray  # node -> region

    @property
    def n_nodes(self) -> int:
        """Total number of nodes."""
        return int(self.kind.size)

    def nodes(self, kind: int) -> np.ndarray:
        """Node ids of one kind."""
        return np.arange(self.offsets[kind], self.offsets[kind] + self.counts[kind])


def make_layout(regions: int, per_region: dict[int, int]) -> NodeLayout:
    """Lay nodes out in kind blocks; within a block, region by region."""
    offsets, counts, kinds, node_regions = {}, {}, [], []
    start = 0
    for kind in (NodeKind.GOVERNMENT, NodeKind.UNIVERSITY, NodeKind.ENTERPRISE, NodeKind.MANAGER, NodeKind.INVESTOR):
        count = per_region[kind] * regions
        offsets[kind], counts[kind] = start, count
        kinds.append(np.full(count, kind, dtype=np.int8))
        node_regions.append(np.repeat(np.arange(regions, dtype=np.int16), per_region[kind]))
        start += count
    return NodeLayout(offsets, counts, np.concatenate(kinds), np.concatenate(node_regions))


class TieTable:
    """Every tie ever made, as arrays that grow by doubling; ``alive`` marks those in the graph.

    Weights decay lazily: a tie's weight now is ``weight · (1 − decay)^(now − last_used)``.
    """

    _SPEC = {
        "u": np.int64, "v": np.int64, "kind": np.int8, "weight": np.float64,
        "last_used": np.int32, "cross": np.bool_, "structural": np.bool_, "alive": np.bool_,
    }

    def __init__(self, n_nodes: int, decay: float, capacity: int = 1024):
        self.n_nodes = n_nodes
        self.decay = decay
        self.n = 0
        self._cols = {name: np.zeros(capacity, dtype) for name, dtype in self._SPEC.items()}
        self._index: dict[int, int] = {}  # u * n_nodes + v  ->  row

    def __getattr__(self, name: str) -> np.ndarray:
        cols = self.__dict__.get("_cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    def __len__(self) -> int:
        return int(self.alive.sum())

    def _grow(self, needed: int) -> None:
        capacity = max(needed, 2 * self._cols["u"].size)
        for name, column in self._cols.items():
            grown = np.zeros(capacity, column.dtype)
            grown[: self.n] = column[: self.n]
            self._cols[name] = grown

    def add_many(self, u, v, kind, weight, cross, structural, step: int = 0) -> np.ndarray:
        """Add ties in bulk (new pairs only; duplicates and self-loops dropped); returns their rows."""
        u, v = np.atleast_1d(u).astype(np.int64), np.atleast_1d(v).astype(np.int64)
        u, v = np.minimum(u, v), np.maximum(u, v)
        shape = u.shape
        kind, weight = np.broadcast_to(kind, shape), np.broadcast_to(weight, shape)
        cross, structural = np.broadcast_to(cross, shape), np.broadcast_to(structural, shape)
        key = u * self.n_nodes + v
        _, first = np.unique(key, return_index=True)
        first = np.sort(first)
        first = first[(u[first] != v[first])]
        if self._index:
            first = first[[int(k) not in self._index for k in key[first]]] if first.size else first
        k = first.size
        if self.n + k > self._cols["u"].size:
            self._grow(self.n + k)
        rows = np.arange(self.n, self.n + k)
        c = self._cols
        c["u"][rows], c["v"][rows], c["kind"][rows] = u[first], v[first], kind[first]
        c["weight"][rows], c["last_used"][rows] = weight[first], step
        c["cross"][rows], c["structural"][rows], c["alive"][rows] = cross[first], structural[first], True
        self.n += k
        self._index.update(zip(key[first].tolist(), rows.tolist(), strict=False))
        return rows

    def add_one(self, a: int, b: int, kind: int, weight: float, cross: bool, step: int) -> int:
        """Add one new tie (the caller checked it is absent); returns its row."""
        if self.n + 1 > self._cols["u"].size:
            self._grow(self.n + 1)
        u, v = min(a, b), max(a, b)
        row = self.n
        c = self._cols
        c["u"][row], c["v"][row], c["kind"][row], c["weight"][row] = u, v, kind, weight
        c["last_used"][row], c["cross"][row], c["structural"][row], c["alive"][row] = step, cross, False, True
        self.n += 1
        self._index[u * self.n_nodes + v] = row
        return row

    def current_weight(self, step: int, rows: np.ndarray | int | None = None) -> np.ndarray:
        """Weights now, after lazy decay (structural ties do not decay); all rows or ``rows``."""
        sel = slice(0, self.n) if rows is None else rows
        c = self._cols
        age = np.maximum(step - c["last_used"][sel], 0)
        decayed = c["weight"][sel] * (1.0 - self.decay) ** age
        return np.where(c["structural"][sel], c["weight"][sel], decayed)

    def find(self, a: int, b: int) -> int:
        """Row of the tie between ``a`` and ``b``, or −1."""
        return self._index.get(min(a, b) * self.n_nodes + max(a, b), -1)


class EcosystemNetwork:
    """The ties of the ecosystem: tie table, graph and Mesa space kept in step.

    Parameters
    ----------
    layout : the node numbering
    ties : the tie table (already filled by :func:`build_ties`)
    space : the Mesa ``discrete_space.Network`` whose graph mirrors the living ties
    """

    def __init__(self, layout: NodeLayout, ties: TieTable, space):
        self.layout = layout
        self.ties = ties
        self.space = space
        self.graph: nx.Graph = space.G
        self._reach: sp.csr_matrix | None = None
        self._adjacency: sp.csr_matrix | None = None
        self.ties_made = 0
        self.ties_pruned = 0

    # ---- changing ties

    def strengthen(self, a: int, b: int, kind: int, amount: float, step: int) -> bool:
        """Strengthen the tie between ``a`` and ``b`` by ``amount``, creating it if absent.

        Returns True when a new tie was made.
        """
        t = self.ties
        c = t._cols  # direct column access: this is called for every deal and fair contact
        row = t.find(a, b)
        if row >= 0 and c["alive"][row]:
            if not c["structural"][row]:
                c["weight"][row] *= (1.0 - t.decay) ** max(step - int(c["last_used"][row]), 0)
            c["weight"][row] += amount
            c["last_used"][row] = step
            if kind in (TieKind.LICENCE, TieKind.BROKERAGE) and c["kind"][row] == TieKind.COLLABORATION:
                c["kind"][row] = kind
                self.graph.edges[a, b]["kind"] = TIE_KINDS[kind]
            return False
        region = self.layout.region
        cross = bool(region[a] != region[b])
        if row >= 0:  # revive a pruned tie
            c["alive"][row], c["weight"][row], c["last_used"][row], c["kind"][row] = True, amount, step, kind
        else:
            t.add_one(a, b, kind, amount, cross, step)
        self._connect_many(np.array([a]), np.array([b]), kind)
        return True

    def strengthen_many(self, a: np.ndarray, b: np.ndarray, kind: int, amount: float, step: int) -> int:
        """:meth:`strengthen` for many pairs at once (e.g. all ties made at a fair); returns new ties.

        The same as calling :meth:`strengthen` pair by pair (a pair listed twice is strengthened
        twice), on arrays: only the lookup of each pair's row is Python.
        """
        a, b = np.asarray(a, np.int64).ravel(), np.asarray(b, np.int64).ravel()
        t, n = self.ties, self.ties.n_nodes
        u, v = np.minimum(a, b), np.maximum(a, b)
        u, v = u[u != v], v[u != v]  # a node has no tie to itself
        keys, first, count = np.unique(u * n + v, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")  # handle pairs in the order they first appear
        keys, first, added = keys[order], first[order], amount * count[order]
        u, v = u[first], v[first]
        index = t._index
        rows = np.fromiter((index.get(k, -1) for k in keys.tolist()), np.int64, keys.size)
        c = t._cols
        known = rows >= 0
        alive = np.zeros(keys.size, bool)
        alive[known] = c["alive"][rows[known]]
        # living ties: decay to now, then add
        live = rows[alive]
        age = np.maximum(step - c["last_used"][live], 0)
        decayed = np.where(c["structural"][live], c["weight"][live], c["weight"][live] * (1.0 - t.decay) ** age)
        c["weight"][live] = decayed + added[alive]
        c["last_used"][live] = step
        if kind in (TieKind.LICENCE, TieKind.BROKERAGE):
            upgraded = live[c["kind"][live] == TieKind.COLLABORATION]
            c["kind"][upgraded] = kind
            for x, y in zip(c["u"][upgraded].tolist(), c["v"][upgraded].tolist(), strict=False):
                self.graph.edges[x, y]["kind"] = TIE_KINDS[kind]
        # pruned ties come back; absent ones are made
        dead = known & ~alive
        revived = rows[dead]
        c["alive"][revived], c["weight"][revived], c["last_used"][revived], c["kind"][revived] = (
            True, added[dead], step, kind)
        absent = ~known
        if absent.any():
            cross = self.layout.region[u[absent]] != self.layout.region[v[absent]]
            t.add_many(u[absent], v[absent], kind, added[absent], cross, False, step)
        made = ~alive
        self._connect_many(u[made], v[made], kind)
        return int(made.sum())

    def _connect_many(self, u: np.ndarray, v: np.ndarray, kind: int) -> None:
        """Connect many pairs of cells and add their graph edges.

        What ``Cell.connect`` does both ways (the key is the other cell's coordinate), with each
        touched cell's neighbourhood cache cleared once rather than once per tie: at a fair in a
        large world, thousands of ties are made in one call.
        """
        if u.size == 0:
            return
        cells = self.space._cells
        u_list, v_list = u.tolist(), v.tolist()
        for x, y in zip(u_list, v_list, strict=False):
            cells[x].connections[y] = cells[y]
            cells[y].connections[x] = cells[x]
        for node in set(u_list).union(v_list):
            cells[node]._clear_cache()
        region, name = self.layout.region, TIE_KINDS[kind]
        cross = (region[u] != region[v]).tolist()
        self.graph.add_edges_from(
            (x, y, {"kind": name, "cross_region": c}) for x, y, c in zip(u_list, v_list, cross, strict=True)
        )
        self._reach = None
        self._adjacency = None
        self.ties_made += len(u_list)

    def prune(self, step: int, threshold: float) -> int:
        """Remove ties whose decayed weight fell below ``threshold``; returns how many.

        What ``Network.remove_connection`` does for each tie (both cells' connection and the
        graph edge), with each touched cell's cache cleared once.
        """
        t = self.ties
        dead = t.alive & ~t.structural & (t.current_weight(step) < threshold)
        rows = np.flatnonzero(dead)
        if rows.size == 0:
            return 0
        cells = self.space._cells
        u_list, v_list = t.u[rows].tolist(), t.v[rows].tolist()
        for x, y in zip(u_list, v_list, strict=False):
            del cells[x].connections[y]
            del cells[y].connections[x]
        for node in set(u_list).union(v_list):
            cells[node]._clear_cache()
        self.graph.remove_edges_from(zip(u_list, v_list, strict=False))
        t.alive[rows] = False
        self._reach = None
        self._adjacency = None
        self.ties_pruned += int(rows.size)
        return int(rows.size)

    # ---- reach

    def enterprise_reach(self) -> sp.csr_matrix:
        """Sparse matrix node × enterprise index: 1 where the node is tied to that enterprise."""
        if self._reach is None:
            t = self.ties
            alive = t.alive
            u, v = t.u[alive], t.v[alive]
            off = self.layout.offsets[NodeKind.ENTERPRISE]
            n_ent = self.layout.counts[NodeKind.ENTERPRISE]
            is_ent_v = self.layout.kind[v] == NodeKind.ENTERPRISE
            is_ent_u = self.layout.kind[u] == NodeKind.ENTERPRISE
            rows = np.concatenate([u[is_ent_v], v[is_ent_u]])
            cols = np.concatenate([v[is_ent_v], u[is_ent_u]]) - off
            data = np.ones(rows.size, dtype=np.float32)
            coo = sp.coo_matrix((data, (rows, cols)), shape=(self.layout.n_nodes, n_ent))
            # each (node, enterprise) pair occurs once (the tie table holds each pair once), so the
            # sort-and-sum of duplicates that tocsr() would do is skipped: rebuilt every quarter,
            # that sort was half of the rebuild; rows keep their enterprises in tie order
            coo.has_canonical_format = True
            self._reach = coo.tocsr()
        return self._reach

    def enterprise_neighbours(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (position in ``nodes``, enterprise index) for every tie from each node to an enterprise."""
        reach = self.enterprise_reach()
        indptr, indices = reach.indptr, reach.indices
        starts, ends = indptr[nodes], indptr[nodes + 1]
        sizes = ends - starts
        pos = np.repeat(np.arange(nodes.size), sizes)
        if pos.size == 0:
            return pos, np.zeros(0, np.int64)
        offsets = np.arange(pos.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        return pos, indices[np.repeat(starts, sizes) + offsets].astype(np.int64)

    # ---- measures

    def density(self) -> float:
        """Living ties over possible ties."""
        n = self.layout.n_nodes
        return 2.0 * len(self.ties) / (n * (n - 1)) if n > 1 else 0.0

    def adjacency(self) -> sp.csr_matrix:
        """Symmetric 0/1 adjacency matrix of the living ties."""
        if self._adjacency is None:
            t = self.ties
            u, v = t.u[t.alive], t.v[t.alive]
            n = self.layout.n_nodes
            data = np.ones(2 * u.size)
            self._adjacency = sp.csr_matrix((data, (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(n, n))
        return self._adjacency

    def manager_betweenness(self, samples: int, rng: np.random.Generator) -> float:
        """Mean normalised betweenness of technology managers, from ``samples`` random sources.

        Brandes' dependencies from the sampled sources, scaled by ``n / k`` (the usual sampling
        estimator), on sparse matrices (:func:`sampled_betweenness`); with every node as a
        source it equals networkx's exact ``betweenness_centrality(G, normalized=True)``.
        """
        managers = self.layout.nodes(NodeKind.MANAGER)
        n = self.layout.n_nodes
        if managers.size == 0 or len(self.ties) == 0 or n < 3:
            return 0.0
        sources = rng.choice(n, size=min(samples, n), replace=False)
        return float(sampled_betweenness(self.adjacency(), sources)[managers].mean())

    def cross_region_share(self) -> float:
        """Share of living ties that cross regions."""
        alive = self.ties.alive
        return float(self.ties.cross[alive].mean()) if alive.any() else 0.0


def tie_lifetime(weight: float, decay: float, prune_below: float) -> float:
    """Quarters an unused tie of ``weight`` lives before its decayed weight falls below ``prune_below``.

    Examples
    --------
    >>> round(tie_lifetime(1.0, 0.03, 0.05), 1)
    98.4
    """
    if weight <= prune_below:
        return 0.0
    if decay <= 0:
        return float("inf")
    if decay >= 1:
        return 0.0
    return float(np.log(prune_below / weight) / np.log(1.0 - decay))


def age_founding_ties(ties: TieTable, lifetime: float, rng: np.random.Generator) -> None:
    """Give the founding world's decaying ties the ages of a network in steady state.

    In a network whose dead ties are replaced (:func:`replenish_ties`), an unused tie's time
    since last use is spread evenly over its lifetime. Founding ties all made at quarter 0
    would instead die together one lifetime later (≈ quarter 98 at the defaults) — a cliff
    in the network in the middle of a long run — so each is given a last use drawn
    uniformly from the lifetime before the start.
    """
    aged = np.flatnonzero(~ties.structural)
    if aged.size and np.isfinite(lifetime) and lifetime >= 1:
        ties.last_used[aged] = -rng.integers(0, int(lifetime), aged.size)


def build_ties(scenario, layout: NodeLayout, rng: np.random.Generator, enterprise_size: np.ndarray,
               manager_employer: np.ndarray) -> TieTable:
    """Make the initial ties, seeded from ``rng`` (networkx generators too).

    - government – its universities (finance, structural);
    - enterprise – enterprise: a Barabási–Albert graph per region, each tie rewired to another
      region with the openness probability (collaboration);
    - university – enterprise collaboration ties, chosen in proportion to enterprise size;
    - manager – employer (brokerage, structural) and manager – enterprise contacts (brokerage);
    - investor – universities and enterprises of its region (finance).
    """
    w, pol, net = scenario.world, scenario.policy, scenario.network
    openness = pol.openness.cross_region_tie_probability
    R = w.regions
    ties = TieTable(layout.n_nodes, net.decay_per_quarter)
    gov, uni, ent = layout.nodes(NodeKind.GOVERNMENT), layout.nodes(NodeKind.UNIVERSITY), layout.nodes(NodeKind.ENTERPRISE)
    man, inv = layout.nodes(NodeKind.MANAGER), layout.nodes(NodeKind.INVESTOR)
    region = layout.region
    ent_region = region[ent]
    by_region = [ent[ent_region == r] for r in range(R)]
    weights_by_region = [enterprise_size[ent_region == r] for r in range(R)]

    def pick_enterprises(home: np.ndarray, k: int | np.ndarray, proportional: bool) -> tuple[np.ndarray, np.ndarray]:
        return pick_enterprises_by_region(home, k, openness, by_region, weights_by_region, proportional, rng)

    # government – universities
    ties.add_many(gov[region[uni]], uni, TieKind.FINANCE, 1.0, False, True)
    # enterprise – enterprise
    m = scenario.enterprises.ties_per_enterprise
    for r in range(R):
        nodes = by_region[r]
        if m == 0 or nodes.size <= m:
            continue
        graph = nx.barabasi_albert_graph(nodes.size, m, seed=int(rng.integers(2**31)))
        edges = np.array(graph.edges(), dtype=np.int64).reshape(-1, 2)
        a, b = nodes[edges[:, 0]], nodes[edges[:, 1]]
        if R > 1:
            cross = rng.random(b.size) < openness
            other = (r + rng.integers(1, R, cross.sum())) % R
            sizes = np.array([by_region[x].size for x in other])
            ok = sizes > 0
            idx = np.flatnonzero(cross)[ok]
            b[idx] = [by_region[x][rng.integers(by_region[x].size)] for x in other[ok]]
        ties.add_many(a, b, TieKind.COLLABORATION, 1.0, region[a] != region[b], False)
    # university – enterprise
    k = scenario.enterprises.university_ties_per_university + scenario.enterprises.founding_deal_ties_per_university
    if k and uni.size:
        src, target = pick_enterprises(region[uni], k, proportional=True)
        a = uni[src]
        ties.add_many(a, target, TieKind.COLLABORATION, 1.0, region[a] != region[target], False)
    # managers: employer and contacts
    if man.size:
        employed = manager_employer >= 0
        ties.add_many(man[employed], manager_employer[employed], TieKind.BROKERAGE, 1.0, False, True)
        k = pol.managers.contacts
        if k:
            src, target = pick_enterprises(region[man], k, proportional=True)
            a = man[src]
            ties.add_many(a, target, TieKind.BROKERAGE, 1.0, region[a] != region[target], False)
        k = pol.managers.investor_contacts
        if k and inv.size:
            for r in range(R):
                mine, theirs = man[region[man] == r], inv[region[inv] == r]
                if mine.size and theirs.size:
                    a = np.repeat(mine, min(k, theirs.size))
                    b = np.concatenate([rng.choice(theirs, min(k, theirs.size), replace=False) for _ in mine])
                    ties.add_many(a, b, TieKind.FINANCE, 1.0, False, False)
    # investors
    k = net.investor_ties
    if inv.size and k:
        pool = [np.concatenate([uni[region[uni] == r], by_region[r]]) for r in range(R)]
        for node in inv:
            candidates = pool[region[node]]
            if candidates.size:
                chosen = rng.choice(candidates, size=min(k, candidates.size), replace=False)
                ties.add_many(np.full(chosen.size, node), chosen, TieKind.FINANCE, 1.0, False, False)
    age_founding_ties(ties, tie_lifetime(1.0, net.decay_per_quarter, net.prune_below), rng)
    return ties


def pick_enterprises_by_region(home: np.ndarray, k: int | np.ndarray, openness: float, by_region: list[np.ndarray],
                               weights_by_region: list[np.ndarray], proportional: bool,
                               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``k`` enterprises (or ``k[i]`` for source ``i``) for each home region; another region with ``openness``.

    Returns (source position, enterprise node) pairs; enterprises are picked in proportion
    to their size when ``proportional``.
    """
    R = len(by_region)
    src = np.repeat(np.arange(home.size), k)
    target_region = home[src].astype(np.int64)
    if R > 1:
        cross = rng.random(src.size) < openness
        target_region[cross] = (target_region[cross] + rng.integers(1, R, cross.sum())) % R
    out = np.empty(src.size, np.int64)
    for r in range(R):
        mask = target_region == r
        if not mask.any():
            continue
        if by_region[r].size == 0:
            fallback = next((b for b in by_region if b.size), None)
            out[mask] = fallback[0] if fallback is not None else -1
            continue
        p = weights_by_region[r] / weights_by_region[r].sum() if proportional else None
        out[mask] = rng.choice(by_region[r], size=mask.sum(), p=p)
    return src, out


def replenish_ties(scenario, network: EcosystemNetwork, rng: np.random.Generator, enterprise_size: np.ndarray,
                   step: int) -> int:
    """Agents replace the contacts that decayed away, so the network keeps its size in a long run.

    Each enterprise keeps at least ``ties_per_enterprise`` ties to other enterprises, each
    university and institute ``university_ties_per_university`` ties to enterprises, each
    manager ``contacts`` enterprise contacts and ``investor_contacts`` investors, each investor
    ``investor_ties`` ties: a node below its number makes new ties up to it, chosen as at the
    start (enterprises in proportion to their size, in another region with the openness
    probability). Returns the number of ties made.
    """
    layout, ties = network.layout, network.ties
    pol, region = scenario.policy, layout.region
    R = scenario.world.regions
    ent = layout.nodes(NodeKind.ENTERPRISE)
    ent_region = region[ent]
    by_region = [ent[ent_region == r] for r in range(R)]
    weights = [enterprise_size[ent_region == r] for r in range(R)]
    alive = ties.alive
    u, v = ties.u[alive], ties.v[alive]
    kind = layout.kind
    n = layout.n_nodes

    def degree_to(target_kind: int) -> np.ndarray:
        to_u, to_v = kind[v] == target_kind, kind[u] == target_kind
        return np.bincount(np.concatenate([u[to_u], v[to_v]]), minlength=n)

    made = 0
    to_enterprises = degree_to(NodeKind.ENTERPRISE)
    for nodes, target, tie_kind in (
        (ent, scenario.enterprises.ties_per_enterprise, TieKind.COLLABORATION),
        (layout.nodes(NodeKind.UNIVERSITY), scenario.enterprises.university_ties_per_university, TieKind.COLLABORATION),
        (layout.nodes(NodeKind.MANAGER), pol.managers.contacts, TieKind.BROKERAGE),
    ):
        deficit = np.maximum(target - to_enterprises[nodes], 0)
        if nodes.size == 0 or not deficit.any():
            continue
        src, chosen = pick_enterprises_by_region(region[nodes], deficit, pol.openness.cross_region_tie_probability,
                                                 by_region, weights, True, rng)
        ok = chosen >= 0
        made += network.strengthen_many(nodes[src][ok], chosen[ok], tie_kind, 1.0, step)
    investors = layout.nodes(NodeKind.INVESTOR)
    managers = layout.nodes(NodeKind.MANAGER)
    if investors.size:
        to_investors = degree_to(NodeKind.INVESTOR)
        k = pol.managers.investor_contacts
        for r in range(R):
            theirs = investors[region[investors] == r]
            mine = managers[region[managers] == r]
            if not theirs.size or not mine.size or not k:
                continue
            deficit = np.maximum(min(k, theirs.size) - to_investors[mine], 0)
            if deficit.any():
                a = np.repeat(mine, deficit)
                made += network.strengthen_many(a, rng.choice(theirs, a.size), TieKind.FINANCE, 1.0, step)
        degree = np.bincount(np.concatenate([u, v]), minlength=n)
        uni = layout.nodes(NodeKind.UNIVERSITY)
        for node in investors[degree[investors] < scenario.network.investor_ties].tolist():
            pool = np.concatenate([uni[region[uni] == region[node]], by_region[region[node]]])
            if pool.size:
                want = min(scenario.network.investor_ties - int(degree[node]), pool.size)
                made += network.strengthen_many(np.full(want, node), rng.choice(pool, want, replace=False),
                                                TieKind.FINANCE, 1.0, step)
    return made


def graph_from_ties(layout: NodeLayout, ties: TieTable) -> nx.Graph:
    """A networkx graph of all nodes (kind, region) and living ties (kind, cross_region)."""
    graph = nx.Graph()
    graph.add_nodes_from(
        (int(n), {"kind": NODE_KINDS[k], "region": int(r)})
        for n, k, r in zip(range(layout.n_nodes), layout.kind, layout.region, strict=False)
    )
    alive = ties.alive
    graph.add_edges_from(
        (u, v, {"kind": TIE_KINDS[k], "cross_region": c})
        for u, v, k, c in zip(ties.u[alive].tolist(), ties.v[alive].tolist(), ties.kind[alive].tolist(),
                              ties.cross[alive].tolist(), strict=True)
    )
    return graph


def sampled_betweenness(adjacency: sp.csr_matrix, sources: np.ndarray) -> np.ndarray:
    """Brandes' betweenness from the given sources, on a symmetric unweighted adjacency matrix.

    All sources are searched at once, level by level, with sparse matrix products (the
    breadth-first search and the dependency accumulation of Brandes 2001). Returns the
    normalised estimate ``Σ_s δ_s(v) · n / (k (n − 1)(n − 2))`` for ``k = len(sources)``;
    with every node as a source this is networkx's exact normalised betweenness.
    """
    n, k = adjacency.shape[0], len(sources)
    cols = np.arange(k)
    dist = np.full((n, k), -1, dtype=np.int32)
    sigma = np.zeros((n, k))
    dist[sources, cols] = 0
    sigma[sources, cols] = 1.0
    frontier = sigma.copy()
    depth = 0
    while True:
        reached = adjacency @ frontier
        new = (dist < 0) & (reached > 0)
        if not new.any():
            break
        depth += 1
        dist[new] = depth
        sigma[new] = reached[new]
        frontier = np.where(new, sigma, 0.0)
    delta = np.zeros((n, k))
    for d in range(depth, 0, -1):
        at_d = dist == d
        coefficient = np.where(at_d, (1.0 + delta) / np.where(at_d, sigma, 1.0), 0.0)
        pulled = adjacency @ coefficient
        parent = dist == d - 1
        delta += np.where(parent, sigma * pulled, 0.0)
    delta[sources, cols] = 0.0
    scale = n / (k * (n - 1) * (n - 2)) if n > 2 else 0.0
    return delta.sum(axis=1) * scale
