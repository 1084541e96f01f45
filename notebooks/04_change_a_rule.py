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
# # 4. Change a rule
#
# Every decision an agent makes in ecosim is a **rule**: a small Python function looked
# up by name. A scenario chooses which rule each kind of agent follows, and anyone can
# add a rule without touching ecosim's code.
#
# In this notebook we write a new rule for how **enterprises decide whether to adopt**
# a technology, register it, run the baseline world with the default rule and with the
# new one (same random numbers for both, so the comparison is fair), and compare.

# %% [markdown]
# **How to use this notebook.** Choose *Run → Run All Cells* (or press Shift+Enter on each
# cell in turn). Nothing needs to be installed beyond ecosim's `notebooks` extra. To try
# something else, change a number in the *Settings* cell and run everything again.

# %% [markdown]
# ## Settings
#
# `REPLICATIONS` is how many independent histories are run for each rule. 10 keeps the
# notebook to about half a minute; raise it to 30 or more before drawing conclusions.
# With few replications most comparisons read "undecided: needs about N replications",
# which tells you how many to ask for.

# %%
from pathlib import Path

SCENARIO = Path("..") / "scenarios" / "baseline.yaml"
REPLICATIONS = 10    # histories per rule; use 30+ for conclusions
FIRST_SEED = 1       # replication r uses seed FIRST_SEED + r, for both rules
NEW_RULE = "fit_first"

# %%
import inspect

import numpy as np
import pandas as pd

from ecosim import analysis, notebook, plots
from ecosim.model import simulate
from ecosim.rules import available_rules, default_rule, register, rule_doc
from ecosim.rules.adoption import AdoptionCandidates, value_hurdle
from ecosim.scenario import apply_overrides, load_scenario

pd.set_option("display.precision", 3)
pd.set_option("display.max_colwidth", 120)
# %matplotlib inline

# %% [markdown]
# ## The rules that exist
#
# Six kinds of decision can be swapped. For each, the default and the alternatives
# that come with ecosim:

# %%
pd.DataFrame([
    {"decision": kind, "rule": name, "default": name == default_rule(kind), "what it does": rule_doc(kind, name)}
    for kind, names in available_rules().items() for name in names
]).set_index(["decision", "rule"])

# %% [markdown]
# ## What an adoption rule sees, and the default one
#
# When a technology tries to pass a gate, ecosim lists every enterprise it can reach
# (through its owner's ties, its manager's contacts and trading fairs). The adoption
# rule receives those (technology, enterprise) pairs and returns, for each pair, how
# *willing* the enterprise is, between 0 and 1. The fields it can read:

# %%
print(inspect.getdoc(AdoptionCandidates))

# %% [markdown]
# The default rule, `value_hurdle`: an enterprise is willing when the value it *itself*
# appraises the technology at (its own due diligence, more accurate the higher its absorptive
# capacity) clears its profit hurdle.

# %%
print(inspect.getsource(value_hurdle))


# %% [markdown]
# ## Write a new rule
#
# Our new rule, `fit_first`, says that enterprises adopt what fits their needs: the
# better the technology matches what the enterprise is looking for, the more willing
# it is — whatever the technology is thought to be worth. (Compare: the default
# ignores fit in the decision and looks only at value.)
#
# The `@register("adoption", NEW_RULE)` line is all it takes to make the rule
# available under its name. Running the cell again replaces the earlier version, so
# you can edit the rule and re-run.

# %%
@register("adoption", NEW_RULE)
def fit_first(c: AdoptionCandidates) -> np.ndarray:
    """Willing in proportion to how well the technology fits the enterprise's need, ignoring its value."""
    return np.sqrt(np.clip(c.fit, 0.0, 1.0))


# %% [markdown]
# Before running the world, try both rules on four made-up pairs: a cheap technology
# that fits well, a cheap one that fits badly, a valuable one that fits well, and a
# valuable one that fits badly.

# %%
examples = AdoptionCandidates(
    appraised_value=np.array([0.3, 0.3, 10.0, 10.0]),  # M¥
    trl=np.array([4.0, 4.0, 4.0, 4.0]),
    fit=np.array([0.9, 0.1, 0.9, 0.1]),
    absorptive_capacity=np.array([0.4, 0.4, 0.4, 0.4]),
    hurdle_log=np.zeros(4),
    size=np.ones(4),
)
pd.DataFrame({
    "appraised value (M¥)": examples.appraised_value, "fit": examples.fit,
    "value_hurdle (default)": value_hurdle(examples), NEW_RULE: fit_first(examples),
})

# %% [markdown]
# ## Run the world with each rule
#
# The only change between the two worlds is the rule named in the scenario
# (`rules.adoption`). Replication *r* uses the same seed under both rules ("common
# random numbers"), so the same universities, enterprises and inventions appear in
# both and the difference is due to the rule alone.

# %%
baseline = load_scenario(SCENARIO)
worlds = {
    "value_hurdle": baseline,
    NEW_RULE: apply_overrides(baseline, {"rules.adoption": NEW_RULE}, source="notebook"),
}
rows = []
for label, scenario in worlds.items():
    for replication in range(REPLICATIONS):
        seed = FIRST_SEED + replication
        result = simulate(scenario, seed=seed)
        rows.append({"scenario": label, "point": 0, "replication": replication, "seed": seed,
                     "status": "ok", **result.summary})
runs = pd.DataFrame(rows)
print(f"{len(runs)} runs finished")

# %% [markdown]
# ## Compare
#
# For each measure: the mean under the default rule and under the new rule, the change
# with its interval, and a verdict. Transfers, market entries and welfare are the
# *primary* outcomes: "better"/"worse" is given only when their interval (wide enough to
# hold for all three at once) is clear of no change; otherwise the verdict says how many
# replications would be needed. The conversion rate is shown as a *descriptive* number.

# %%
METRICS = ["deals", "commercialisations", "welfare", "conversion_university"]
comparison = analysis.compare(runs, baseline="value_hurdle", metrics=METRICS)
notebook.readable(comparison)

# %% [markdown]
# The same comparison as a picture (the figure of `ecosim report`): one panel per measure,
# each dot the change in percent, each bar the same interval as in the table. A bar that
# crosses the vertical line at 0 means the runs cannot tell the two rules apart on that
# measure.

# %%
plots.forest_panels(comparison)

# %% [markdown]
# Where the difference comes from: the change in the number of technologies lost at
# each gate, for each cause (blue = fewer failures with the new rule, red = more).

# %%
decomposition = analysis.failure_decomposition(runs, baseline="value_hurdle")
plots.failure_change_plot(decomposition)

# %% [markdown]
# ## What we learn
#
# The sentence below is written from the table above, so it stays true when you change
# the rule or the number of replications.

# %%
row = comparison.set_index("metric")
print(f"With enterprises following '{NEW_RULE}' instead of 'value_hurdle', over {REPLICATIONS} paired runs:")
print(notebook.conclusions(comparison))
more_deals = row.loc["deals", "difference_low"] > 0
fewer_products = row.loc["commercialisations", "difference_high"] < 0
if more_deals and fewer_products:
    print("More technologies change hands, but fewer of them reach the market.")

# %% [markdown]
# Read the lines together. A rule that makes enterprises take *more* technologies need
# not make society better off: when enterprises adopt by fit and ignore value, they
# also take technologies of low value, which then stall at the later, costlier gates
# (see the red cells at G2 and G3 above). The conversion rate is a means, not the
# goal — which is why ecosim reports market entries and welfare beside it. Before
# quoting any of these numbers, raise `REPLICATIONS` and check that the verdicts hold.
#
# ## Use the rule outside this notebook
#
# To use the rule from the command line or in a sweep run by several processes, put the
# same function (with its `@register` line and imports) in a Python file, say
# `my_rules.py`, and name it in the scenario (`rules_file: my_rules.py` and
# `rules: {adoption: fit_first}`) or on the command line:
#
# ```
# ecosim run scenarios/baseline.yaml --rules my_rules.py --set rules.adoption=fit_first
# ```
