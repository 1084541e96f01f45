"""Short calls for the tour notebook (notebooks/01_tour): one seeded run of a world, shown as
tables, figures and sentences a reader who does not program can follow.

A cell reads like a sentence: ``world = tour.run_world(SCENARIO, seed=SEED)``, then
``tour.failures(world)``, ``tour.failures_in_words(world)``. Figures come from
:mod:`ecosim.run_figures` and the visualiser's own drawing, labels from the metric catalogue; the
facts check is :func:`ecosim.validation.validate`, the function behind ``ecosim validate``, so
its numbers are the command's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ecosim import run_figures
from ecosim.scenario import CAUSES, GATES, Scenario, load_scenario


@dataclass
class World:
    """One seeded run of a scenario: the model at the end and its three tables.

    Attributes
    ----------
    scenario : the validated scenario
    seed : the run's root seed
    model : the :class:`~ecosim.model.EcosystemModel` after its last quarter (for the network)
    steps : one row per quarter
    summary : the run's totals (the keys of the metric catalogue)
    technologies : one row per technology
    """

    scenario: Scenario
    seed: int
    model: Any
    steps: pd.DataFrame
    summary: dict[str, float]
    technologies: pd.DataFrame


def run_world(path: str | os.PathLike[str], seed: int) -> World:
    """Build the world of the scenario file ``path`` and run it for its quarters with ``seed``."""
    from ecosim.model import EcosystemModel

    scenario = load_scenario(path)
    model = EcosystemModel(scenario, seed=seed)
    for _quarter in range(scenario.steps):
        model.step()
    return World(scenario, seed, model, model.step_table(), model.summary(), model.technology_table())


def world_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """What the scenario file describes, in words: agents, budget, quarters."""
    scenario = load_scenario(path)
    world, policy = scenario.world, scenario.policy
    rows = {
        "regions": world.regions,
        "universities and research institutes": world.regions * (world.universities_per_region
                                                                 + world.institutes_per_region),
        "enterprises": world.regions * world.enterprises_per_region,
        "technology managers": world.regions * policy.managers.managers_per_region,
        "investors": world.regions * policy.finance.investors_per_region,
        "government budget per region and quarter (M¥)": scenario.budget.per_quarter,
        "share of the budget for proof of concept": f"{scenario.budget.proof_of_concept:.0%}",
        "quarters simulated": f"{scenario.steps} ({scenario.steps / 4:g} years)",
    }
    return pd.DataFrame({scenario.name: [str(v) if not isinstance(v, str) else v for v in rows.values()]},
                        index=pd.Index(list(rows), name="the world"))


def run_in_words(world: World) -> str:
    """One sentence: the quarters measured (after the warm-up) and how many technologies were
    disclosed, transferred and marketed in them — the summary's numbers, as ``ecosim run`` prints them."""
    s = world.summary
    first, last = int(s.get("measured_from_quarter", 1)), world.scenario.steps
    window = (f"In {last} quarters ({last / 4:g} years)" if first <= 1 else
              f"After a warm-up of {first - 1} quarters, in quarters {first}–{last}")
    return (f"{window}, {s['disclosures']:,.0f} inventions were disclosed, {s['deals']:,.0f} technologies were "
            f"transferred to a user for the first time and {s['commercialisations']:,.0f} reached the market.")


def network_table(world: World) -> pd.DataFrame:
    """The agents on the network by kind, and their ties."""
    from ecosim.network import NODE_KINDS

    graph = world.model.network.graph
    kinds = pd.Series([NODE_KINDS[world.model.network.layout.kind[n]] for n in graph.nodes]).value_counts()
    table = kinds.rename("number").to_frame()
    table.index.name = "agents on the network"
    table.loc["ties between them"] = graph.number_of_edges()
    return table


def network_picture(world: World) -> Any:
    """The visualiser's picture of the network at the end of the run (an SVG image)."""
    from IPython.display import SVG

    from ecosim.viz.drawing import network_svg
    from ecosim.viz.layout import node_positions

    return SVG(network_svg(world.model, node_positions(world.model.layout)))


def network_over_time(world: World) -> Any:
    """Density, managers' brokerage and triple-helix synergy over the run (a figure)."""
    return run_figures.network_measures_figure(world.steps)


def activity(world: World) -> Any:
    """Disclosures, transfers and market entries per simulated year (a figure)."""
    return run_figures.activity_figure(world.steps)


def latest_events(world: World, limit: int = 8) -> str:
    """The last things that happened in the run, newest first, one per line."""
    from ecosim.viz.events import recent_events

    return "\n".join(recent_events(world.model, limit=limit))


EXAMPLE_COLUMNS = {
    "owner_type": "owner", "field": "field", "birth": "disclosed in quarter",
    "disclosure_trl": "readiness at disclosure (TRL)", "trl": "readiness at the end (TRL)", "status": "status",
    "value": "true value (M¥, hidden from everyone)", "appraised": "value as appraised (M¥)",
    "deal_mode": "how it was transferred", "deal_step": "transferred in quarter",
    "market_step": "reached market in quarter", "fail_gate": "stopped at gate", "fail_cause": "why it stopped",
    "was_managed": "had a technology manager", "poc_funded": "got proof-of-concept money",
}


def example_technologies(world: World) -> pd.DataFrame:
    """Three technologies of the run side by side: one that reached the market, one that failed
    technically and one shelved for lack of funding (whichever of them exist)."""
    t = world.technologies
    examples = pd.concat([
        t[t["status"] == "market"].head(1),
        t[(t["status"] == "failed") & (t["fail_cause"] == "technical")].head(1),
        t[(t["status"] == "shelved") & (t["fail_cause"] == "funding")].head(1),
    ])
    fields = list(world.scenario.fields)
    shown = examples[list(EXAMPLE_COLUMNS)].assign(
        field=[fields[f] for f in examples["field"]],
        fail_gate=[GATES[g] if g >= 0 else "" for g in examples["fail_gate"]],
        value=examples["value"].round(2), appraised=examples["appraised"].round(2),
    )
    shown = shown.rename(columns=EXAMPLE_COLUMNS)
    shown.index = [f"technology {i}" for i in examples.index]
    return shown.T


def where_technologies_stand(world: World) -> pd.DataFrame:
    """Every technology of the run by owner (rows) and where it stands at the end (columns)."""
    t = world.technologies
    return pd.crosstab(t["owner_type"].rename("owner"), t["status"].rename("status at the end"), margins=True,
                       margins_name="total")


def failure_funnel(world: World) -> Any:
    """Technologies whose journey ended at each gate, coloured by cause (a figure)."""
    return run_figures.funnel_figure(world.summary, f"Where technologies fail — {world.scenario.name}, seed {world.seed}")


def failures(world: World) -> pd.DataFrame:
    """Technologies that failed or were shelved, by gate (rows) and cause (columns), with totals."""
    table = pd.DataFrame([[world.summary[f"fail_{gate}_{cause}"] for cause in CAUSES] for gate in GATES],
                         index=pd.Index(list(GATES), name="gate"), columns=list(CAUSES))
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum()
    return table.astype(int)


def failures_in_words(world: World) -> str:
    """One sentence: the share of each cause among failures and the gate where most were lost."""
    table = failures(world)
    total = table.loc["total", "total"]
    if total == 0:
        return "No technology failed or was shelved in this run."
    share = table.loc["total", list(CAUSES)] / total
    worst = table.drop(index="total")["total"].idxmax()
    return (f"Of {total:,} technologies that failed or were shelved, {share['technical']:.0%} failed for technical "
            f"reasons, {share['funding']:.0%} for lack of funding and {share['matching']:.0%} for lack of a partner. "
            f"Most were lost at {worst}.")


@dataclass
class FactsCheck:
    """The default world against the published facts: one row per fact, and the verdict in words."""

    table: pd.DataFrame
    in_words: str

    def _repr_html_(self) -> str:
        return self.table.to_html() + f"<p>{self.in_words}</p>"


def facts_check(path: str | os.PathLike[str], replications: int, workers: int = 2) -> FactsCheck:
    """Run ``replications`` seeded runs of the scenario and compare them with the facts (docs/VALIDATION.md §1; as ``ecosim validate``).

    Patterns get the target, the simulated mean with its 95% interval and whether the mean is
    inside the target; inputs are marked as inputs, not tests.
    """
    from ecosim.validation import validate

    facts, _ = validate(load_scenario(path), replications=replications, workers=workers)
    table = pd.DataFrame({
        "fact": facts["fact"],
        "what": facts["description"],
        "published target": facts["target"],
        "simulated mean (95% interval)": [f"{m:.3g} ({lo:.3g}–{hi:.3g})" for m, lo, hi in
                                          zip(facts["mean"], facts["ci_low"], facts["ci_high"], strict=True)],
        "inside the target?": [("yes" if inside else "NO") if kind == "pattern" else "an input, not a test"
                               for inside, kind in zip(facts["inside"], facts["kind"], strict=True)],
    }).set_index("fact")
    patterns = facts[facts["kind"] == "pattern"]
    missed = patterns.loc[~patterns["inside"].astype(bool), "fact"].tolist()
    words = (f"{int(patterns['inside'].sum())} of {len(patterns)} patterns are reproduced (mean inside the target "
             f"range) over {replications} runs." + (f" Outside: {', '.join(missed)}." if missed else ""))
    return FactsCheck(table, words)


def visualiser(path: str | os.PathLike[str]) -> Any:
    """The interactive visualiser of the scenario file ``path``, inside the notebook."""
    from ecosim.viz import make_page

    return make_page(path)


__all__ = [
    "FactsCheck", "World", "activity", "example_technologies", "facts_check", "failure_funnel", "failures",
    "failures_in_words", "latest_events", "network_over_time", "network_picture", "network_table", "run_in_words",
    "run_world", "visualiser", "where_technologies_stand", "world_table",
]
