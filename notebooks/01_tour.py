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
#
# **What you will find.** Most technologies never reach the market, and most of those that
# fail do so for technical reasons that no policy can change; the losses policy *can* reduce
# are those for lack of money (funding) or of a partner (matching). The default world
# reproduces most published patterns of Chinese and US technology transfer — the last section
# shows which, with the interval of each.

# %% [markdown]
# **How to use this notebook.** Choose *Run → Run All Cells*. You do not need to read or
# change any code: each grey cell is one short instruction to ecosim (for example "run the
# world", "show the failures"), and its result appears below it. To try something else, change
# a number in the *Settings* cell and run everything again.

# %% [markdown]
# ## Settings
#
# `SEED` fixes the random numbers, so the same seed always gives the same world.
# `REPLICATIONS` is how many differently-seeded runs are averaged when the model is
# compared with the published facts: 5 keeps this notebook quick; raise it to 30 or
# more for numbers you would quote.

# %%
from ecosim import tour

SCENARIO = "../scenarios/baseline.yaml"  # the default world
SEED = 2026          # change it to see another, equally likely, history
REPLICATIONS = 5     # runs averaged for the facts check; use 30+ for final numbers
# %matplotlib inline

# %% [markdown]
# ## The default world
#
# A scenario file describes a world: how many universities, enterprises and managers,
# how the government splits its budget, and the rules agents follow. The baseline file
# only names the scenario; every other value takes its documented default
# (`docs/PARAMETERS.md`).

# %%
tour.world_table(SCENARIO)

# %% [markdown]
# ## Run it
#
# The world is built and run quarter by quarter; this takes a few seconds. Afterwards we
# have three tables: one row per **quarter**, a one-line **summary** of the whole run, and
# one row per **technology**. The summary leaves out the first quarters, a warm-up in which the
# world fills with technologies (docs/VALIDATION.md). In one sentence:

# %%
world = tour.run_world(SCENARIO, seed=SEED)
print(tour.run_in_words(world))

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
tour.network_table(world)

# %%
tour.network_picture(world)

# %% [markdown]
# How the network changes: its **density** (share of possible ties that exist), the
# managers' **betweenness** (how much of the shortest paths between others run
# through managers — their brokerage), and the **triple-helix synergy** (how much
# government, university and industry activity is coordinated rather than separate;
# negative values mean synergy, see `docs/ODD.md`).

# %%
tour.network_over_time(world)

# %% [markdown]
# ## Activity over time
#
# Disclosures, transfers ("deals") and market entries per simulated year. The first
# years are a warm-up: technologies need several quarters to move through the gates.

# %%
tour.activity(world)

# %% [markdown]
# ## Following technologies through the gates
#
# The last things that happened in this run, newest first (Y = simulated year,
# Q = quarter):

# %%
print(tour.latest_events(world))

# %% [markdown]
# Every technology has a record. Here are three from this run, side by side: one that
# reached the market, one that failed for technical reasons and one that was shelved
# because nobody funded its next step. Its **true value** is hidden from every agent; they
# decide on the **appraised** value, which a technology manager makes more accurate.

# %%
tour.example_technologies(world)

# %% [markdown]
# Where every technology of this run stands at the end (warm-up included), by who owned it at
# disclosure:

# %%
tour.where_technologies_stand(world)

# %% [markdown]
# ## Where and why they fail
#
# Each bar is a gate; its height is the number of technologies whose journey ended
# there, coloured by the cause. Technical failures are the floor no policy removes;
# **funding** and **matching** failures are the ones policy can reduce.

# %%
tour.failure_funnel(world)

# %% [markdown]
# The same numbers as a table, and in words:

# %%
tour.failures(world)

# %%
print(tour.failures_in_words(world))

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
# `ecosim validate` runs 30. At 30, every pattern's mean is inside its range; the PoC-funded
# cohort's conversion sits at the top edge of its range — see `docs/VALIDATION.md`.)

# %%
tour.facts_check(SCENARIO, replications=REPLICATIONS)

# %% [markdown]
# ## Watch it move: the interactive visualiser
#
# The cell below opens the visualiser inside the notebook: press **Play** to watch
# quarters go by, or **Step** for one at a time; change the policy levers and the
# rules on the left and press **Reset** to start a new world with them. (The same
# page opens in a browser with `ecosim viz scenarios/baseline.yaml`; see
# `docs/VISUALISER.md`.)

# %%
tour.visualiser(SCENARIO)
