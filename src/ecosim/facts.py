"""The published facts (F1–F12, docs/VALIDATION.md §1) as data: what each measures and its target range.

:data:`FACTS` is the table :mod:`ecosim.validation` measures a run against (and re-exports,
``ecosim.validation.FACTS``) and :mod:`ecosim.calibration` fits. It lives in a module of its
own, importing no numpy, pandas or SciPy, so that ``ecosim check`` can check a calibration
file's targets without loading the validation's statistics (docs/RELIABILITY.md, "Checks stay
fast").
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    """One published fact the default world must reproduce.

    Attributes
    ----------
    id : short id, e.g. ``"F2b"`` (the letter splits a fact with two targets)
    description : what is measured, in one line
    measure : the ``fact_*`` summary key holding the model's value
    low, high : target range (inclusive); ``math.inf`` for "at least"
    source : where the target comes from (docs/VALIDATION.md, "The facts")
    definition : numerator, denominator and window in the model
    input : True for a figure set from data (a parameter or arithmetic on parameters):
        reported beside the patterns, never counted as passed validation
    """

    id: str
    description: str
    measure: str
    low: float
    high: float
    source: str
    definition: str
    input: bool = False

    def target_text(self) -> str:
        """The target range as text (``0.03–0.05`` or ``≥ 5``)."""
        if math.isinf(self.high):
            return f"≥ {_fmt(self.low)}"
        return f"{_fmt(self.low)}–{_fmt(self.high)}"

    def inside(self, value: float) -> bool:
        """Whether ``value`` lies in the target range."""
        import numpy as np  # not at import: checking a calibration file stays without numpy

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
         "NBS 2022: 77.6%; 2023: 77.7%", "enterprise own R&D ÷ (enterprise R&D + university core budget and grants), "
         "measured window; arithmetic on the budgets", input=True),
    Fact("F5", "licences per university invention disclosure (yearly flows)", "fact_licences_per_disclosure",
         0.20, 0.35, "AUTM 2005–2015: 0.26–0.32",
         "licences + assignments of academic invention disclosures (not metric-driven) in the last 20 quarters "
         "÷ academic invention disclosures in the same 20 quarters"),
    Fact("F6", "start-ups per university invention disclosure", "fact_startups_per_disclosure", 0.02, 0.06,
         "AUTM 2009–2019: 3–4%", "spin-offs of academic invention disclosures in the last 20 quarters ÷ the F5 denominator"),
    Fact("F7", "value share of the top 10% of technologies", "fact_top10_value_share", 0.50, 0.90,
         "Scherer & Harhoff 2000: 48–93%", "sum of the top 10% of hidden values V ÷ sum of all V, every technology"),
    Fact("F8", "medicine: G3 entry (TRL 6, first trial in people) to market, realised", "fact_medicine_g3_to_market",
         0.05, 0.12, "BIO/Informa 2011–20: 7.9% from phase I",
         "medicine technologies disclosed in the window that entered G3 and reached market ÷ those that entered G3 "
         "and whose fate is decided (at market, failed or shelved); all causes, as realised in the run"),
    Fact("F9a", "share of academic disclosures at TRL 3", "fact_trl3_share_at_disclosure", 0.40, 0.50,
         "Jensen & Thursby 2001: about 45%", "academic technologies disclosed at TRL 3 ÷ academic technologies "
         "(echoes technology.disclosure_trl_probs)", input=True),
    Fact("F9b", "share of academic disclosures at TRL 4", "fact_trl4_share_at_disclosure", 0.32, 0.42,
         "Jensen & Thursby 2001: about 37%", "academic technologies disclosed at TRL 4 ÷ academic technologies "
         "(echoes technology.disclosure_trl_probs)", input=True),
    Fact("F10", "share of fair applicants selected", "fact_fair_selection_rate", 0.12, 0.15,
         "ZGC 2025: 200 of 1,472 = 13.6%", "technologies selected by experts ÷ applications reviewed "
         "(the selection rate is the parameter policy.fairs.expert_selection_rate)", input=True),
    Fact("F11a", "PoC-funded cohort conversion", "fact_poc_cohort_conversion", 0.15, 0.35,
         "MIT Deshpande Center: 9/44, 11/64",
         "PoC-funded academic technologies disclosed ≥ 20 quarters before the end that were licensed, assigned, "
         "co-developed or spun off ÷ those funded"),
    Fact("F11b", "PoC cohort ÷ all-disclosure conversion", "fact_poc_advantage", 2.0, math.inf,
         "MIT Deshpande Center: several times the all-disclosure rate",
         "F11a ÷ the same rate over all academic technologies of that birth cohort (metric-driven filings included)"),
    Fact("F12", "researchers per technology manager", "fact_researchers_per_manager", 90.0, 110.0,
         "MOST plan: about 100:1 in China", "researchers (groups × researchers per group) ÷ managers; "
         "arithmetic on the world's sizes", input=True),
)
"""The facts, in the order of docs/VALIDATION.md §1."""

FACTS_BY_ID = {f.id: f for f in FACTS}


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "∞"
    if abs(x) >= 10:
        return f"{x:.0f}"
    if abs(x) >= 1:
        return f"{x:.1f}"
    return f"{x:.3f}".rstrip("0").rstrip(".") if x else "0"
