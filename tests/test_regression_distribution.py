"""Regression, second tier: the distribution of headline metrics over 30 seeds stays equivalent.

The exact tier (``tests/test_regression.py``) pins one run bit for bit, so any change that
reorders random draws — a refactor that vectorises a loop, a new draw in a new order — breaks
it, and it is then regenerated. This tier checks what such a change must keep: the
*distribution* of the headline metrics. The pinned scenario
(``tests/data/regression_distribution_scenario.yaml``, the default world written out in full,
shorter) is run on 30 seeds; for each metric, a two one-sided tests (TOST) equivalence check
asks whether the 90% interval of the difference between the new and the stored mean lies
within ±``MARGIN_SD`` stored standard deviations. With 30 runs on each side the interval's half
width is about 0.43 SD, so a pure reordering of draws passes (a per-metric false alarm of about
0.1%), while a shift of about one per-run standard deviation fails.

When a change is *meant* to move the model (a new mechanism, a recalibration), regenerate the
stored distribution with the change and say why in the commit::

    python tests/test_regression_distribution.py --update [--repin]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

DATA = Path(__file__).resolve().parent / "data"
SCENARIO_FILE = DATA / "regression_distribution_scenario.yaml"
EXPECTED_FILE = DATA / "regression_distribution.json"
ROOT_SEED = 20261201
REPLICATIONS = 30
STEPS = 40
MARGIN_SD = 1.25
METRICS = (
    "disclosures", "deals", "commercialisations", "conversion_university", "conversion_joint",
    "conversion_enterprise", "licences_per_disclosure", "g2_passes_academic", "poc_funded", "log_welfare",
)
"""Headline metrics; welfare is heavy-tailed, so it is compared as ln(1 + welfare)."""


def _metrics(summary: dict[str, float]) -> dict[str, float]:
    out = {k: float(summary[k]) for k in METRICS if k in summary}
    out["log_welfare"] = float(np.log1p(summary["welfare"]))
    return out


def run_distribution(workers: int = 2) -> dict[str, list[float]]:
    """Run the pinned scenario on the 30 replication seeds; metric → values in seed order."""
    from ecosim.experiment import replication_seeds
    from ecosim.scenario import load_scenario
    from ecosim.validation import run_replications

    runs = run_replications(load_scenario(SCENARIO_FILE), replications=REPLICATIONS, root_seed=ROOT_SEED,
                            workers=workers)
    assert list(runs["seed"]) == replication_seeds(ROOT_SEED, REPLICATIONS)
    rows = [_metrics(row) for row in runs.to_dict(orient="records")]
    return {k: [r[k] for r in rows] for k in METRICS}


def equivalent(stored: np.ndarray, new: np.ndarray, margin_sd: float = MARGIN_SD) -> tuple[bool, float, float]:
    """TOST at 5% per side: is the mean difference within ±margin_sd·sd(stored)?

    Returns (equivalent, difference in stored SDs, the 90% interval's farthest end in SDs).
    """
    sd = float(np.std(stored, ddof=1))
    if sd == 0:
        return bool(np.allclose(stored.mean(), new.mean())), 0.0, 0.0
    diff = float(new.mean() - stored.mean())
    se = float(np.sqrt(np.var(stored, ddof=1) / stored.size + np.var(new, ddof=1) / new.size))
    dof = stored.size + new.size - 2
    half = float(stats.t.ppf(0.95, dof)) * se
    far = (abs(diff) + half) / sd
    return far <= margin_sd, diff / sd, far


def write_expected(repin: bool = False) -> None:
    """Store the pinned scenario (with ``repin``) and the current distribution."""
    if repin or not SCENARIO_FILE.exists():
        from ecosim.scenario import Scenario

        data = Scenario(name="regression_distribution", steps=STEPS,
                        description="Pinned distribution regression (tests/test_regression_distribution.py).")
        SCENARIO_FILE.write_text(yaml.safe_dump(data.model_dump(mode="json"), sort_keys=False, allow_unicode=True))
    values = run_distribution()
    EXPECTED_FILE.write_text(json.dumps({"root_seed": ROOT_SEED, "replications": REPLICATIONS, "steps": STEPS,
                                         "values": values}, indent=1) + "\n")


@pytest.mark.slow
def test_headline_metrics_keep_their_distribution():
    expected = json.loads(EXPECTED_FILE.read_text())
    new = run_distribution()
    failures = []
    for metric in METRICS:
        ok, diff, far = equivalent(np.asarray(expected["values"][metric]), np.asarray(new[metric]))
        if not ok:
            failures.append(f"{metric}: mean moved {diff:+.2f} SD (90% interval reaches {far:.2f} SD > {MARGIN_SD})")
    assert not failures, "distribution changed:\n" + "\n".join(failures)


def test_equivalence_check_passes_a_reshuffle_and_fails_a_shift():
    rng = np.random.default_rng(3)
    stored = rng.normal(10, 2, 30)
    assert equivalent(stored, rng.normal(10, 2, 30))[0]
    assert not equivalent(stored, rng.normal(13, 2, 30))[0]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="regenerate the stored distribution")
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--repin", action="store_true")
    arguments = parser.parse_args()
    if arguments.update:
        write_expected(repin=arguments.repin)
        print(f"wrote {EXPECTED_FILE}")
    sys.exit(0)
