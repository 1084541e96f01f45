"""Benchmark of ``ecosim sweep`` (a measurement, not a test).

Measures, on the same run list (the baseline world, or ``--scenario``; ``--steps`` quarters;
2 scenarios × 2 design points × replications with CRN seeds):

1. bare runs: a plain loop of ``simulate`` in one process, nothing stored; and ``bare2``, two
   such loops over half the runs each at the same time (the model's own ceiling on 2 cores:
   caches and memory bandwidth are shared, which plain arithmetic does not show);
2. the sweep runner + store, serial: overhead = serial sweep / bare − 1 (target ≤ 5%);
3. the sweep on 2 local worker processes: speed-up over the serial sweep (target ≥ 1.8×), both
   for the runs alone (the model is imported before timing; the pool's start, which imports it
   again in the forkserver, is inside) and for the whole command from process start (imports
   included in every mode: what a user waits for);
4. ``mesa.batch_run`` on the same run list, with the model wrapped to feed a Mesa
   DataCollector what the sweep stores — the per-step metrics every quarter and the run
   summary at the end (the Mesa way) — serial, results kept in memory;
5. peak memory (max RSS of the driver process) of the sweep and of batch_run as the sweep
   grows; the process-pool sweep's driver memory should stay flat.

Each measurement runs in a fresh subprocess so that its peak memory is its own.

Usage::

    .venv/bin/python benchmarks/bench_sweep.py                 # baseline world, 16/32/64 runs of 20 quarters
    .venv/bin/python benchmarks/bench_sweep.py --scenario scenarios/tiny.yaml --sizes 24 48 96 --steps 16
    .venv/bin/python benchmarks/bench_sweep.py --alternate --sizes 32 --repeat 3   # side by side in one process
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROCESS_START = time.perf_counter()  # a measurement's "whole command" time counts from here, imports included
ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "scenarios" / "tiny.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def experiment_file(directory: Path, runs: int, steps: int, scenario: Path = BASELINE) -> Path:
    """An experiment of ``runs`` runs: 2 scenarios × 2 points × runs/4 replications."""
    import yaml

    replications = max(1, runs // 4)
    data = {
        "name": "bench",
        "scenarios": [str(scenario), {"file": str(scenario), "name": "with_poc",
                                      "overrides": {"budget.research_grants": 0.7, "budget.proof_of_concept": 0.15}}],
        "design": {"kind": "grid", "parameters": {"policy.managers.managers_per_region": [25, 50]}},
        "replications": replications, "seed": 1, "steps": steps, "keep": "steps",
    }
    path = directory / f"bench_{runs}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished children (worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _run_list(path: str):
    from ecosim.experiment import load_experiment
    from ecosim.scenario import apply_overrides

    experiment = load_experiment(path)
    return [(apply_overrides(experiment.scenarios[r.scenario], r.parameters), r.seed) for r in experiment.runs()]


def measure(mode: str, path: str, out: str) -> dict:
    """One measurement in this process (called in a fresh subprocess).

    ``bare:i/k`` runs every k-th run from the i-th (``bare2`` starts two of these at once).
    """
    if mode != "process2":  # the driver of a process-pool sweep never imports the model itself
        import ecosim.model  # noqa: F401
    from ecosim.executors import run_sweep
    from ecosim.experiment import load_experiment

    experiment = load_experiment(path)
    n_runs = experiment.n_runs
    cpu_start = _cpu_seconds()
    if mode.startswith("bare"):
        from ecosim.model import simulate

        part, _, parts = mode.partition(":")[2].partition("/")
        runs = _run_list(path)[int(part or 0)::int(parts or 1)]
        n_runs = len(runs)
        start = time.perf_counter()
        for scenario, seed in runs:
            simulate(scenario, seed=seed)
        seconds = time.perf_counter() - start
    elif mode in ("serial", "process2"):
        start = time.perf_counter()
        outcome = run_sweep(experiment, out, executor="serial" if mode == "serial" else "process",
                            workers=None if mode == "serial" else 2)
        seconds = time.perf_counter() - start
        assert outcome.done == experiment.n_runs, outcome
    elif mode == "batch_run":
        seconds, retained_mb = _batch_run(path)
    else:
        raise ValueError(mode)
    return {"mode": mode, "runs": n_runs, "seconds": seconds,
            "command_seconds": time.perf_counter() - PROCESS_START, "cpu_seconds": _cpu_seconds() - cpu_start,
            "peak_rss_mb": _peak_rss_mb(), "retained_mb": retained_mb if mode == "batch_run" else 0.0}


def alternate(path: str, out: str, repeat: int) -> dict:
    """Serial sweep, bare loop and ``batch_run`` taking turns in one process, ``repeat`` times.

    A shared machine's speed drifts between subprocesses; measured back to back in one process,
    the three see the same machine. The runner's own time is also measured directly: the
    sweep's wall time minus the time spent inside ``simulate``.
    """
    import ecosim.model
    from ecosim.executors import run_sweep
    from ecosim.experiment import load_experiment

    experiment = load_experiment(path)
    inside = [0.0]
    real_simulate = ecosim.model.simulate

    def timed_simulate(scenario, seed=None, **kwargs):
        start = time.perf_counter()
        try:
            return real_simulate(scenario, seed=seed, **kwargs)
        finally:
            inside[0] += time.perf_counter() - start

    ecosim.model.timed_simulate = timed_simulate  # run_sweep takes the model as "module:function"
    best = {"bare": float("inf"), "serial": float("inf"), "batch_run": float("inf"), "runner_share": float("inf")}
    for i in range(repeat):
        runs = _run_list(path)
        start = time.perf_counter()
        for scenario, seed in runs:
            real_simulate(scenario, seed=seed)
        best["bare"] = min(best["bare"], time.perf_counter() - start)
        inside[0] = 0.0
        start = time.perf_counter()
        run_sweep(experiment, f"{out}_{i}", executor="serial", model="ecosim.model:timed_simulate")
        wall = time.perf_counter() - start
        best["serial"] = min(best["serial"], wall)
        best["runner_share"] = min(best["runner_share"], wall / inside[0] - 1)
        best["batch_run"] = min(best["batch_run"], _batch_run(path)[0])
    return {"runs": experiment.n_runs, **best}


def _deep_size_mb(rows: list[dict]) -> float:
    """Memory held by batch_run's result rows (dicts, keys shared, values counted)."""
    return sum(sys.getsizeof(row) + sum(sys.getsizeof(v) for v in row.values()) for row in rows) / 2**20


def _batch_run(path: str) -> tuple[float, float]:
    """mesa.batch_run over the same (scenario, seed) list, with a DataCollector per quarter."""
    import mesa

    from ecosim.metrics import STEP_COLUMNS, run_summary
    from ecosim.model import EcosystemModel, simulate

    runs = _run_list(path)
    steps = runs[0][0].steps

    summary_keys = list(simulate(runs[0][0], seed=runs[0][1], steps=1).summary)

    class BatchEcosystem(EcosystemModel):
        """EcosystemModel built from a run index, collecting what the sweep stores in a Mesa
        DataCollector: the per-step metrics every quarter and the run summary at the end."""

        def __init__(self, run_index: int = 0, rng=None):
            scenario, seed = runs[run_index]
            super().__init__(scenario, seed=seed)
            self.summary: dict[str, float] = {}
            reporters = {name: (lambda m, name=name: m.recorder.rows[-1][name]) for name in STEP_COLUMNS
                         if name not in ("step", "year", "quarter")}
            reporters.update({f"summary_{key}": (lambda m, key=key: m.summary.get(key)) for key in summary_keys})
            self.datacollector = mesa.DataCollector(model_reporters=reporters)

        def step(self):
            super().step()
            if self.steps == steps:  # the run's summary, as the sweep computes it
                self.summary = run_summary(self, self.step_table())
            self.datacollector.collect(self)

    start = time.perf_counter()
    results = mesa.batch_run(BatchEcosystem, parameters={"run_index": range(len(runs))}, rng=[None],
                             number_processes=1, data_collection_period=1, max_steps=steps,
                             display_progress=False)
    seconds = time.perf_counter() - start
    assert len(results) == len(runs) * steps, len(results)
    return seconds, _deep_size_mb(results)


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def machine_parallelism(n: int = 4_000_000) -> float:
    """Speed-up of 2 processes over 1 on pure-Python arithmetic: the ceiling for any runner here."""
    from concurrent.futures import ProcessPoolExecutor

    start = time.perf_counter()
    _burn(n)
    _burn(n)
    one = time.perf_counter() - start
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_burn, [10, 10]))
        start = time.perf_counter()
        list(pool.map(_burn, [n, n]))
        two = time.perf_counter() - start
    return one / two


def _in_subprocess(mode: str, path: Path, out: Path) -> dict:
    if mode == "bare2":
        return _two_bare_halves(path, out)
    command = [sys.executable, __file__, "--measure", mode, str(path), str(out)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _two_bare_halves(path: Path, out: Path) -> dict:
    """The model's own ceiling on 2 cores: two bare loops over half the runs each, at once.

    No runner, no pool, no store: if two of these take longer than one loop over all the runs
    divided by two, the machine (cores, caches, memory bandwidth) is the limit, not the sweep.
    """
    start = time.perf_counter()
    halves = [subprocess.Popen([sys.executable, __file__, "--measure", f"bare:{i}/2", str(path), str(out)],
                               stdout=subprocess.PIPE, text=True, cwd=ROOT) for i in range(2)]
    results = [json.loads(h.communicate()[0].strip().splitlines()[-1]) for h in halves]
    wall = time.perf_counter() - start
    return {"mode": "bare2", "runs": sum(r["runs"] for r in results), "seconds": max(r["seconds"] for r in results),
            "command_seconds": wall, "cpu_seconds": sum(r["cpu_seconds"] for r in results),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in results), "retained_mb": 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64], help="runs per sweep")
    parser.add_argument("--steps", type=int, default=20, help="quarters per run")
    parser.add_argument("--scenario", type=Path, default=BASELINE,
                        help="scenario file of the runs (default: the baseline world; scenarios/tiny.yaml for a quick look)")
    parser.add_argument("--modes", nargs="+", default=["bare", "bare2", "serial", "process2", "batch_run"])
    parser.add_argument("--repeat", type=int, default=2, help="repetitions; the fastest is kept (shared machines)")
    parser.add_argument("--alternate", action="store_true",
                        help="time bare runs, the serial sweep and batch_run taking turns in one process instead")
    args = parser.parse_args()
    if args.alternate:
        with tempfile.TemporaryDirectory() as tmp:
            for size in args.sizes:
                path = experiment_file(Path(tmp), size, args.steps, args.scenario.resolve())
                r = alternate(str(path), str(Path(tmp) / f"out_{size}"), args.repeat)
                print(f"runs {r['runs']:>4} (one process, best of {args.repeat}) | bare {r['bare']:.2f} s | serial sweep "
                      f"{r['serial']:.2f} s ({100 * (r['serial'] / r['bare'] - 1):+.1f}% over bare; runner and store "
                      f"{100 * r['runner_share']:+.1f}% of the time inside simulate) | batch_run {r['batch_run']:.2f} s "
                      f"(batch_run / sweep {r['batch_run'] / r['serial']:.2f})", flush=True)
        return
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"2 processes vs 1 on plain arithmetic (the machine's ceiling): {machine_parallelism():.2f}x", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for size in args.sizes:
            path = experiment_file(tmp_path, size, args.steps, args.scenario.resolve())
            row = {"runs": None}
            # modes take turns within each repetition, so a machine that slows down or speeds
            # up during the benchmark does not favour the mode measured first
            measured: dict[str, list[dict]] = {mode: [] for mode in args.modes}
            for i in range(args.repeat):
                for mode in args.modes:
                    measured[mode].append(_in_subprocess(mode, path, tmp_path / f"out_{size}_{mode}_{i}"))
            for mode in args.modes:
                results = measured[mode]
                best = min(results, key=lambda r: r["seconds"])
                row["runs"] = best["runs"]
                row[f"{mode}_s"] = best["seconds"]
                row[f"{mode}_command_s"] = min(r["command_seconds"] for r in results)
                row[f"{mode}_cpu_s"] = min(r["cpu_seconds"] for r in results)
                row[f"{mode}_rss_mb"] = max(r["peak_rss_mb"] for r in results)
                if mode == "batch_run":
                    row["batch_run_results_mb"] = best["retained_mb"]
            rows.append(row)
            parts = [f"runs {row['runs']:>4}"]
            for mode in args.modes:
                parts.append(f"{mode} {row[f'{mode}_s']:7.2f} s / {row[f'{mode}_rss_mb']:6.0f} MB")
            if "bare_s" in row and "serial_s" in row:
                parts.append(f"runner+store overhead {100 * (row['serial_s'] / row['bare_s'] - 1):+.1f}% wall, "
                             f"{100 * (row['serial_cpu_s'] / row['bare_cpu_s'] - 1):+.1f}% CPU")
            if "bare_s" in row and "bare2_s" in row:
                parts.append(f"two bare halves at once {row['bare_s'] / row['bare2_s']:.2f}x (the model's ceiling here)")
            if "serial_s" in row and "process2_s" in row:
                parts.append(f"speed-up on 2 workers {row['serial_s'] / row['process2_s']:.2f}x (whole command, "
                             f"imports and pool start included: {row['serial_command_s'] / row['process2_command_s']:.2f}x)")
            if "batch_run_s" in row and "serial_s" in row:
                parts.append(f"batch_run / sweep time {row['batch_run_s'] / row['serial_s']:.2f} wall, "
                             f"{row['batch_run_cpu_s'] / row['serial_cpu_s']:.2f} CPU; batch_run holds "
                             f"{row['batch_run_results_mb']:.2f} MB of results (the sweep holds none)")
            print(" | ".join(parts), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(json.dumps(rows))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2], sys.argv[3], sys.argv[4])))
    else:
        main()
