"""The text panel: where the run is, how much has converted, and the last notable events.

Events are read from the technology table, which keeps the step of every deal
(``deal_step``) and market entry (``market_step``) with who took part, so the story of the
last quarters needs no extra bookkeeping in the model.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

import numpy as np

from ecosim.network import NodeKind
from ecosim.pipeline import DealMode
from ecosim.scenario import FIELDS, OWNER_TYPES, RULE_KINDS
from ecosim.viz.interactive_model import LEVERS, Lever

if TYPE_CHECKING:
    from ecosim.model import EcosystemModel

FIELD_PHRASES = {
    "it": "a next-generation-IT",
    "materials": "a new-materials",
    "equipment": "an intelligent-equipment",
    "medicine": "a medicine-and-health",
}
"""'<article> <field>' for a sentence such as 'licensed a new-materials technology'."""

def format_lever(lever: Lever, value: float) -> str:
    """A lever's value as the text panel shows it."""
    return f"{int(value)}" if lever.integer else f"{value:.2f}"


_KIND_NAMES = {NodeKind.GOVERNMENT: "Government", NodeKind.UNIVERSITY: "University", NodeKind.ENTERPRISE: "Enterprise",
               NodeKind.MANAGER: "manager", NodeKind.INVESTOR: "Investor"}


def quarter_and_year(step: int) -> tuple[int, int]:
    """(quarter 1–4, year from 1) of a step, as in the per-step table; step 0 is before the start."""
    if step <= 0:
        return 0, 0
    return (step - 1) % 4 + 1, (step - 1) // 4 + 1


def node_name(model: EcosystemModel, node: int) -> str:
    """A reader's name for a node: 'University 3', 'Institute 9', 'Enterprise 412', 'manager 57'.

    The number counts agents of that kind from 1, in node order.
    """
    layout = model.layout
    kind = int(layout.kind[node])
    number = node - layout.offsets[kind]
    if kind == NodeKind.UNIVERSITY and model.university_agents[number].institute:
        return f"Institute {number + 1}"
    return f"{_KIND_NAMES[kind]} {number + 1}"


def _field_phrase(field: int) -> str:
    return FIELD_PHRASES[FIELDS[field]]


def deal_sentence(model: EcosystemModel, row: int) -> str:
    """One sentence telling the first transfer of technology ``row``."""
    t = model.pipeline.table
    mode = int(t.col("deal_mode")[row])
    owner = node_name(model, int(t.col("owner")[row]))
    partner = node_name(model, int(t.col("partner")[row]))
    what = f"{_field_phrase(int(t.col('field')[row]))} technology"
    if mode == DealMode.LICENCE:
        sentence = f"{partner} licensed {what} from {owner}"
    elif mode == DealMode.ASSIGNMENT:
        sentence = f"{partner} bought {what} from {owner}"
    elif mode == DealMode.JOINT_DEVELOPMENT:
        sentence = f"{partner} took up {what} it co-developed with {owner}"
    elif mode == DealMode.SPIN_OFF:
        sentence = f"{partner} backed a spin-off from {owner} built on {what}"
    elif mode == DealMode.SELF_IMPLEMENTATION:
        sentence = f"{owner} put its own {what[what.index(' ') + 1:]} into use"
    else:
        raise ValueError(f"technology {row} has no deal")
    manager = int(t.col("manager")[row])
    if manager >= 0 and mode != DealMode.SELF_IMPLEMENTATION:
        sentence += f", brokered by {node_name(model, manager)}"
    return sentence


def market_sentence(model: EcosystemModel, row: int) -> str:
    """One sentence telling that technology ``row`` reached the market."""
    t = model.pipeline.table
    what = f"{_field_phrase(int(t.col('field')[row]))} technology"
    owner = node_name(model, int(t.col("owner")[row]))
    holder = int(t.col("holder")[row])
    sentence = f"{what[0].upper()}{what[1:]} from {owner} reached the market"
    if holder >= 0 and holder != int(t.col("owner")[row]):
        sentence += f" through {node_name(model, holder)}"
    return sentence


def recent_events(model: EcosystemModel, limit: int = 6) -> list[str]:
    """The last ``limit`` deals and market entries, newest first, each 'Y2 Q3: <sentence>'.

    Market entries come before deals of the same quarter (they are rarer); within a kind, the
    later-disclosed technology first.
    """
    t = model.pipeline.table
    deal_rows = np.flatnonzero(t.col("deal_mode") != DealMode.NO_DEAL)
    market_rows = np.flatnonzero(t.col("market_step") >= 0)
    rows = np.concatenate([market_rows, deal_rows])
    steps = np.concatenate([t.col("market_step")[market_rows], t.col("deal_step")[deal_rows]]).astype(np.int64)
    is_market = np.concatenate([np.ones(market_rows.size, bool), np.zeros(deal_rows.size, bool)])
    order = np.lexsort((-rows, ~is_market, -steps))[:limit]
    events = []
    for i in order:
        quarter, year = quarter_and_year(int(steps[i]))
        tell = market_sentence if is_market[i] else deal_sentence
        events.append(f"Y{year} Q{quarter}: {tell(model, int(rows[i]))}")
    return events


def conversion_so_far(model: EcosystemModel) -> dict[str, tuple[int, int]]:
    """For each owner type, (technologies converted, technologies disclosed) so far."""
    t = model.pipeline.table
    owner_type = t.col("owner_type")
    converted = t.col("deal_mode") != DealMode.NO_DEAL
    return {
        owner: (int(converted[owner_type == i].sum()), int((owner_type == i).sum()))
        for i, owner in enumerate(OWNER_TYPES)
    }


def status_html(model: EcosystemModel, events: int = 6) -> str:
    """The text panel as HTML: time, world and rules, conversion so far, recent events.

    (Plain HTML rather than Solara's Markdown, which would load KaTeX and Mermaid into the page.)
    """
    s = model.scenario
    step = model.steps
    quarter, year = quarter_and_year(step)
    when = f"quarter {quarter} of year {year}" if step else "before the first quarter"
    w = s.world
    world = (f"{w.regions} regions · {w.universities_per_region + w.institutes_per_region} universities and "
             f"institutes, {w.enterprises_per_region:,} enterprises, {s.policy.managers.managers_per_region} "
             f"technology managers and {s.policy.finance.investors_per_region} investors per region · seed {model.seed}")
    levers = " · ".join(f"{lever.keyword} = {format_lever(lever, lever.value_in(s))}"
                        for lever in LEVERS if lever.key.startswith(("policy.", "budget.")))
    rules = " · ".join(f"{kind} = <code>{escape(getattr(s.rules, kind))}</code>" for kind in RULE_KINDS)
    conversion = "".join(
        f"<li>{owner}: {converted / disclosed:.0%} ({converted:,} of {disclosed:,})</li>" if disclosed
        else f"<li>{owner}: – (none disclosed)</li>"
        for owner, (converted, disclosed) in conversion_so_far(model).items()
    )
    told = recent_events(model, events)
    told_html = "".join(f"<li>{escape(event)}</li>" for event in told) or "<li>none yet</li>"
    return (
        f'<div class="ecosim-status-text" style="font-size: 14px; line-height: 1.45">'
        f'<p class="ecosim-step"><b>Step <span class="ecosim-step-number">{step}</span></b> of {model.planned_steps} — {when}</p>'
        f'<p class="ecosim-world">World: {escape(world)}</p>'
        f'<p class="ecosim-levers">Policy: {escape(levers)}</p>'
        f'<p class="ecosim-rules">Rules: {rules}</p>'
        f"<p><b>Conversion so far</b> (converted / disclosed):</p><ul class=\"ecosim-conversion\">{conversion}</ul>"
        f'<p><b>Last notable events:</b></p><ul class="ecosim-events">{told_html}</ul>'
        "</div>"
    )
