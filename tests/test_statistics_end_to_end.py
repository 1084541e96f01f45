"""The statistics on real sweeps of the model: an A/A test, and one number everywhere.

An A/A test runs the same scenario under two names with common random numbers: whatever the
analysis does, it must not call either better or worse, and no interval may exclude zero.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from ecosim import analysis
from ecosim.cli import main

TINY = str(Path("scenarios/tiny.yaml").resolve())


def sweep(tmp_path: Path, body: str) -> Path:
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(body, encoding="utf-8")
    out = tmp_path / "results"
    assert main(["sweep", str(experiment), "--out", str(out), "--executor", "serial"]) == 0
    return out


@pytest.mark.slow
def test_a_scenario_against_itself_never_gets_a_verdict_and_no_interval_excludes_zero(tmp_path, capsys):
    out = sweep(tmp_path, f"""
name: a_a
description: The same scenario under two names.
scenarios:
  - file: {TINY}
    name: baseline
  - file: {TINY}
    name: same_again
replications: 6
seed: 99
steps: 12
""")
    from ecosim.store import load_runs

    runs = load_runs(out)
    metrics = analysis.metric_columns(runs)
    # every metric a primary outcome: the strictest reading
    table = analysis.compare(runs, "baseline", metrics, primary=metrics)
    assert len(table) == len(metrics) and table["paired"].all()
    assert not table["verdict"].isin(["better", "worse", "higher", "lower"]).any()
    defined = table.dropna(subset=["difference_low"])
    assert ((defined["difference_low"] <= 0) & (defined["difference_high"] >= 0)).all()
    assert not (table["p_value"] == 0).any()
    # through the command line too, with the default primary outcomes
    assert main(["compare", str(out)]) == 0
    printed = capsys.readouterr().out
    # no verdict: the words appear only in the ranking rule's sentence ("a “better” verdict", "worsen")
    assert not re.search(r"(?<!“)\bbetter\b", printed) and not re.search(r"\bworse\b", printed), printed
    compared = pd.read_csv(out / "comparison.csv")
    assert set(compared["verdict"]) <= {"identical in every replication", "not enough data"}


def test_a_number_is_the_same_in_compare_report_and_notebook_helpers(tmp_path, capsys):
    out = sweep(tmp_path, f"""
name: same_numbers
scenarios:
  - file: {TINY}
    name: baseline
  - file: {TINY}
    name: more_managers
    overrides: {{policy.managers.managers_per_region: 20}}
replications: 4
seed: 5
steps: 8
""")
    from ecosim import notebook
    from ecosim.report import change_text, load_results

    assert main(["compare", str(out), "--metric", "public_spending"]) == 0
    compared = pd.read_csv(out / "comparison.csv").set_index(["condition", "metric"])
    assert main(["report", str(out)]) == 0
    html = (out / "report.html").read_text()
    markdown = (out / "report.md").read_text()
    # what a notebook calls: the same function, the same table
    results = load_results(out)
    from_notebook = notebook.comparison(results).set_index(["condition", "metric"])
    for key in [("more_managers", "deals"), ("more_managers", "public_spending")]:
        row = compared.loc[key]
        assert row["difference_low"] == pytest.approx(from_notebook.loc[key, "difference_low"])
        assert row["difference_high"] == pytest.approx(from_notebook.loc[key, "difference_high"])
        text = change_text({**row.to_dict(), "metric": key[1]})
        assert text in html and text in markdown
