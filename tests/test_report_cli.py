"""``ecosim compare`` and ``ecosim report``: outputs, bad input, partial sweeps, and end to end.

Most tests read a small real sweep (tests/analysis_data.py) through a stand-in for
``ecosim.store`` that serves those tables, so that the commands' own checks are tested apart
from the store; the end-to-end test runs a real experiment with ``ecosim sweep``.
"""

from __future__ import annotations

import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis_data import small_sweep
from ecosim.analysis import VERDICTS
from ecosim.cli import main
from ecosim.errors import InputError


def install_fake_store(monkeypatch, tables: dict[str, tuple[pd.DataFrame, pd.DataFrame, dict]]) -> None:
    """Make ``from ecosim import store`` return :func:`fake_store` for this test."""
    import ecosim

    module = fake_store(tables)
    monkeypatch.setitem(sys.modules, "ecosim.store", module)
    monkeypatch.setattr(ecosim, "store", module, raising=False)


def fake_store(tables: dict[str, tuple[pd.DataFrame, pd.DataFrame, dict]]) -> types.ModuleType:
    """A module with the store's three loaders, serving in-memory tables by directory."""
    module = types.ModuleType("ecosim.store")

    def lookup(results_dir):
        key = str(Path(results_dir))
        if key not in tables:
            raise FileNotFoundError(f"{key}: no index.json")
        return tables[key]

    module.load_runs = lambda d: lookup(d)[0].copy()
    module.load_steps = lambda d: lookup(d)[1].copy()
    module.load_index = lambda d: json.loads(json.dumps(lookup(d)[2]))
    return module


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A results directory of the small sweep (4 replications x 2 scenarios, all finished)."""
    runs, steps = small_sweep()
    directory = tmp_path / "results"
    directory.mkdir()
    index = {"experiment_name": "tiny_managers", "design": "scenarios", "root_seed": 7, "replications": 4, "steps": 8,
             "ecosim_version": "0.1.0", "runs": [{"run_id": r} for r in runs["run_id"]]}
    (directory / "index.json").write_text(json.dumps(index))  # the commands check for it before reading
    tables = {str(directory): (runs, steps, index)}
    install_fake_store(monkeypatch, tables)
    return directory, tables


def run_cli(*args: str) -> int:
    return main([str(a) for a in args])


def listing(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*")}


def test_compare_prints_the_table_and_writes_csv_and_parquet(results, capsys):
    directory, _ = results
    assert run_cli("compare", directory, "--metric", "deals", "--metric", "publications") == 0
    out = capsys.readouterr().out
    assert "more_managers" in out and "Publications" in out and "common random numbers" in out
    table = pd.read_parquet(directory / "comparison.parquet")
    # the primary outcomes (the catalogue's headline ones) come first and get verdicts; the rest is descriptive
    assert list(table["metric"]) == ["deals", "commercialisations", "welfare", "publications"]
    assert list(table["role"]) == ["primary", "primary", "primary", "descriptive"]
    assert set(table["verdict"]) <= set(VERDICTS)
    assert table.loc[3, "verdict"] in ("descriptive", "identical in every replication",
                                       "the same difference in every replication")
    csv = pd.read_csv(directory / "comparison.csv")
    assert len(csv) == 4 and "p_adjusted" in csv.columns
    assert "Technologies converted" in out  # labels from the catalogue, not raw names


def test_compare_writes_into_out_directory(results, tmp_path, capsys):
    directory, _ = results
    out = tmp_path / "elsewhere"
    assert run_cli("compare", directory, "--out", out) == 0
    assert {"comparison.csv", "comparison.parquet"} <= listing(out)
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert run_cli("compare", directory, "--out", a_file) == 2
    assert "is a file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--baseline", "basline"], "unknown baseline 'basline'; the scenarios are: baseline, more_managers. "
                                    "Did you mean baseline?"),
        (["--metric", "deal"], "unknown metric 'deal'. Did you mean deals"),
    ],
)
def test_compare_rejects_unknown_names_with_exit_2_and_writes_nothing(results, capsys, args, message):
    directory, _ = results
    before = listing(directory)
    assert run_cli("compare", directory, *args) == 2
    assert message in capsys.readouterr().err
    assert listing(directory) == before


def test_commands_reject_a_directory_without_results(tmp_path, capsys):
    assert run_cli("compare", tmp_path) == 2
    assert "not a sweep results directory" in capsys.readouterr().err
    assert run_cli("report", tmp_path) == 2
    assert "not a sweep results directory" in capsys.readouterr().err
    assert run_cli("report", tmp_path / "missing") == 2
    assert "no such results directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_a_store_that_cannot_be_read_is_reported_as_bad_input(tmp_path, capsys, monkeypatch):
    install_fake_store(monkeypatch, {})
    assert run_cli("compare", tmp_path) == 2
    assert "not an ecosim results directory" in capsys.readouterr().err


def test_too_few_replications_for_an_interval_is_bad_input(results, capsys):
    directory, tables = results
    runs, steps, index = tables[str(directory)]
    tables[str(directory)] = (runs[runs["replication"] == 0], steps, index)
    assert run_cli("compare", directory) == 2
    err = capsys.readouterr().err
    assert "too few finished replications" in err and "baseline (1)" in err
    assert "--replications 5" in err
    assert run_cli("report", directory) == 2
    assert not (directory / "report.html").exists()


def test_partly_failed_sweep_is_reported_on_what_is_there(results, capsys):
    directory, tables = results
    runs, steps, index = tables[str(directory)]
    runs = runs.copy()
    runs.loc[runs.index[-1], "status"] = "failed"
    index = {**index, "runs": index["runs"] + [{"run_id": "not-yet"}] * 2}
    tables[str(directory)] = (runs, steps, index)
    assert run_cli("compare", directory, "--metric", "deals") == 0
    out = capsys.readouterr().out
    assert "7 of 10 planned runs" not in out  # the failed run counts as finished, not as missing
    assert "8 of 10 planned runs have finished" in out and "1 of 8 runs failed" in out
    table = pd.read_csv(directory / "comparison.csv")
    assert table.loc[0, "n"] == 3
    assert run_cli("report", directory) == 0
    html = (directory / "report.html").read_text()
    assert "8 of 10 planned runs have finished" in html


def test_report_writes_self_contained_html_and_markdown(results, capsys):
    directory, _ = results
    assert run_cli("report", directory) == 0
    html = (directory / "report.html").read_text()
    for heading in ("What was compared:", "What was run", "Each scenario against the baseline", "Over time",
                    "valley of death", "conversion funnel", "Cost-effectiveness"):
        assert heading in html
    assert "tiny_managers" in html and "1001, 1002, 1003, 1004" in html
    assert "(88% for n = 4)" in html  # the median interval of 4 replications is not a 95% one
    assert html.count("data:image/png;base64,") >= 10
    assert "src='http" not in html and 'src="http' not in html and "<script" not in html
    markdown = (directory / "report.md").read_text()
    assert "| more_managers | Technologies converted (first transfer) |" in markdown
    for image in (directory / "report_figures").iterdir():
        assert f"report_figures/{image.name}" in markdown
    assert not [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_report_out_must_be_an_html_file(results, capsys, tmp_path):
    directory, _ = results
    assert run_cli("report", directory, "--out", tmp_path / "report.pdf") == 2
    assert "must end in .html" in capsys.readouterr().err
    target = tmp_path / "sub" / "policies.html"
    assert run_cli("report", directory, "--out", target) == 0
    assert target.exists() and target.with_suffix(".md").exists()


def test_report_of_a_sensitivity_design_shows_indices():
    import numpy as np
    from SALib.sample import sobol as sobol_sample

    from ecosim.report import Results, build_sections, html_cell

    names = ["policy.proof_of_concept.grant_size", "technology.matching_lambda"]
    problem = {"num_vars": 2, "names": names, "bounds": [[0, 1], [0, 1]], "calc_second_order": False}
    x = sobol_sample.sample(problem, 64, calc_second_order=False, seed=3)
    runs = pd.DataFrame(x, columns=names).assign(
        run_id=lambda f: [f"p{i}" for i in range(len(f))], scenario="base", point=range(len(x)), replication=0,
        seed=5, status="ok", deals=3 * x[:, 0] + 0.5 * x[:, 1] ** 2)
    results = Results(Path("sweep"), runs, pd.DataFrame(), {"design": "sobol", "problem": problem})
    sections = build_sections(results)
    sensitivity = next(s for s in sections if s.title == "Global sensitivity")
    table = sensitivity.table
    # the outcome by its catalogue label; each parameter by its schema label, its key kept beside it
    assert list(table.columns[:2]) == ["outcome", "parameter"]
    assert set(table["outcome"]) == {"Technologies converted (first transfer)"}
    assert [cell.label for cell in table["parameter"]] == ["PoC grant per technology, M¥",
                                                           "Partner-matching intensity (λ)"]
    assert str(html_cell(table["parameter"].iloc[0])) == (
        'PoC grant per technology, M¥<br><span class="key long">policy.proof_of_concept.grant_size</span>')
    assert str(table["parameter"].iloc[1]) == "Partner-matching intensity (λ) (`technology.matching_lambda`)"
    indices = table.assign(key=[cell.key for cell in table["parameter"]]).set_index("key")
    assert float(indices.loc[names[0], "ST"]) > float(indices.loc[names[1], "ST"])
    assert len(sensitivity.figures) == 1 and np.isfinite(float(indices.loc[names[0], "S1"]))


def test_report_rejects_unknown_names_before_writing(results):
    from ecosim.report import load_results, write_report

    directory, _ = results
    with pytest.raises(InputError, match="unknown metric 'welfair'. Did you mean welfare"):
        write_report(load_results(directory), metrics=["welfair"])
    assert not (directory / "report.html").exists()


def test_a_large_comparison_is_one_forest_figure_of_small_multiples():
    """84 comparisons (7 policies × 12 outcomes) were three forest plots of up to 40 rows each,
    about 4,300 px tall in the report; as a panel per outcome with the policies on a shared axis
    they are one figure a third as tall, every comparison still drawn."""
    import numpy as np

    from ecosim import analysis
    from ecosim.report import _forest_figures

    rng = np.random.default_rng(0)
    names = ["baseline", *[f"policy_{i}" for i in range(7)]]
    metrics = [f"fail_G{g}_{c}" for g in range(1, 5) for c in ("technical", "funding", "matching")]
    rows = [{"scenario": n, "point": 0, "replication": r, "seed": r, "status": "ok",
             **{m: rng.normal(10, 1) for m in metrics}} for n in names for r in range(4)]
    comparison = analysis.compare(pd.DataFrame(rows), "baseline", metrics)
    ((stem, caption, fig),) = _forest_figures(comparison)
    panels = [ax for ax in fig.axes if ax.axison]
    assert stem == "forest" and len(panels) == len(metrics)
    assert sum(len(ax.collections[0].get_segments()) for ax in panels if ax.collections) == len(comparison) == 84
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == names[1:]
    width, height = fig.get_size_inches()
    assert height <= 1.2 * width  # three rows of four panels, not 84 rows
    assert "One panel per outcome" in caption and "95%" in caption


def test_the_reports_descriptive_table_is_folded_under_its_forest_plot(results):
    """The descriptive table (a row per policy and outcome: the longest block of the report) is
    one click away in a <details>; the forest plot that shows its changes stays open, and the
    Markdown summary keeps the table."""
    directory, _ = results
    assert run_cli("report", directory) == 0
    page = (directory / "report.html").read_text()
    section = page.split("<h2>Each scenario against the baseline: other outcomes (descriptive)</h2>")[1]
    section = section.split("</section>")[0]
    assert section.index("<details><summary>Show the table:") < section.index("<table>") < section.index("</details>")
    assert section.index("</details>") < section.index("<figure>")
    primary = page.split("<h2>Each scenario against the baseline: primary outcomes</h2>")[1].split("</section>")[0]
    assert "<details>" not in primary  # the verdicts' table stays open
    assert page.count("<figure><img alt=\"Effect of each scenario") == 1
    markdown = (directory / "report.md").read_text()
    assert "*Other outcomes against baseline: descriptive" in markdown


# ------------------------------------------------------------------ end to end: sweep -> compare -> report

TINY_OVERRIDES = ("world.enterprises_per_region: 60, world.universities_per_region: 2, "
                  "world.institutes_per_region: 0")


def write_experiment(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "experiment.yaml"
    path.write_text(body.replace("BASELINE", str(Path("scenarios/baseline.yaml").resolve())), encoding="utf-8")
    return path


def test_small_experiment_sweep_compare_report_end_to_end(tmp_path, capsys):
    experiment = write_experiment(tmp_path, f"""
name: tiny_compare
description: More technology managers in the tiny world.
scenarios:
  - file: BASELINE
    name: baseline
    overrides: {{{TINY_OVERRIDES}, policy.managers.managers_per_region: 5}}
  - file: BASELINE
    name: more_managers
    overrides: {{{TINY_OVERRIDES}, policy.managers.managers_per_region: 20}}
replications: 5
seed: 11
steps: 8
""")
    out = tmp_path / "results"
    assert run_cli("sweep", experiment, "--out", out, "--executor", "serial") == 0
    capsys.readouterr()

    assert run_cli("compare", out, "--baseline", "baseline", "--metric", "deals", "--metric", "failed",
                   "--metric", "welfare") == 0
    printed = capsys.readouterr().out
    assert "more_managers" in printed and "common random numbers" in printed
    table = pd.read_parquet(out / "comparison.parquet")
    assert list(table["metric"]) == ["deals", "commercialisations", "welfare", "failed"]
    assert table["paired"].all() and (table["n"] == 5).all()
    assert table.loc[0, "method"] == "difference of means: paired t" and table.loc[3, "role"] == "descriptive"
    assert table["method"].str.match(r"(difference of means|ratio of means \(log scale\)): ").all()
    assert table["verdict"].isin(VERDICTS).all()

    assert run_cli("report", out, "--out", tmp_path / "report" / "tiny.html") == 0
    html = (tmp_path / "report" / "tiny.html").read_text()
    assert "tiny_compare" in html and "More technology managers" in html
    assert "10 ok of 10 recorded" in html and "data:image/png;base64," in html
    markdown = (tmp_path / "report" / "tiny.md").read_text()
    assert "| more_managers | Technologies converted (first transfer) |" in markdown
    assert (tmp_path / "report" / "tiny_figures" / "forest.png").stat().st_size > 1000

    assert run_cli("compare", out, "--baseline", "nobody") == 2
    assert "the scenarios are: baseline, more_managers" in capsys.readouterr().err

    # a scenario whose runs all failed is named, not silently dropped
    from ecosim.report import load_results

    runs = pd.read_parquet(out / "runs")
    (out / "failed").mkdir(exist_ok=True)
    for path in sorted((out / "runs").glob("more_managers-*.parquet")):
        record = {"run_id": path.stem, "scenario": "more_managers", "point": 0,
                  "replication": int(path.stem[-4:]), "seed": int(runs.set_index("run_id").loc[path.stem, "seed"]),
                  "parameters": {}, "error": "boom"}
        (out / "failed" / f"{path.stem}.json").write_text(json.dumps(record))
        path.rename(tmp_path / path.name)
    notes = load_results(out).notes
    assert any("No finished runs yet for more_managers" in n for n in notes)
    for name in [p.name for p in tmp_path.glob("more_managers-*.parquet")]:
        (tmp_path / name).rename(out / "runs" / name)
        (out / "failed" / name.replace(".parquet", ".json")).unlink()

    # an interrupted sweep (a run never written) is compared on what is there, and says so
    (out / "runs" / "more_managers-p00000-r0004.parquet").unlink()
    assert run_cli("compare", out, "--metric", "deals") == 0
    assert "9 of 10 planned runs have finished" in capsys.readouterr().out
    assert pd.read_csv(out / "comparison.csv").loc[0, "n"] == 4


def test_grid_design_points_are_named_and_listed_in_the_report(tmp_path, capsys):
    experiment = write_experiment(tmp_path, f"""
name: tiny_grid
scenarios:
  - file: BASELINE
    name: grid
    overrides: {{{TINY_OVERRIDES}}}
design:
  kind: grid
  parameters:
    policy.managers.managers_per_region: [2, 20]
replications: 3
seed: 5
steps: 6
""")
    out = tmp_path / "results"
    assert run_cli("sweep", experiment, "--out", out, "--executor", "serial") == 0
    capsys.readouterr()
    # a grid is a response surface: no verdicts of point 1 against point 0
    assert run_cli("compare", out, "--metric", "deals") == 2
    assert "not policies compared with point 0" in capsys.readouterr().err
    assert run_cli("report", out) == 0
    markdown = (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert "managers per region = 2" in markdown and "managers per region = 20" in markdown
    assert "The response surface: grid" in html and "better" not in markdown
    assert (out / "report_figures" / "surface_grid_deals.png").stat().st_size > 1000


def test_sobol_sweep_report_shows_sensitivity_indices(tmp_path, capsys):
    experiment = write_experiment(tmp_path, f"""
name: tiny_sobol
scenarios:
  - file: BASELINE
    name: sobol
    overrides: {{{TINY_OVERRIDES}, budget.research_grants: 0.65}}
design:
  kind: sobol
  samples: 4
  parameters:
    policy.managers.managers_per_region: [2, 20]
    budget.proof_of_concept: [0.0, 0.15]
replications: 1
seed: 3
steps: 6
""")
    out = tmp_path / "results"
    assert run_cli("sweep", experiment, "--out", out, "--executor", "serial") == 0
    capsys.readouterr()
    assert run_cli("compare", out) == 2
    assert "not policies compared with point 0; run `ecosim report" in capsys.readouterr().err
    assert run_cli("report", out) == 0
    html = (out / "report.html").read_text()
    assert "Global sensitivity" in html and "policy.managers.managers_per_region" in html
    assert ('Technology managers per region<br><span class="key long">policy.managers.managers_per_region</span>'
            in html)
    assert "Which policy works" not in html  # a sensitivity design is not a scenario comparison
    assert "Only 4 base samples" in html
    assert (out / "report_figures" / "sensitivity_deals.png").exists()
    markdown = (out / "report.md").read_text()
    deals_row = next(line for line in markdown.splitlines() if line.startswith(
        "| Technologies converted (first transfer) | Technology managers per region "
        "(`policy.managers.managers_per_region`) |"))
    assert "constant" not in deals_row and "–" not in deals_row.split("|")[3]  # S1 was computed


def test_a_report_into_a_file_another_report_is_writing_is_refused_and_leaves_it_alone(results, tmp_path, capsys):
    from ecosim.locks import output_lock

    directory, _ = results
    target = tmp_path / "shared" / "report.html"
    target.parent.mkdir()
    with output_lock(target, "report"):  # as another `ecosim report --out shared/report.html` holds it while writing
        assert run_cli("report", directory, "--out", target) == 2
        err = capsys.readouterr().err
        assert "another ecosim report" in err and "report.html" in err and "Traceback" not in err
        assert listing(target.parent) == {".report.html.lock"}  # only the holder's lock file
    assert run_cli("report", directory, "--out", target) == 0  # free again once the first is done
    assert target.is_file() and ".report.html.lock" not in listing(target.parent)


def _posterior_like_comparison() -> pd.DataFrame:
    """The small sweep's comparison, dressed as a sweep over posterior draws with a long name and
    an undecided primary outcome: the widest table ``ecosim compare`` prints."""
    from ecosim import analysis

    runs, _ = small_sweep()
    runs = runs.replace({"scenario": {"more_managers": "manager_programme_with_long_name"}})
    table = analysis.compare(runs, "baseline", ["deals", "publications", "welfare_per_public_yuan"])
    primary = table["role"] == "primary"
    table.loc[primary, ["p_better", "p_better_low", "p_better_high"]] = [0.6, 0.42, 0.76]
    table.loc[table.index[primary][0], ["verdict", "replications_needed"]] = ["undecided", 2710]
    return table


def test_compare_prints_the_answer_first_and_cuts_off_no_column():
    import io

    from rich.console import Console

    from ecosim import report

    table = _posterior_like_comparison()
    buffer = io.StringIO()
    report.print_comparison(table, console=Console(width=160, file=buffer))
    out = buffer.getvalue()
    lines = out.splitlines()
    assert out.startswith("The answer: each policy against baseline on the primary outcomes, ranked")
    first_table_end = out.index("┘")
    answer = " ".join(" ".join(line.split("│")[1:]) for line in out[:first_table_end].splitlines())
    assert "manager_programme_with_long_name" in answer
    assert "needs about 2,710 replications" in " ".join(answer.split())  # counts with a thousands separator
    assert "P(better) 60% [42%, 76%]" in " ".join(answer.split())  # P(better) in the answer, not a table of its own
    # every table is whole: closed on the right, no line wider than the console
    assert all(len(line) <= 160 for line in lines)
    tops = [line for line in lines if line.startswith("┏")]
    assert len(tops) == 3 and all(line.endswith("┓") for line in tops)  # answer, primary in units, descriptive
    # no sentence per policy before or after the tables, no second P(better) table
    assert "of the plausible worlds (" not in out and "P(better) over the posterior [95% interval] — verdict" not in out
    assert "Primary outcomes: " not in out  # the answer's columns name them
    # headings are printed as they are, not read as markup (rich dropped "[interval]")
    assert "change [interval]" in out


def _printed_cells(out: str) -> list[str]:
    """Every table cell of a wide console's output (one line per row), stripped."""
    return [cell.strip() for line in out.splitlines() if line.startswith("│") for cell in line.split("│")[1:-1]]


def test_compare_prints_each_number_once_and_as_comparison_csv_has_it(results, tmp_path, capsys):
    """Each primary outcome's change (with its interval and verdict) is printed in one cell, and no
    sentence repeats it; each descriptive change once; every one is the text comparison.csv's
    numbers give (the report's ranking prints the same cell)."""
    from rich.console import Console

    from ecosim import report

    directory, _ = results
    table = report.comparison_table(report.load_results(directory), None, ["deals", "publications", "failed"])
    import io

    buffer = io.StringIO()
    report.print_comparison(table, console=Console(width=400, file=buffer))  # wide: no cell wraps
    out = buffer.getvalue()
    cells = _printed_cells(out)
    assert run_cli("compare", directory, "--metric", "deals", "--metric", "publications", "--metric", "failed") == 0
    csv = pd.read_csv(directory / "comparison.csv")
    for _, row in csv.iterrows():
        if row["role"] == "primary":
            text = report.ranking_cell(row.to_dict(), row["metric"])
            assert cells.count(text) == 1, text
            assert out.count(report.change_text(row.to_dict())) == 1, row["metric"]
        else:
            text = report.format_interval(row["relative_change"], row["relative_low"], row["relative_high"],
                                          percent=True)
            assert cells.count(text) == 1 and out.count(text) == 1, text


def test_the_reports_primary_table_gives_only_what_the_first_screen_lacks_as_comparison_csv_has_it(results):
    """The first screen gives each primary change in % with its interval and verdict, and the
    baseline's means; the primary outcomes' table below it repeated all of that (1,457 px on the
    posterior policy levers). Now it has each policy's mean, the change in the outcome's unit and
    the adjusted p-value, each the text of comparison.csv's number, and no cell of the first screen."""
    from ecosim import analysis, report

    directory, _ = results
    assert run_cli("compare", directory) == 0
    csv = pd.read_csv(directory / "comparison.csv")
    screen, sections = report.build_report(report.load_results(directory))
    table = next(s for s in sections if s.title == "Each scenario against the baseline: primary outcomes").table
    primary = csv[csv["role"] == "primary"].reset_index(drop=True)
    assert len(table) == len(primary)
    for (_, row), (_, cells) in zip(primary.iterrows(), table.iterrows(), strict=True):
        assert cells["scenario"] == row["condition"]
        assert cells["outcome"] == analysis.metric_axis_label(row["metric"])
        assert cells["scenario mean"] == report.format_number(row["scenario_mean"])
        assert cells["change [interval]"] == report.format_interval(row["difference"], row["difference_low"],
                                                                    row["difference_high"])
        assert cells["p (adjusted)"] == report.format_p(row["p_adjusted"])
    # the ranking's cells of the primary outcomes (its cost columns may coincide, e.g. "0 [0, 0]")
    outcome_columns = [i for i, c in enumerate(screen.columns) if c.endswith(": change [interval], verdict")]
    first_screen = {r["cells"][i][0] for r in screen.rows for i in outcome_columns}
    changes = {report.format_interval(r["relative_change"], r["relative_low"], r["relative_high"], percent=True)
               for _, r in primary.iterrows()}
    for value in table.drop(columns="scenario").to_numpy().ravel():
        assert value == "–" or (value not in first_screen and value not in changes and value not in analysis.VERDICTS)


def test_every_verdict_text_names_its_verdict():
    """Tables of strings colour a verdict through :func:`report.verdict_of_text`: every text
    :func:`report.verdict_text` prints (both forms, any number of replications) maps back."""
    from ecosim import report

    for verdict in VERDICTS:
        for needed in (12.0, 20_000.0, float("nan")):
            row = {"verdict": verdict, "replications_needed": needed, "precision": 0.05}
            for short in (False, True):
                text = report.verdict_text(row, short=short)
                assert report.verdict_of_text(text) == verdict, text
                assert report.verdict_of_text(f"+9.04% [+6.29%, +11.8%] — {text}") == verdict
    assert report.verdict_of_text("more_managers") is None and report.verdict_of_text("1.18 [0.483, 1.87]") is None


def test_the_report_colours_each_verdict_as_the_forest_plot_does(results):
    """One colour per verdict, defined once (plots.VERDICT_COLOURS): the report's CSS gives each
    verdict's cells a dot of that colour, the first screen's cells carry their verdict's class,
    and no other colour is given to a verdict (the report had its own greens and reds)."""
    from ecosim import plots, report

    directory, _ = results
    assert run_cli("report", directory) == 0
    page = (directory / "report.html").read_text()
    style = page.split("<style>")[1].split("</style>")[0]
    for verdict, colour in plots.VERDICT_COLOURS.items():
        assert f".{report.verdict_class(verdict)}::before{{content:" in style
        assert f"color:{colour}}}" in style.split(f".{report.verdict_class(verdict)}::before")[1].split("\n")[0]
    assert "#1a7a3a" not in page and "#b3261e" not in page and "#a35a00" not in page
    screen, _ = report.build_report(report.load_results(directory))
    comparison = report.comparison_table(report.load_results(directory))
    for row in screen.rows[:-1]:
        for text, css in row["cells"][2:2 + 3]:  # the primary outcomes' cells
            assert report.verdict_of_text(text) is not None
            assert css == report.verdict_class(report.verdict_of_text(text))
            assert f'<td class="{css}">{text}</td>' in page
    assert set(comparison["verdict"]) <= set(plots.VERDICT_COLOURS)


def test_the_notebooks_answer_colours_verdicts_as_the_report_does(results):
    """notebook.answer shows the first screen in a notebook: each verdict cell starts with a dot of
    its verdict's colour and no other colour is given to a verdict."""
    import re

    from ecosim import notebook, plots, report

    directory, _ = results
    loaded = report.load_results(directory)
    screen, _ = report.build_report(loaded)
    page = notebook.answer(loaded)._repr_html_()
    for row in screen.rows[:-1]:
        for text, _ in row["cells"][2:5]:
            colour = plots.VERDICT_COLOURS[report.verdict_of_text(text)]
            assert f"<span style='color:{colour}'>&#9679;&nbsp;</span>{text}</td>" in page
    assert set(re.findall(r"[^-]color:(#[0-9a-f]{6})", page)) <= set(plots.VERDICT_COLOURS.values())


def test_column_widths_fit_the_console_and_keep_whole_words():
    from ecosim.report import _column_widths

    frame = pd.DataFrame({"scenario": ["manager_programme"], "verdict": ["undecided: needs about 2,710 replications"],
                          "outcome": ["Welfare from products on the market (M¥)"]})
    widths = _column_widths(frame, 50)
    assert sum(widths) + 3 * len(widths) + 1 <= 50
    assert widths[0] >= len("manager_programme") and widths[1] >= len("replications")


def test_report_labels_its_numbers_as_the_tables_do(results):
    """The forest caption names the table's levels, the summary table uses catalogue labels, the
    cost-effectiveness table gives each interval its own level and says why a ratio has none,
    and the failure text does not claim that no policy changes technical failures."""
    from ecosim import report

    directory, _ = results
    assert run_cli("report", directory) == 0
    markdown = (directory / "report.md").read_text()
    assert "with 95% intervals." not in markdown
    assert "primary outcomes: 98.33% simultaneous" in markdown and "descriptive outcomes: 95%" in markdown
    assert "| baseline | deals |" not in markdown and "| baseline | Technologies converted (first transfer) |" in markdown
    assert "[–, –]" not in markdown
    assert "no policy changes" not in markdown and "Every failed gate attempt" not in markdown
    assert "baseline (baseline)" not in markdown
    cost_part = markdown.split("## Cost-effectiveness")[1].split("\n## ")[0]
    cost = next(line for line in cost_part.splitlines() if line.startswith("| scenario | outcome | extra outcome"))
    # one level for every row: stated once, in the caption, not in a column repeating it
    assert ("*Extra outcome: 98.33% simultaneous intervals; extra public money: 95% intervals; "
            "ratios: the range over both (at least 93.33% confidence).") in cost_part
    assert "level of the outcome's and the ratios' intervals" not in cost and "(95%)" not in cost_part
    assert "level of the outcome's and the ratios' intervals" in " ".join(
        report.readable_cost_effectiveness(report.analysis.cost_effectiveness(
            report.comparison_table(report.load_results(directory)), ["deals"])).columns)  # a table on its own (notebooks) keeps its levels
    # the valley-of-death decomposition is a table, a row per policy, not a sentence each
    failures = markdown.split("## Why technologies fail")[1].split("\n## ")[0]
    assert "| more_managers | G" in failures and "the largest change is" not in failures


def test_report_shows_primary_and_descriptive_outcomes_in_two_narrow_tables(results):
    """The HTML report shows compare's two tables, not one of 12-13 columns whose verdict runs off
    the screen: the primary outcomes' details, then descriptive outcomes without verdict,
    p-value or role column."""
    from ecosim.report import build_sections, load_results

    directory, _ = results
    sections = {s.title: s for s in build_sections(load_results(directory))}
    primary = sections["Each scenario against the baseline: primary outcomes"]
    descriptive = sections["Each scenario against the baseline: other outcomes (descriptive)"]
    assert list(primary.table.columns) == ["scenario", "outcome", "scenario mean", "change [interval]", "p (adjusted)"]
    assert primary.caption.startswith("Primary outcomes against baseline in their units: means per run, the "
                                      "change with the first screen's 98.33% simultaneous interval")
    assert {"verdict", "p (adjusted)", "role [interval]", "unit"}.isdisjoint(descriptive.table.columns)
    assert len(descriptive.table.columns) <= 7 and "descriptive, 95% intervals" in descriptive.caption
    assert not primary.figures and descriptive.figures  # the forest plot after both tables
    assert run_cli("report", directory) == 0
    markdown = (directory / "report.md").read_text()
    assert markdown.index("*Primary outcomes against baseline in their units") < markdown.index("*Other outcomes against")


def test_html_cells_let_only_long_names_break_and_keep_the_text():
    from ecosim.report import html_cell

    assert str(html_cell("35.17 [−10.52, 80.86]")) == "35.17 [−10.52, 80.86]"
    assert str(html_cell("manager_programme")) == "manager_programme"
    assert str(html_cell("x, universities.transfer_budget_per_quarter")) == (
        'x, <span class="long">universities.transfer_budget_per_quarter</span>')
    assert "<span" not in str(html_cell("universities.transfer_budget_per_quarter", breaks=False))
    escaped = str(html_cell("<b>a_very_long_name_of_a_scenario</b>"))
    assert "<b>" not in escaped and "&lt;b&gt;a_very_long_name_of_a_scenario&lt;/b&gt;" in escaped


QUESTION_FILE = """# Question: does a *bigger* fund
# help? It is run on the tiny world.
#
# More notes.
name: asks
description: Two funds in the tiny world.
"""


def test_the_question_is_the_one_the_experiment_file_asks():
    from ecosim.experiment import file_question, question_from_text

    assert question_from_text(QUESTION_FILE) == "Does a bigger fund help?"
    assert question_from_text("# Question: none - a small trial. Why? Speed.\nname: x\n") is None
    assert question_from_text("name: x\n# Question: late?\n") is None  # only the leading comment
    assert question_from_text("description: Is it?\n") is None
    assert file_question("experiments/policy_levers_posterior.yaml") == (
        "Which single policy lever beats today's ecosystem whatever the values of the free parameters the facts "
        "could not pin down?")
    assert file_question("experiments/tiny_trial.yaml") is None
    assert file_question("no/such/file.yaml") is None


def test_a_sweep_records_the_experiment_files_question(tmp_path):
    from ecosim.executors import build_index
    from ecosim.experiment import load_experiment
    from sweep_helpers import write_experiment as write_sweep_experiment

    path = write_sweep_experiment(tmp_path)
    path.write_text("# Question: do managers\n# help?\n" + path.read_text(), encoding="utf-8")
    assert build_index(load_experiment(path))["question"] == "Do managers help?"
    assert build_index(load_experiment(write_sweep_experiment(tmp_path, name="plain")))["question"] is None


@pytest.mark.parametrize(("index", "label", "text"), [
    ({"question": "Does a bigger fund help?", "description": "Two funds."}, "Question", "Does a bigger fund help?"),
    ({"question": None, "description": "Two funds."}, "What was compared", "Two funds."),
    ({"description": "Two funds in the tiny world."}, "What was compared", "Two funds in the tiny world."),
    ({"description": "Do two funds differ?"}, "Question", "Do two funds differ?"),
    ({"description": "Two funds in the tiny world.", "source": "FILE"}, "Question", "Does a bigger fund help?"),
    ({"description": "Another description.", "source": "FILE"}, "What was compared", "Another description."),
])
def test_the_report_says_question_only_for_a_question(results, tmp_path, index, label, text):
    directory, tables = results
    runs, steps, base = tables[str(directory)]
    experiment = tmp_path / "asks.yaml"
    experiment.write_text(QUESTION_FILE, encoding="utf-8")
    if index.get("source") == "FILE":
        index = {**index, "source": str(experiment)}
    tables[str(directory)] = (runs, steps, {**base, **index})
    assert run_cli("report", directory) == 0
    html = (directory / "report.html").read_text()
    markdown = (directory / "report.md").read_text()
    assert f"<b>{label}:</b> {text}" in html and f"**{label}:** {text}" in markdown
    if label != "Question":
        assert "Question:" not in html and "| question |" not in markdown


def test_what_was_run_says_the_runs_use_posterior_draws(results):
    directory, tables = results
    runs, steps, index = tables[str(directory)]
    runs = runs.assign(posterior_draw=runs["replication"].map({0: 17, 1: 3, 2: 17, 3: 40}))
    keys = ["technology.matching_lambda", "policy.finance.value_hurdle"]
    posterior = {"file": "calibration/posterior.parquet", "sha256": "0" * 64, "keys": keys, "particles": 500,
                 "effective_sample_size": 10.469786, "draws": [17, 3, 17, 40],
                 "scenario_keys": {"baseline": keys, "more_managers": keys[:1]}}
    tables[str(directory)] = (runs, steps, {**index, "posterior": posterior})
    assert run_cli("report", directory) == 0
    markdown = (directory / "report.md").read_text()
    run_part = markdown.split("## What was run")[1].split("\n## ")[0]
    assert ("4 replications per scenario, each at one draw of the posterior calibration/posterior.parquet: "
            "replication r uses the same draw and the same seed in every scenario.") in run_part
    assert "| replications per scenario | 4, each at one posterior draw (below) |" in run_part
    assert "4 draws, of 3 distinct particles out of 500; effective sample size of the weights 10.47" in run_part
    assert "more_managers sets policy.finance.value_hurdle itself" in run_part
    tables[str(directory)] = (runs.drop(columns="posterior_draw"), steps, index)
    assert run_cli("report", directory) == 0
    assert "posterior" not in (directory / "report.md").read_text().split("## What was run")[1].split("\n## ")[0]


def test_the_lhs_regression_table_names_parameters_by_their_labels_and_keys():
    import math

    from ecosim.report import Named, readable_indices

    indices = pd.DataFrame({"metric": ["welfare", "welfare"], "parameter": ["budget.proof_of_concept", "my.lever"],
                            "src": [0.5, math.nan], "src_low": [0.2, math.nan], "src_high": [0.8, math.nan],
                            "r_squared": [0.7, math.nan], "note": ["", "constant over the design"]})
    readable = readable_indices(indices)
    assert list(readable["outcome"]) == ["Welfare from products on the market"] * 2
    assert list(readable["parameter"]) == [Named("Budget share to the proof-of-concept fund", "budget.proof_of_concept"),
                                           Named("Lever", "my.lever")]  # a key the schema lacks keeps its key
    assert list(readable["src"]) == ["0.5", "–"]


def _posterior_results(results, tmp_path):
    """The small sweep from posterior draws with a second policy: three conditions, two policies."""
    from ecosim.report import Results

    directory, tables = results
    runs, steps, index = tables[str(directory)]
    policy = runs[runs["scenario"] == "more_managers"]
    extra = policy.assign(scenario="incentive_reform", run_id=policy["run_id"] + "x", deals=policy["deals"] * 1.2)
    runs = pd.concat([runs, extra], ignore_index=True).assign(
        posterior_draw=lambda f: f["replication"].map({0: 17, 1: 3, 2: 17, 3: 40}))
    return Results(tmp_path, runs, steps, {**index, "posterior": {"file": "posterior.parquet", "keys": []}})


def test_the_report_gives_p_better_as_one_table_with_a_row_per_policy(results, tmp_path):
    """Issue 14: the report printed a sentence per policy and primary outcome ("In 60% of the
    plausible worlds ..."), ~21 of them; now one table (policy × primary outcome, P(better) and
    verdict, the same texts as the comparison table) and one headline sentence."""
    from ecosim import analysis
    from ecosim.report import build_report, probability_text, verdict_text, write_report

    loaded = _posterior_results(results, tmp_path)
    screen, sections = build_report(loaded)
    table = screen.probabilities
    comparison = analysis.compare(loaded.ok, "baseline", primary=analysis.default_primary(loaded.ok))
    primary = comparison[(comparison["role"] == "primary") & (comparison["direction"] != 0)]
    assert sorted(table["policy"]) == ["incentive_reform", "more_managers"]  # one row per policy, no baseline
    assert list(table["policy"]) == [row["scenario"] for row in screen.rows[:-1]]  # in the ranking's order
    assert list(table.columns) == ["policy", *[analysis.metric_label(m) for m in dict.fromkeys(primary["metric"])]]
    for _, row in primary.iterrows():
        cell = table.set_index("policy").loc[row["condition"], analysis.metric_label(row["metric"])]
        assert cell == f"{probability_text(row)} — {verdict_text(row, short=True)}"
    # the ranking no longer repeats the probabilities, the sections no longer carry sentences
    assert not any("plausible worlds" in text for row in screen.rows for text, _ in row["cells"])
    assert not any("plausible worlds" in p for s in sections for p in s.paragraphs)
    assert sum("plausible worlds" in p for p in screen.lead) == 1  # the one headline sentence

    html_path, md_path = write_report(loaded, tmp_path / "report.html")
    html = html_path.read_text()
    assert html.count('<table id="pbetter">') == 1 and html.count("of the plausible worlds (") == 0
    body = html.split('<table id="pbetter">')[1].split("</table>")[0]
    assert body.count("<tr>") == 1 + 2  # the heading and a row per policy
    assert html.count("It is not a p-value") == 1
    markdown = md_path.read_text()
    assert "| policy | Technologies converted (first transfer) |" in markdown


def test_the_spread_table_gives_the_primary_and_plotted_outcomes_unless_others_are_asked_for(results):
    """The report's longest table was every compared outcome per scenario (112 rows for 8
    scenarios): it now gives the outcomes the section plots and the primary ones; --metric names others."""
    from ecosim import analysis
    from ecosim.report import build_sections, load_results

    directory, _ = results
    loaded = load_results(directory)
    title = "How the outcomes vary between replications"
    table = {s.title: s for s in build_sections(loaded)}[title].table
    wanted = ["deals", "commercialisations", "welfare", "conversion_university"]
    assert list(dict.fromkeys(table["outcome"])) == [analysis.metric_label(m) for m in wanted]
    assert len(table) == len(wanted) * loaded.ok["condition"].nunique()
    asked = {s.title: s for s in build_sections(loaded, metrics=["publications"])}[title].table
    assert list(dict.fromkeys(asked["outcome"])) == ["Publications"]


def _synthetic_policies(n: int = 12, seed: int = 3) -> pd.DataFrame:
    """Baseline and two policies, paired: ``costly`` and ``cheap`` both raise the three primary
    outcomes, ``costly`` a little more on the first, for 300 M¥ of public money a run against 20."""
    import numpy as np

    rng = np.random.default_rng(seed)
    frames = []
    for name, lift, spend in (("baseline", 0.0, 0.0), ("costly", 0.30, 300.0), ("cheap", 0.25, 20.0)):
        frames.append(pd.DataFrame({
            "run_id": [f"{name}-{r}" for r in range(n)], "scenario": name, "replication": range(n),
            "seed": range(n), "status": "ok",
            "deals": 1000 * (1 + lift) + rng.normal(0, 10, n),
            "commercialisations": 100 * (1 + lift) * np.exp(rng.normal(0, 0.05, n)),
            "welfare": 1000 * (1 + lift) * np.exp(rng.normal(0, 0.05, n)),
            "public_spending": 500 + spend + rng.normal(0, 3, n),
            "publications": 500 * (0.5 if name == "costly" else 1.0) + rng.normal(0, 5, n),
            "startups_per_disclosure": 0.1 * (5.0 if name == "costly" else 1.0) + rng.normal(0, 0.001, n),
            "shelved": 50 + rng.normal(0, 5, n)}))
    return pd.concat(frames, ignore_index=True)


def test_the_first_screen_states_its_ranking_rule_and_puts_cost_beside_it():
    """Review of issue 14: "Best on the primary outcomes: ecosystem" ranked on verdicts alone,
    although incentive_reform had as many better verdicts for 18.69 M¥ a run against 290.2."""
    from ecosim.report import RANKING_RULE, Results, build_report

    results = Results(Path("sweep"), _synthetic_policies(), pd.DataFrame(), {"design": "scenarios"})
    screen, _ = build_report(results, primary=["deals", "commercialisations", "welfare"])
    lead = " ".join(screen.lead)
    assert "Best on" not in lead and "(which does not count cost)" in lead
    assert RANKING_RULE.split("{")[0] in lead  # the rule in words, on the first screen
    assert "<b>cheap</b> has as many better verdicts for less public money" in lead
    assert [row["scenario"] for row in screen.rows] == ["costly", "cheap", "baseline"]
    money = next(i for i, c in enumerate(screen.columns) if c.startswith("extra public money"))
    ratio = screen.columns[money + 1]
    assert ratio.startswith("welfare from products on the market per extra M¥ of public money [interval")
    cheap = dict(zip(screen.columns, [t for t, _ in screen.rows[1]["cells"]], strict=True))
    assert 15 < float(cheap[screen.columns[money]].split()[0]) < 25 and "[" in cheap[ratio]
    assert float(cheap[ratio].split()[0]) > 5  # ~250 M¥ of welfare for ~20 M¥


def test_the_first_screen_gives_how_failures_change_not_their_levels():
    """Review of issue 14: the first screen said "G2 funding 6,667/run (41%), baseline 6,723" for
    every policy, a level that is ~41% everywhere; now the largest fall and rise against the
    baseline, the heat map's numbers."""
    from ecosim.formatting import format_signed
    from ecosim.report import main_failure_changes

    cells = []
    for gate in ("G1", "G2"):
        for cause, change in (("technical", 47.0 if gate == "G2" else 1.0), ("funding", -60.0 if gate == "G2" else -2.0),
                              ("matching", 0.5)):
            cells.append({"condition": "poc_fund", "baseline": "baseline", "gate": gate, "cause": cause,
                          "baseline_mean": 6723.0, "scenario_mean": 6723.0 + change, "difference": change,
                          "difference_low": change - 10, "difference_high": change + 10,
                          "share_of_change": math.nan, "paired": True})
    text = main_failure_changes(pd.DataFrame(cells))["poc_fund"]
    assert text.startswith(f"G2 funding {format_signed(-60.0)} [")
    assert f"G2 technical {format_signed(47.0)} [" in text
    assert text.endswith(": some technologies rescued from funding or matching failures then fail technically")
    assert "6,723" not in text and "%" not in text


def test_the_first_screen_gives_each_policys_largest_side_effects():
    """Review of issue 14: publications −52% under incentive_reform appeared only in a folded
    table; now the first screen gives each policy's descriptive changes clear of 0, adverse ones
    first (a +400% in start-ups per disclosure must not hide a −52% in publications)."""
    from ecosim import analysis
    from ecosim.report import SIDE_EFFECT_COLUMN, Results, build_report, change_text

    results = Results(Path("sweep"), _synthetic_policies(), pd.DataFrame(), {"design": "scenarios"})
    screen, _ = build_report(results, primary=["deals", "commercialisations", "welfare"])
    assert SIDE_EFFECT_COLUMN in screen.columns and "not adjusted" in SIDE_EFFECT_COLUMN
    column = screen.columns.index(SIDE_EFFECT_COLUMN)
    cells = {row["scenario"]: row["cells"][column][0] for row in screen.rows}
    comparison = analysis.compare(results.ok, "baseline", [*analysis.default_metrics(results.ok)],
                                  primary=["deals", "commercialisations", "welfare"])
    publications = comparison.set_index(["condition", "metric"]).loc[("costly", "publications")]
    # the comparison table's own text, so every output prints the same number
    assert cells["costly"].split("; ")[0] == (f"{analysis.metric_label('publications')} "
                                              f"{change_text({**publications, 'metric': 'publications'})} (adverse)")
    assert cells["costly"].startswith(f"{analysis.metric_label('publications')} ")  # adverse first, though smaller
    assert cells["costly"].count(";") == 1 and "Start-ups per academic disclosure +" in cells["costly"]
    assert cells["cheap"] == "none clear of 0"  # the shelved technologies' noise is not a side effect
    assert "Public money" not in cells["costly"]  # given beside the ranking, not repeated


def test_the_first_screen_states_the_measured_window_and_the_world(tmp_path):
    """Review of issue 14: the tables cover quarters 21–60 while the time series start at quarter
    1, and "steps: each scenario's own" although every scenario ran 60 quarters."""
    import matplotlib.colors as mcolors

    from ecosim import plots
    from ecosim.report import Results, build_report

    runs = _synthetic_policies().assign(measured_from_quarter=21.0)
    world = {"regions": 2, "universities_per_region": 8, "institutes_per_region": 2, "enterprises_per_region": 500}
    index = {"design": "scenarios", "steps": None,
             "experiment": {"scenarios": {n: {"steps": 60, "world": world} for n in ("baseline", "costly", "cheap")}}}
    steps = pd.DataFrame([{"scenario": n, "replication": r, "step": q, "deals": 1.0, "status": "ok"}
                          for n in ("baseline", "costly") for r in range(3) for q in range(1, 61)])
    screen, sections = build_report(Results(tmp_path, runs, steps, index),
                                    primary=["deals", "commercialisations", "welfare"])
    lead = " ".join(screen.lead)
    assert ("Each number is per run: quarters 21–60 (10 years, after a 20-quarter burn-in that the tables leave "
            "out; the time-series figures show running totals from quarter 1, with the burn-in shaded) of a world "
            "of 2 regions, 16 universities, 4 research institutes, 1,000 enterprises.") in lead
    provenance = next(s for s in sections if s.title == "What was run").table.set_index("")["value"]
    assert provenance["steps (quarters)"] == "60 (each scenario's own, the same in all)"
    assert provenance["measured window"] == "quarters 21–60"
    over_time = next(s for s in sections if s.title == "Over time")
    ax = over_time.figures[0][2].axes[0]
    shaded = [p for p in ax.patches if mcolors.to_hex(p.get_facecolor()) == plots.BURN_IN_COLOUR]
    assert shaded and shaded[0].get_x() == 0.5 and shaded[0].get_width() == 20
    assert any("burn-in, quarters 1–20" in t.get_text() for t in ax.get_legend().get_texts())


def test_each_verdict_has_one_wording_in_every_output():
    """Review of issue 14: the tables said "undecided: needs about N replications" and "no change
    larger than ±5%", the legend and CSV "more replications needed" and "no change beyond the
    precision target", --help a third form. Now one set of words, from analysis.verdict_words."""
    from click.testing import CliRunner

    from ecosim import analysis, plots
    from ecosim.cli import cli
    from ecosim.report import VERDICT_GLOSSARY, verdict_of_text, verdict_text

    assert set(plots.VERDICT_COLOURS) == set(analysis.VERDICTS)  # the legend's words are the CSV's
    for verdict in analysis.VERDICTS:
        for needed in (3.0, 369.4, 20_000.0, math.nan):
            row = {"verdict": verdict, "replications_needed": needed, "precision": 0.05}
            words = verdict_text(row)
            assert words == verdict_text(row, short=True) == analysis.verdict_words(verdict, needed, 0.05)
            assert words.startswith(verdict.split(" the precision")[0])  # the CSV's verdict begins the words
            assert verdict_of_text(words) == verdict
    assert verdict_text({"verdict": "undecided", "replications_needed": 369.4}) == \
        "undecided: needs about 369 replications"
    precise = verdict_text({"verdict": "no change larger than the precision target", "precision": 0.05})
    assert precise == "no change larger than ±5% of the baseline" and "±5% of the baseline" in VERDICT_GLOSSARY
    help_text = " ".join(CliRunner().invoke(cli, ["compare", "--help"]).output.split())
    assert "undecided: needs about N replications" in help_text and "more replications" not in help_text


def test_a_metric_that_never_varies_is_named_once_not_compared(capsys):
    """Review of issue 14: time_to_transfer_median was 4.00 in all 240 runs and still got a forest
    panel and a "+0.00%, identical in every replication" row per policy."""
    from ecosim import analysis
    from ecosim.report import Results, build_report, comparison_tables, print_comparison

    runs = _synthetic_policies().assign(time_to_transfer_median=4.0)
    comparison = analysis.compare(runs, "baseline", ["publications", "time_to_transfer_median"],
                                  primary=["deals", "commercialisations", "welfare"])
    assert analysis.constant_metrics(comparison) == {"time_to_transfer_median": 4.0}
    tables = comparison_tables(comparison)
    assert all("Median time to transfer" not in " ".join(map(str, t["outcome"])) for _, _, t in tables)
    print_comparison(comparison)
    out = " ".join(capsys.readouterr().out.split())
    assert out.count("Did not vary: median time to transfer was 4.00 quarters in every run of every scenario") == 1
    screen, sections = build_report(Results(Path("sweep"), runs, pd.DataFrame(), {"design": "scenarios"}),
                                    metrics=["publications", "time_to_transfer_median"],
                                    primary=["deals", "commercialisations", "welfare"])
    other = next(s for s in sections if s.title.endswith("other outcomes (descriptive)"))
    assert any("Did not vary: median time to transfer" in p for p in other.paragraphs)
    forest = other.figures[0][2]
    titles = " ".join(ax.get_title() for ax in forest.axes)
    assert "Median time" not in titles and "Publications" in titles


def test_the_ranking_gives_each_policys_one_line_description():
    """Review of issue 14: policies were shown only by their code names."""
    from ecosim.report import Results, build_report

    descriptions = {"baseline": "Today's ecosystem.", "costly": "Every lever at once.", "cheap": "Inventors get 70%."}
    index = {"design": "scenarios", "scenario_descriptions": descriptions}
    screen, _ = build_report(Results(Path("sweep"), _synthetic_policies(), pd.DataFrame(), index),
                             primary=["deals", "commercialisations", "welfare"])
    policies = {row["scenario"]: row["cells"][1][0] for row in screen.rows}
    assert policies == {name: f"{name} — {text}" for name, text in descriptions.items()}


def test_a_sweep_records_each_scenarios_description():
    from ecosim.executors import build_index
    from ecosim.experiment import load_experiment

    index = build_index(load_experiment(Path(__file__).parents[1] / "experiments" / "policy_levers.yaml", sample=False))
    assert index["scenario_descriptions"]["incentive_reform"] == (
        "University evaluations weigh transfer above publication; inventors get 70%.")


@pytest.mark.parametrize("command", ["compare", "report"])
def test_the_commands_options_in_the_docs_are_those_of_the_cli(command):
    """Review of issue 14: docs/ANALYSIS.md listed `ecosim report --primary`, which report lacked."""
    import re

    from click.testing import CliRunner

    from ecosim.cli import cli

    docs = (Path(__file__).parents[1] / "docs" / "ANALYSIS.md").read_text()
    block = docs.split("## Commands")[1].split("```")[1]
    lines = block.split(f"ecosim {command}")[1].split("ecosim ")[0]
    documented = set(re.findall(r"--[a-z-]+", lines))
    shown = set(re.findall(r"^\s+(--[a-z-]+)", CliRunner().invoke(cli, [command, "--help"]).output, re.MULTILINE))
    assert documented == shown - {"--help"}


def test_an_unbounded_interval_end_prints_as_infinity_in_the_unit_and_in_percent():
    """A sign-flip interval with few pairs is unbounded above: the console printed "[−0.8, ∞]" in
    the metric's unit beside "[−100%, –]" in %, as if the percent bound were missing."""
    from ecosim.formatting import format_interval

    inf = math.inf
    assert format_interval(0.3, -0.8, inf) == "0.3 [−0.8, ∞]"
    assert format_interval(25.0, -100.0, inf, percent=True) == "+25.0% [−100%, +∞%]"
    assert format_interval(math.nan, math.nan, math.nan, percent=True) == "–"


def test_the_consoles_answer_puts_the_reports_cost_columns_beside_the_ranking():
    """Review of issue 14: the ranking rule printed under the console's answer says the public money
    each policy adds and what each extra M¥ buys "stand beside the ranking"; only the report had them."""
    from ecosim import analysis, report

    rng = np.random.default_rng(5)
    n = 12
    frames = []
    for name, extra_money, extra_deals in (("baseline", 0.0, 0.0), ("policy", 20.0, 40.0)):
        frames.append(pd.DataFrame({"scenario": name, "seed": np.arange(n), "status": "ok",
                                    "deals": 500 + extra_deals + rng.normal(0, 5, n),
                                    "public_spending": 400 + extra_money + rng.normal(0, 1, n)}))
    runs = pd.concat(frames, ignore_index=True)
    comparison = analysis.compare(runs, "baseline", ["deals", "public_spending"], primary=["deals"])
    answer = report.answer_table(comparison)
    money, ratio = report.cost_headings(comparison, analysis.cost_effectiveness(comparison, ["deals"]), "deals")
    assert list(answer.columns)[-2:] == [money, ratio]
    row = analysis.cost_effectiveness(comparison, ["deals"]).iloc[0]
    policy = answer[answer["policy"] == "policy"].iloc[0]
    assert policy[money] == report.format_interval(row["extra_cost"], row["extra_cost_low"], row["extra_cost_high"])
    assert policy[ratio] == report.format_interval(row["per_unit_cost"], row["per_unit_low"], row["per_unit_high"])
    assert 1.5 < row["per_unit_cost"] < 2.5  # ~40 deals for ~20 M¥
    assert answer.iloc[-1][money] == "–"
