"""The visualiser's session, without a browser: errors become a panel, rules files reload, ghost, mid-run changes.

The browser tests (tests/test_viz_browser.py) drive the same behaviour through the page; these
pin it down quickly and exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import TINY
from ecosim import rules
from ecosim.rules.contract import set_time_limit
from ecosim.viz.controls import run_state_text
from ecosim.viz.drawing import pipeline_svg, time_series_svg
from ecosim.viz.info import INFO_SECTIONS, info_html, markdown_section
from ecosim.viz.page import page_parts
from ecosim.viz.session import RULE_TIME_LIMIT_SECONDS, VizSession, rule_options

GOOD = '''import numpy as np
from ecosim.rules import register

@register("adoption", "student_rule")
def student_rule(c):
    """Willing when the fit is good."""
    return np.where(c.fit > 0.3, 1.0, 0.0)
'''

RAISES = GOOD.replace("return np.where(c.fit > 0.3, 1.0, 0.0)", "return c.fit + undefined_name")


@pytest.fixture
def student_file(tmp_path):
    path = tmp_path / "student_rules.py"
    path.write_text(GOOD, encoding="utf-8")
    yield path
    rules._forget(str(path.resolve()))
    set_time_limit(None)


def session_with(path: Path, **choices) -> VizSession:
    session = page_parts(TINY, path)
    session.choices.update({"seed": "3", "quarters": 8, **choices})
    assert session.reset(), session.error
    return session


def test_a_rule_that_raises_on_step_becomes_a_panel_naming_rule_and_line_and_fixing_it_recovers(student_file):
    session = session_with(student_file, adoption_rule="student_rule")
    student_file.write_text(RAISES, encoding="utf-8")
    assert session.reset()  # the file loads; the rule fails when called
    ran = [session.step() for _ in range(3)]
    assert ran[-1] is False
    report = session.error
    assert report is not None and report.when == "on Step"
    assert "adoption rule 'student_rule'" in report.title
    assert report.location.endswith("student_rules.py:7")
    assert report.message == "raised NameError: name 'undefined_name' is not defined"
    assert "press Reset" in report.hint
    stopped_at = session.model.ecosystem.steps
    assert session.step() is False and session.model.ecosystem.steps == stopped_at  # no silent running on
    assert "Stopped" in run_state_text(session)
    student_file.write_text(GOOD, encoding="utf-8")
    assert session.reset() and session.error is None
    assert session.choices["adoption_rule"] == "student_rule"  # the choice is kept
    assert session.step() and session.model.ecosystem.scenario.rules.adoption == "student_rule"


def test_a_syntax_error_on_reset_keeps_the_old_model_and_says_where(student_file):
    session = session_with(student_file, adoption_rule="student_rule")
    old = session.model
    student_file.write_text("def broken(:\n", encoding="utf-8")
    assert session.reset() is False
    assert session.model is old
    assert session.error.location.endswith("student_rules.py:1")
    assert "syntax error" in session.error.message
    assert session.step() is False  # the old model does not run on behind the panel
    student_file.write_text(GOOD, encoding="utf-8")
    assert session.reset() and session.error is None and session.model is not old


def test_reset_reloads_the_rules_file_following_additions_removals_and_renames(student_file):
    session = session_with(student_file)
    assert "student_rule" in [item["value"] for item in rule_options("adoption")]
    student_file.write_text(GOOD + GOOD.replace("student_rule", "second_rule").split("\n", 2)[2], encoding="utf-8")
    assert session.reset()
    assert {"student_rule", "second_rule"} <= {item["value"] for item in rule_options("adoption")}
    student_file.write_text(GOOD.replace("student_rule", "renamed_rule"), encoding="utf-8")
    assert session.reset()
    names = {item["value"] for item in rule_options("adoption")}
    assert "renamed_rule" in names and "student_rule" not in names and "second_rule" not in names
    session.choices["adoption_rule"] = "student_rule"  # chosen before it was renamed
    assert session.reset() is False
    assert "unknown adoption rule 'student_rule'" in session.error.message
    assert "renamed_rule" in session.error.message


def test_an_endless_loop_in_a_rule_becomes_a_panel_after_the_time_limit(student_file):
    session = session_with(student_file)
    student_file.write_text(GOOD.replace("    return np.where", "    while True:\n        pass\n    return np.where"),
                            encoding="utf-8")
    session.choices["adoption_rule"] = "student_rule"
    assert session.reset()
    assert RULE_TIME_LIMIT_SECONDS > 0
    set_time_limit(0.3)
    while session.step():
        pass
    assert "time limit" in session.error.message
    assert session.error.location.startswith(str(Path(student_file.name))) or "student_rules.py:" in session.error.location


def test_the_pages_rule_time_limit_stops_an_endless_loop_and_the_info_tab_states_it(student_file):
    import time

    from ecosim.viz.info import page_facts_html

    assert "10 s" in page_facts_html(page_parts(TINY, student_file))  # the default
    student_file.write_text(GOOD.replace("    return np.where", "    while True:\n        pass\n    return np.where"),
                            encoding="utf-8")
    session = page_parts(TINY, student_file, rule_time_limit=0.4)
    session.choices.update({"seed": "3", "quarters": 8, "adoption_rule": "student_rule"})
    set_time_limit(None)  # whatever another page set: Reset puts this page's limit back
    assert session.reset()
    start = time.perf_counter()
    while session.step():
        pass
    assert "still running after 0.4 s" in session.error.message
    assert time.perf_counter() - start < 0.4 * 8 + 5  # at most one stopped call per quarter, not an endless wait
    facts = page_facts_html(session)
    assert "0.4 s" in facts and "--rule-time-limit" in facts
    assert "no time limit" in page_facts_html(page_parts(TINY, None, rule_time_limit=0))


def test_the_previous_run_stays_as_a_ghost_in_the_time_series(student_file):
    session = session_with(student_file)
    for _ in range(4):
        session.step()
    before = session.model.ecosystem.step_table()
    assert session.reset()
    assert session.ghost is not None and session.ghost.equals(before)
    markup = time_series_svg(session.model.ecosystem.step_table(), session.ghost)
    assert markup.count('class="line-ghost"') == 5
    assert "the previous run" in markup


def test_a_lever_changed_mid_run_acts_from_then_on_and_is_marked(student_file):
    session = session_with(student_file, poc_grant_size=0.04, quarters=12)
    for _ in range(4):
        session.step()
    session.choices["poc_grant_size"] = 0.5
    session.choices["adoption_rule"] = "student_rule"
    assert session.pending_changes() == ["PoC grant 0.04 → 0.5", "adoption rule value_hurdle → student_rule"]
    assert session.apply_now()
    assert session.model.ecosystem.scenario.policy.proof_of_concept.grant_size == 0.5
    assert session.model.ecosystem.scenario.rules.adoption == "student_rule"
    assert [(c.step, c.text) for c in session.changes] == [(4, "PoC grant 0.04 → 0.5; adoption rule value_hurdle → student_rule")]
    assert session.pending_changes() == []
    for _ in range(4):
        session.step()
    markup = time_series_svg(session.model.ecosystem.step_table(), None, [(c.step, c.text) for c in session.changes])
    assert len(re.findall(r'class="change-mark" data-step="4"', markup)) == 4  # one per panel


def test_a_finished_run_says_so_and_what_to_do_next(student_file):
    session = session_with(student_file, quarters=4)
    while session.step():
        pass
    assert session.finished
    assert run_state_text(session).startswith("Run finished: all 4 quarters done")
    assert "press Reset" in run_state_text(session)


def test_deals_and_market_entries_have_their_own_scales(student_file):
    session = session_with(student_file, quarters=12)
    for _ in range(12):
        session.step()
    markup = time_series_svg(session.model.ecosystem.step_table())
    heights = {}
    for label, points in re.findall(r'data-metric="([^"]+)" points="([^"]+)"', markup):
        ys = np.array([float(p.split(",")[1]) for p in points.split()])
        heights[label] = ys.max() - ys.min()
    # on one axis with disclosures (~100 a quarter here) deals would span a few pixels; each has its panel now
    assert heights["deals"] > 0.4 * 62


def test_late_gate_failures_are_on_their_own_scale():
    import pandas as pd

    from ecosim.scenario import CAUSES, GATES

    row = {"step": 1}
    for gate in GATES:
        for cause in CAUSES:
            row[f"fail_{gate}_{cause}"] = 100 if gate in ("G1", "G2") else 1
        row[f"at_{gate}"] = 1
    markup = pipeline_svg(pd.DataFrame([row]))
    bars = re.findall(r'<rect class="bar-failed" data-layer="[^"]+" data-value="([^"]+)" x="[^"]+" y="[^"]+" '
                      r'width="[^"]+" height="([^"]+)"', markup)
    late = [float(h) for v, h in bars if float(v) == 1]
    assert late and min(late) > 20  # a failure at G3 or G4 is a readable bar, not a sliver


def test_the_info_tab_is_drawn_from_the_docs():
    for name, heading in INFO_SECTIONS:
        text = (Path(__file__).resolve().parents[1] / "docs" / name).read_text(encoding="utf-8")
        assert markdown_section(text, heading), f"docs/{name} has no section '## {heading}'"
    html = info_html()
    assert "<table>" in html and "Things to try" in html and "The rule contract" in html


# ------------------------------------------------------------------ the Code tab


def test_code_tab_opens_a_rules_source_without_its_decorator():
    from ecosim.viz.code_tab import CodeWorkbench

    text, module = CodeWorkbench.source_of("adoption", "value_hurdle")
    assert text.startswith("def value_hurdle(") and "@register" not in text
    assert module == "ecosim.rules.adoption"


def test_code_tab_check_finds_each_kind_of_mistake_at_its_line(tmp_path):
    from ecosim.viz.code_tab import CodeWorkbench

    bench = CodeWorkbench(tmp_path)
    text, module = CodeWorkbench.source_of("adoption", "value_hurdle")
    assert bench.check("adoption", "mine", text, module).ok
    syntax = bench.check("adoption", "mine", text.replace("return _logistic(", "return _logistic(("), module)
    assert not syntax.ok and syntax.line == 3 and "syntax error" in syntax.message
    raises = bench.check("adoption", "mine", text.replace("return _logistic(", "return nothing + _logistic("), module)
    assert not raises.ok and raises.line == 3 and "NameError" in raises.message
    scalar = bench.check("adoption", "mine", text.replace("return _logistic(", "return np.mean(_logistic("). \
                         replace("c.hurdle_log))", "c.hurdle_log)))"), module)
    assert not scalar.ok and "a single number" in scalar.message
    assert not bench.check("adoption", "not a name", text, module).ok


def test_code_tab_keeps_a_rule_in_a_file_that_runs_on_the_command_line(tmp_path, capsys):
    from ecosim.cli import main
    from ecosim.viz.code_tab import CodeWorkbench

    bench = CodeWorkbench(tmp_path)
    text, module = CodeWorkbench.source_of("adoption", "value_hurdle")
    try:
        kept = bench.keep("adoption", "steeper_hurdle", text.replace("2.0", "4.0"), module)
        assert kept.ok, kept.message
        assert "steeper_hurdle" in rules.available_rules("adoption")
        assert not bench.keep("adoption", "value_hurdle", text, module).ok  # a built-in name is not overwritten
        status = main(["run", str(TINY), "--steps", "4", "--seed", "1", "--out", str(tmp_path / "out"),
                       "--rules", str(bench.path), "--set", "rules.adoption=steeper_hurdle"])
        assert status == 0, capsys.readouterr().err
    finally:
        rules._forget(str(bench.path.resolve()))


def test_code_editing_is_offered_only_on_loopback_unless_allowed():
    from ecosim.cli.viz_command import code_editing_allowed, server_environment
    from ecosim.viz.serve import CODE_ENV

    assert code_editing_allowed("127.0.0.1", False) and code_editing_allowed("::1", False)
    assert not code_editing_allowed("0.0.0.0", False) and not code_editing_allowed("192.168.1.5", False)
    assert code_editing_allowed("0.0.0.0", True)

    assert server_environment(None, None, code_editing=True)[CODE_ENV] == "1"
    assert server_environment(None, None, code_editing=False)[CODE_ENV] == "0"
