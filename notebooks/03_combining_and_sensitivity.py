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
# # 3. Combining policies, and what matters most
#
# Two questions a policy mix raises:
#
# 1. **Do two policies add up?** A proof-of-concept (PoC) fund pays for the first tests of an
#    invention — a prototype test that can show early that it would fail later, so the money
#    goes to the ones that will not; technology managers appraise inventions more accurately
#    and find them a user. Does money work better with more managers
#    (they *reinforce* each other), or does one make the other unnecessary (they *substitute*)?
#    Every combination of four PoC budgets and four numbers of managers is run and drawn as a
#    **heat map**, one per primary outcome. A grid is a *surface*: its cells are not policies
#    compared with one reference cell, so there are no better/worse verdicts here — each cell
#    shows its mean and its 95% interval.
# 2. **Which parameters drive the outcomes?** Some inputs are policy levers, others are things
#    nobody knows precisely (how uneven technologies' values are, how easily partners are
#    found). A **Morris screening** varies them all and ranks them by how much they move the
#    outcomes.
#
# **How to use this notebook.** Choose *Run → Run All Cells*; change a number in *Settings* and
# run again.

# %% [markdown]
# ## Settings
#
# Small numbers so that the notebook runs in a few minutes on a 2-core laptop. For conclusions
# raise `GRID_REPLICATIONS` to 20 (the experiment file's setting) and `TRAJECTORIES` to 20 or
# more.

# %%
from pathlib import Path

from ecosim import notebook, plots

GRID_EXPERIMENT = Path("..") / "experiments" / "poc_managers_grid.yaml"
GRID_REPLICATIONS = 4    # histories per grid cell; use 20 for conclusions
TRAJECTORIES = 4         # Morris trajectories; use 20+ for conclusions
WORKERS = 2              # runs computed at the same time
FRESH = False            # True: discard stored runs and compute again
# %matplotlib inline

# %% [markdown]
# ## Part 1 — the PoC fund × technology managers grid
#
# Read along a row to see what managers add at a given PoC budget, and up a column to see what
# the PoC fund adds at a given number of managers. The two policies *reinforce* each other if
# the PoC fund's gain grows with the number of managers — and that is only believable where the
# cells' intervals do not overlap.

# %%
grid = notebook.run_experiment(GRID_EXPERIMENT, replications=GRID_REPLICATIONS, workers=WORKERS, fresh=FRESH)

# %%
notebook.design_surface(grid, "commercialisations")

# %%
notebook.design_surface(grid, "welfare")

# %%
notebook.design_surface(grid, "deals")

# %% [markdown]
# The same numbers as a table, each design point named by its parameter values:

# %%
notebook.design_table(grid, ["deals", "commercialisations", "welfare"])

# %% [markdown]
# ## Part 2 — which parameters matter most (Morris screening)
#
# The Morris method moves one parameter at a time, one step, along several random paths
# through the space of all parameters, and records how much each step changes the outcome. A
# parameter whose steps change the outcome a lot (a large **μ\***) matters; one whose steps
# change it little can be left at its default. It ranks; it does not measure precisely (use
# `experiments/sensitivity_sobol.yaml` for that). Edit the ranges below to screen others (any
# key of the scenario, see `docs/PARAMETERS.md`); the experiment is written to a file that
# `ecosim sweep` also accepts.

# %%
SCREENED = {
    "budget.proof_of_concept": [0.0, 0.15],                      # PoC fund, share of budget
    "policy.managers.managers_per_region": [20, 200],            # technology managers
    "policy.incentives.transfer_weight": [0.1, 1.5],             # university evaluation: transfer vs publication
    "policy.joint_rnd.subsidy_rate": [0.0, 0.6],                 # subsidy of enterprise-led joint R&D
    "policy.fairs.expert_selection_rate": [0.05, 0.4],           # share of fair applicants selected
    "policy.openness.cross_region_tie_probability": [0.0, 0.2],  # openness across regions
    "technology.log_value_sigma": [1.2, 2.7],                    # how uneven technologies' values are
    "technology.matching_lambda": [0.2, 1.5],                    # how easily a partner is found
}
screening = notebook.run_experiment_spec({
    "name": f"screening_notebook_t{TRAJECTORIES}",
    "description": "Morris screening from notebook 3",
    "scenarios": [{"file": str((Path("..") / "scenarios" / "baseline.yaml").resolve()), "name": "morris",
                   "overrides": {"budget.research_grants": 0.65}}],
    "design": {"kind": "morris", "trajectories": TRAJECTORIES, "num_levels": 4, "parameters": SCREENED},
    "replications": 1,
    "seed": 20261201,
    "keep": "summary",
}, workers=WORKERS, fresh=FRESH)

# %%
indices = notebook.sensitivity(screening, ["deals", "commercialisations", "welfare"])
plots.sensitivity_plot(indices, "deals")

# %%
plots.sensitivity_plot(indices, "welfare")

# %% [markdown]
# Main effects: each dot is one point of the screening, the line the mean in bins of the
# parameter — how the outcome moves with each parameter, averaged over the others.

# %%
notebook.main_effects(screening, "deals")

# %% [markdown]
# **How to read this.** The heat maps show what combinations of the two policies achieve on
# average, with intervals; whether they reinforce or substitute is read from how the gain of one
# changes with the level of the other, and only where that change is larger than the intervals.
# The screening ranks parameters; with few trajectories the ranking of the top few is usually
# stable while the order of the rest is not. Parameters near the top that are *not* policy
# levers are where better data would most improve the model's advice.
