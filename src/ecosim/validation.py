"""Validation against the published facts (F1–F12, docs/VALIDATION.md §1): definitions, replications, table.

Each :class:`Fact` (:mod:`ecosim.facts`) says what is measured, over which technologies and
window, the target range and where the target comes from. :func:`fact_measures` computes
every measure from one run (its summary and its technology table), defined the way the fact's
source defines it (see ``docs/VALIDATION.md``). :func:`simulate_with_facts` is :func:`ecosim.model.simulate`
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ecosim.facts import FACTS, FACTS_BY_ID, Fact  # noqa: F401 (FACTS_BY_ID is re-exported)
from ecosim.pipeline import gate_for_trl

FACT_PREFIX = "fact_"
"""Summary keys added by :func:`simulate_with_facts` start with this."""

FLOW_WINDOW_QUARTERS = 20
"""AUTM-style flows (F5, F6) are counted over the last five years of a run."""

MEDICINE = 3  # index of medicine & health in ecosim.scenario.FIELDS


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
    burn_in = int(summary.get("measured_from_quarter", 1)) - 1
    t = technologies[technologies["birth"].to_numpy() > burn_in]  # disclosed in the measured window
    owner = t["owner_type"].astype(str).to_numpy()
    status = t["status"].astype(str).to_numpy()
    converted = t["deal_mode"].notna().to_numpy()
    mode = t["deal_mode"].astype(object).where(converted, "").to_numpy(str)
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
    out["fact_licences_per_disclosure"] = _share((in_window & np.isin(mode, ("licence", "assignment"))).sum(), disclosures)
    out["fact_startups_per_disclosure"] = _share((in_window & (mode == "spin_off")).sum(), disclosures)
    out["fact_top10_value_share"] = float(summary["top10_value_share"])

    # F8: realised, from G3 entry (summary); BIO's own method (product of the G3 and G4
    # transition rates) reported beside it as a diagnostic
    out["fact_medicine_g3_to_market"] = float(summary["medicine_g3_to_market"])
    out["fact_medicine_g3_transition_product"] = medicine_transition_product(t, first_gate=2)
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


def medicine_transition_product(technologies: pd.DataFrame, first_gate: int = 0) -> float:
    """Medicine's likelihood of reaching market from ``first_gate`` as BIO computes it: the product
    of gate transition rates.

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
    for g in range(first_gate, 4):
        passed = (started & (start <= g) & (reached > g)).sum()
        stopped = (ended & (fail_gate == g)).sum()
        if passed + stopped == 0:
            return float("nan")
        rate *= passed / (passed + stopped)
    return float(rate)


def technical_failure_rates(technologies: pd.DataFrame) -> np.ndarray:
    """Share of technologies attempting each gate that failed it technically, per field and gate.

    Shape (fields, gates). The denominator is every technology that attempted the gate at
    least once: those that passed it, ended there (technical failure or shelved) or are
    waiting to retry it. Technical success is a hidden draw fixed at birth, but it is learnt
    only by an attempt someone pays for (funding is decided first), so technologies shelved
    for money never show theirs: each entry is the *realised* technical failure rate, below
    ``1 − T_g`` by however many never got paid. (Among paid attempts the rate is ``1 − T_g``
    whatever the policy; ``tests/test_face_validity.py`` checks that.)
    """
    t = technologies
    status = t["status"].astype(str).to_numpy()
    field = t["field"].to_numpy()
    gate = t["gate"].to_numpy()
    start = gate_for_trl(np.maximum(t["disclosure_trl"].to_numpy(), 3))
    reached = np.where(status == "market", 4, gate)
    fail_gate = t["fail_gate"].to_numpy()
    cause = t["fail_cause"].astype(str).to_numpy()
    waiting = (status == "active") & (t["waiting_since"].to_numpy() >= 0)
    ended = (status == "failed") | (status == "shelved")
    started = status != "research"
    rates = np.full((int(field.max(initial=-1)) + 1 if field.size else 0, 4), np.nan)
    for f in range(rates.shape[0]):
        mine = field == f
        for g in range(4):
            attempted = mine & started & (
                ((start <= g) & (reached > g)) | (ended & (fail_gate == g)) | (waiting & (gate == g))
            )
            technical = mine & (status == "failed") & (fail_gate == g) & (cause == "technical")
            if attempted.sum():
                rates[f, g] = technical.sum() / attempted.sum()
    return rates


def mechanism_measures(technologies: pd.DataFrame, model=None) -> dict[str, float]:
    """Measures the face-validity checks read (``check_*`` keys), from one run's technology table.

    - ``check_invention_disclosures``: academic disclosures not filed for evaluation metrics;
    - ``check_metric_disclosures``: academic disclosures filed for evaluation metrics;
    - ``check_past_g2``: technologies that started at G1 or G2 and passed G2;
    - ``check_g1_g2_funding_shelved``: technologies shelved at G1 or G2 for lack of funding;
    - ``check_invention_past_g2``, ``check_invention_g1_g2_funding_shelved``: the same two,
      over academic invention disclosures (the technologies a PoC fund can pick);
    - ``check_academic_matching_shelved``: academic technologies shelved for lack of a partner;
    - ``check_academic_appraisal_error``: mean |ln V̂ − ln V| of academic technologies;
    - ``check_matching_shelved``: technologies shelved for lack of a partner (any gate);
    - ``check_cross_region_deals``: deals whose adopter is in another region;
    - ``check_technical_failure_<field>_G<g>``: :func:`technical_failure_rates`;
    - ``check_g1_to_market`` and ``check_technical_ceiling``: share of technologies entering G1
      that reached market, and share whose hidden draws pass every gate (the floor of failure).
    """
    t = technologies
    owner = t["owner_type"].astype(str).to_numpy()
    status = t["status"].astype(str).to_numpy()
    cause = t["fail_cause"].astype(str).to_numpy()
    fail_gate = t["fail_gate"].to_numpy()
    metric = t["metric_driven"].to_numpy(bool)
    academic = owner != "enterprise"
    start = gate_for_trl(np.maximum(t["disclosure_trl"].to_numpy(), 3))
    reached = np.where(status == "market", 4, t["gate"].to_numpy())
    shelved = status == "shelved"
    invention = academic & ~metric
    out = {
        "check_invention_disclosures": float((academic & ~metric).sum()),
        "check_metric_disclosures": float((academic & metric).sum()),
        "check_past_g2": float(((start <= 1) & (reached >= 2) & (status != "research")).sum()),
        "check_g1_g2_funding_shelved": float((shelved & (cause == "funding") & (fail_gate <= 1)).sum()),
        "check_invention_past_g2": float((invention & (start <= 1) & (reached >= 2) & (status != "research")).sum()),
        "check_invention_g1_g2_funding_shelved": float(
            (invention & shelved & (cause == "funding") & (fail_gate <= 1)).sum()),
        "check_academic_matching_shelved": float((academic & shelved & (cause == "matching")).sum()),
        "check_invention_past_g1": float((invention & (start == 0) & (reached >= 1) & (status != "research")).sum()),
        "check_invention_g1_funding_shelved": float((invention & shelved & (cause == "funding") & (fail_gate == 0)).sum()),
        "check_invention_g2_funding_shelved": float((invention & shelved & (cause == "funding") & (fail_gate == 1)).sum()),
        "check_academic_appraisal_error": float(np.abs(t["appraisal_log_error"].to_numpy()[academic]).mean())
        if academic.any() else float("nan"),
        "check_matching_shelved": float((shelved & (cause == "matching")).sum()),
        "check_cross_region_deals": float(t["deal_cross_region"].to_numpy(bool).sum()),
    }
    from ecosim.scenario import FIELDS, GATES

    rates = technical_failure_rates(t)
    for f in range(rates.shape[0]):
        for g in range(4):
            out[f"check_technical_failure_{FIELDS[f]}_{GATES[g]}"] = float(rates[f, g])
    entered = t["entered_g1"].to_numpy(bool)
    out["check_g1_to_market"] = _share((entered & (status == "market")).sum(), entered.sum())
    if model is not None:
        table = model.pipeline.table
        e = table.col("entered_g1")
        fields = table.col("field")[e].astype(np.int64)
        viable = (table.viability[e] < model.pipeline.technical_success[fields]).all(axis=1)
        out["check_technical_ceiling"] = float(viable.mean()) if viable.size else float("nan")
    return out


def simulate_with_facts(scenario, seed: int | None = None, steps: int | None = None,
                        rules_file: str | None = None, progress: Callable[[int, int], None] | None = None):
    """:func:`ecosim.model.simulate` with every fact's measure added to the summary (``fact_*`` keys).

    Same signature and result as :func:`ecosim.model.simulate`, so that a sweep can run it
    (``run_sweep(..., model="ecosim.validation:simulate_with_facts")``).
    """
    from ecosim.model import simulate

    def facts(model, summary, technologies) -> dict[str, float]:
        measures = fact_measures(summary, technologies, model.steps)
        measures.update(mechanism_measures(technologies, model))
        return measures

    return simulate(scenario, seed=seed, steps=steps, rules_file=rules_file, progress=progress, extra_measures=facts)


# ---------------------------------------------------------------- replications and the table


def _one_run(args: tuple[dict[str, Any], int, dict[str, Any]]) -> dict[str, float]:
    from ecosim.scenario import apply_overrides, validate_scenario

    data, seed, overrides = args
    scenario = apply_overrides(data, overrides) if overrides else validate_scenario(data)
    return simulate_with_facts(scenario, seed=seed, rules_file=scenario.rules_file).summary


def run_replications(scenario, replications: int = 30, root_seed: int = 20261129, workers: int = 2,
                     progress: Callable[[int, int], None] | None = None,
                     overrides: Sequence[dict[str, Any]] | None = None) -> pd.DataFrame:
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
    overrides : one mapping of dotted keys per replication, applied to its run (posterior draws)
    """
    from ecosim.experiment import replication_seeds

    seeds = replication_seeds(root_seed, replications)
    data = scenario.model_dump(mode="json")
    per_run = list(overrides) if overrides is not None else [{}] * replications
    if len(per_run) != replications:
        raise ValueError(f"{len(per_run)} overrides for {replications} replications")
    jobs = [(data, s, o) for s, o in zip(seeds, per_run, strict=True)]
    rows: list[dict[str, float]] = []
    if workers <= 1:
        for job in jobs:
            rows.append(_one_run(job))
            if progress:
                progress(len(rows), len(jobs))
    else:
        from concurrent.futures import ProcessPoolExecutor

        from ecosim.worker_pool import process_context

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
            "kind": "input" if fact.input else "pattern",
        })
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame, markdown: bool = False) -> str:
    """The validation table as aligned text (or a Markdown table)."""
    header = ["fact", "what", "target", "mean", "95% interval", "n", "inside"]
    kind = table["kind"] if "kind" in table else pd.Series("pattern", index=table.index)
    body = [
        [r.fact, r.description, r.target, _fmt_value(r.mean), f"{_fmt_value(r.ci_low)} – {_fmt_value(r.ci_high)}",
         str(r.n), ("yes" if r.inside else "NO") if k == "pattern" else "input, not a test"]
        for r, k in zip(table.itertuples(), kind, strict=True)
    ]
    return _render(header, body, markdown)


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


# ---------------------------------------------------------------- on posterior draws: predictive checks


def posterior_overrides(posterior, replications: int, root_seed: int) -> tuple[list[int], list[dict[str, float]]]:
    """The posterior particle of each replication and the overrides it applies.

    The draws are :func:`ecosim.posterior.posterior_draws` of the root seed, as an experiment
    over posterior draws with the same root seed makes them.
    """
    from ecosim.posterior import posterior_draws

    draws = posterior_draws(posterior.weights, replications, root_seed)
    return draws, [posterior.particle(d) for d in draws]


def predictive_table(runs: pd.DataFrame, facts: tuple[Fact, ...] = FACTS, level: float = 0.95) -> pd.DataFrame:
    """Posterior-predictive check, one row per fact: the predictive mean, the central ``level``
    interval of the runs' values (not an interval of the mean), and the coverage — the share of
    runs whose value lies inside the target range.

    Parameters
    ----------
    runs : one row per replication, each at its own posterior draw, with the ``fact_*`` columns
    facts : the facts to report
    level : the predictive interval's level

    Returns
    -------
    DataFrame
        Columns ``fact, description, target, low, high, mean, pi_low, pi_high, coverage, n,
        inside`` (the predictive mean inside the range) and ``kind`` (pattern or input).
    """
    rows = []
    tail = (1 - level) / 2
    for fact in facts:
        values = runs[fact.measure].to_numpy(float) if fact.measure in runs else np.array([])
        values = values[np.isfinite(values)]
        if values.size:
            mean = float(values.mean())
            pi_low, pi_high = (float(q) for q in np.quantile(values, [tail, 1 - tail]))
            coverage = float(np.mean([fact.inside(v) for v in values]))
        else:
            mean = pi_low = pi_high = coverage = math.nan
        rows.append({
            "fact": fact.id, "description": fact.description, "target": fact.target_text(),
            "low": fact.low, "high": fact.high, "mean": mean, "pi_low": pi_low, "pi_high": pi_high,
            "coverage": coverage, "n": int(values.size), "inside": fact.inside(mean),
            "kind": "input" if fact.input else "pattern",
        })
    return pd.DataFrame(rows)


def format_predictive_table(table: pd.DataFrame, markdown: bool = False) -> str:
    """The posterior-predictive table as aligned text (or Markdown); inputs are marked as inputs."""
    header = ["fact", "what", "target", "predictive mean", "95% of runs", "coverage", "n", "mean inside"]
    body = [
        [r.fact, r.description, r.target, _fmt_value(r.mean), f"{_fmt_value(r.pi_low)} – {_fmt_value(r.pi_high)}",
         "n/a" if not np.isfinite(r.coverage) else f"{100 * r.coverage:.0f}%", str(r.n),
         ("yes" if r.inside else "NO") if r.kind == "pattern" else "input, not a test"]
        for r in table.itertuples()
    ]
    return _render(header, body, markdown)


def _render(header: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(h), *(len(row[i]) for row in body)) for i, h in enumerate(header)]
    fmt = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(row) for row in body])


def validate_posterior(scenario, posterior, replications: int = 30, root_seed: int = 20261129, workers: int = 2,
                       progress: Callable[[int, int], None] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``replications`` replications of ``scenario``, each at one posterior draw, and return
    ``(predictive table, runs)``; the runs carry ``posterior_draw`` and ``posterior.<key>`` columns.

    Examples
    --------
    >>> from ecosim.posterior import read_posterior
    >>> from ecosim.scenario import load_scenario
    >>> posterior = read_posterior("experiments/posterior/default.parquet")
    >>> table, runs = validate_posterior(load_scenario("scenarios/tiny.yaml"), posterior, replications=2, workers=1)
    >>> list(table.columns[:3]), len(runs)
    (['fact', 'description', 'target'], 2)
    """
    draws, overrides = posterior_overrides(posterior, replications, root_seed)
    runs = run_replications(scenario, replications, root_seed, workers, progress, overrides=overrides)
    runs.insert(1, "posterior_draw", draws)
    for i, key in enumerate(posterior.keys):
        runs.insert(2 + i, "posterior." + key, [o[key] for o in overrides])
    return predictive_table(runs), runs


# ---------------------------------------------------------------- face validity: each lever moves what it should

FACE_WORLD = {
    "world.universities_per_region": 3,
    "world.institutes_per_region": 0,
    "world.enterprises_per_region": 150,
    "policy.managers.managers_per_region": 15,
    "policy.finance.investors_per_region": 1,
    "budget.per_quarter": 3.6,
    "steps": 40,
}
"""A smaller world for the face-validity checks: 3 of the 10 research organisations, 150 of the
500 enterprises, 15 of the 50 managers (30 groups per region keep ~100 researchers per manager,
F12) and 3.6 of the 12 M¥ budget per region and quarter, so that money per organisation and per
disclosure is the full world's; the levers are the scenario files' own settings."""


@dataclass(frozen=True)
class LeverCheck:
    """A directional claim: ``lever`` moves ``measure`` in ``direction`` (+1 up, −1 down, 0 not at all).

    ``measure`` is a summary key, or ``"a-b"`` for the paired difference of two keys within
    the same run (then ``lever`` is ``"baseline"``). For ``direction = 0`` the claim is that
    the mean paired change lies within ``±tolerance``.
    """

    claim: str
    lever: str
    measure: str
    direction: int
    tolerance: float = 0.0
    world: str = "small"  # "small": FACE_WORLD; "full": the scenario files' own world (:data:`FULL_WORLD_LEVERS`)


LEVER_CHECKS: tuple[LeverCheck, ...] = (
    LeverCheck("more PoC money → fewer invention disclosures shelved for funding at G1–G2", "poc_fund",
               "check_invention_g1_g2_funding_shelved", -1, world="full"),
    LeverCheck("more PoC money → more invention disclosures past G2", "poc_fund", "check_invention_past_g2", +1,
               world="full"),
    LeverCheck("more PoC money → more invention disclosures past G1", "poc_fund", "check_invention_past_g1", +1,
               world="full"),
    LeverCheck("more, better managers → smaller appraisal error (academic technologies)", "manager_programme",
               "check_academic_appraisal_error", -1),
    LeverCheck("more, better managers → fewer matching failures (share of academic partner searches that find no partner)",
               "manager_programme", "matching_failure_rate_academic", -1, world="full"),
    LeverCheck("incentive reform → more invention disclosures", "incentive_reform", "check_invention_disclosures", +1),
    LeverCheck("incentive reform → fewer publications (the bookshelf cost)", "incentive_reform", "publications", -1),
    LeverCheck("joint R&D converts more than university-only R&D (F2)", "baseline",
               "fact_conversion_joint-fact_conversion_university", +1),
    LeverCheck("joint R&D lever → more joint technologies", "joint_rnd", "disclosures_joint", +1),
    LeverCheck("trading fairs and openness → more cross-region deals", "global_fair", "check_cross_region_deals", +1),
)
"""The face-validity claims of issue 7, one per measured direction."""

FULL_WORLD_LEVERS = tuple(sorted({c.lever for c in LEVER_CHECKS if c.world == "full"}))
"""Levers with claims tested in the full world. The PoC fund acts on a few hundred invention
disclosures per run, too few in the small world to resolve its effect past G2; the manager
programme's four times as many managers (each with 12 enterprise contacts) already reach
nearly every one of the small world's 150 enterprises per region, so more managers cannot
widen anyone's search there."""

TECHNICAL_TOLERANCE = 0.05
"""No lever may move a technical failure rate (per field, at G1 or G2) by more than this, on average."""


def _paired_effect(delta: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    return mean_interval(delta, level)


def face_validity(replications: int = 10, root_seed: int = 20261130, workers: int = 2,
                  world: dict[str, Any] | None = None, scenarios_dir: str = "scenarios",
                  progress: Callable[[int, int], None] | None = None,
                  full_replications: int | None = None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Run every lever and the baseline with common random numbers and test each claim.

    Parameters
    ----------
    replications : paired replications per lever in the small world
    root_seed : root of the replication seeds (the same seeds for every lever)
    workers : worker processes
    world : overrides applied to every scenario (default :data:`FACE_WORLD`)
    scenarios_dir : where ``baseline.yaml`` and the lever files are
    progress : called as ``progress(done, total)`` per scenario
    full_replications : paired replications of the baseline and each of
        :data:`FULL_WORLD_LEVERS` in the full world (default: ``replications``); their runs
        are returned under ``"<name>@full"``

    Returns
    -------
    (checks, runs)
        ``checks``: one row per claim — ``claim, lever, world, measure, n, direction, baseline, effect,
        ci_low, ci_high, relative, passed`` (effect = mean paired change, lever − baseline,
        with its 95% t interval; a directional claim passes when the whole interval lies on
        its side of 0, a "no change" claim when the mean change lies within the tolerance);
        ``runs``: scenario name → one row per replication.
    """
    from pathlib import Path

    from ecosim.scenario import FIELDS, Scenario, load_scenario

    world = FACE_WORLD if world is None else world
    levers = ["baseline", "poc_fund", "manager_programme", "incentive_reform", "joint_rnd", "global_fair", "ecosystem"]
    full = ["baseline", *FULL_WORLD_LEVERS]
    runs: dict[str, pd.DataFrame] = {}
    defaults = Scenario().model_dump()
    jobs = [(name, name, world, replications) for name in levers]
    jobs += [(f"{name}@full", name, {}, full_replications or replications) for name in full]
    for i, (key, name, overrides, n) in enumerate(jobs):
        path = Path(scenarios_dir) / f"{name}.yaml"
        scenario = load_scenario(path, _scaled_world(load_scenario(path).model_dump(), defaults, overrides))
        runs[key] = run_replications(scenario, n, root_seed, workers)
        if progress:
            progress(i + 1, len(jobs))
    base = runs["baseline"]
    rows = []
    for check in LEVER_CHECKS:
        suffix = "@full" if check.world == "full" else ""
        lever_runs, base_runs = runs[check.lever + suffix], runs["baseline" + suffix]
        if "-" in check.measure:
            a, b = check.measure.split("-")
            delta = (lever_runs[a] - lever_runs[b]).to_numpy(float)
            reference = float(lever_runs[b].mean())
        else:
            delta = (lever_runs[check.measure] - base_runs[check.measure]).to_numpy(float)
            reference = float(base_runs[check.measure].mean())
        mean, lo, hi = _paired_effect(delta)
        passed = (lo > 0) if check.direction > 0 else (hi < 0)
        rows.append({"claim": check.claim, "lever": check.lever, "world": check.world, "measure": check.measure,
                     "n": delta.size, "direction": check.direction, "baseline": reference, "effect": mean, "ci_low": lo,
                     "ci_high": hi, "relative": mean / reference if reference else float("nan"), "passed": bool(passed)})
    # technical failure rates: no lever moves them
    for lever in levers[1:]:
        worst, worst_key, worst_ci = 0.0, "", (float("nan"), float("nan"))
        for field in FIELDS:
            for gate in ("G1", "G2"):
                key = f"check_technical_failure_{field}_{gate}"
                mean, lo, hi = _paired_effect((runs[lever][key] - base[key]).to_numpy(float))
                if np.isfinite(mean) and abs(mean) >= abs(worst):
                    worst, worst_key, worst_ci = mean, key, (lo, hi)
        rows.append({"claim": f"{lever} leaves technical failure rates alone (largest change of 8 field×gate rates)",
                     "lever": lever, "world": "small", "measure": worst_key, "n": replications, "direction": 0,
                     "baseline": float(base[worst_key].mean()), "effect": worst, "ci_low": worst_ci[0],
                     "ci_high": worst_ci[1], "relative": float("nan"), "passed": abs(worst) <= TECHNICAL_TOLERANCE})
    # with every lever at once, failure stays above the technical floor
    eco = runs["ecosystem"]
    gap = (eco["check_technical_ceiling"] - eco["check_g1_to_market"]).to_numpy(float)
    mean, lo, hi = _paired_effect(gap)
    rows.append({"claim": "every lever at once: G1-to-market stays below the technical ceiling (failure above its floor)",
                 "lever": "ecosystem", "world": "small", "n": replications, "measure": "check_technical_ceiling-check_g1_to_market", "direction": 1,
                 "baseline": float(eco["check_technical_ceiling"].mean()), "effect": mean, "ci_low": lo, "ci_high": hi,
                 "relative": float("nan"), "passed": bool((gap > 0).all())})
    return pd.DataFrame(rows), runs


def _scaled_world(lever: dict[str, Any], defaults: dict[str, Any], world: dict[str, Any]) -> dict[str, Any]:
    """The world overrides for one lever: a key the lever itself changes is scaled by the lever's ratio.

    E.g. the manager programme's 200 managers per region (4× the default 50) become 4× the
    smaller world's managers, so the lever keeps its strength in the smaller world.
    """
    out = {}
    for key, value in world.items():
        own, default = _dotted(lever, key), _dotted(defaults, key)
        if isinstance(value, (int, float)) and isinstance(own, (int, float)) and own != default and default:
            scaled = value * own / default
            value = int(round(scaled)) if isinstance(value, int) else scaled
        out[key] = value
    return out


def _dotted(data: dict[str, Any], key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def format_checks(checks: pd.DataFrame, markdown: bool = False) -> str:
    """The face-validity checks as text or Markdown: claim, effect and interval, verdict."""
    header = ["claim", "baseline", "effect (lever − baseline)", "95% interval", "relative", "passed"]
    body = [[r.claim, _fmt_value(r.baseline), _fmt_value(r.effect), f"{_fmt_value(r.ci_low)} – {_fmt_value(r.ci_high)}",
             f"{r.relative:+.0%}" if np.isfinite(r.relative) else "", "yes" if r.passed else "NO"]
            for r in checks.itertuples()]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in body])
    return "\n".join(" | ".join(row) for row in [header] + body)
