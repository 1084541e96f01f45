"""Write the policymakers' notebooks from the cell texts below, without outputs.

The notebooks in this folder are generated: edit the text here, then run

    .venv/bin/python notebooks/build_notebooks.py          # rewrite the .ipynb files
    .venv/bin/python notebooks/build_notebooks.py --check  # fail if they differ from this script

so that every change to a notebook is reviewed as a change to plain Python text, and the
stored notebooks never carry outputs (their diffs stay readable). Cell ids are fixed
(``<notebook>-<number>``) so rebuilding an unchanged notebook changes nothing.

Every notebook uses only ecosim's public API; the cells glue its functions together and
explain each step in plain words for a reader who does not program.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

KERNEL = {"name": "python3", "display_name": "Python 3 (ecosim)", "language": "python"}


def md(text: str):
    """A Markdown cell from an indented triple-quoted string."""
    return new_markdown_cell(textwrap.dedent(text).strip("\n"))


def code(text: str):
    """A code cell from an indented triple-quoted string."""
    return new_code_cell(textwrap.dedent(text).strip("\n"))


HOW_TO_RUN = """
    **How to use this notebook.** Choose *Run → Run All Cells* (or press Shift+Enter on each
    cell in turn). Nothing needs to be installed beyond ecosim's `notebooks` extra. To try
    something else, change a number in the *Settings* cell and run everything again.
"""


# --------------------------------------------------------------------------------------------
# 1. A tour of the ecosystem
# --------------------------------------------------------------------------------------------

def tour() -> list:
    """Notebook 1: run the baseline, look at the network, follow technologies, facts."""
    return [
        md("""
            # 1. A tour of the technology-transfer ecosystem

            ecosim simulates the "triple helix" of **government**, **universities and research
            institutes** and **enterprises**, with the **technology managers** and **investors**
            who broker between them. One step is one quarter of a year. Universities and
            enterprises produce inventions ("technologies"); each technology must pass four
            *gates* before it reaches the market:

            | gate | what happens | readiness (TRL) |
            |---|---|---|
            | G1 proof of concept | does the idea work at all? | 3 → 4 |
            | G2 validation — the "valley of death" | a working prototype | 4 → 6 |
            | G3 pilot and scale-up | can it be made at scale? | 6 → 8 |
            | G4 market entry | someone sells it | 8 → 9 |

            At every gate a technology can fail for one of three reasons: **technical** (it
            simply does not work — no policy changes that), **funding** (nobody pays for the
            next step) or **matching** (no enterprise that could use it is found).

            This notebook runs the default ("baseline") world once, looks at its network,
            follows technologies through the gates, shows where and why they fail, and checks
            the default world against the published figures it is calibrated to (FACTS.md).
        """),
        md(HOW_TO_RUN),
        md("""
            ## Settings

            `SEED` fixes the random numbers, so the same seed always gives the same world.
            `REPLICATIONS` is how many differently-seeded runs are averaged when the model is
            compared with the published facts: 5 keeps this notebook quick; raise it to 30 or
            more for numbers you would quote.
        """),
        code("""
            from pathlib import Path

            SCENARIO = Path("..") / "scenarios" / "baseline.yaml"  # the default world
            SEED = 2026          # change it to see another, equally likely, history
            REPLICATIONS = 5     # runs averaged for the facts check; use 30+ for final numbers
        """),
        code("""
            import matplotlib.pyplot as plt
            import networkx as nx
            import pandas as pd
            from IPython.display import SVG

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
            %matplotlib inline
        """),
        md("""
            ## The default world

            A scenario file describes a world: how many universities, enterprises and managers,
            how the government splits its budget, and the rules agents follow. The baseline file
            only names the scenario; every other value takes its documented default.
        """),
        code("""
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
        """),
        md("""
            ## Run it

            We build the model and run it quarter by quarter (a few seconds). Afterwards the model
            holds three tables: one row per **quarter**, a one-line **summary** of the whole run,
            and one row per **technology**.
        """),
        code("""
            model = EcosystemModel(scenario, seed=SEED)
            for quarter in range(scenario.steps):
                model.step()

            steps = model.step_table()
            summary = model.summary()
            technologies = model.technology_table()
            print(f"{scenario.steps} quarters ({scenario.steps // 4} years): "
                  f"{summary['disclosures']:,.0f} technologies disclosed, "
                  f"{summary['deals']:,.0f} transferred to a user, "
                  f"{summary['commercialisations']:,.0f} reached the market.")
        """),
        md("""
            ## The network

            Agents are connected by ties: research collaborations, licences from deals,
            brokerage by managers, and finance. The picture (the same as the visualiser's) shows
            each region as a panel at the end of the run; ties that cross regions run between
            panels, and a node is larger the more technologies it has owned, adopted, brokered
            or backed. For readability only the most active enterprises are drawn. Managers sit
            *between* universities and enterprises: that is the brokerage the manager programme
            buys.
        """),
        code("""
            graph = model.network.graph
            kind_of = {node: NODE_KINDS[model.network.layout.kind[node]] for node in graph.nodes}
            counts = pd.Series(kind_of).value_counts().rename("agents")
            print(f"{graph.number_of_nodes():,} agents, {graph.number_of_edges():,} ties, "
                  f"density {nx.density(graph):.4f}")
            counts.to_frame()
        """),
        code("""
            SVG(network_svg(model, node_positions(model.layout)))
        """),
        md("""
            How the network changes: its **density** (share of possible ties that exist), the
            managers' **betweenness** (how much of the shortest paths between others run
            through managers — their brokerage), and the **triple-helix synergy** (how much
            government, university and industry activity is coordinated rather than separate).
        """),
        code("""
            fig, axes = plt.subplots(1, 3, figsize=(12, 3.5), layout="constrained")
            for ax, column, label in zip(axes, ["network_density", "manager_betweenness", "triple_helix_synergy"],
                                         ["network density", "managers' betweenness", "triple-helix synergy"]):
                ax.plot(steps["step"] / 4, steps[column])
                ax.set_title(label)
                ax.set_xlabel("simulated year")
        """),
        md("""
            ## Activity over time

            Disclosures, transfers ("deals") and market entries per simulated year. The first
            years are a warm-up: technologies need several quarters to move through the gates.
        """),
        code("""
            activity_figure(steps);
        """),
        md("""
            ## Following technologies through the gates

            The last things that happened in this run, newest first (Y = simulated year,
            Q = quarter):
        """),
        code("""
            print("\\n".join(recent_events(model, limit=8)))
        """),
        md("""
            Every technology has a record. Here are three of them from this run: one that
            reached the market, one that failed for technical reasons and one that was shelved
            because nobody funded its next step. `birth` and the other times are in quarters;
            `value` is its true (hidden) value in M¥, `appraised` what people *thought* it was
            worth.
        """),
        code("""
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
        """),
        md("""
            Where every technology of this run stands at the end:
        """),
        code("""
            pd.crosstab(technologies["owner_type"], technologies["status"], margins=True, margins_name="total")
        """),
        md("""
            ## Where and why they fail

            Each bar is a gate; its height is the number of technologies whose journey ended
            there, coloured by the cause. Technical failures are the floor no policy removes;
            **funding** and **matching** failures are the ones policy can reduce.
        """),
        code("""
            funnel_figure(summary);
        """),
        code("""
            failures = pd.DataFrame([[summary[f"fail_{gate}_{cause}"] for cause in CAUSES] for gate in GATES],
                                    index=list(GATES), columns=list(CAUSES))
            failures["total"] = failures.sum(axis=1)
            failures.loc["total"] = failures.sum()
            failures.astype(int)
        """),
        code("""
            share = failures.loc["total", list(CAUSES)] / failures.loc["total", "total"]
            worst_gate = failures.drop(index="total")["total"].idxmax()
            print(f"Of {failures.loc['total', 'total']:,.0f} technologies that failed or were shelved, "
                  f"{share['technical']:.0%} failed for technical reasons, {share['funding']:.0%} for lack of funding "
                  f"and {share['matching']:.0%} for lack of a partner. Most were lost at {worst_gate}.")
        """),
        md("""
            ## Does the default world look like the real one?

            A policy comparison is only believable if the simulated world reproduces what is
            known about the real one. ecosim is calibrated against twelve published facts (some checked two ways)
            (patent conversion rates from China's patent office surveys, R&D shares, US
            university licensing statistics, drug-development success rates, and more — see
            `docs/VALIDATION.md` for each source and how the model measures it the same way).

            Below, `REPLICATIONS` runs of the default world with different seeds: for each fact,
            the published target range, the simulated mean with its 95% interval, and whether
            the mean falls inside the target. (With 5 runs the intervals are wide;
            `ecosim validate` runs 30.)
        """),
        code("""
            facts, fact_runs = validate(scenario, replications=REPLICATIONS, workers=2)
            facts_view = facts.assign(
                simulated=[f"{m:.3g} ({lo:.3g}–{hi:.3g})" for m, lo, hi in zip(facts["mean"], facts["ci_low"], facts["ci_high"])],
                inside=facts["inside"].map({True: "yes", False: "NO"}),
            )
            facts_view.set_index("fact")[["description", "target", "simulated", "inside"]]
        """),
        code("""
            missed = facts.loc[~facts["inside"], "fact"].tolist()
            print(f"{facts['inside'].sum()} of {len(facts)} facts are reproduced (mean inside the target range) "
                  f"over {REPLICATIONS} runs." + (f" Outside: {', '.join(missed)}." if missed else ""))
        """),
        md("""
            ## Watch it move: the interactive visualiser

            The cell below opens the visualiser inside the notebook: press **Play** to watch
            quarters go by, or **Step** for one at a time; change the policy levers and the
            rules on the left and press **Reset** to start a new world with them. (The same
            page opens in a browser with `ecosim viz scenarios/baseline.yaml`; see
            `docs/VISUALISER.md`.)
        """),
        code("""
            make_page(SCENARIO)
        """),
    ]


# --------------------------------------------------------------------------------------------
# 4. Change a rule
# --------------------------------------------------------------------------------------------

def change_a_rule() -> list:
    """Notebook 4: write a new enterprise adoption rule, register it, compare with the default."""
    return [
        md("""
            # 4. Change a rule

            Every decision an agent makes in ecosim is a **rule**: a small Python function looked
            up by name. A scenario chooses which rule each kind of agent follows, and anyone can
            add a rule without touching ecosim's code.

            In this notebook we write a new rule for how **enterprises decide whether to adopt**
            a technology, register it, run the baseline world with the default rule and with the
            new one (same random numbers for both, so the comparison is fair), and compare.
        """),
        md(HOW_TO_RUN),
        md("""
            ## Settings

            `REPLICATIONS` is how many independent histories are run for each rule. 10 keeps the
            notebook to about half a minute; raise it to 30 or more before drawing conclusions.
            With fewer than about 10 the verdicts are almost always "no detectable difference"
            (skewed measures such as welfare are tested by ranks, which need enough pairs), and
            the intervals tell you more.
        """),
        code("""
            from pathlib import Path

            SCENARIO = Path("..") / "scenarios" / "baseline.yaml"
            REPLICATIONS = 10    # histories per rule; use 30+ for conclusions
            FIRST_SEED = 1       # replication r uses seed FIRST_SEED + r, for both rules
            NEW_RULE = "fit_first"
        """),
        code("""
            import inspect

            import numpy as np
            import pandas as pd

            from ecosim import analysis, plots
            from ecosim.model import simulate
            from ecosim.rules import available_rules, default_rule, register, rule_doc
            from ecosim.rules.adoption import AdoptionCandidates, value_hurdle
            from ecosim.scenario import apply_overrides, load_scenario

            pd.set_option("display.precision", 3)
            pd.set_option("display.max_colwidth", 120)
            %matplotlib inline
        """),
        md("""
            ## The rules that exist

            Six kinds of decision can be swapped. For each, the default and the alternatives
            that come with ecosim:
        """),
        code("""
            pd.DataFrame([
                {"decision": kind, "rule": name, "default": name == default_rule(kind), "what it does": rule_doc(kind, name)}
                for kind, names in available_rules().items() for name in names
            ]).set_index(["decision", "rule"])
        """),
        md("""
            ## What an adoption rule sees, and the default one

            When a technology tries to pass a gate, ecosim lists every enterprise it can reach
            (through its owner's ties, its manager's contacts and trading fairs). The adoption
            rule receives those (technology, enterprise) pairs and returns, for each pair, how
            *willing* the enterprise is, between 0 and 1. The fields it can read:
        """),
        code("""
            print(inspect.getdoc(AdoptionCandidates))
        """),
        md("""
            The default rule, `value_hurdle`: an enterprise is willing when the technology's
            *appraised* value clears its profit hurdle.
        """),
        code("""
            print(inspect.getsource(value_hurdle))
        """),
        md("""
            ## Write a new rule

            Our new rule, `fit_first`, says that enterprises adopt what fits their needs: the
            better the technology matches what the enterprise is looking for, the more willing
            it is — whatever the technology is thought to be worth. (Compare: the default
            ignores fit in the decision and looks only at value.)

            The `@register("adoption", NEW_RULE)` line is all it takes to make the rule
            available under its name. Running the cell again replaces the earlier version, so
            you can edit the rule and re-run.
        """),
        code("""
            @register("adoption", NEW_RULE)
            def fit_first(c: AdoptionCandidates) -> np.ndarray:
                \"\"\"Willing in proportion to how well the technology fits the enterprise's need, ignoring its value.\"\"\"
                return np.sqrt(np.clip(c.fit, 0.0, 1.0))
        """),
        md("""
            Before running the world, try both rules on four made-up pairs: a cheap technology
            that fits well, a cheap one that fits badly, a valuable one that fits well, and a
            valuable one that fits badly.
        """),
        code("""
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
        """),
        md("""
            ## Run the world with each rule

            The only change between the two worlds is the rule named in the scenario
            (`rules.adoption`). Replication *r* uses the same seed under both rules ("common
            random numbers"), so the same universities, enterprises and inventions appear in
            both and the difference is due to the rule alone.
        """),
        code("""
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
        """),
        md("""
            ## Compare

            For each measure: the mean under the default rule, under the new rule, the change in
            percent with its 95% interval, and a verdict. "better"/"worse" is only given when the
            difference is clearly larger than the run-to-run noise (after correcting for testing
            several measures at once); otherwise the verdict says no difference was detected.
        """),
        code("""
            METRICS = ["conversion_university", "deals", "commercialisations", "welfare"]
            comparison = analysis.compare(runs, baseline="value_hurdle", metrics=METRICS)
            pd.DataFrame({
                "measure": [analysis.metric_label(m) for m in comparison["metric"]],
                "default rule": comparison["baseline_mean"].round(3),
                NEW_RULE: comparison["scenario_mean"].round(3),
                "change %": comparison["relative_change"].round(1),
                "95% interval": [f"{lo:+.1f} to {hi:+.1f}" for lo, hi in
                                 zip(comparison["relative_low"], comparison["relative_high"])],
                "verdict": comparison["verdict"],
            }).set_index("measure")
        """),
        md("""
            The same comparison as a picture: each dot is the change in percent, each bar its 95%
            interval. A bar that crosses the vertical line at 0 means the runs cannot tell the
            two rules apart on that measure.
        """),
        code("""
            plots.forest_plot(comparison)
        """),
        md("""
            Where the difference comes from: the change in the number of technologies lost at
            each gate, for each cause (blue = fewer failures with the new rule, red = more).
        """),
        code("""
            decomposition = analysis.failure_decomposition(runs, baseline="value_hurdle")
            plots.failure_change_plot(decomposition)
        """),
        md("""
            ## What we learn

            The sentence below is written from the table above, so it stays true when you change
            the rule or the number of replications.
        """),
        code("""
            row = comparison.set_index("metric")
            def change(metric):
                r = row.loc[metric]
                return (f"{r['relative_change']:+.0f}% (95% interval {r['relative_low']:+.0f}% to "
                        f"{r['relative_high']:+.0f}%; {r['verdict']})")
            print(f"With enterprises following '{NEW_RULE}' instead of 'value_hurdle', over {REPLICATIONS} paired runs:")
            print(f"  - transfers (deals) change by {change('deals')},")
            print(f"  - market entries change by {change('commercialisations')},")
            print(f"  - welfare changes by {change('welfare')}.")
            more_deals = row.loc["deals", "difference_low"] > 0
            fewer_products = row.loc["commercialisations", "difference_high"] < 0
            if more_deals and fewer_products:
                print("More technologies change hands, but fewer of them reach the market.")
        """),
        md("""
            Read the lines together. A rule that makes enterprises take *more* technologies need
            not make society better off: when enterprises adopt by fit and ignore value, they
            also take technologies of low value, which then stall at the later, costlier gates
            (see the red cells at G2 and G3 above). The conversion rate is a means, not the
            goal — which is why ecosim reports market entries and welfare beside it. Before
            quoting any of these numbers, raise `REPLICATIONS` and check that the verdicts hold.

            ## Use the rule outside this notebook

            To use the rule from the command line or in a sweep run by several processes, put the
            same function (with its `@register` line and imports) in a Python file, say
            `my_rules.py`, and name it in the scenario (`rules_file: my_rules.py` and
            `rules: {adoption: fit_first}`) or on the command line:

            ```
            ecosim run scenarios/baseline.yaml --rules my_rules.py --set rules.adoption=fit_first
            ```
        """),
    ]


# --------------------------------------------------------------------------------------------
# 2. Which policy?
# --------------------------------------------------------------------------------------------

RUN_OR_LOAD = """
    def run_or_load(experiment, folder):
        \"\"\"Run the experiment's runs into folder, or load them if folder holds the very same experiment.\"\"\"
        if folder.exists():
            try:
                same = load_index(folder)["fingerprint"] == experiment.fingerprint()
            except InputError:  # not a results folder
                same = False
            if FRESH or not same:
                print(f"discarding stored runs in {folder} ({'FRESH' if FRESH else 'the experiment or its scenarios changed'})")
                shutil.rmtree(folder)
        outcome = run_sweep(experiment, folder, executor="process", workers=WORKERS, resume=True)
        print(f"{outcome.done} runs computed, {outcome.skipped} loaded from {folder}, {outcome.failed} failed "
              f"({outcome.seconds:.0f} s)")
        return outcome
"""


def which_policy() -> list:
    """Notebook 2: each lever against the baseline, with intervals, decomposition, cost."""
    return [
        md("""
            # 2. Which policy?

            *Which policy turns more research into products that people use, at what cost, and
            why do the others fail?*

            Each policy lever is simulated on its own, and all of them together (the
            "ecosystem" scenario), and compared with today's world (the baseline). Every
            scenario is run on the **same** set of random histories (common random numbers), so
            each comparison is made history by history: the difference we see is the policy's,
            not luck's.

            The notebook shows: the headline numbers with their uncertainty, the change each
            policy makes with 95% intervals (a *forest plot*), **which failures** each policy
            removes (gate × cause), **what it costs** per unit of benefit, and finally the
            conclusions in plain words, written from the numbers above them.
        """),
        md(HOW_TO_RUN),
        md("""
            ## Settings

            `REPLICATIONS` random histories per scenario: 8 takes about a minute and a half on
            an idle 2-core laptop. The intervals below are then wide; **raise it to 30 or more**
            (the experiment file's own setting) before quoting a number. Below about 8 the rank
            tests used for skewed measures such as welfare cannot reach a verdict at all.
            `WORKERS` is how many runs are computed at once (the number of processor cores is a
            good choice).

            `CORRECTION` decides how the verdicts guard against luck when many comparisons are
            made at once. `"bh"` (Benjamini–Hochberg) keeps the *share* of false "better" or
            "worse" verdicts at 5%, and suits a first screening of many policies with few runs;
            `"holm"` keeps the chance of *any* false verdict at 5% — stricter, the default of
            `ecosim compare`, and the one to use with 30+ replications.
        """),
        code("""
            import os
            from pathlib import Path

            EXPERIMENT = Path("..") / "experiments" / "policy_levers.yaml"
            REPLICATIONS = 8     # histories per scenario; use 30+ for numbers you quote
            WORKERS = 2          # runs computed at the same time
            CORRECTION = "bh"    # "bh" for screening, "holm" (stricter) with 30+ replications
            # where the runs are stored; running the notebook again loads them instead of recomputing
            RESULTS_ROOT = Path(os.environ.get("ECOSIM_NOTEBOOK_RESULTS", Path("..") / "results" / "notebooks"))
            FRESH = False        # True: discard stored runs and compute again (do this after updating ecosim)
        """),
        code("""
            import shutil

            import pandas as pd

            from ecosim import analysis, plots
            from ecosim.errors import InputError
            from ecosim.executors import run_sweep
            from ecosim.experiment import load_experiment
            from ecosim.store import load_index, load_runs, load_steps

            pd.set_option("display.precision", 3)
            pd.set_option("display.max_colwidth", 100)
            %matplotlib inline
        """),
        md("""
            A small helper used below: run an experiment, or load its runs when the results
            folder already holds exactly that experiment.
        """),
        code(RUN_OR_LOAD),
        md("""
            ## The experiment

            The experiment file lists the scenarios; each scenario file changes one lever of
            the baseline. Here they are, with what each changes:
        """),
        code("""
            experiment = load_experiment(EXPERIMENT).with_trial(replications=REPLICATIONS)
            print(experiment.description)
            pd.DataFrame({"what it changes": {name: data.get("description", "")
                                              for name, data in experiment.scenarios.items()}})
        """),
        md("""
            ## Run (or load) the runs

            The runs are written to a results folder as they finish. If the folder already
            holds the very same experiment (same file, same scenarios, same `REPLICATIONS`),
            the finished runs are loaded and only missing ones are computed; otherwise the old
            runs are discarded. Stored runs do not know that ecosim's *code* has changed: after
            updating ecosim, set `FRESH = True` once.
        """),
        code("""
            results = RESULTS_ROOT / f"{experiment.name}-r{REPLICATIONS}"
            run_or_load(experiment, results)
            runs = load_runs(results)
            steps = load_steps(results)
            BASELINE = "baseline"
        """),
        md("""
            ## The headline numbers

            Mean per run (15 simulated years) and its 95% interval, for each scenario:
            technologies transferred to a user (*deals*), technologies reaching the market,
            welfare created by products on the market (M¥), public money spent (M¥), and the
            conversion rate of university technologies.
        """),
        code("""
            HEADLINE = ["deals", "commercialisations", "welfare", "public_spending", "conversion_university"]
            summary = analysis.summarise(runs, metrics=HEADLINE)
            def readable(x):
                return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
            summary["mean (95% interval)"] = [
                f"{readable(m)} ({readable(lo)}–{readable(hi)})"
                for m, lo, hi in zip(summary["mean"], summary["mean_low"], summary["mean_high"])]
            table = summary.pivot(index="condition", columns="metric", values="mean (95% interval)")
            table = table.reindex(index=list(experiment.scenarios), columns=HEADLINE)
            table.columns = [analysis.metric_label(m) for m in HEADLINE]
            table
        """),
        md("""
            The same technologies, as a funnel: how many are disclosed, how many are transferred,
            and how many reach the market, with the share of disclosures that gets that far.
        """),
        code("""
            plots.funnel_plot(analysis.conversion_funnel(runs), baseline=BASELINE)
        """),
        md("""
            ## What each policy changes, with its uncertainty

            Each dot is a policy's change against the baseline in percent; the bar is its 95%
            interval. A bar clear of the vertical line at 0 is a change the runs can tell from
            noise; the colour gives the verdict (after correcting for the many comparisons).
        """),
        code("""
            OUTCOMES = ["deals", "commercialisations", "welfare", "welfare_per_public_yuan"]
            comparison = analysis.compare(runs, baseline=BASELINE, metrics=OUTCOMES, correction=CORRECTION)
            plots.forest_plot(comparison)
        """),
        code("""
            verdicts = comparison.pivot(index="condition", columns="metric", values="verdict")
            changes = comparison.pivot(index="condition", columns="metric", values="relative_change").round(0)
            pd.concat({"change %": changes[OUTCOMES], "verdict": verdicts[OUTCOMES]}, axis=1)
        """),
        md("""
            Welfare is very uneven from run to run (a few technologies carry most of the value),
            so it is worth seeing every run, not only the mean:
        """),
        code("""
            plots.distribution_plot(runs, "welfare", baseline=BASELINE)
        """),
        md("""
            Market entries over the 15 years (running total; the line is the median history,
            the band holds 90% of them). Policies act slowly: their effect grows over years.
        """),
        code("""
            bands = analysis.time_series_bands(steps, metrics=["commercialisations"], cumulative=True)
            plots.time_series_plot(bands, "commercialisations", baseline=BASELINE)
        """),
        md("""
            ## Why: which failures each policy removes

            Technologies fail at one of four gates for one of three causes. Each panel shows how
            many more (red) or fewer (blue) technologies per run each policy loses at each gate
            and for each cause, compared with the baseline. No policy changes **technical**
            failures directly — they are the floor — so a policy works by removing **funding**
            or **matching** failures, and may then let more technologies reach later gates
            where some of them fail for technical reasons.
        """),
        code("""
            decomposition = analysis.failure_decomposition(runs, baseline=BASELINE)
            plots.failure_change_plot(decomposition)
        """),
        md("""
            ## At what cost

            Extra welfare against extra public money, each policy against the baseline. Up and
            to the left is better and cheaper; the label is welfare gained per extra M¥. When a
            policy costs no more public money than the baseline (it changes rules, not
            budgets), the ratio is not meaningful and the table says so.
        """),
        code("""
            effectiveness = analysis.cost_effectiveness(runs, baseline=BASELINE, outcomes=["welfare", "commercialisations"])
            plots.cost_effectiveness_plot(effectiveness, "welfare")
        """),
        code("""
            cost_table = effectiveness[effectiveness["outcome"] == "welfare"].set_index("condition")
            cost_table[["extra_outcome", "extra_cost", "per_unit_cost", "per_unit_low", "per_unit_high", "note"]].rename(
                columns={"extra_outcome": "extra welfare (M¥)", "extra_cost": "extra public money (M¥)",
                         "per_unit_cost": "welfare per extra M¥", "per_unit_low": "low", "per_unit_high": "high"})
        """),
        md("""
            ## Conclusions

            Written from the tables above, so they stay true when you change the settings.
            They speak only about what the runs can tell apart from noise.
        """),
        code("""
            by = comparison.set_index(["condition", "metric"])
            def verdict(name, metric):
                return by.loc[(name, metric), "verdict"]
            def change(name, metric):
                r = by.loc[(name, metric)]
                return f"{r['relative_change']:+.0f}% ({r['relative_low']:+.0f}% to {r['relative_high']:+.0f}%)"

            levers = [name for name in experiment.scenarios if name not in (BASELINE, "ecosystem")]
            ranked = sorted(levers, key=lambda name: by.loc[(name, "welfare"), "relative_change"], reverse=True)
            print(f"Over {REPLICATIONS} paired histories of 15 years each:\\n")
            for name in ranked:
                print(f"- {name}: market entries {change(name, 'commercialisations')} [{verdict(name, 'commercialisations')}], "
                      f"welfare {change(name, 'welfare')} [{verdict(name, 'welfare')}]")
            helps = [n for n in levers if verdict(n, "commercialisations") == "better" or verdict(n, "welfare") == "better"]
            print()
            print("Single levers that clearly bring more products to market or more welfare: "
                  + (", ".join(helps) if helps else "none can be told from noise with these runs") + ".")
            if "ecosystem" in experiment.scenarios:
                print(f"All levers together (ecosystem): market entries {change('ecosystem', 'commercialisations')}, "
                      f"welfare {change('ecosystem', 'welfare')}.")
        """),
        code("""
            print("Where each policy acts (the funding or matching failure it removes most, per run):")
            for name in levers + (["ecosystem"] if "ecosystem" in experiment.scenarios else []):
                cells = decomposition[(decomposition["condition"] == name) & (decomposition["difference_high"] < 0)
                                      & (decomposition["cause"] != "technical")]
                if cells.empty:
                    print(f"- {name}: no gate with clearly fewer funding or matching failures")
                    continue
                top = cells.sort_values("difference").iloc[0]
                print(f"- {name}: {abs(top['difference']):.0f} fewer {top['cause']} failures at {top['gate']} "
                      f"({analysis.GATE_NAMES[top['gate']][3:]})")

            print()
            welfare_cost = effectiveness[effectiveness["outcome"] == "welfare"].set_index("condition")
            free = [n for n in welfare_cost.index if welfare_cost.loc[n, "note"].startswith("public spending not clearly")]
            priced = welfare_cost[(welfare_cost["per_unit_low"] > 0)].sort_values("per_unit_cost", ascending=False)
            if not priced.empty:
                print("Among policies that cost public money, welfare per extra M¥ (95% interval): " + "; ".join(
                    f"{n} {r['per_unit_cost']:.1f} ({r['per_unit_low']:.1f} to {r['per_unit_high']:.1f})"
                    for n, r in priced.iterrows()) + ".")
            if free:
                print("Policies that change rules rather than budgets (no clear extra public money): " + ", ".join(free) + ".")
        """),
        md("""
            **How to read this.** A lever with a "better" verdict changed the outcome by more than
            run-to-run luck in these runs; "no detectable difference" means these runs cannot
            tell — not that the lever does nothing. With few replications only large effects are
            detected. The model's default world is calibrated against published figures
            (notebook 1 and `ecosim validate`); conclusions about China rest on that calibration,
            and on the scenario files' choices of how big each lever is (read them in
            `scenarios/`). Technical failure is a floor that no policy lowers.
        """),
    ]


# --------------------------------------------------------------------------------------------
# 3. Combining policies and what matters most
# --------------------------------------------------------------------------------------------

def combining_and_sensitivity() -> list:
    """Notebook 3: the PoC × managers grid as heat maps, and a Morris sensitivity screening."""
    return [
        md("""
            # 3. Combining policies, and what matters most

            Two questions a policy mix raises:

            1. **Do two policies add up?** A proof-of-concept (PoC) fund pays for the first
               tests of an invention; technology managers find it a user. Does money work better
               with more managers (they *reinforce* each other), or does one make the other
               unnecessary (they *substitute*)? We run every combination of four PoC budgets and
               four numbers of managers and draw the result as a **heat map**.
            2. **Which parameters drive the outcomes?** Some of the model's inputs are policy
               levers, others are things nobody knows precisely (how uneven technologies' values
               are, how easily partners are found). A **sensitivity analysis** varies them all
               together and ranks them by how much they move conversion and welfare.
        """),
        md(HOW_TO_RUN),
        md("""
            ## Settings

            Small numbers so that the notebook runs in about two minutes on an idle 2-core
            laptop (64 grid runs and 36 screening runs). For conclusions, raise `GRID_REPLICATIONS` to 20 (the experiment file's
            setting) and `TRAJECTORIES` to 20 or more (or run `experiments/screening_morris.yaml`
            with `ecosim sweep`).
        """),
        code("""
            import os
            from pathlib import Path

            GRID_EXPERIMENT = Path("..") / "experiments" / "poc_managers_grid.yaml"
            GRID_REPLICATIONS = 4    # histories per grid cell; use 20 for conclusions
            TRAJECTORIES = 4         # Morris trajectories; use 20+ for conclusions
            WORKERS = 2              # runs computed at the same time
            # where the runs are stored; running the notebook again loads them instead of recomputing
            RESULTS_ROOT = Path(os.environ.get("ECOSIM_NOTEBOOK_RESULTS", Path("..") / "results" / "notebooks"))
            FRESH = False            # True: discard stored runs and compute again (do this after updating ecosim)
        """),
        code("""
            import shutil

            import matplotlib.pyplot as plt
            import pandas as pd
            import yaml

            from ecosim import analysis, plots
            from ecosim.errors import InputError
            from ecosim.executors import run_sweep
            from ecosim.experiment import load_experiment
            from ecosim.store import load_index, load_runs

            pd.set_option("display.precision", 3)
            %matplotlib inline
        """),
        md("""
            A small helper used below: run an experiment, or load its runs when the results
            folder already holds exactly that experiment.
        """),
        code(RUN_OR_LOAD),
        md("""
            ## Part 1 — the PoC fund × technology managers grid

            The grid experiment varies the PoC fund's share of the government budget (0–15%) and
            the number of technology managers per region (25–200); everything else is the
            baseline. Every cell is run on the same random histories, so cells differ only by
            the two policies.
        """),
        code("""
            grid = load_experiment(GRID_EXPERIMENT).with_trial(replications=GRID_REPLICATIONS)
            print(grid.description)
            grid_results = RESULTS_ROOT / f"{grid.name}-r{GRID_REPLICATIONS}"
            run_or_load(grid, grid_results)
            grid_runs = analysis.with_conditions(load_runs(grid_results))
        """),
        md("""
            Each cell of the heat maps is the mean over the histories of one combination. Darker
            is more. Read along a row to see what managers add at a given PoC budget, and down a
            column to see what the PoC fund adds at a given number of managers.
        """),
        code("""
            POC, MANAGERS = "budget.proof_of_concept", "policy.managers.managers_per_region"
            GRID_METRICS = ["commercialisations", "welfare", "conversion_university"]
            cells = analysis.summarise(grid_runs, metrics=GRID_METRICS)
            settings = grid_runs.groupby("condition")[[POC, MANAGERS]].first()
            cells = cells.join(settings, on="condition")

            fig, axes = plt.subplots(1, len(GRID_METRICS), figsize=(5 * len(GRID_METRICS), 4.2), layout="constrained")
            fig.suptitle(f"PoC fund × technology managers: mean over {GRID_REPLICATIONS} histories per cell")
            for ax, metric in zip(axes, GRID_METRICS):
                table = cells[cells["metric"] == metric].pivot(index=POC, columns=MANAGERS, values="mean")
                image = ax.imshow(table.to_numpy(), cmap="viridis", origin="lower", aspect="auto")
                for i in range(table.shape[0]):
                    for j in range(table.shape[1]):
                        value = table.iloc[i, j]
                        ax.text(j, i, f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}", ha="center", va="center", fontsize=9,
                                color="white" if value < table.to_numpy().mean() else "black")
                ax.set_xticks(range(table.shape[1]), table.columns)
                ax.set_yticks(range(table.shape[0]), [f"{v:.0%}" for v in table.index])
                ax.set_xlabel("technology managers per region")
                ax.set_ylabel("PoC fund (share of the government budget)")
                ax.set_title(analysis.metric_axis_label(metric), fontsize=10)
                fig.colorbar(image, ax=ax, shrink=0.8)
        """),
        md("""
            **Do they add up?** Below, the gain in market entries from the largest PoC fund
            (against none) at each number of managers. If the gain grows with the number of
            managers, the two policies reinforce each other; if it shrinks, they substitute.
        """),
        code("""
            entries = cells[cells["metric"] == "commercialisations"].pivot(index=POC, columns=MANAGERS, values="mean")
            poc_gain = entries.loc[entries.index.max()] - entries.loc[entries.index.min()]
            manager_gain = entries[entries.columns.max()] - entries[entries.columns.min()]
            print("Extra market entries per run from the largest PoC fund (vs none), by managers per region:")
            print(poc_gain.round(1).to_string())
            print("\\nExtra market entries per run from the most managers (vs fewest), by PoC share:")
            print(manager_gain.round(1).to_string())
            interaction = poc_gain.iloc[-1] - poc_gain.iloc[0]
            kind = "reinforce each other" if interaction > 0 else "substitute for each other"
            print(f"\\nThe PoC fund's gain changes by {interaction:+.1f} market entries from the fewest to the most "
                  f"managers: in these runs the two policies {kind} (check against the run-to-run noise below).")
        """),
        md("""
            How much of that is noise? The change in market entries from the cell closest to
            today's world (5% PoC, 50 managers per region), history by history, with its 95%
            interval:
        """),
        code("""
            reference = settings[(settings[POC] == 0.05) & (settings[MANAGERS] == 50)].index[0]
            against_reference = analysis.compare(grid_runs, baseline=reference, metrics=["commercialisations"],
                                                 correction="bh")
            against_reference = against_reference.join(settings, on="condition")
            against_reference["change (95% interval)"] = [
                f"{d:+.0f} ({lo:+.0f} to {hi:+.0f})"
                for d, lo, hi in zip(against_reference["difference"], against_reference["difference_low"],
                                     against_reference["difference_high"])]
            against_reference.pivot(index=POC, columns=MANAGERS, values="change (95% interval)").fillna("reference")
        """),
        code("""
            clear = against_reference[against_reference["verdict"] != "no detectable difference"]
            print(f"{len(clear)} of {len(against_reference)} combinations differ clearly from today's "
                  f"(5% PoC, 50 managers) in market entries, over {GRID_REPLICATIONS} histories each.")
            if clear.empty:
                print("With these few runs the pattern of the heat map, including whether the two policies reinforce "
                      "or substitute, cannot be told from run-to-run noise: raise GRID_REPLICATIONS.")
            else:
                for _, r in clear.iterrows():
                    print(f"- PoC {r[POC]:.0%}, {r[MANAGERS]} managers per region: {r['change (95% interval)']} ({r['verdict']})")
        """),
        md("""
            ## Part 2 — which parameters matter most (Morris screening)

            The Morris method moves one parameter at a time, one step, along several random
            paths through the space of all parameters, and records how much each step changes
            the outcome. A parameter whose steps change the outcome a lot (a large **μ\\***) matters;
            one whose steps change it little can be left at its default. It is a *screening*:
            cheap, good at ranking, not a precise measure (use the Sobol' experiment,
            `experiments/sensitivity_sobol.yaml`, for that).

            The parameters and their ranges are below; edit them to screen others (any key of
            the scenario, see `docs/PARAMETERS.md`). The experiment is written to a file in the
            results folder, exactly as you would write one for `ecosim sweep`.
        """),
        code("""
            SCREENED = {
                "budget.proof_of_concept": [0.0, 0.15],                    # PoC fund, share of budget
                "policy.managers.managers_per_region": [20, 200],          # technology managers
                "policy.incentives.transfer_weight": [0.1, 1.5],           # university evaluation: transfer vs publication
                "policy.joint_rnd.subsidy_rate": [0.0, 0.6],               # subsidy of enterprise-led joint R&D
                "policy.fairs.expert_selection_rate": [0.05, 0.4],         # share of fair applicants selected
                "policy.openness.cross_region_tie_probability": [0.0, 0.2],  # openness across regions
                "technology.log_value_sigma": [1.2, 2.7],                  # how uneven technologies' values are
                "technology.matching_lambda": [0.03, 0.2],                 # how easily a partner is found
            }
            screening_spec = {
                "name": f"screening_notebook_t{TRAJECTORIES}",
                "description": "Morris screening from notebook 3",
                "scenarios": [{"file": str((Path("..") / "scenarios" / "baseline.yaml").resolve()), "name": "morris",
                               "overrides": {"budget.research_grants": 0.65}}],
                "design": {"kind": "morris", "trajectories": TRAJECTORIES, "num_levels": 4, "parameters": SCREENED},
                "replications": 1,
                "seed": 20261201,
                "keep": "summary",
            }
            screening_results = RESULTS_ROOT / screening_spec["name"]
            RESULTS_ROOT.mkdir(parents=True, exist_ok=True)
            screening_file = RESULTS_ROOT / f"{screening_spec['name']}.yaml"
            screening_file.write_text(yaml.safe_dump(screening_spec, sort_keys=False))
            print(screening_file.read_text())
        """),
        code("""
            screening = load_experiment(screening_file)
            print(f"{screening.n_runs} runs ({TRAJECTORIES} trajectories × {len(SCREENED) + 1} points)")
            run_or_load(screening, screening_results)
            screening_runs = load_runs(screening_results)
            problem = load_index(screening_results)["problem"]
        """),
        code("""
            SENSITIVITY_METRICS = ["conversion_university", "commercialisations", "welfare"]
            indices = analysis.sensitivity(screening_runs, problem, "morris", metrics=SENSITIVITY_METRICS)
            plots.sensitivity_plot(indices, "conversion_university")
        """),
        code("""
            plots.sensitivity_plot(indices, "welfare")
        """),
        md("""
            Ranked, for each outcome (μ\\* in the outcome's own unit: the typical change from one
            step of the parameter; σ large compared with μ\\* means the parameter's effect depends
            on the others — it interacts):
        """),
        code("""
            ranking = indices.dropna(subset=["mu_star"]).sort_values(["metric", "mu_star"], ascending=[True, False])
            for metric in SENSITIVITY_METRICS:
                top = ranking[ranking["metric"] == metric].head(3)
                names = ", ".join(f"{p} (μ* {m:.3g})" for p, m in zip(top["parameter"], top["mu_star"]))
                print(f"{analysis.metric_label(metric)} is moved most by: {names}")
            ranking.set_index(["metric", "parameter"])[["mu_star", "mu_star_low", "mu_star_high", "mu", "sigma"]]
        """),
        md("""
            **How to read this.** The heat maps show what combinations of the two policies
            achieve on average; whether the two reinforce or substitute is read from how the
            gain of one changes with the level of the other, and is only believable when it is
            larger than the intervals in the table of changes. The screening ranks parameters;
            with few trajectories the ranking of the top few is usually stable while the order of
            the rest is not. Parameters near the top that are *not* policy levers (such as how
            uneven values are, or how easily partners are found) are where better data would
            most improve the model's advice.
        """),
    ]


NOTEBOOKS = {
    "01_tour.ipynb": tour,
    "02_which_policy.ipynb": which_policy,
    "03_combining_and_sensitivity.ipynb": combining_and_sensitivity,
    "04_change_a_rule.ipynb": change_a_rule,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` as generated from this script (no outputs, fixed cell ids)."""
    notebook = new_notebook(cells=NOTEBOOKS[name](), metadata={
        "kernelspec": KERNEL,
        "language_info": {"name": "python"},
    })
    stem = name.split("_")[0]
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"nb{stem}-{number:02d}"
    nbformat.validate(notebook)
    return notebook


def render(notebook: nbformat.NotebookNode) -> str:
    """The notebook's file text (what is stored)."""
    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the notebooks, or with ``--check`` report the ones that differ from this script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the stored notebooks are up to date")
    args = parser.parse_args(argv)
    stale = []
    for name in NOTEBOOKS:
        path = HERE / name
        text = render(build(name))
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"out of date (run python notebooks/build_notebooks.py): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
