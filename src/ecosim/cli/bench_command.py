"""``ecosim bench``: wall time, µs per agent-step, scaling to 10× and 100×, peak memory, yardstick."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("bench")
@click.option("--scenario", type=click.Path(dir_okay=False, exists=False), default=None,
              help="Base scenario to scale (default: the built-in baseline).")
@click.option("--sizes", default="1,10,100", show_default=True, help="Comma-separated scale factors.")
@click.option("--json-out", type=click.Path(dir_okay=False), default=None, help="Also write the numbers as JSON.")
def command(scenario, sizes, json_out):
    """Benchmark the model at the baseline size and 10× and 100× larger worlds."""
    from ecosim.errors import InputError
    from ecosim.scenario import load_scenario

    try:
        factors = tuple(int(x) for x in sizes.split(","))
    except ValueError:
        raise InputError(f"--sizes {sizes!r}: expected comma-separated whole numbers such as 1,10,100") from None
    if any(f < 1 or f > 1000 for f in factors):
        raise InputError(f"--sizes {sizes!r}: each factor must be between 1 and 1000")
    if scenario:
        load_scenario(scenario)  # bad input is reported before anything runs
    if json_out:
        from ecosim.cli.paths import check_output_file

        check_output_file(json_out, "--json-out")  # before the benchmark, not after it
        from ecosim.locks import output_lock

        with output_lock(json_out, "bench", "--json-out"):  # a second bench into the same file is refused at once
            rows = _bench(scenario, factors)
            from ecosim.store import write_json

            write_json(Path(json_out), rows)
    else:
        _bench(scenario, factors)


def _bench(scenario, factors):
    """Run the benchmark and print its growth line; returns its rows."""
    from ecosim.bench import run_bench

    rows = run_bench(scenario, factors, echo=click.echo)
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        growth = (last["run_s"] / first["run_s"]) / (last["agents"] / first["agents"])
        click.echo(f"time grew {last['run_s'] / first['run_s']:.1f}x for {last['agents'] / first['agents']:.0f}x the agents "
                   f"(per-agent cost ×{growth:.2f})")
    return rows
