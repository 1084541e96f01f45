"""The rule contract: every kind's result checked where the registry hands the rule out.

A rule that returns the wrong thing, raises, calls ``sys.exit()`` or never returns stops
``ecosim run`` with exit status 2 and one message naming the rule, its file and line, what it
returned and what was expected — no traceback, nothing written. The built-in rules keep
their contracts on the sample inputs and in a run.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY
from ecosim import rules
from ecosim.cli import main
from ecosim.errors import InputError
from ecosim.rules.contract import CONTRACTS, RuleError, sample_inputs, set_time_limit, try_rule
from ecosim.scenario import RULE_KINDS

HEADER = "import sys\nimport numpy as np\nfrom ecosim.rules import register\n\n"


def rule_file(path: Path, kind: str, name: str, body: str) -> tuple[Path, int]:
    """A rules file registering one rule whose body is ``body``; returns the path and the body's first line."""
    text = HEADER + f"@register('{kind}', '{name}')\ndef {name}(x):\n    '''A broken rule.'''\n" + \
        textwrap.indent(textwrap.dedent(body).strip("\n"), "    ") + "\n"
    path.write_text(text, encoding="utf-8")
    return path, HEADER.count("\n") + 4


def run(capsys, tmp_path, *args) -> tuple[int, str, str]:
    status = main(["run", str(TINY), "--steps", "6", "--seed", "1", "--out", str(tmp_path / "out"), *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def forget(path: Path) -> None:
    rules._forget(str(path.resolve()))


VIOLATIONS = [
    # (kind, body, words the message must contain)
    ("adoption", "return np.full_like(x.fit, np.nan)", ["NaN", "willingness in [0, 1]"]),
    ("adoption", "return 0.5", ["a single number", "shape of c.fit"]),
    ("adoption", "return np.array([0.5])", ["shape (1,)", "not one willingness"]),
    ("adoption", "return None", ["returned None", "willingness"]),
    ("adoption", "return x.fit * 3", ["outside [0, 1]"]),
    ("poc_allocation", "return -np.arange(x.appraised_value.size) - 1", ["outside 0", "positions"]),
    ("poc_allocation", "return np.arange(x.appraised_value.size) + 0.5", ["whole numbers"]),
    ("poc_allocation", "return np.zeros(5, dtype=int)", ["position 0 5 times", "appear once"]),
    ("project_choice", "return np.array([-1])", ["outside 0"]),
    ("project_choice", "return x.same_field", ["yes/no mask", "np.flatnonzero"]),
    ("orientation", "return x.orientation[:1]", ["not one orientation"]),
    ("partner_search", "pos, ent = x.network_reach()\nreturn pos, ent[:-1]", ["same length"]),
    ("budget_allocation", "return {'research_grants': x.budget}", ["missing proof_of_concept"]),
    ("budget_allocation", "return {k: x.budget for k in x.shares}", ["more than the budget"]),
]


@pytest.mark.parametrize("kind, body, words", VIOLATIONS, ids=[f"{k}:{b[:30]}" for k, b, _ in VIOLATIONS])
def test_contract_violation_exits_2_naming_rule_file_line_returned_and_expected(tmp_path, capsys, kind, body, words):
    name = f"broken_{kind}_{abs(hash(body)) % 10**6}"
    path, first = rule_file(tmp_path / "student.py", kind, name, body)
    try:
        status, out, err = run(capsys, tmp_path, "--rules", path, "--set", f"rules.{kind}={name}")
    finally:
        forget(path)
    assert status == 2, err
    assert f"{kind} rule '{name}'" in err
    assert f"student.py:{first - 3}" in err  # the rule's definition (its decorator line)
    assert "expected" in err
    for word in words:
        assert word in err, (word, err)
    assert "Traceback" not in err and "bug in ecosim" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("body, words", [
    ("return 1 / 0", ["raised ZeroDivisionError", "division by zero"]),
    ("sys.exit(0)", ["called sys.exit()"]),
    ("return x.no_such_field", ["raised AttributeError", "no_such_field"]),
])
def test_exception_in_a_users_rule_exits_2_at_the_users_line(tmp_path, capsys, body, words):
    path, first = rule_file(tmp_path / "student.py", "adoption", "raising_rule", body)
    try:
        status, out, err = run(capsys, tmp_path, "--rules", path, "--set", "rules.adoption=raising_rule")
    finally:
        forget(path)
    assert status == 2, err
    assert "adoption rule 'raising_rule'" in err
    assert f"student.py:{first}" in err  # the line that raised, in the student's file
    for word in words:
        assert word in err
    assert "Traceback" not in err and "bug in ecosim" not in err
    assert not (tmp_path / "out").exists()


def test_endless_loop_in_a_rule_stops_at_the_time_limit_naming_the_line(tmp_path, capsys):
    path, first = rule_file(tmp_path / "student.py", "adoption", "endless", "while True:\n    pass")
    try:
        status, out, err = run(capsys, tmp_path, "--rules", path, "--set", "rules.adoption=endless",
                               "--rule-time-limit", "0.5")
    finally:
        forget(path)
        set_time_limit(None)
    assert status == 2, err
    assert "time limit" in err and "loop" in err
    assert "student.py:" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_rules_file_that_calls_sys_exit_is_an_error_not_a_silent_success(tmp_path, capsys):
    path = tmp_path / "exits.py"
    path.write_text("import sys\nsys.exit(0)\n", encoding="utf-8")
    status, out, err = run(capsys, tmp_path, "--rules", path)
    assert status == 2
    assert "exits.py:2" in err and "sys.exit()" in err
    assert not (tmp_path / "out").exists()


def test_run_names_the_rules_that_ran_and_notes_unchosen_ones(tmp_path, capsys):
    path = tmp_path / "student.py"
    path.write_text(HEADER + "@register('adoption', 'always_willing')\ndef always_willing(c):\n"
                    "    '''Always willing.'''\n    return np.ones_like(c.fit)\n", encoding="utf-8")
    try:
        status, out, err = run(capsys, tmp_path, "--rules", path)
        assert status == 0, err
        assert "adoption/always_willing, which this run does not choose" in err
        assert "adoption=value_hurdle" in " ".join(out.split())
        provenance = json.loads((tmp_path / "out" / "provenance.json").read_text())
        assert provenance["rules"]["adoption"] == {"name": "value_hurdle", "source": "built-in"}

        status, out, err = main(["run", str(TINY), "--steps", "4", "--seed", "1", "--out", str(tmp_path / "b"),
                                 "--rules", str(path), "--set", "rules.adoption=always_willing"]), *capsys.readouterr()
        assert status == 0
        provenance = json.loads((tmp_path / "b" / "provenance.json").read_text())
        assert provenance["rules"]["adoption"]["name"] == "always_willing"
        assert provenance["rules"]["adoption"]["source"].endswith("student.py:5")
        shown = " ".join(out.split())
        assert "adoption=always_willing (" in shown and "student.py:5)" in shown
    finally:
        forget(path)


# ------------------------------------------------------------------ the contracts themselves


@pytest.mark.parametrize("kind", RULE_KINDS)
def test_every_builtin_rule_keeps_its_contract_on_the_sample_inputs(kind):
    for name in rules.available_rules(kind):
        try_rule(kind, name, rules.get_rule(kind, name).__wrapped__, np.random.default_rng(3))


def test_every_kind_has_a_contract_and_sample_inputs():
    assert set(CONTRACTS) == set(RULE_KINDS)
    for kind in RULE_KINDS:
        assert sample_inputs(kind) is not None


def test_get_rule_hands_out_the_checked_rule_and_keeps_the_registered_one():
    rule = rules.get_rule("adoption", "value_hurdle")
    assert rule.__wrapped__ is rules._REGISTRY["adoption"]["value_hurdle"]
    assert rules.get_rule("adoption", "value_hurdle") is rule  # cached: no cost per call
    assert rule.__doc__ == rule.__wrapped__.__doc__


def test_rule_error_is_bad_input_and_survives_pickling():
    import pickle

    error = RuleError("adoption", "x", "returned None", path="/tmp/a.py", line=3, hint="h")
    assert isinstance(error, InputError)
    again = pickle.loads(pickle.dumps(error))
    assert (again.kind, again.name, again.line, str(again)) == ("adoption", "x", 3, str(error))


def test_reloading_a_rules_file_forgets_removed_and_renamed_rules(tmp_path):
    path = tmp_path / "student.py"
    path.write_text(HEADER + "@register('adoption', 'first_name')\ndef a(c):\n    '''One.'''\n"
                    "    return np.ones_like(c.fit)\n", encoding="utf-8")
    try:
        rules.load_rules_file(path)
        assert "first_name" in rules.available_rules("adoption")
        path.write_text(HEADER + "@register('adoption', 'second_name')\ndef a(c):\n    '''Two.'''\n"
                        "    return np.ones_like(c.fit)\n", encoding="utf-8")
        rules.load_rules_file(path)
        assert "first_name" not in rules.available_rules("adoption")
        assert "second_name" in rules.available_rules("adoption")
        path.write_text("def broken(:\n", encoding="utf-8")
        with pytest.raises(InputError, match="syntax error at line 1"):
            rules.load_rules_file(path)
        assert "second_name" in rules.available_rules("adoption")  # a failed reload changes nothing
    finally:
        forget(path)
    assert "second_name" not in rules.available_rules("adoption")


def test_a_file_that_replaces_a_builtin_gives_it_back_when_reloaded_without_it(tmp_path):
    original = rules._REGISTRY["adoption"]["value_hurdle"]
    path = tmp_path / "student.py"
    path.write_text(HEADER + "@register('adoption', 'value_hurdle')\ndef a(c):\n    '''Mine.'''\n"
                    "    return np.ones_like(c.fit)\n", encoding="utf-8")
    try:
        rules.load_rules_file(path)
        assert rules._REGISTRY["adoption"]["value_hurdle"] is not original
        path.write_text("x = 1\n", encoding="utf-8")
        rules.load_rules_file(path)
        assert rules._REGISTRY["adoption"]["value_hurdle"] is original
    finally:
        forget(path)
        rules._REGISTRY["adoption"]["value_hurdle"] = original
