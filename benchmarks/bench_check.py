"""Benchmark of ``ecosim check`` on every shipped scenario and experiment (a measurement, not a test).

Issue 16's target: ``ecosim check FILE`` answers in under a second for every file in
``scenarios/`` and ``experiments/``, measured as a user waits for it — the whole command, process
start and imports included. Each file is checked ``--repeat`` times (files in a fresh random order
each round, so that a burst of load on a shared machine does not land on one file), each time in a
fresh process; the report gives each file's median and slowest wall time, the 1-minute load average
at the start and the end, and whether any median is over ``--target`` seconds (exit status 1 then). It also gives
each check's median CPU time (user + system), which a busy machine changes far less than the wall
time: on a shared machine compare CPU times, and wall times only at the same load.
``--imports`` also lists which of the heavy libraries (pandas, matplotlib, mesa, networkx, dask,
scipy, SALib, numpy) each check imported, from ``python -X importtime``.

Usage::

    .venv/bin/python benchmarks/bench_check.py                 # 5 rounds, target 1 s
    .venv/bin/python benchmarks/bench_check.py --repeat 10 --imports --json-out check.json
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ECOSIM = str(Path(sys.executable).parent / "ecosim")
HEAVY = ("pandas", "matplotlib", "mesa", "networkx", "dask", "scipy", "SALib", "numpy")


def shipped_files() -> list[Path]:
    """Every scenario and experiment file in the repository."""
    return sorted((ROOT / "scenarios").glob("*.yaml")) + sorted((ROOT / "experiments").glob("*.yaml"))


def time_check(path: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one ``ecosim check PATH`` in a fresh process
    (it must succeed). The CPU time hardly depends on the machine's load; the wall time does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([ECOSIM, "check", str(path)], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"ecosim check {path} failed ({done.returncode}): {done.stderr.strip()}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def heavy_imports(path: Path) -> list[str]:
    """Which of :data:`HEAVY` one check imports (top-level packages in ``-X importtime``)."""
    code = f"from ecosim.cli import main; main(['check', {str(path)!r}])"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True, text=True)
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    return [name for name in HEAVY if name in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="checks per file (default 5)")
    parser.add_argument("--target", type=float, default=1.0, help="seconds a file's median may take (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the order of the files")
    parser.add_argument("--imports", action="store_true", help="also list the heavy libraries each check imports")
    parser.add_argument("--json-out", default=None, help="also write every time as JSON")
    args = parser.parse_args(argv)
    files = shipped_files()
    order = random.Random(args.seed)
    times: dict[str, list[float]] = {str(p.relative_to(ROOT)): [] for p in files}
    cpu: dict[str, list[float]] = {name: [] for name in times}
    load_before = os.getloadavg()[0]
    for _ in range(args.repeat):
        for path in order.sample(files, len(files)):
            wall, used = time_check(path)
            times[str(path.relative_to(ROOT))].append(wall)
            cpu[str(path.relative_to(ROOT))].append(used)
    load_after = os.getloadavg()[0]
    print(f"ecosim check, whole command, {args.repeat} runs per file; load {load_before:.1f} -> {load_after:.1f}")
    print(f"{'file':45} {'median s':>9} {'slowest s':>10} {'CPU s':>6}" + ("  heavy imports" if args.imports else ""))
    rows = []
    for name, values in times.items():
        row = {"file": name, "median_s": statistics.median(values), "max_s": max(values), "times_s": values,
               "median_cpu_s": statistics.median(cpu[name])}
        if args.imports:
            row["heavy_imports"] = heavy_imports(ROOT / name)
        rows.append(row)
        print(f"{name:45} {row['median_s']:9.2f} {row['max_s']:10.2f} {row['median_cpu_s']:6.2f}"
              + (f"  {', '.join(row['heavy_imports']) or '-'}" if args.imports else ""))
    over = [r["file"] for r in rows if r["median_s"] > args.target]
    print(f"slowest median {max(r['median_s'] for r in rows):.2f} s; "
          + (f"over the {args.target:g} s target: {', '.join(over)}" if over else f"every median under {args.target:g} s"))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"load": [load_before, load_after], "rows": rows}, indent=1))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
