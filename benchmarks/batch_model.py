"""The ecosim model as ``mesa.batch_run`` wants it, for ``bench_sweep.py``'s comparison.

A module of its own so that batch_run's worker processes (it forces the ``spawn`` start
method) can import the class by name.
"""

from __future__ import annotations

import mesa

from ecosim.metrics import STEP_COLUMNS, run_summary
from ecosim.model import EcosystemModel


class BatchEcosystem(EcosystemModel):
    """EcosystemModel built from one (scenario, seed) pair, collecting in a Mesa DataCollector
    what the sweep stores: the per-step metrics every quarter and the run summary at the end."""

    def __init__(self, run=None, summary_keys: tuple[str, ...] = (), rng=None):
        scenario, seed = run
        super().__init__(scenario, seed=seed)
        self.planned = scenario.steps
        self.summary: dict[str, float] = {}
        reporters = {name: (lambda m, name=name: m.recorder.rows[-1][name]) for name in STEP_COLUMNS
                     if name not in ("step", "year", "quarter")}
        reporters.update({f"summary_{key}": (lambda m, key=key: m.summary.get(key)) for key in summary_keys})
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    def step(self):
        super().step()
        if self.steps == self.planned:  # the run's summary, as the sweep computes it
            self.summary = run_summary(self, self.step_table())
        self.datacollector.collect(self)
