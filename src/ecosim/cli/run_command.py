"""``ecosim run SCENARIO``: one seeded run, its tables, provenance and figures."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from ecosim.cli.options import (
    check_rules_file,
    check_scenario_rules,
    load_with_overrides,
    memory_limit_option,
    rule_time_limit_option,
    rules_option,
    seed_option,
)
from ecosim.cli.progress import step_progress

HEADLINE = [
    ("disclosures", "technologies disclosed", "{:,.0f}"),
    ("deals", "converted (first transferred)", "{:,.0f}"),
    ("commercialisations", "reached market", "{:,.0f}"),
    ("conversion_university", "conversion, university-owned", "{:.1%}"),
    ("conversion_joint", "conversion, joint with industry", "{:.1%}"),
    ("conversion_enterprise", "conversion, enterprise-owned", "{:.1%}"),
    ("failed", "failed technically", "{:,.0f}"),
    ("shelved", "shelved (funding or matching)", "{:,.0f}"),
    ("time_to_transfer_median", "median quarters to transfer", "{:.1f}"),
    ("welfare", "welfare, M¥", "{:,.0f}"),
    ("public_spending", "public spending, M¥", "{:,.0f}"),
    ("welfare_per_public_yuan", "welfare per public yuan", "{:.2f}"),
    ("top10_value_share", "value share of the top 10%", "{:.0%}"),
]


@click.command("run")
@click.argument("scenario", type=click.Path(dir_okay=False))
@seed_option
@click.option("--steps", type=click.IntRange(1, 2000), default=None, help="Quarters to simulate (default: the scenario's).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a scenario key by dotted path; repeatable.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory (default: results/<scenario>/seed-<seed>).")
@click.option("--force", is_flag=True, help="Replace results already in the output directory.")
@click.option("--csv/--no-csv", default=True, help="Also write CSV copies of the tables.")
@rules_option
@memory_limit_option
@rule_time_limit_option
def command(scenario, seed, steps, sets, out, force, csv, rules_file, memory_limit, rule_time_limit):
    """Run SCENARIO once and write its tables, resolved scenario and figures.

    Example: ecosim run scenarios/baseline.yaml --seed 1 --set policy.managers.managers_per_region=80
    """
    from ecosim.errors import InputError
    from ecosim.model import EcosystemModel, seed_from, simulate  # noqa: F401 (import cost after validation)
    from ecosim.output import atomic_directory, write_run

    set_keys = {text.partition("=")[0].strip() for text in sets}
    for option, value, key in (("--seed", seed, "seed"), ("--rules", rules_file, "rules_file")):
        if value is not None and key in set_keys:
            raise InputError(f"{option} and --set {key}=... disagree; give one of them", key=option)
    if out:
        from ecosim.cli.paths import check_output_directory

        check_output_directory(out, "--out")
    loaded = load_with_overrides(scenario, sets, steps)
    rules_path = check_rules_file(rules_file)
    if rules_path:
        loaded = loaded.model_copy(update={"rules_file": rules_path})
    check_scenario_rules(loaded, scenario)  # every rule name known before anything is written
    from ecosim.resources import check_memory

    check_memory(loaded, memory_limit, source=scenario)
    _note_unchosen_rules(loaded)
    from ecosim.rules.contract import set_time_limit

    set_time_limit(rule_time_limit)
    if seed is None:
        import numpy as np

        seed = loaded.seed if loaded.seed is not None else seed_from(np.random.SeedSequence())
    target = Path(out) if out else Path("results") / loaded.name / f"seed-{seed}"
    with atomic_directory(target, replace=force) as tmp:
        with step_progress(f"{loaded.name} (seed {seed})", loaded.steps) as update:
            result = simulate(loaded, seed=seed, progress=update)
        write_run(result, tmp, csv=csv)
        _write_figures(result, tmp)
    _print_summary(result, target)


def _write_figures(result, directory: Path) -> None:
    import matplotlib.pyplot as plt

    from ecosim.run_figures import activity_figure, funnel_figure

    figures = directory / "figures"
    figures.mkdir()
    for name, fig in (
        ("funnel", funnel_figure(result.summary, f"Where technologies fail — {result.scenario.name}, seed {result.seed}")),
        ("activity", activity_figure(result.steps)),
    ):
        fig.savefig(figures / f"{name}.png", dpi=120)
        plt.close(fig)


def _print_summary(result, target: Path) -> None:
    console = Console()
    table = Table(title=f"{result.scenario.name} · seed {result.seed} · {len(result.steps)} quarters")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, label, fmt in HEADLINE:
        value = result.summary.get(key, float("nan"))
        table.add_row(label, "n/a" if value != value else fmt.format(value))
    console.print(table)
    console.print(_rules_line(result.scenario))
    console.print(f"results written to {target}")


def _rules_line(scenario) -> str:
    """``rules: orientation=payoff_imitation, adoption=fit_seekers (my_rules.py:21), …``"""
    from ecosim.rules import rules_in_effect
    from ecosim.rules.contract import display_path

    parts = []
    for kind, rule in rules_in_effect(scenario.rules).items():
        source = rule["source"]
        if source != "built-in":
            path, _, line = source.rpartition(":")
            source = f"{display_path(path)}:{line}"
        parts.append(f"{kind}={rule['name']}" + ("" if source == "built-in" else f" ({source})"))
    return "rules: " + ", ".join(parts)


def _note_unchosen_rules(scenario) -> None:
    """Say so when a rules file registered rules that the scenario does not choose (the defaults run)."""
    from ecosim.rules import rules_from_file

    if not scenario.rules_file:
        return
    unchosen = [f"{kind}/{name}" for kind, name in rules_from_file(scenario.rules_file)
                if getattr(scenario.rules, kind) != name]
    if unchosen:
        click.echo(f"note: {scenario.rules_file} registers {', '.join(unchosen)}, which this run does not choose; "
                   "choose one with --set rules.KIND=NAME", err=True)
