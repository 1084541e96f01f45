# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ecosim)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. A tour of the technology-transfer ecosystem
#
# ecosim simulates the "triple helix" of **government**, **universities and research
# institutes** and **enterprises**, with the **technology managers** and **investors**
# who broker between them. One step is one quarter of a year. Universities and
# enterprises produce inventions ("technologies"); each technology must pass four
# *gates* before it reaches the market:
#
# | gate | what happens | readiness (TRL) |
# |---|---|---|
# | G1 proof of concept | does the idea work at all? | 3 → 4 |
# | G2 validation — the "valley of death" | a working prototype | 4 → 6 |
# | G3 pilot and scale-up | can it be made at scale? | 6 → 8 |
# | G4 market entry | someone sells it | 8 → 9 |
#
# At every gate a technology can fail for one of three reasons: **technical** (it
# simply does not work — no policy changes that), **funding** (nobody pays for the
# next step) or **matching** (no enterprise that could use it is found).
#
# This notebook runs the default ("baseline") world once, looks at its network,
# follows technologies through the gates, shows where and why they fail, and checks
# the default world against the published patterns it must produce (docs/VALIDATION.md).

# %% [markdown]
# **How to use this notebook.** Choose *Run → Run All Cells* (or press Shift+Enter on each
# cell in turn). Nothing needs to be installed beyond ecosim's `notebooks` extra. To try
# something else, change a number in the *Settings* cell and run everything again.

# %% [markdown]
# ## Settings
#
# `SEED` fixes the random numbers, so the same seed always gives the same world.
# `REPLICATIONS` is how many differently-seeded runs are averaged when the model is
# compared with the published facts: 5 keeps this notebook quick; raise it to 30 or
# more for numbers you would quote.

# %%
from pathlib import Path

SCENARIO = Path("..") / "scenarios" / "baseline.yaml"  # the default world
SEED = 2026          # change it to see another, equally likely, history
REPLICATIONS = 5     # runs averaged for the facts check; use 30+ for final numbers

# %%
import matplotlib.pyplot as plt
import networkx as nx
import pandas as pd
from IPython.display import SVG

from ecosim import metric_catalogue
from ecosim.model import EcosystemModel
from ecosim.network import NODE_KINDS
from ecosim.run_figures import activity_figure, funnel_figure
from ecosim.scenario import CAUSES, GATES, load_scenario
from ecosim.validation import validate
from ecosim.viz import make_page
from ecosim.viz.drawing import network_svg
from ecosim.viz.events import recent_events
from ecosim.viz.layout import node_positions

pd.set_option("display.precision", 3)
# %matplotlib inline

# %% [markdown]
# ## The default world
#
# A scenario file describes a world: how many universities, enterprises and managers,
# how the government splits its budget, and the rules agents follow. The baseline file
# only names the scenario; every other value takes its documented default.

# %%
scenario = load_scenario(SCENARIO)
world, policy = scenario.world, scenario.policy
pd.Series(dtype=object, name="baseline", data={
    "regions": world.regions,
    "universities and institutes": world.regions * (world.universities_per_region + world.institutes_per_region),
    "enterprises": world.regions * world.enterprises_per_region,
    "technology managers": world.regions * policy.managers.managers_per_region,
    "investors": world.regions * policy.finance.investors_per_region,
    "government budget per quarter (M¥)": scenario.budget.per_quarter,
    "share of budget for proof of concept": scenario.budget.proof_of_concept,
    "quarters simulated": scenario.steps,
}).to_frame()

# %% [markdown]
# ## Run it
#
# We build the model and run it quarter by quarter (a few seconds). Afterwards the model
# holds three tables: one row per **quarter**, a one-line **summary** of the whole run,
# and one row per **technology**.

# %%
model = EcosystemModel(scenario, seed=SEED)
for _quarter in range(scenario.steps):
    model.step()

steps = model.step_table()
summary = model.summary()
technologies = model.technology_table()
print(f"{scenario.steps} quarters ({scenario.steps // 4} years): "
      f"{summary['disclosures']:,.0f} technologies disclosed, "
      f"{summary['deals']:,.0f} transferred to a user, "
      f"{summary['commercialisations']:,.0f} reached the market.")

# %% [markdown]
# ## The network
#
# Agents are connected by ties: research collaborations, licences from deals,
# brokerage by managers, and finance. The picture (the same as the visualiser's) shows
# each region as a panel at the end of the run; ties that cross regions run between
# panels, and a node is larger the more technologies it has owned, adopted, brokered
# or backed. For readability only the most active enterprises are drawn. Managers sit
# *between* universities and enterprises: that is the brokerage the manager programme
# buys.

# %%
graph = model.network.graph
kind_of = {node: NODE_KINDS[model.network.layout.kind[node]] for node in graph.nodes}
counts = pd.Series(kind_of).value_counts().rename("agents")
print(f"{graph.number_of_nodes():,} agents, {graph.number_of_edges():,} ties, "
      f"density {nx.density(graph):.4f}")
counts.to_frame()

# %%
SVG(network_svg(model, node_positions(model.layout)))

# %% [markdown]
# How the network changes: its **density** (share of possible ties that exist), the
# managers' **betweenness** (how much of the shortest paths between others run
# through managers — their brokerage), and the **triple-helix synergy** (how much
# government, university and industry activity is coordinated rather than separate).

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.5), layout="constrained")
for ax, column in zip(axes, ["network_density", "manager_betweenness", "triple_helix_synergy"], strict=True):
    ax.plot(steps["step"] / 4, steps[column])
    ax.set_title(metric_catalogue.entry(column).axis_label, fontsize=9, wrap=True)
    ax.set_xlabel("simulated year")

# %% [markdown]
# ## Activity over time
#
# Disclosures, transfers ("deals") and market entries per simulated year. The first
# years are a warm-up: technologies need several quarters to move through the gates.

# %%
activity_figure(steps);

# %% [markdown]
# ## Following technologies through the gates
#
# The last things that happened in this run, newest first (Y = simulated year,
# Q = quarter):

# %%
print("\n".join(recent_events(model, limit=8)))

# %% [markdown]
# Every technology has a record. Here are three of them from this run: one that
# reached the market, one that failed for technical reasons and one that was shelved
# because nobody funded its next step. `birth` and the other times are in quarters;
# `value` is its true (hidden) value in M¥, `appraised` what people *thought* it was
# worth.

# %%
columns = ["owner_type", "field", "birth", "disclosure_trl", "trl", "status", "value", "appraised",
           "deal_mode", "deal_step", "market_step", "fail_gate", "fail_cause", "was_managed",
           "poc_funded"]
examples = pd.concat([
    technologies[technologies["status"] == "market"].head(1),
    technologies[(technologies["status"] == "failed") & (technologies["fail_cause"] == "technical")].head(1),
    technologies[(technologies["status"] == "shelved") & (technologies["fail_cause"] == "funding")].head(1),
])
field_names = list(scenario.fields)
readable = examples[columns].assign(
    field=[field_names[f] for f in examples["field"]],
    fail_gate=[GATES[g] if g >= 0 else "" for g in examples["fail_gate"]],
)
readable.T

# %% [markdown]
# Where every technology of this run stands at the end:

# %%
pd.crosstab(technologies["owner_type"], technologies["status"], margins=True, margins_name="total")

# %% [markdown]
# ## Where and why they fail
#
# Each bar is a gate; its height is the number of technologies whose journey ended
# there, coloured by the cause. Technical failures are the floor no policy removes;
# **funding** and **matching** failures are the ones policy can reduce.

# %%
funnel_figure(summary);

# %%
failures = pd.DataFrame([[summary[f"fail_{gate}_{cause}"] for cause in CAUSES] for gate in GATES],
                        index=list(GATES), columns=list(CAUSES))
failures["total"] = failures.sum(axis=1)
failures.loc["total"] = failures.sum()
failures.astype(int)

# %%
share = failures.loc["total", list(CAUSES)] / failures.loc["total", "total"]
worst_gate = failures.drop(index="total")["total"].idxmax()
print(f"Of {failures.loc['total', 'total']:,.0f} technologies that failed or were shelved, "
      f"{share['technical']:.0%} failed for technical reasons, {share['funding']:.0%} for lack of funding "
      f"and {share['matching']:.0%} for lack of a partner. Most were lost at {worst_gate}.")

# %% [markdown]
# ## Does the default world look like the real one?
#
# A policy comparison is only believable if the simulated world reproduces what is
# known about the real one. Two kinds of published figure are used, and they are never
# confused: **inputs** are set from data (enterprises' share of R&D, readiness at
# disclosure, the fair experts' selection rate, researchers per manager) — reproducing them
# proves nothing; **patterns** must come out of the agents' decisions and the gates (patent
# conversion rates from China's patent office surveys, US university licensing and start-up
# rates, drug-development success from the first trial in people, the value of the top 10%,
# proof-of-concept cohorts) — see `docs/VALIDATION.md` for each source and how the model
# measures it the same way, after a 20-quarter burn-in.
#
# Below, `REPLICATIONS` runs of the default world with different seeds: for each pattern,
# the published target range, the simulated mean with its 95% interval, and whether the mean
# falls inside the target; inputs are listed apart. (With 5 runs the intervals are wide;
# `ecosim validate` runs 30. At 30, one pattern is outside: the PoC-funded cohort converts
# more often than the one published cohort — see `docs/VALIDATION.md`.)

# %%
facts, fact_runs = validate(scenario, replications=REPLICATIONS, workers=2)
facts_view = facts.assign(
    simulated=[f"{m:.3g} ({lo:.3g}–{hi:.3g})" for m, lo, hi in zip(facts["mean"], facts["ci_low"], facts["ci_high"], strict=True)],
    inside=[("yes" if inside else "NO") if kind == "pattern" else "input, not a test"
            for inside, kind in zip(facts["inside"], facts["kind"], strict=True)],
)
facts_view.set_index("fact")[["description", "target", "simulated", "inside"]]

# %%
patterns = facts[facts["kind"] == "pattern"]
missed = patterns.loc[~patterns["inside"], "fact"].tolist()
print(f"{patterns['inside'].sum()} of {len(patterns)} patterns are reproduced (mean inside the target range) "
      f"over {REPLICATIONS} runs." + (f" Outside: {', '.join(missed)}." if missed else ""))

# %% [markdown]
# ## Watch it move: the interactive visualiser
#
# The cell below opens the visualiser inside the notebook: press **Play** to watch
# quarters go by, or **Step** for one at a time; change the policy levers and the
# rules on the left and press **Reset** to start a new world with them. (The same
# page opens in a browser with `ecosim viz scenarios/baseline.yaml`; see
# `docs/VISUALISER.md`.)

# %%
make_page(SCENARIO)
