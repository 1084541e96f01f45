"""Benchmark of ``ecosim sweep`` (a measurement, not a test).

Measures, on the same run list (the baseline world, or ``--scenario``; ``--steps`` quarters;
2 scenarios × 2 design points × replications with CRN seeds):

1. bare runs: a plain loop of ``simulate`` in one process, nothing stored; and ``bare2``, two
   such loops over half the runs each at the same time (the model's own ceiling on 2 cores:
   caches and memory bandwidth are shared, which plain arithmetic does not show);
2. the sweep runner + store, serial: overhead = serial sweep / bare (target ≤ 1.05);
3. the sweep on 2 local worker processes (``process2``, the fork server started first, as
   ``ecosim sweep`` does): speed-up over the serial sweep (target ≥ 1.8×), both for the runs
   alone (the pool's start is inside) and for the whole command from process start (imports
   included in every mode: what a user waits for);
4. ``mesa.batch_run`` on the same run list, with the model feeding a Mesa DataCollector what
   the sweep stores — the per-step metrics every quarter and the run summary at the end —
   results kept in memory: in one process (``batch_run``, against the serial sweep) and on
   batch_run's own pool of 2 processes (``batch_run2``, against ``process2``);
5. peak memory (max RSS of the driver process) and what batch_run holds at the end.

Each measurement runs in a fresh subprocess so that its peak memory is its own. Every
repetition measures every mode, in a fresh random order (``--seed``), and each ratio is taken
within a repetition (paired); the report gives its median, its range and (from 3
repetitions) its geometric mean with a 95% t interval. The machine this was written on drifts
by ±15% within minutes, so use ``--repeat 5`` or more for claims; the JSON line at the end
holds every time and ratio.

Usage::

    .venv/bin/python benchmarks/bench_sweep.py --sizes 128 --repeat 5          # baseline world, 20 quarters
    .venv/bin/python benchmarks/bench_sweep.py --scenario scenarios/tiny.yaml --sizes 96 --steps 16
    .venv/bin/python benchmarks/bench_sweep.py --alternate --sizes 32 --repeat 3   # side by side in one process
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
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
    if mode == "process2":  # as `ecosim sweep` does: the workers' server starts first, the driver
        from ecosim.worker_pool import start_fork_server  # never imports the model itself

        start_fork_server()
    else:
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
    elif mode in ("batch_run", "batch_run2"):
        seconds, retained_mb = _batch_run(path, processes=2 if mode == "batch_run2" else 1)
    else:
        raise ValueError(mode)
    return {"mode": mode, "runs": n_runs, "seconds": seconds,
            "command_seconds": time.perf_counter() - PROCESS_START, "cpu_seconds": _cpu_seconds() - cpu_start,
            "peak_rss_mb": _peak_rss_mb(), "retained_mb": retained_mb if mode.startswith("batch_run") else 0.0}


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


def _batch_run(path: str, processes: int = 1) -> tuple[float, float]:
    """mesa.batch_run over the same (scenario, seed) list, with a DataCollector per quarter.

    ``processes`` > 1 uses batch_run's own process pool (it starts its workers with ``spawn``,
    so each imports the model: that is batch_run's cost, counted here).
    """
    import mesa
    from batch_model import BatchEcosystem

    from ecosim.model import simulate

    runs = _run_list(path)
    steps = runs[0][0].steps
    summary_keys = tuple(simulate(runs[0][0], seed=runs[0][1], steps=1).summary)
    start = time.perf_counter()
    results = mesa.batch_run(BatchEcosystem, parameters={"run": runs, "summary_keys": [summary_keys]}, rng=[None],
                             number_processes=processes, data_collection_period=1, max_steps=steps,
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
    parser.add_argument("--modes", nargs="+", default=["bare", "bare2", "serial", "process2", "batch_run", "batch_run2"])
    parser.add_argument("--repeat", type=int, default=3,
                        help="repetitions, each measuring every mode in a random order; ratios are paired within one")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random order of modes")
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
    order = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        for size in args.sizes:
            path = experiment_file(tmp_path, size, args.steps, args.scenario.resolve())
            # every repetition measures every mode, in a fresh random order: a machine that
            # slows down or speeds up favours no mode, and ratios are paired within a repetition
            measured: dict[str, list[dict]] = {mode: [] for mode in args.modes}
            for i in range(args.repeat):
                for mode in order.sample(args.modes, len(args.modes)):
                    measured[mode].append(_in_subprocess(mode, path, tmp_path / f"out_{size}_{mode}_{i}"))
            row = summarise(measured, args.modes)
            rows.append(row)
            print(report(row, args.modes, args.repeat), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    print(json.dumps(rows))


RATIOS = {  # name: (numerator mode, denominator mode, key, what it says)
    "overhead": ("serial", "bare", "seconds", "serial sweep / bare runs (runner and store; target <= 1.05)"),
    "ceiling": ("bare", "bare2", "seconds", "bare / two bare halves at once (the model's own 2-core ceiling)"),
    "speedup": ("serial", "process2", "seconds", "serial / 2 workers (target >= 1.8)"),
    "speedup_command": ("serial", "process2", "command_seconds",
                        "the same for the whole command, imports and pool start included"),
    "of_ceiling": ("bare2", "process2", "seconds", "two bare halves / 2 workers (share of the ceiling)"),
    "batch_run": ("batch_run", "serial", "seconds", "batch_run / serial sweep (target >= 1: no faster)"),
    "batch_run2": ("batch_run2", "process2", "seconds", "batch_run on 2 processes / sweep on 2 workers"),
}


def summarise(measured: dict[str, list[dict]], modes: list[str]) -> dict:
    """Best time per mode, and each ratio per repetition (paired: same repetition)."""
    row: dict = {"runs": next(iter(measured.values()))[0]["runs"]}
    for mode in modes:
        results = measured[mode]
        best = min(results, key=lambda r: r["seconds"])
        row[f"{mode}_s"] = best["seconds"]
        row[f"{mode}_all_s"] = [round(r["seconds"], 3) for r in results]
        row[f"{mode}_command_s"] = min(r["command_seconds"] for r in results)
        row[f"{mode}_cpu_s"] = min(r["cpu_seconds"] for r in results)
        row[f"{mode}_rss_mb"] = max(r["peak_rss_mb"] for r in results)
        if mode.startswith("batch_run"):
            row[f"{mode}_results_mb"] = best["retained_mb"]
    for name, (top, bottom, key, _) in RATIOS.items():
        if top in measured and bottom in measured:
            row[f"{name}_ratios"] = [a[key] / b[key] for a, b in zip(measured[top], measured[bottom], strict=True)]
    return row


def geometric_interval(ratios: list[float]) -> str:
    """``; geometric mean G (95% CI a-b)`` from a t interval on the log ratios (3 or more)."""
    if len(ratios) < 3:
        return ""
    import numpy as np
    from scipy import stats

    logs = np.log(ratios)
    half = stats.t.ppf(0.975, len(logs) - 1) * logs.std(ddof=1) / np.sqrt(len(logs))
    mean = logs.mean()
    return f"; geometric mean {np.exp(mean):.3f} (95% CI {np.exp(mean - half):.3f}-{np.exp(mean + half):.3f})"


def report(row: dict, modes: list[str], repeat: int) -> str:
    """One line of times and peak memory, then each ratio: median and range over repetitions."""
    lines = [f"runs {row['runs']:>4}: " + " | ".join(
        f"{mode} {row[f'{mode}_s']:.2f} s (all: {', '.join(f'{x:.2f}' for x in row[f'{mode}_all_s'])}) "
        f"/ {row[f'{mode}_rss_mb']:.0f} MB" for mode in modes)]
    for name, (*_, what) in RATIOS.items():
        ratios = sorted(row.get(f"{name}_ratios", []))
        if ratios:
            lines.append(f"  {what}: median {statistics.median(ratios):.3f}, range {ratios[0]:.3f}-{ratios[-1]:.3f}"
                         f"{geometric_interval(ratios)} over {repeat} paired repetitions")
    for mode in modes:
        if mode.startswith("batch_run"):
            lines.append(f"  {mode} holds {row[f'{mode}_results_mb']:.2f} MB of results at the end (the sweep holds none)")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        print(json.dumps(measure(sys.argv[2], sys.argv[3], sys.argv[4])))
    else:
        main()
