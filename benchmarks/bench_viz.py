"""How long the visualiser takes to redraw the default world (run: python benchmarks/bench_viz.py).

A Step in the browser redraws the network, the pipeline, the time series and the text panel.
This times each, after 12 quarters of the baseline world, as the median of ``--repeat`` redraws.
It replaces a timed unit test: speed is checked by a benchmark, never by a test that a busy
machine can fail.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from ecosim.scenario import load_scenario
from ecosim.viz.drawing import network_svg, pipeline_svg, time_series_svg
from ecosim.viz.events import status_html
from ecosim.viz.interactive_model import InteractiveModel
from ecosim.viz.layout import node_positions

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quarters", type=int, default=12)
    args = parser.parse_args(argv)
    model = InteractiveModel(base_scenario=load_scenario(REPO / "scenarios" / "baseline.yaml"), seed=1)
    for _ in range(args.quarters):
        model.step()
    eco = model.ecosystem
    positions = node_positions(eco.layout)
    network_svg(eco, positions)  # warm up
    parts = {
        "network": lambda steps: network_svg(eco, positions),
        "pipeline": pipeline_svg,
        "time series": time_series_svg,
        "text panel": lambda steps: status_html(eco),
    }
    total = []
    times: dict[str, list[float]] = {name: [] for name in parts}
    for _ in range(args.repeat):
        start_all = time.perf_counter()
        steps = eco.step_table()
        for name, draw in parts.items():
            start = time.perf_counter()
            draw(steps)
            times[name].append(time.perf_counter() - start)
        total.append(time.perf_counter() - start_all)
    for name, values in times.items():
        print(f"{name:12s} {statistics.median(values) * 1000:7.1f} ms")
    print(f"{'whole redraw':12s} {statistics.median(total) * 1000:7.1f} ms (median of {args.repeat})")


if __name__ == "__main__":
    main()
