"""Validation against the published facts (``FACTS.md`` F1–F12): definitions, replications, table.

Each :class:`Fact` says what is measured, over which technologies and window, the target
range and where the target comes from. :func:`fact_measures` computes every measure from
one run (its summary and its technology table), defined the way the fact's source defines
it (see ``docs/VALIDATION.md``). :func:`simulate_with_facts` is :func:`ecosim.model.simulate`
with those measures added to the summary under ``fact_*`` keys, so a sweep
(:func:`ecosim.executors.run_sweep` with ``model="ecosim.validation:simulate_with_facts"``)
stores them with every run. :func:`validate` runs seeded replications of a scenario and
:func:`validation_table` turns the runs into the table: fact, target, simulated mean and
95% interval, inside or not.

Definitions, in short (the long form is in ``docs/VALIDATION.md``):

- F1–F3 (CNIPA patent surveys) are *stock* rates over **valid** patents: the share of patents
  in force at the survey date that have been transferred, licensed or put into use. A patent
  on a technology that failed technically before any use is let lapse and leaves the
  denominator; shelved technologies stay (their patents are maintained).
- F5, F6 (AUTM) are *yearly flows*: licences (and assignments) or start-ups of university
  technologies in the last five years divided by university invention disclosures in the
  same five years. Patents filed only for evaluation metrics are not invention disclosures
  in AUTM's sense and are left out of the denominator.
- F8 (BIO) is a check on mechanics: BIO's programmes are industry-funded, so their phase
  transitions are technical; the model's counterpart is the share of medicine projects
  entering G1 whose hidden technical draws pass all four gates. The all-cause rate of the
  model's (mostly university) medicine projects, by BIO's method (product of the gates'
  transition rates), is reported beside it as ``fact_medicine_all_cause_g1_to_market``.
- F11 compares PoC-funded university technologies with all university technologies of the
  same birth cohort (disclosed at least five years before the end); the advantage over
  invention disclosures only (metric-driven filings left out) is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ecosim.pipeline import ASSIGNMENT, LICENCE, SPIN_OFF, gate_for_trl

FACT_PREFIX = "fact_"
"""Summary keys added by :func:`simulate_with_facts` start with this."""

FLOW_WINDOW_QUARTERS = 20
"""AUTM-style flows (F5, F6) are counted over the last five years of a run."""

MEDICINE = 3  # index of medicine & health in ecosim.scenario.FIELDS


@dataclass(frozen=True)
class Fact:
    """One published fact the default world must reproduce.

    Attributes
    ----------
    id : short id, e.g. ``"F2b"`` (the letter splits a fact with two targets)
    description : what is measured, in one line
    measure : the ``fact_*`` summary key holding the model's value
    low, high : target range (inclusive); ``math.inf`` for "at least"
    source : where the target comes from (FACTS.md)
    definition : numerator, denominator and window in the model
    """

    id: str
    description: str
    measure: str
    low: float
    high: float
    source: str
    definition: str

    def target_text(self) -> str:
        """The target range as text (``0.03–0.05`` or ``≥ 5``)."""
        if math.isinf(self.high):
            return f"≥ {_fmt(self.low)}"
        return f"{_fmt(self.low)}–{_fmt(self.high)}"

    def inside(self, value: float) -> bool:
        """Whether ``value`` lies in the target range."""
        return bool(np.isfinite(value) and self.low <= value <= self.high)


FACTS: tuple[Fact, ...] = (
    Fact("F1", "university patent conversion rate", "fact_conversion_university", 0.03, 0.05,
         "CNIPA patent survey 2022: 3.9%",
         "university-owned technologies converted (any deal) by the end / university-owned technologies still "
         "valid at the end (not ended by a technical failure before a deal); metric-driven filings included"),
    Fact("F2a", "joint (industry–university) patent conversion rate", "fact_conversion_joint", 0.18, 0.27,
         "CNIPA 2021: 22.8%", "as F1, over joint technologies (enterprise-proposed, university first patentee)"),
    Fact("F2b", "joint ÷ university-only conversion", "fact_joint_to_university_ratio", 5.0, math.inf,
         "CNIPA 2021: over 7× the university average", "F2a ÷ F1"),
    Fact("F3", "enterprise patent conversion rate", "fact_conversion_enterprise", 0.45, 0.60,
         "CNIPA 2023: 51.3%; 2024: 53.3%", "as F1, over enterprise-owned technologies (self-implementation, licence, assignment)"),
    Fact("F4", "enterprises' share of R&D spending", "fact_enterprise_rd_share", 0.74, 0.80,
         "NBS 2022: 77.6%; 2023: 77.7%", "enterprise own R&D ÷ (enterprise R&D + university core budget and grants), whole run"),
    Fact("F5", "licences per university invention disclosure (yearly flows)", "fact_licences_per_disclosure",
         0.20, 0.35, "AUTM 2005–2015: 0.26–0.32",
         "licences + assignments of academic invention disclosures (not metric-driven) in the last 20 quarters "
         "÷ academic invention disclosures in the same 20 quarters"),
    Fact("F6", "start-ups per university invention disclosure", "fact_startups_per_disclosure", 0.02, 0.06,
         "AUTM 2009–2019: 3–4%", "spin-offs of academic invention disclosures in the last 20 quarters ÷ the F5 denominator"),
    Fact("F7", "value share of the top 10% of technologies", "fact_top10_value_share", 0.50, 0.90,
         "Scherer & Harhoff 2000: 48–93%", "sum of the top 10% of hidden values V ÷ sum of all V, every technology"),
    Fact("F8", "medicine: G1 entry to market", "fact_medicine_g1_to_market", 0.05, 0.12,
         "BIO/Informa 2011–20: 7.9% from phase I",
         "medicine technologies entering G1 whose hidden technical draws pass G1–G4 ÷ medicine technologies "
         "entering G1 (the all-cause rate of Chinese projects is reported beside it, not targeted)"),
    Fact("F9a", "share of academic disclosures at TRL 3", "fact_trl3_share_at_disclosure", 0.40, 0.50,
         "Jensen & Thursby 2001: about 45%", "academic technologies disclosed at TRL 3 ÷ academic technologies"),
    Fact("F9b", "share of academic disclosures at TRL 4", "fact_trl4_share_at_disclosure", 0.32, 0.42,
         "Jensen & Thursby 2001: about 37%", "academic technologies disclosed at TRL 4 ÷ academic technologies"),
    Fact("F10", "share of fair applicants selected", "fact_fair_selection_rate", 0.12, 0.15,
         "ZGC 2025: 200 of 1,472 = 13.6%", "technologies selected by experts ÷ applicants, all fairs"),
    Fact("F11a", "PoC-funded cohort conversion", "fact_poc_cohort_conversion", 0.15, 0.35,
         "MIT Deshpande Center: 9/44, 11/64",
         "PoC-funded academic technologies disclosed ≥ 20 quarters before the end that were licensed, assigned, "
         "co-developed or spun off ÷ those funded"),
    Fact("F11b", "PoC cohort ÷ all-disclosure conversion", "fact_poc_advantage", 2.0, math.inf,
         "MIT Deshpande Center: several times the all-disclosure rate",
         "F11a ÷ the same rate over all academic technologies of that birth cohort (metric-driven filings included)"),
    Fact("F12", "researchers per technology manager", "fact_researchers_per_manager", 90.0, 110.0,
         "MOST plan: about 100:1 in China", "researchers (groups × researchers per group) ÷ managers"),
)
"""The facts, in FACTS.md order."""

FACTS_BY_ID = {f.id: f for f in FACTS}


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "∞"
    if abs(x) >= 10:
        return f"{x:.0f}"
    if abs(x) >= 1:
        return f"{x:.1f}"
    return f"{x:.3f}".rstrip("0").rstrip(".") if x else "0"


def _share(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else float("nan")


def fact_measures(summary: dict[str, float], technologies: pd.DataFrame, steps: int) -> dict[str, float]:
    """Every fact's measure for one run, under its ``fact_*`` key.

    Parameters
    ----------
    summary : the run's summary (:attr:`ecosim.model.RunResult.summary`)
    technologies : the run's technology table (:meth:`ecosim.model.EcosystemModel.technology_table`)
    steps : quarters the run lasted

    Returns
    -------
    dict
        ``fact_*`` key → value (NaN where a rate has no denominator).
    """
    t = technologies
    owner = t["owner_type"].astype(str).to_numpy()
    status = t["status"].astype(str).to_numpy()
    mode = t["deal_mode"].cat.codes.to_numpy() if hasattr(t["deal_mode"], "cat") else t["deal_mode"].to_numpy()
    converted = mode >= 0
    metric = t["metric_driven"].to_numpy(bool)
    birth = t["birth"].to_numpy()
    deal_step = t["deal_step"].to_numpy()
    academic = owner != "enterprise"
    out: dict[str, float] = {}

    # F1–F3: stock conversion over valid patents (technically dead, never-used technologies lapse)
    valid = converted | (status != "failed")
    for name in ("university", "joint", "enterprise"):
        mine = (owner == name) & valid
        out[f"fact_conversion_{name}"] = _share((converted & mine).sum(), mine.sum())
    out["fact_joint_to_university_ratio"] = _share(out["fact_conversion_joint"], out["fact_conversion_university"])
    out["fact_enterprise_rd_share"] = float(summary["enterprise_rd_share"])

    # F5, F6: AUTM yearly flows over the last five years; invention disclosures exclude metric-driven filings
    first = steps - FLOW_WINDOW_QUARTERS + 1
    disclosures = (academic & ~metric & (birth >= first)).sum()
    in_window = academic & ~metric & converted & (deal_step >= first)
    out["fact_licences_per_disclosure"] = _share((in_window & np.isin(mode, (LICENCE, ASSIGNMENT))).sum(), disclosures)
    out["fact_startups_per_disclosure"] = _share((in_window & (mode == SPIN_OFF)).sum(), disclosures)
    out["fact_top10_value_share"] = float(summary["top10_value_share"])

    # F8 (diagnostic): BIO's method (product of transition rates), all causes, every medicine project
    out["fact_medicine_all_cause_g1_to_market"] = medicine_transition_product(t)
    out["fact_trl3_share_at_disclosure"] = float(summary["trl3_share_at_disclosure"])
    out["fact_trl4_share_at_disclosure"] = float(summary["trl4_share_at_disclosure"])
    out["fact_fair_selection_rate"] = float(summary["fair_selection_rate"])

    # F11: PoC-funded cohort vs all invention disclosures of the same cohort (old enough to have converted)
    cohort = academic & (birth <= steps - FLOW_WINDOW_QUARTERS)
    poc = cohort & t["poc_funded"].to_numpy(bool)
    out["fact_poc_cohort_conversion"] = _share((converted & poc).sum(), poc.sum())
    out["fact_all_disclosure_conversion"] = _share((converted & cohort).sum(), cohort.sum())
    invention = cohort & ~metric
    out["fact_invention_disclosure_conversion"] = _share((converted & invention).sum(), invention.sum())
    out["fact_poc_advantage"] = _share(out["fact_poc_cohort_conversion"], out["fact_all_disclosure_conversion"])
    out["fact_researchers_per_manager"] = float(summary["researchers_per_manager"])
    return out


def medicine_transition_product(technologies: pd.DataFrame) -> float:
    """Medicine's G1-to-market likelihood as BIO computes it: the product of gate transition rates.

    At each gate, the rate is ``passed / (passed + ended there)`` over medicine technologies
    that attempted it; a technology ends at a gate by a technical failure or by being
    shelved (funding or matching failures beyond its patience). Technologies still waiting
    at a gate count for neither.
    """
    t = technologies[technologies["field"].to_numpy() == MEDICINE]
    if t.empty:
        return float("nan")
    status = t["status"].astype(str).to_numpy()
    start = gate_for_trl(np.maximum(t["disclosure_trl"].to_numpy(), 3))
    reached = np.where(status == "market", 4, t["gate"].to_numpy())
    fail_gate = t["fail_gate"].to_numpy()
    ended = (status == "failed") | (status == "shelved")
    started = status != "research"
    rate = 1.0
    for g in range(4):
        passed = (started & (start <= g) & (reached > g)).sum()
        stopped = (ended & (fail_gate == g)).sum()
        if passed + stopped == 0:
            return float("nan")
        rate *= passed / (passed + stopped)
    return float(rate)


def simulate_with_facts(scenario, seed: int | None = None, steps: int | None = None,
                        rules_file: str | None = None, progress: Callable[[int, int], None] | None = None):
    """:func:`ecosim.model.simulate` with every fact's measure added to the summary (``fact_*`` keys).

    Same signature and result as :func:`ecosim.model.simulate`, so that a sweep can run it
    (``run_sweep(..., model="ecosim.validation:simulate_with_facts")``).
    """
    from ecosim.model import EcosystemModel, RunResult
    from ecosim.metrics import run_summary

    model = EcosystemModel(scenario, seed=seed, rules_file=rules_file)
    total = steps if steps is not None else scenario.steps
    model.planned_steps = total
    for done in range(1, total + 1):
        model.step()
        if progress is not None:
            progress(done, total)
    table = model.step_table()
    summary = run_summary(model, table)
    technologies = model.technology_table()
    summary.update(fact_measures(summary, technologies, total))
    summary.update(technical_measures(model))
    return RunResult(steps=table, summary=summary, technologies=technologies, scenario=scenario, seed=model.seed)


def technical_measures(model) -> dict[str, float]:
    """F8: the share of medicine technologies entering G1 whose hidden technical viability passes all gates.

    This is the mechanics check BIO's figure allows (its programmes are industry-funded, so
    their phase transitions are technical): technical success is a hidden draw per gate
    fixed at birth, so this share estimates ``T_1·T_2·T_3·T_4`` of medicine whatever the money,
    the partners or the policy.
    """
    t = model.pipeline.table
    entered = (t.col("field") == MEDICINE) & t.col("entered_g1")
    if not entered.any():
        return {"fact_medicine_g1_to_market": float("nan")}
    viable = (t.viability[entered] < model.pipeline.technical_success[MEDICINE]).all(axis=1)
    return {"fact_medicine_g1_to_market": float(viable.mean())}


# ---------------------------------------------------------------- replications and the table


def _one_run(args: tuple[dict[str, Any], int]) -> dict[str, float]:
    from ecosim.scenario import validate_scenario

    data, seed = args
    scenario = validate_scenario(data)
    return simulate_with_facts(scenario, seed=seed, rules_file=scenario.rules_file).summary


def run_replications(scenario, replications: int = 30, root_seed: int = 20261129, workers: int = 2,
                     progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Run ``replications`` seeded runs of ``scenario`` and return one summary row per run.

    Seeds come from :func:`ecosim.experiment.replication_seeds` (common random numbers: the
    same ``root_seed`` gives the same seeds to every scenario).

    Parameters
    ----------
    scenario : a validated :class:`~ecosim.scenario.Scenario`
    replications : number of runs
    root_seed : root of the replication seeds
    workers : worker processes (1: run here)
    progress : called as ``progress(done, total)``
    """
    from ecosim.experiment import replication_seeds

    seeds = replication_seeds(root_seed, replications)
    data = scenario.model_dump(mode="json")
    jobs = [(data, s) for s in seeds]
    rows: list[dict[str, float]] = []
    if workers <= 1:
        for job in jobs:
            rows.append(_one_run(job))
            if progress:
                progress(len(rows), len(jobs))
    else:
        from concurrent.futures import ProcessPoolExecutor

        from ecosim.executors import process_context

        with ProcessPoolExecutor(workers, mp_context=process_context()) as pool:
            for row in pool.map(_one_run, jobs):
                rows.append(row)
                if progress:
                    progress(len(rows), len(jobs))
    frame = pd.DataFrame(rows)
    frame.insert(0, "seed", seeds)
    return frame


def mean_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval of the mean (NaNs dropped); ``(nan, nan, nan)`` if empty."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(v.mean())
    if v.size < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


def validation_table(runs: pd.DataFrame, facts: tuple[Fact, ...] = FACTS, level: float = 0.95) -> pd.DataFrame:
    """One row per fact: target, simulated mean and interval, and whether the mean is inside.

    Parameters
    ----------
    runs : one row per replication with the ``fact_*`` columns (:func:`run_replications`)
    facts : the facts to check
    level : confidence level of the interval of the mean

    Returns
    -------
    DataFrame
        Columns ``fact, description, target, low, high, mean, ci_low, ci_high, n, inside``.
    """
    rows = []
    for fact in facts:
        values = runs[fact.measure].to_numpy(float) if fact.measure in runs else np.array([])
        mean, lo, hi = mean_interval(values, level)
        rows.append({
            "fact": fact.id, "description": fact.description, "target": fact.target_text(),
            "low": fact.low, "high": fact.high, "mean": mean, "ci_low": lo, "ci_high": hi,
            "n": int(np.isfinite(values).sum()), "inside": fact.inside(mean),
        })
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame, markdown: bool = False) -> str:
    """The validation table as aligned text (or a Markdown table)."""
    header = ["fact", "what", "target", "mean", "95% interval", "n", "inside"]
    body = [
        [r.fact, r.description, r.target, _fmt_value(r.mean), f"{_fmt_value(r.ci_low)} – {_fmt_value(r.ci_high)}",
         str(r.n), "yes" if r.inside else "NO"]
        for r in table.itertuples()
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    fmt = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(row) for row in body])


def _fmt_value(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.3f}"


def validate(scenario, replications: int = 30, root_seed: int = 20261129, workers: int = 2,
             progress: Callable[[int, int], None] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the replications of ``scenario`` and return ``(table, runs)``.

    Examples
    --------
    >>> from ecosim.scenario import load_scenario
    >>> from ecosim.validation import validate
    >>> table, runs = validate(load_scenario("scenarios/tiny.yaml"), replications=2, workers=1)
    >>> list(table["fact"])[:3]
    ['F1', 'F2a', 'F2b']
    """
    runs = run_replications(scenario, replications, root_seed, workers, progress)
    return validation_table(runs), runs
