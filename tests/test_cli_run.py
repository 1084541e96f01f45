"""``ecosim run`` and ``ecosim check``: results on disk, bad input, internal errors, user rules.

Most tests call :func:`ecosim.cli.main` in-process (fast); a few run the installed
``ecosim`` console script in subprocesses for real exit statuses and the new-process
reproducibility check. Every bad-input case must exit 2 with one clear message naming the
file and key path, print no traceback and leave no output behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import ECOSIM, SCENARIOS, TINY, listing
from ecosim.cli import main
from ecosim.model import simulate
from ecosim.scenario import load_scenario, validate_scenario

FAST = ["--steps", "8"]
RUN_FILES = {"steps.parquet", "summary.parquet", "technologies.parquet", "steps.csv", "summary.csv",
             "scenario.yaml", "provenance.json", "figures", "figures/funnel.png", "figures/activity.png"}

ADOPTION_RULES = """\
import numpy as np
from ecosim.rules import register


@register("adoption", "{name}")
def everyone_{suffix}(candidates):
    '''Every reachable enterprise is willing, whatever the value.'''
    return np.ones_like(candidates.fit) * {willingness}
"""


def ecosim(capsys, *args) -> tuple[int, str, str]:
    """Run ``ecosim ARGS`` in-process; return (exit status, stdout, stderr)."""
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rules_file(path: Path, name: str, willingness: float = 1.0) -> Path:
    return write(path, ADOPTION_RULES.format(name=name, suffix=name, willingness=willingness))


# ------------------------------------------------------------------ a good run


def test_run_writes_tables_resolved_scenario_provenance_and_figures(tmp_path, capsys):
    out = tmp_path / "out"
    status, stdout, stderr = ecosim(capsys, "run", TINY, "--seed", 4, *FAST, "--out", out)
    assert status == 0, stderr
    assert listing(out) == RUN_FILES
    assert f"results written to {out}" in " ".join(stdout.split())  # rich may wrap the line
    steps = pd.read_parquet(out / "steps.parquet")
    assert list(steps["step"]) == list(range(1, 9))
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(summary) == 1 and summary.loc[0, "scenario"] == "tiny" and summary.loc[0, "seed"] == 4
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["seed"] == 4 and provenance["scenario"] == "tiny" and provenance["steps"] == 8
    assert "ecosim_version" in provenance
    # the resolved scenario reproduces the run by itself
    resolved = validate_scenario(yaml.safe_load((out / "scenario.yaml").read_text()))
    assert resolved == load_scenario(TINY, {"steps": 8})
    again = simulate(resolved, seed=4)
    pd.testing.assert_frame_equal(steps, again.steps, check_exact=True)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary directories left beside it


def test_run_tables_equal_the_in_process_simulation(tmp_path, capsys):
    out = tmp_path / "out"
    assert ecosim(capsys, "run", TINY, "--seed", 9, *FAST, "--out", out)[0] == 0
    expected = simulate(load_scenario(TINY, {"steps": 8}), seed=9)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "steps.parquet"), expected.steps, check_exact=True)
    stored = pd.read_parquet(out / "summary.parquet").iloc[0]
    for key, value in expected.summary.items():
        assert stored[key] == value or (pd.isna(stored[key]) and pd.isna(value)), key


def test_set_overrides_and_steps_reach_the_run(tmp_path, capsys):
    out = tmp_path / "out"
    status, _, stderr = ecosim(capsys, "run", TINY, "--seed", 1, "--steps", 5, "--out", out,
                               "--set", "policy.managers.managers_per_region=9", "--set", "rules.adoption=risk_averse")
    assert status == 0, stderr
    resolved = yaml.safe_load((out / "scenario.yaml").read_text())
    assert resolved["policy"]["managers"]["managers_per_region"] == 9
    assert resolved["rules"]["adoption"] == "risk_averse"
    assert resolved["steps"] == 5
    assert len(pd.read_parquet(out / "steps.parquet")) == 5


def test_no_csv_writes_only_parquet(tmp_path, capsys):
    out = tmp_path / "out"
    assert ecosim(capsys, "run", TINY, "--seed", 1, *FAST, "--out", out, "--no-csv")[0] == 0
    assert not list(out.glob("*.csv")) and (out / "steps.parquet").exists()


def test_default_output_is_results_scenario_seed(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert ecosim(capsys, "run", TINY, "--seed", 12, *FAST)[0] == 0
    assert (tmp_path / "results" / "tiny" / "seed-12" / "steps.parquet").exists()


def test_scenario_seed_is_used_when_no_seed_is_given(tmp_path, capsys):
    scenario = write(tmp_path / "seeded.yaml", TINY.read_text() + "\nseed: 31\n")
    out = tmp_path / "out"
    assert ecosim(capsys, "run", scenario, *FAST, "--out", out)[0] == 0
    assert json.loads((out / "provenance.json").read_text())["seed"] == 31


def test_unseeded_run_records_its_seed_and_can_be_repeated(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert ecosim(capsys, "run", TINY, *FAST, "--out", first)[0] == 0
    seed = json.loads((first / "provenance.json").read_text())["seed"]
    assert ecosim(capsys, "run", TINY, *FAST, "--seed", seed, "--out", second)[0] == 0
    pd.testing.assert_frame_equal(pd.read_parquet(first / "steps.parquet"), pd.read_parquet(second / "steps.parquet"))


def test_existing_results_are_kept_unless_forced(tmp_path, capsys):
    out = tmp_path / "out"
    assert ecosim(capsys, "run", TINY, "--seed", 1, *FAST, "--out", out)[0] == 0
    before = (out / "steps.parquet").read_bytes()
    status, _, stderr = ecosim(capsys, "run", TINY, "--seed", 2, *FAST, "--out", out)
    assert status == 2 and "--force" in stderr and str(out) in stderr
    assert (out / "steps.parquet").read_bytes() == before
    assert ecosim(capsys, "run", TINY, "--seed", 2, *FAST, "--out", out, "--force")[0] == 0
    assert json.loads((out / "provenance.json").read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ------------------------------------------------------------------ bad input


def bad_input_cases():
    """(id, files to create, argv builder, strings the message must contain)."""
    yaml_case = lambda text: {"s.yaml": text}  # noqa: E731
    return [
        ("missing-file", {}, lambda d: ["run", d / "absent.yaml"], ["absent.yaml", "file not found"]),
        ("undecodable-file", {"s.yaml": b"name: x\n\xff\xfe bad\n"}, lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "cannot read"]),
        ("broken-yaml", yaml_case("name: x\nsteps: [1, 2\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "broken YAML", "line"]),
        ("python-tag", yaml_case("name: x\nsteps: !!python/object/apply:os.system ['touch pwned']\n"),
         lambda d: ["run", d / "s.yaml"], ["s.yaml", "not allowed"]),
        ("unknown-key", yaml_case("name: x\nstepz: 4\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "stepz", "did you mean 'steps'"]),
        ("unknown-nested-key", yaml_case("world:\n  enterprises_per_regoin: 10\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "world.enterprises_per_regoin", "did you mean 'enterprises_per_region'"]),
        ("wrong-type", yaml_case("world:\n  regions: many\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "world.regions", "integer"]),
        ("out-of-range", yaml_case("budget:\n  per_quarter: -5\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "budget.per_quarter", "greater than or equal to 0"]),
        ("nan", yaml_case("budget:\n  per_quarter: .nan\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "budget.per_quarter", "finite"]),
        ("inf", yaml_case("policy:\n  proof_of_concept:\n    grant_size: .inf\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "policy.proof_of_concept.grant_size", "finite"]),
        ("absurd-size", yaml_case("world:\n  enterprises_per_region: 100000000\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "world.enterprises_per_region"]),
        ("name-escapes-up", yaml_case("name: ../evil\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "name", "not a safe name"]),
        ("name-absolute", yaml_case("name: /abs\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "name", "not a safe name"]),
        ("unknown-rule", yaml_case("name: x\nrules:\n  adoption: nosuch\n"), lambda d: ["run", d / "s.yaml"],
         ["s.yaml", "rules.adoption", "nosuch", "value_hurdle", "risk_averse", "big_firms_first"]),
        ("set-unknown-key", {}, lambda d: ["run", TINY, "--set", "world.nosuch=3"],
         ["tiny.yaml", "world.nosuch", "unknown key"]),
        ("set-near-key", {}, lambda d: ["run", TINY, "--set", "policy.managers.managers_per_regoin=3"],
         ["tiny.yaml", "policy.managers.managers_per_regoin", "did you mean 'managers_per_region'"]),
        ("set-bad-value", {}, lambda d: ["run", TINY, "--set", "world.regions=abc"],
         ["tiny.yaml", "world.regions", "abc"]),
        ("set-nan", {}, lambda d: ["run", TINY, "--set", "budget.per_quarter=.nan"],
         ["budget.per_quarter", "finite"]),
        ("set-not-key-value", {}, lambda d: ["run", TINY, "--set", "noequals"], ["--set", "KEY=VALUE"]),
        ("set-broken-yaml-value", {}, lambda d: ["run", TINY, "--set", "steps=[1"], ["--set", "steps"]),
        ("set-python-tag", {}, lambda d: ["run", TINY, "--set", "steps=!!python/object/apply:os.system ['touch pwned']"],
         ["--set", "steps"]),
        ("set-unsafe-name", {}, lambda d: ["run", TINY, "--set", "name=../evil"], ["name", "not a safe name"]),
        ("set-unknown-rule", {}, lambda d: ["run", TINY, "--set", "rules.poc_allocation=best"],
         ["tiny.yaml", "rules.poc_allocation", "by_appraised_value", "lottery", "first_come"]),
        ("rules-syntax-error", {"bad_rules.py": "def f(:\n"}, lambda d: ["run", TINY, "--rules", d / "bad_rules.py"],
         ["bad_rules.py", "syntax error", "line 1"]),
        ("rules-missing", {}, lambda d: ["run", TINY, "--rules", d / "absent_rules.py"],
         ["absent_rules.py", "not found"]),
        ("rules-raises", {"raising.py": "raise RuntimeError('boom')\n"},
         lambda d: ["run", TINY, "--rules", d / "raising.py"], ["raising.py", "boom"]),
        ("rules-file-key-missing", yaml_case("name: x\nrules_file: absent_rules.py\n"),
         lambda d: ["run", d / "s.yaml"], ["absent_rules.py", "not found"]),
        ("rules-file-key-broken", {**yaml_case("name: x\nrules_file: bad_rules.py\n"), "bad_rules.py": "def f(:\n"},
         lambda d: ["run", d / "s.yaml"], ["bad_rules.py", "syntax error"]),
        ("negative-seed", {}, lambda d: ["run", TINY, "--seed", "-1"], ["--seed"]),
        ("steps-zero", {}, lambda d: ["run", TINY, "--steps", "0"], ["--steps"]),
        ("scenario-is-directory", {"dir/x": "x"}, lambda d: ["run", d / "dir"], ["dir", "directory"]),
        ("top-level-list", yaml_case("- a\n- b\n"), lambda d: ["run", d / "s.yaml"], ["s.yaml", "mapping"]),
        ("check-unknown-key", yaml_case("stepz: 4\n"), lambda d: ["check", d / "s.yaml"],
         ["s.yaml", "stepz", "did you mean 'steps'"]),
        ("check-unknown-rule", yaml_case("rules:\n  orientation: wishful\n"), lambda d: ["check", d / "s.yaml"],
         ["s.yaml", "rules.orientation", "payoff_imitation"]),
        ("check-missing", {}, lambda d: ["check", d / "absent.yaml"], ["absent.yaml", "file not found"]),
    ]


CASES = bad_input_cases()


@pytest.mark.parametrize("files, argv, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_clear_message_and_writes_nothing(tmp_path, capsys, monkeypatch,
                                                                     files, argv, expected):
    inputs = tmp_path / "inputs"
    for name, content in files.items():
        path = inputs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    inputs.mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path)  # the default results/ directory would appear here
    args = argv(inputs)
    if args[0] == "run":
        args += ["--out", tmp_path / "results" / "run"]
    before = listing(tmp_path)
    status, stdout, stderr = ecosim(capsys, *args)
    assert status == 2, stdout + stderr
    assert "Traceback" not in stderr
    assert sum(line.lower().startswith("error") for line in stderr.splitlines()) == 1, stderr
    for text in expected:
        assert text in stderr, f"{text!r} not in message: {stderr}"
    assert listing(tmp_path) == before, "bad input left output behind"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_file_without_read_permission_is_bad_input(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenario = write(tmp_path / "locked.yaml", "name: x\n")
    scenario.chmod(0)
    try:
        status, _, stderr = ecosim(capsys, "run", scenario, "--out", tmp_path / "results" / "run")
    finally:
        scenario.chmod(0o600)
    assert status == 2 and "locked.yaml" in stderr and "cannot read" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "results").exists()


def test_python_tag_in_a_scenario_never_runs_its_command(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    scenario = write(tmp_path / "s.yaml", f"name: x\nsteps: !!python/object/apply:os.system ['touch {marker}']\n")
    assert ecosim(capsys, "check", scenario)[0] == 2
    assert ecosim(capsys, "run", scenario, "--out", tmp_path / "o")[0] == 2
    assert not marker.exists()


def test_output_directory_that_is_a_file_is_bad_input(tmp_path, capsys):
    target = write(tmp_path / "taken", "not a directory")
    status, _, stderr = ecosim(capsys, "run", TINY, *FAST, "--out", target)
    assert status == 2 and "taken" in stderr and ("is a file" in stderr or "not a directory" in stderr)
    assert target.read_text() == "not a directory"


def test_internal_error_exits_1_with_a_traceback_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    from ecosim import model as model_module

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in the model")

    monkeypatch.setattr(model_module, "simulate", broken)
    monkeypatch.chdir(tmp_path)
    status, _, stderr = ecosim(capsys, "run", TINY, *FAST, "--seed", 1, "--out", tmp_path / "results" / "run")
    assert status == 1
    assert "internal error" in stderr and "ZeroDivisionError" in stderr
    assert not (tmp_path / "results" / "run").exists()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no partial results


# ------------------------------------------------------------------ ecosim check


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_check_passes_every_shipped_scenario(path, capsys):
    status, stdout, stderr = ecosim(capsys, "check", path)
    assert status == 0, stderr
    assert f"valid scenario '{path.stem}'" in stdout


def test_check_runs_nothing_and_writes_nothing(tmp_path, capsys, monkeypatch):
    from ecosim import model as model_module

    monkeypatch.setattr(model_module, "simulate", lambda *a, **k: pytest.fail("check must not run the model"))
    monkeypatch.chdir(tmp_path)
    assert ecosim(capsys, "check", TINY, SCENARIOS / "baseline.yaml")[0] == 0
    assert listing(tmp_path) == set()


def test_check_stops_at_the_first_invalid_file(tmp_path, capsys):
    bad = write(tmp_path / "bad.yaml", "stepz: 1\n")
    status, stdout, stderr = ecosim(capsys, "check", TINY, bad)
    assert status == 2 and "tiny.yaml: valid" in stdout and "bad.yaml" in stderr


# ------------------------------------------------------------------ user rules


def test_rules_option_registers_a_rule_that_then_changes_results(tmp_path, capsys):
    rules = rules_file(tmp_path / "my_rules.py", "cli_everyone_adopts")
    plain, ruled = tmp_path / "plain", tmp_path / "ruled"
    assert ecosim(capsys, "run", TINY, "--seed", 6, "--steps", 32, "--out", plain)[0] == 0
    status, _, stderr = ecosim(capsys, "run", TINY, "--seed", 6, "--steps", 32, "--out", ruled, "--rules", rules,
                               "--set", "rules.adoption=cli_everyone_adopts")
    assert status == 0, stderr
    before = pd.read_parquet(plain / "summary.parquet").iloc[0]
    after = pd.read_parquet(ruled / "summary.parquet").iloc[0]
    assert after["deals"] > before["deals"]
    assert yaml.safe_load((ruled / "scenario.yaml").read_text())["rules"]["adoption"] == "cli_everyone_adopts"


def test_rules_file_key_is_relative_to_the_scenario_file(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "study"
    rules_file(folder / "student_rules.py", "cli_nobody_adopts", willingness=0.0)
    scenario = write(folder / "closed.yaml", TINY.read_text().replace("name: tiny", "name: closed")
                     + "\nrules_file: student_rules.py\nrules:\n  adoption: cli_nobody_adopts\n")
    monkeypatch.chdir(tmp_path)  # not the scenario's folder: the path must be resolved from the file
    status, stdout, stderr = ecosim(capsys, "check", scenario)
    assert status == 0, stderr
    plain, ruled = tmp_path / "plain", tmp_path / "ruled"
    assert ecosim(capsys, "run", TINY, "--seed", 6, "--steps", 12, "--out", plain)[0] == 0
    status, _, stderr = ecosim(capsys, "run", scenario, "--seed", 6, "--steps", 12, "--out", ruled)
    assert status == 0, stderr
    before = pd.read_parquet(plain / "summary.parquet").iloc[0]
    after = pd.read_parquet(ruled / "summary.parquet").iloc[0]
    # nobody is willing: only spin-offs (which need no adopter) can still be converted
    assert after["deals"] == after["deals_spin_off"] < before["deals"]


def test_unknown_rule_after_loading_a_rules_file_lists_the_new_rule_too(tmp_path, capsys):
    rules = rules_file(tmp_path / "more_rules.py", "cli_listed_rule")
    status, _, stderr = ecosim(capsys, "run", TINY, *FAST, "--rules", rules, "--set", "rules.adoption=cli_listd_rule",
                               "--out", tmp_path / "out")
    assert status == 2 and "cli_listed_rule" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ real processes


def start_ecosim(*args, cwd: Path) -> subprocess.Popen:
    """Start the installed console script (the test Python's ``ecosim ARGS``) in a new process."""
    env = {**os.environ, "PYTHONHASHSEED": "random"}
    return subprocess.Popen([str(ECOSIM), *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def run_ecosim(*args, cwd: Path) -> subprocess.CompletedProcess:
    process = start_ecosim(*args, cwd=cwd)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_same_seed_gives_byte_identical_tables_in_new_processes(tmp_path):
    processes = [start_ecosim("run", TINY, "--seed", 2026, "--steps", 10, "--out", tmp_path / name, cwd=tmp_path)
                 for name in ("a", "b")]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    for table in ("steps.parquet", "summary.parquet", "technologies.parquet", "steps.csv", "summary.csv"):
        assert (tmp_path / "a" / table).read_bytes() == (tmp_path / "b" / table).read_bytes(), table
    # and the same as this process computes
    here = simulate(load_scenario(TINY, {"steps": 10}), seed=2026)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / "steps.parquet"), here.steps, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / "technologies.parquet"), here.technologies,
                                  check_exact=True)


def test_console_script_bad_input_exits_2_without_traceback(tmp_path):
    scenario = write(tmp_path / "s.yaml", "world:\n  enterprises_per_regoin: 10\n")
    done = run_ecosim("run", scenario, "--out", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {scenario}: world.enterprises_per_regoin: unknown key; did you mean 'enterprises_per_region'? (line 2)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]


def test_console_script_internal_error_exits_1(tmp_path):
    code = (
        "import sys, ecosim.model\n"
        "def broken(*a, **k):\n"
        "    raise RuntimeError('a bug')\n"
        "ecosim.model.simulate = broken\n"
        "from ecosim.cli import main\n"
        f"sys.exit(main(['run', {str(TINY)!r}, '--steps', '4', '--out', {str(tmp_path / 'out')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "internal error" in done.stderr
    assert not (tmp_path / "out").exists()


def test_console_script_check_passes_shipped_scenarios(tmp_path):
    done = run_ecosim("check", *sorted(SCENARIOS.glob("*.yaml")), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("valid scenario") == len(list(SCENARIOS.glob("*.yaml")))
