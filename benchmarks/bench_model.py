"""Model speed and scaling; the same as `ecosim bench` (run: python benchmarks/bench_model.py)."""

from ecosim.bench import run_bench

if __name__ == "__main__":
    run_bench()
