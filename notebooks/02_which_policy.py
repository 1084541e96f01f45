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
# # 2. Which policy?
#
# *Which policy turns more research into products that people use, at what cost, and why do
# the others fail?*
#
# Each policy lever is simulated on its own, and all of them together (the "ecosystem"
# scenario), and compared with today's world (the baseline). Every scenario is run on the
# **same** random histories (common random numbers), so each comparison is made history by
# history: the difference we see is the policy's, not luck's.
#
# Some numbers of the model could not be pinned down by the published facts (how much money
# transfer offices have, how easily technologies find adopters, ...). Each history therefore
# also uses one **plausible world**: one draw of those numbers from the calibration's
# posterior, the same draw for every scenario. So the answers hold *whatever the values we
# could not pin down*, and we can say in how many of the plausible worlds each policy wins.
#
# The answer comes first: a ranking of the policies on the **primary outcomes** — technologies
# transferred, technologies reaching the market, and welfare from products on the market — with
# how sure we can be, what each extra outcome costs in public money, and where the technologies
# of the policies that do not help get stuck. The details follow.
#
# **How to use this notebook.** Choose *Run → Run All Cells*. To try something else, change a
# number in the *Settings* cell and run everything again.

# %% [markdown]
# ## Settings
#
# `REPLICATIONS` random histories per scenario: 8 take about two minutes on an idle 2-core
# laptop. With so few, many comparisons will read "undecided: needs about N replications" —
# that is the honest answer, and N tells you how many to ask for. `WORKERS` is how many runs
# are computed at once. `FRESH = True` discards stored runs (do this after updating ecosim).

# %%
from pathlib import Path

from ecosim import notebook, plots

EXPERIMENT = Path("..") / "experiments" / "policy_levers_posterior.yaml"
REPLICATIONS = 8     # histories (each one plausible world) per scenario; the experiment file has 30
WORKERS = 2          # runs computed at the same time
FRESH = False        # True: discard stored runs and compute again
# %matplotlib inline

# %% [markdown]
# ## Run (or load) the experiment
#
# The runs are stored as they finish; running the notebook again loads them.

# %%
results = notebook.run_experiment(EXPERIMENT, replications=REPLICATIONS, workers=WORKERS, fresh=FRESH)

# %% [markdown]
# ## The answer
#
# One row per policy, best first. Each primary outcome shows the change against the baseline,
# its interval, and the verdict: **better** or **worse** only when the interval — made wide
# enough to hold for all the primary comparisons at once — is clear of "no change"; otherwise
# how many replications would be needed. The last columns give the extra public money, the
# money per extra technology transferred, and the gate and cause where most of the policy's
# technologies fail.

# %%
notebook.answer(results)

# %% [markdown]
# ## The same in words
#
# Written from the table, so it stays true when you change the settings.

# %%
table = notebook.comparison(results)
print(notebook.conclusions(table))

# %% [markdown]
# ## In how many plausible worlds does each policy win?
#
# For each policy and primary outcome: the share of the plausible worlds (histories, each with
# its own draw of the uncertain numbers) in which the policy does better than the baseline,
# with an interval that says how precisely this many histories pin that share down. A share
# near 100% means the policy helps whatever those numbers are; near 50%, that it depends on
# them (or does nothing). It is not a p-value.

# %%
print(notebook.probability_note())
notebook.probabilities(table)

# %% [markdown]
# ## Every outcome, with its interval
#
# The primary outcomes get verdicts; every other outcome is *descriptive*: it is shown with
# its 95% interval, but not judged, because testing dozens of outcomes would produce "findings"
# by chance. The plot shows the same intervals as the table — the report's figure: one panel
# per outcome (the primary outcomes first), the policies on the same rows in every panel, each
# dot the change in % of the baseline's mean and coloured by its verdict.

# %%
notebook.readable(table)

# %%
plots.forest_panels(table)

# %% [markdown]
# ## Welfare, run by run
#
# Welfare is very uneven between histories (a few technologies carry most of the value), which
# is why its change is measured as a ratio of means on a log scale. Every history is a dot:

# %%
plots.distribution_plot(results.ok, "welfare", baseline="baseline")

# %% [markdown]
# ## Why: which failures each policy removes
#
# Technologies fail at one of four gates for one of three causes. Each panel shows how many
# more (red) or fewer (blue) technologies per run each policy loses at each gate and for each
# cause. A policy cannot make a technology work, so it acts on **funding** and **matching**
# failures; **technical** failures still move, because a policy that carries more technologies
# to a gate also sees more of them fail there for technical reasons (and a PoC test stops some
# early, on purpose).

# %%
from ecosim import analysis

plots.failure_change_plot(analysis.failure_decomposition(results.ok, "baseline"))

# %% [markdown]
# ## At what cost
#
# The extra outcomes are the table's own numbers; the ratios have intervals only where the
# denominator clearly changed.

# %%
effectiveness = notebook.cost_effectiveness(results, table)
notebook.readable_cost_effectiveness(effectiveness)

# %%
plots.cost_effectiveness_plot(effectiveness, "deals")

# %% [markdown]
# **How to read this.** "Better" means the change is larger than run-to-run luck for all the
# primary comparisons together; "undecided" means these runs cannot tell — not that the policy
# does nothing — and says how many replications would. The model's default world is calibrated
# against published figures (notebook 1 and `ecosim validate`); conclusions about China rest on
# that calibration and on how big each lever is in its scenario file (`scenarios/`).
#
# **These are 10-year answers.** Each run is measured over quarters 21–60. Thirty years on, the
# levers' effects on what they target keep their sign (two become too small to tell with 12 histories), but incentive reform's gain in market entries
# turns into a loss (from +16% to −19%, at the default parameters, 12 paired histories per horizon): the extra academic technologies it gets licensed crowd
# the development money of enterprises and transfer offices, which in the model does not grow with the opportunities
# (docs/VALIDATION.md §4 traces it). Read market entries and welfare with that horizon in mind.
