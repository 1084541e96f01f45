"""One quarter's gate attempts: funding, matching with partners, deals, market entry, failure.

All technologies due this quarter are handled together on arrays; only the deals (a few per
quarter) touch agents one by one: the adopter's tie, the manager's learning, the
university's income.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ecosim.network import NodeKind, TieKind
from ecosim.pipeline import (
    GATE_END_TRL,
    Cause,
    DealMode,
    Owner,
    Status,
    appraisal_sigma,
    funding_probability,
    gate_outcomes,
    matching_probability,
    raised_fit,
)
from ecosim.rules import get_rule
from ecosim.rules.adoption import AdoptionCandidates
from ecosim.rules.partner_search import SearchInputs

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel

HOLDER_WEIGHT = 5.0  # an enterprise weighs its own (or its joint project's) technology this much more
LICENCE_SHARE_OF_SALES = 0.7  # licences vs assignments among sales to other enterprises
INVESTOR_PAYS = (0, 1, 2)  # gates (G1–G3) where a backing investor pays a share of the cost
POC_GATES = (0, 1)  # gates (G1, G2) where a PoC grant pays toward the cost
MIN_PAYER_SHARE = 0.05  # whoever else pays, the payer carries at least this share of a gate's cost


def attempt_gates(model: EcosystemModel) -> None:
    """Attempt the gate of every technology due this quarter and apply the outcomes.

    In the order the work happens: who pays (outside money first, then the payer's fund, in
    order of what the payer believes each technology is worth), whether the paid work
    succeeds technically, and whether a viable technology finds a partner.
    """
    s, t, rng = model.scenario, model.pipeline.table, model.rng
    tech = s.technology
    rows = model.pipeline.due()
    if rows.size == 0:
        return
    now = model.steps
    gate = t.col("gate")[rows].astype(np.int64)
    field = t.col("field")[rows].astype(np.int64)
    untransferred = t.col("deal_mode")[rows] == DealMode.NO_DEAL
    owner_type = t.col("owner_type")[rows]
    t.col("entered_g1")[rows[gate == 0]] = True
    t.col("attempts")[rows] += 1

    # F: outside money lowers the payer's share; the payer is willing with a logistic chance
    # in ln(believed value / its share) and pays, best first, while its fund lasts
    # outside money (the grant first, then the investor) pays at most all but the payer's minimum share
    cost = model.pipeline.gate_cost[gate]
    outside_cap = (1.0 - MIN_PAYER_SHARE) * cost
    grant = np.where(np.isin(gate, POC_GATES), np.minimum(t.col("grant_left")[rows], outside_cap), 0.0)
    investor = t.col("investor")[rows]
    backed = (investor >= 0) & np.isin(gate, INVESTOR_PAYS)
    investor_share = np.zeros(rows.size)
    reserved: dict[int, float] = {}
    for i in np.flatnonzero(backed):  # an investor commits its share only while its fund holds it
        node = int(investor[i])
        share = min(s.policy.finance.investment_share * cost[i], outside_cap[i] - grant[i])
        if model.investor_by_node[node].fund - reserved.get(node, 0.0) >= share:
            investor_share[i] = share
            reserved[node] = reserved.get(node, 0.0) + share
    payer_share = cost - grant - investor_share
    holder_class = np.where(untransferred, np.minimum(owner_type, 2), 2)  # after a deal an enterprise holds it
    believed = model.pipeline.believed_value(rows)
    willing = rng.random(rows.size) < funding_probability(
        believed, payer_share, np.asarray(tech.funding_intercept)[holder_class], tech.funding_slope
    )
    payer = payer_of(model, rows, untransferred)
    funded = np.zeros(rows.size, dtype=bool)
    spin_off = model.layout.kind[payer] == NodeKind.INVESTOR  # a spin-off's development is its investor's
    by_fund = willing & ~spin_off
    funded[by_fund] = model.funds.pay_in_order(payer[by_fund], believed[by_fund] / payer_share[by_fund],
                                               payer_share[by_fund])
    candidates = np.flatnonzero(willing & spin_off)
    for i in candidates[np.argsort(-believed[candidates] / payer_share[candidates], kind="stable")]:
        node = int(payer[i])
        backer = model.investor_by_node[node]
        if backer.fund - reserved.get(node, 0.0) >= payer_share[i]:
            funded[i] = backer.pay(float(payer_share[i]))
    np.add.at(model.accounts.unwilling, holder_class[~willing], 1)
    np.add.at(model.accounts.fund_short, holder_class[willing & ~funded], 1)
    for i in np.flatnonzero(funded & (investor_share > 0)):  # (committed above, so the fund holds it)
        paid = model.investor_by_node[int(investor[i])].pay(float(investor_share[i]))
        assert paid, "an investor's committed share must be in its fund"
    t.col("grant_left")[rows[funded]] -= grant[funded]
    t.col("spent")[rows[funded]] += (payer_share + grant + investor_share)[funded]
    t.col("spent_by_payer")[rows[funded]] += payer_share[funded]
    np.add.at(model.accounts.gate_spending, holder_class[funded], payer_share[funded])

    # T: the hidden technical viability drawn at birth
    viable = t.viability[rows, gate] < model.pipeline.technical_success[field, gate]

    # M: partners among reachable enterprises, unless a spin-off investor backs it (the
    # investor is the partner). A PoC grant buys proof of concept, not a partner.
    no_partner_needed = untransferred & (investor >= 0) & (owner_type != Owner.ENTERPRISE)
    searching = np.flatnonzero(funded & viable & ~no_partner_needed)
    pair_pos, pair_ent, contribution = _reach_and_contribution(model, rows[searching], untransferred[searching])
    matching = np.ones(rows.size)
    matching[searching] = matching_probability(pair_pos, contribution, searching.size, tech.matching_lambda)
    matched = rng.random(rows.size) < matching

    outcome = gate_outcomes(funded, viable, matched)
    passed = outcome.passed
    searched_by = np.minimum(owner_type[searching], 2).astype(np.int64)
    np.add.at(model.accounts.partner_searches, searched_by, 1)
    np.add.at(model.accounts.partner_search_failures, searched_by[outcome.cause[searching] == Cause.MATCHING], 1)

    # deals for untransferred technologies that passed
    deal_rows = np.flatnonzero(passed & untransferred)
    if deal_rows.size:
        _make_deals(model, rows, deal_rows, searching, pair_pos, pair_ent, contribution)

    # advance the ones that passed
    advanced = rows[passed]
    new_gate = gate[passed] + 1
    t.col("trl")[advanced] = GATE_END_TRL[gate[passed]]
    t.col("gate")[advanced] = new_gate
    t.col("waiting_since")[advanced] = -1
    t.col("entered_g3")[advanced[new_gate == 2]] = True
    at_market = advanced[new_gate == 4]
    still = advanced[new_gate < 4]
    t.col("next_attempt")[still] = now + model.pipeline.gate_quarters[new_gate[new_gate < 4]]
    if at_market.size:
        _enter_market(model, at_market)

    # failures: technical ends it, funding and matching wait up to the patience
    cause = outcome.cause
    technical = rows[cause == Cause.TECHNICAL]
    _end(model, technical, Status.FAILED, gate[cause == Cause.TECHNICAL], Cause.TECHNICAL)
    waiting_mask = (cause == Cause.FUNDING) | (cause == Cause.MATCHING)
    waiting = rows[waiting_mask]
    since = t.col("waiting_since")[waiting]
    since = np.where(since < 0, now, since)
    t.col("waiting_since")[waiting] = since
    give_up = now - since >= tech.patience_quarters
    shelved = waiting[give_up]
    _end(model, shelved, Status.SHELVED, gate[waiting_mask][give_up], cause[waiting_mask][give_up])
    t.col("next_attempt")[waiting[~give_up]] = now + tech.retry_quarters
    np.add.at(model.accounts.failed_attempts, (gate[~passed], cause[~passed]), 1)


def payer_of(model: EcosystemModel, rows: np.ndarray, untransferred: np.ndarray) -> np.ndarray:
    """The node whose fund pays the rest of each technology's gate costs.

    The holder (the university's transfer office before a deal, the adopting enterprise
    after), except that an untransferred joint technology is paid by its enterprise partner:
    the enterprise proposed the project and carries its development. A spin-off's holder is
    its investor, which pays from its own fund (not a development fund).
    """
    t = model.pipeline.table
    payer = t.col("holder")[rows].copy()
    joint = untransferred & (t.col("owner_type")[rows] == Owner.JOINT) & (t.col("partner")[rows] >= 0)
    payer[joint] = t.col("partner")[rows][joint]
    return payer


def _reach_and_contribution(model: EcosystemModel, rows: np.ndarray, untransferred: np.ndarray):
    """Pairs (position, enterprise index) each technology can reach, and ``fit·A·willingness``."""
    s, t, pop, net = model.scenario, model.pipeline.table, model.enterprises, model.network
    ent_off = model.layout.offsets[NodeKind.ENTERPRISE]
    holder = t.col("holder")[rows]
    manager = t.col("manager")[rows]

    def network_reach() -> tuple[np.ndarray, np.ndarray]:
        pos_h, ent_h = net.enterprise_neighbours(holder)
        managed = np.flatnonzero(manager >= 0)
        pos_m, ent_m = net.enterprise_neighbours(manager[managed])
        parts_pos, parts_ent = [pos_h, managed[pos_m]], [ent_h, ent_m]
        if t.fair_contacts:
            # contacts made at a fair fade like a fair tie: gone once its weight would be pruned
            fresh = t.col("fair_step")[rows] >= model.steps - model.fair_contact_lifetime
            met = np.flatnonzero(t.col("fair_selected")[rows] & fresh)
            for i in met:
                contacts = t.fair_contacts[int(rows[i])]
                parts_pos.append(np.full(contacts.size, i))
                parts_ent.append(contacts)
        return np.concatenate(parts_pos).astype(np.int64), np.concatenate(parts_ent).astype(np.int64)

    search = get_rule("partner_search", s.rules.partner_search)
    pos, ent = search(
        SearchInputs(
            network_reach=network_reach,
            tech_region=t.col("region")[rows].astype(np.int64),
            enterprise_region=pop.region,
            cross_region_probability=s.policy.openness.cross_region_tie_probability,
            extra_contacts=s.enterprises.search_contacts,
            rng=model.rng,
        )
    )
    # the holder itself (an enterprise) or the joint-R&D partner is a motivated candidate
    holder_is_ent = model.layout.kind[holder] == NodeKind.ENTERPRISE
    partner = t.col("partner")[rows]
    joint_open = untransferred & (t.col("owner_type")[rows] == Owner.JOINT) & (partner >= 0)
    own = np.flatnonzero(holder_is_ent)
    jo = np.flatnonzero(joint_open)
    motivated = own.size + jo.size
    pos = np.concatenate([own, jo, pos])
    ent = np.concatenate([holder[own] - ent_off, partner[jo] - ent_off, ent])
    # one entry per distinct pair; the motivated entries come first, so they win
    _, first = np.unique(pos * pop.node.size + ent, return_index=True)
    pos, ent = pos[first], ent[first]
    weight = np.where(first < motivated, HOLDER_WEIGHT, 1.0)
    if pos.size == 0:
        return pos, ent, np.zeros(0)

    # per-technology columns are gathered for the searching rows first, then spread over pairs
    fit = np.clip(_pair_dot(t.knowledge[rows], pos, pop.need, ent), 0.0, 1.0)
    mgr = manager[pos]
    managed = mgr >= 0
    if managed.any():
        skill = model.manager_skill()[mgr[managed] - model.layout.offsets[NodeKind.MANAGER]]
        fit[managed] = raised_fit(fit[managed], skill, s.policy.managers.fit_gain)
    adoption = get_rule("adoption", s.rules.adoption)
    willingness = np.clip(
        adoption(
            AdoptionCandidates(
                appraised_value=adopter_view(model, rows, pos, ent),
                trl=t.col("trl")[rows].astype(float)[pos],
                fit=fit,
                absorptive_capacity=pop.absorptive_capacity[ent],
                hurdle_log=pop.hurdle_log[ent],
                size=pop.size[ent],
                rng=model.rng,
            )
        ),
        0.0,
        1.0,
    )
    contribution = fit * pop.absorptive_capacity[ent] * willingness * weight
    return pos, ent, contribution


def adopter_view(model: EcosystemModel, rows: np.ndarray, pos: np.ndarray, ent: np.ndarray) -> np.ndarray:
    """What each candidate adopter believes the technology is worth: its own appraisal.

    An enterprise does its own due diligence, with error ``σ_min + σ_0 (1 − A)`` (absorptive
    capacity is the skill to judge outside technology), drawn afresh at each attempt; a PoC
    test that showed the technology passes G2 is known to it too
    (:meth:`~ecosim.pipeline.Pipeline.believed_value`). So an owner's over-appraisal does not
    fool the market: it only spends the owner's money on a technology nobody then takes.
    """
    t, tech = model.pipeline.table, model.scenario.technology
    sigma = appraisal_sigma(model.enterprises.absorptive_capacity[ent], tech.appraisal_sigma_min, tech.appraisal_sigma_0)
    view = t.col("value")[rows][pos] * np.exp(sigma * model.rng.standard_normal(pos.size))
    revealed_factor = model.pipeline.believed_value(rows) / t.col("appraised")[rows]
    return view * revealed_factor[pos]


def _pair_dot(a: np.ndarray, i: np.ndarray, b: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``a[i] · b[j]`` row by row, one dimension at a time.

    Gathering whole rows for a million pairs (``einsum`` on ``a[i]`` and ``b[j]``) moves far
    more memory than gathering one column at a time; this is several times faster at scale.
    """
    out = np.zeros(i.size)
    a_columns, b_columns = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
    for a_k, b_k in zip(a_columns, b_columns, strict=True):
        out += a_k[i] * b_k[j]
    return out


def _make_deals(model: EcosystemModel, rows, deal_positions, searching, pair_pos, pair_ent, contribution) -> None:
    """Convert technologies: pick the adopter in proportion to its contribution, record the deal.

    ``pair_pos`` indexes ``searching`` (the attempts that searched for a partner), which
    indexes ``rows``.
    """
    t, rng = model.pipeline.table, model.rng
    now = model.steps
    ent_off = model.layout.offsets[NodeKind.ENTERPRISE]
    order = np.argsort(pair_pos, kind="stable")
    pair_pos, pair_ent, contribution = pair_pos[order], pair_ent[order], contribution[order]
    search_index = np.full(rows.size, -1)
    search_index[searching] = np.arange(searching.size)
    starts = np.searchsorted(pair_pos, search_index[deal_positions], side="left")
    ends = np.searchsorted(pair_pos, search_index[deal_positions], side="right")
    for p, a, b in zip(deal_positions, starts, ends, strict=False):
        row = int(rows[p])
        owner, holder = int(t.col("owner")[row]), int(t.col("holder")[row])
        investor = int(t.col("investor")[row])
        if investor >= 0 and t.col("owner_type")[row] != Owner.ENTERPRISE:
            mode, adopter = DealMode.SPIN_OFF, investor
        else:
            if b <= a:  # nobody to adopt: cannot happen when matching passed, but be safe
                continue
            weights = contribution[a:b]
            pick = a + int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum(), side="right"))
            adopter = int(pair_ent[min(pick, b - 1)]) + ent_off
            if adopter == holder:
                mode = DealMode.SELF_IMPLEMENTATION
            elif adopter == int(t.col("partner")[row]) and t.col("owner_type")[row] == Owner.JOINT:
                mode = DealMode.JOINT_DEVELOPMENT
            else:
                mode = DealMode.LICENCE if rng.random() < LICENCE_SHARE_OF_SALES else DealMode.ASSIGNMENT
        _record_deal(model, row, mode, owner, adopter, now)


def _record_deal(model: EcosystemModel, row: int, mode: int, owner: int, adopter: int, now: int) -> None:
    s, t, net = model.scenario, model.pipeline.table, model.network
    t.col("deal_mode")[row] = mode
    t.col("deal_step")[row] = now
    t.col("partner")[row] = adopter
    t.col("holder")[row] = adopter
    t.col("deal_cross_region")[row] = model.layout.region[adopter] != model.layout.region[owner]
    t.col("deal_channel")[row] = deal_channel(model, row, mode, adopter)
    model.accounts.deals_step[mode] += 1
    strength = s.network.deal_strengthening
    if mode == DealMode.SELF_IMPLEMENTATION:
        return
    kind = TieKind.FINANCE if mode == DealMode.SPIN_OFF else TieKind.LICENCE
    manager = int(t.col("manager")[row])
    if manager >= 0:
        agent = model.manager_by_node[manager]
        agent.learn_from_deal()
        net.strengthen(manager, adopter, TieKind.BROKERAGE, strength, now)  # (the investor, for a spin-off)
        if model.rng.random() < s.network.triadic_closure:
            net.strengthen(owner, adopter, kind, strength, now)
    else:
        net.strengthen(owner, adopter, kind, strength, now)
    if model.layout.kind[adopter] == NodeKind.ENTERPRISE:
        model.enterprises.learn(adopter - model.layout.offsets[NodeKind.ENTERPRISE], s.enterprises.absorptive_learning)
    university = model.university_by_node.get(owner)
    if university is not None:
        royalty = s.technology.royalty_share * t.col("appraised")[row]
        income = {DealMode.LICENCE: royalty, DealMode.ASSIGNMENT: royalty, DealMode.JOINT_DEVELOPMENT: 0.5 * royalty}.get(mode, 0.0)
        university.record_deal(float(income))
        # the transfer office keeps what the inventors do not get, for the next gate costs
        model.funds.add(owner, float(income) * (1.0 - s.policy.incentives.inventor_share))
        model.accounts.licensing_income_step += float(income)
        gov = model.governments_by_region[int(model.layout.region[owner])]
        if t.col("poc_funded")[row]:
            gov.deals_by_instrument["proof_of_concept"] += 1
        if t.col("subsidised")[row]:
            gov.deals_by_instrument["joint_rnd"] += 1
        if t.col("fair_selected")[row]:
            gov.deals_by_instrument["fairs"] += 1
        if manager >= 0:
            gov.deals_by_instrument["manager_programme"] += 1
        gov.deals_by_instrument["research_grants"] += 1


def deal_channel(model: EcosystemModel, row: int, mode: int, adopter: int) -> int:
    """Which channel found the adopter (an index into :data:`ecosim.metrics.DEAL_CHANNELS`).

    In this order: the owner itself (self-implementation), the joint-R&D partner, a backing
    investor (spin-off), the technology manager carrying it (the adopter is one of the
    manager's contacts), a fair contact, else the owner's network or search.
    """
    t, net = model.pipeline.table, model.network
    if mode == DealMode.SELF_IMPLEMENTATION:
        return 0
    if mode == DealMode.JOINT_DEVELOPMENT:
        return 1
    if mode == DealMode.SPIN_OFF:
        return 2
    manager = int(t.col("manager")[row])
    ent_off = model.layout.offsets[NodeKind.ENTERPRISE]
    tie = net.ties.find(manager, adopter) if manager >= 0 else -1
    if tie >= 0 and net.ties.alive[tie]:
        return 3
    contacts = t.fair_contacts.get(row)
    fresh = t.col("fair_step")[row] >= model.steps - model.fair_contact_lifetime
    if contacts is not None and fresh and np.any(contacts == adopter - ent_off):
        return 4
    return 5


def _enter_market(model: EcosystemModel, rows: np.ndarray) -> None:
    """Technologies reach market: their value becomes welfare; investors take their share."""
    s, t = model.scenario, model.pipeline.table
    t.col("status")[rows] = Status.MARKET
    t.col("market_step")[rows] = model.steps
    t.col("end_step")[rows] = model.steps
    value = t.col("value")[rows]
    model.accounts.welfare_step += float(value.sum())
    model.accounts.commercialisations_step += int(rows.size)
    for row in rows[t.col("investor")[rows] >= 0]:
        model.investor_by_node[int(t.col("investor")[row])].receive(
            s.policy.finance.return_share * float(t.col("value")[row])
        )


def _end(model: EcosystemModel, rows: np.ndarray, status: int, gate: np.ndarray, cause) -> None:
    """Technologies leave the pipeline for good, with the gate and cause of their last failure."""
    if rows.size == 0:
        return
    t = model.pipeline.table
    t.col("status")[rows] = status
    t.col("fail_gate")[rows] = gate
    t.col("fail_cause")[rows] = cause
    t.col("end_step")[rows] = model.steps
    np.add.at(model.accounts.failures_step, (gate, np.broadcast_to(cause, rows.shape)), 1)
