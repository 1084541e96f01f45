"""The worked example of docs/RULES.md: a user's rules file, used from the command line and from Python."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from conftest import ECOSIM
from ecosim.model import simulate
from ecosim.rules import available_rules, get_rule, load_rules_file
from ecosim.rules.adoption import AdoptionCandidates, value_hurdle
from ecosim.rules.project_choice import ProjectChoiceInputs
from ecosim.scenario import apply_overrides, load_scenario

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "my_rules.py"
TINY = REPO / "scenarios" / "tiny.yaml"


def _ecosim(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([str(ECOSIM), *args], capture_output=True, text=True, cwd=cwd)


def test_example_rules_file_registers_its_two_rules():
    load_rules_file(EXAMPLE)
    assert "fit_seekers" in available_rules("adoption")
    assert "ripe_first" in available_rules("project_choice")
    assert get_rule("adoption", "fit_seekers").__doc__
    assert get_rule("project_choice", "ripe_first").__doc__


def test_fit_seekers_ignores_poorly_fitting_technologies():
    load_rules_file(EXAMPLE)
    rule = get_rule("adoption", "fit_seekers")
    candidates = AdoptionCandidates(
        appraised_value=np.array([5.0, 5.0, 0.2]),
        trl=np.array([4.0, 4.0, 4.0]),
        fit=np.array([0.9, 0.3, 0.9]),
        absorptive_capacity=np.full(3, 0.5),
        hurdle_log=np.zeros(3),
        size=np.ones(3),
    )
    willing = rule(candidates)
    np.testing.assert_allclose(willing[[0, 2]], value_hurdle(candidates)[[0, 2]])
    assert willing[1] == 0.0
    assert willing[0] > willing[2]


def test_ripe_first_takes_the_most_mature_then_the_most_valuable():
    load_rules_file(EXAMPLE)
    rule = get_rule("project_choice", "ripe_first")
    x = ProjectChoiceInputs(
        appraised_value=np.array([9.0, 1.0, 3.0, 2.0]),
        same_field=np.array([True, False, False, True]),
        trl=np.array([3, 5, 5, 4], dtype=np.int8),
        age_quarters=np.zeros(4, dtype=np.int32),
        skill=0.5,
        slots=3,
        rng=np.random.default_rng(0),
    )
    assert list(rule(x)) == [2, 1, 3]


def test_ecosim_run_with_a_user_rules_file_works(tmp_path):
    out = tmp_path / "run"
    done = _ecosim(
        "run",
        str(TINY),
        "--rules",
        str(EXAMPLE),
        "--seed",
        "3",
        "--steps",
        "12",
        "--set",
        "rules.adoption=fit_seekers",
        "--set",
        "rules.project_choice=ripe_first",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load((out / "scenario.yaml").read_text(encoding="utf-8"))
    assert resolved["rules"]["adoption"] == "fit_seekers"
    assert resolved["rules"]["project_choice"] == "ripe_first"
    steps = pd.read_parquet(out / "steps.parquet")
    assert len(steps) == 12


def test_ecosim_run_without_the_rules_file_rejects_the_unknown_rule(tmp_path):
    out = tmp_path / "run"
    done = _ecosim(
        "run",
        str(TINY),
        "--steps",
        "4",
        "--set",
        "rules.adoption=fit_seekers_typo",
        "--out",
        str(out),
    )
    assert done.returncode == 2
    assert "rules.adoption" in done.stderr and "value_hurdle" in done.stderr
    assert not out.exists()


def test_a_scenario_file_can_name_the_rules_file_relative_to_itself(tmp_path):
    scenario_dir = tmp_path / "scenarios"
    scenario_dir.mkdir()
    (scenario_dir / "mine.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "mine",
                "steps": 8,
                "rules_file": "../my_rules.py",
                "rules": {"adoption": "fit_seekers"},
                "world": {
                    "universities_per_region": 2,
                    "institutes_per_region": 0,
                    "enterprises_per_region": 60,
                },
                "policy": {"managers": {"managers_per_region": 5}},
            }
        ),
        encoding="utf-8",
    )
    (tmp_path / "my_rules.py").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    scenario = load_scenario(scenario_dir / "mine.yaml")
    assert Path(scenario.rules_file) == (tmp_path / "my_rules.py").resolve()
    result = simulate(scenario, seed=5)
    assert len(result.steps) == 8


def test_the_example_adoption_rule_changes_what_happens():
    load_rules_file(EXAMPLE)
    base = load_scenario(TINY, {"steps": 24})
    mine = apply_overrides(base, {"rules.adoption": "fit_seekers"})
    sales = ["deals_licence", "deals_assignment"]
    default_sales = example_sales = 0
    for seed in (11, 12, 13):  # common seeds, so the comparison is paired
        default_run, example_run = simulate(base, seed=seed), simulate(mine, seed=seed)
        assert not default_run.steps.equals(example_run.steps)
        default_sales += int(default_run.steps[sales].to_numpy().sum())
        example_sales += int(example_run.steps[sales].to_numpy().sum())
    # nobody takes a poorly fitting technology, so fewer technologies are sold
    assert example_sales < default_sales
