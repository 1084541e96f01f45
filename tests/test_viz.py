"""The visualiser without a browser: layout, drawing, text panel, controls, rules files, bad input.

The browser tests (tests/test_viz_browser.py) drive the served page; these check the pieces
it is made of, on the tiny world.
"""

from __future__ import annotations

import inspect
import re
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, TINY, small_scenario
from ecosim.cli import main
from ecosim.errors import InputError
from ecosim.model import simulate
from ecosim.network import NODE_KINDS, NodeKind, make_layout
from ecosim.pipeline import DealMode
from ecosim.rules import available_rules
from ecosim.scenario import RULE_KINDS, load_scenario
from ecosim.viz import assets
from ecosim.viz.drawing import (
    KIND_STYLES,
    SERIES_PANELS,
    SIZE_GROWTH,
    TIE_STYLES,
    enterprises_to_draw,
    gate_failures,
    network_svg,
    node_activity,
    node_radius,
    pipeline_svg,
    time_series_svg,
    visible_ties,
)
from ecosim.viz.events import (
    conversion_so_far,
    deal_sentence,
    quarter_and_year,
    recent_events,
    status_html,
)
from ecosim.viz.interactive_model import (
    LEVERS,
    InteractiveModel,
    parse_seed,
    scenario_for,
)
from ecosim.viz.layout import BANDS, node_positions, panel_boxes
from ecosim.viz.page import make_page, page_parts
from ecosim.viz.session import initial_choices, rule_options

USER_RULES = '''
from ecosim.rules import register

@register("adoption", "everyone_adopts_viz_test")
def everyone_adopts_viz_test(candidates):
    """Every reachable enterprise is willing."""
    return candidates.fit * 0 + 1.0
'''


def run_model(quarters: int = 12, seed: int = 7, **choices) -> InteractiveModel:
    model = InteractiveModel(base_scenario=small_scenario(), seed=seed, **choices)
    for _ in range(quarters):
        model.step()
    return model


@pytest.fixture(scope="module")
def stepped() -> InteractiveModel:
    """A tiny world after 12 quarters (deals, managers and market entries have happened)."""
    return run_model()


# ------------------------------------------------------------------ layout


def test_layout_is_reproducible_and_cached_per_world_size():
    layout = make_layout(2, {NodeKind.GOVERNMENT: 1, NodeKind.UNIVERSITY: 3, NodeKind.ENTERPRISE: 50, NodeKind.MANAGER: 4, NodeKind.INVESTOR: 2})
    same = make_layout(2, {NodeKind.GOVERNMENT: 1, NodeKind.UNIVERSITY: 3, NodeKind.ENTERPRISE: 50, NodeKind.MANAGER: 4, NodeKind.INVESTOR: 2})
    first = node_positions(layout, seed=0)
    assert node_positions(same, seed=0) is first  # computed once per (world size, seed)
    assert first.shape == (layout.n_nodes, 2)
    assert not first.flags.writeable
    other_seed = node_positions(layout, seed=1)
    assert not np.array_equal(first, other_seed)  # the jitter is seeded...
    assert np.abs(first - other_seed).max() < 0.2  # ...and small: nodes stay in their cell of the grid


def test_positions_stay_put_while_the_model_runs_and_across_reset():
    model = InteractiveModel(base_scenario=small_scenario(), seed=3)
    before = node_positions(model.ecosystem.layout).copy()
    for _ in range(6):
        model.step()
    assert np.array_equal(node_positions(model.ecosystem.layout), before)
    rebuilt = InteractiveModel(base_scenario=small_scenario(), seed=99)  # Reset with another seed
    assert np.array_equal(node_positions(rebuilt.ecosystem.layout), before)


def test_each_region_has_its_own_panel_with_the_helix_from_top_to_bottom():
    layout = make_layout(5, {NodeKind.GOVERNMENT: 1, NodeKind.UNIVERSITY: 4, NodeKind.ENTERPRISE: 40, NodeKind.MANAGER: 6, NodeKind.INVESTOR: 2})
    positions = node_positions(layout)
    boxes = panel_boxes(5)
    for r, (x, y, w, h) in enumerate(boxes):
        inside = positions[layout.region == r]
        assert (inside[:, 0] >= x).all() and (inside[:, 0] <= x + w).all()
        assert (inside[:, 1] >= y).all() and (inside[:, 1] <= y + h).all()
    for a, b in zip(boxes, boxes[1:], strict=False):  # panels do not overlap
        assert a[0] + a[2] <= b[0] or b[1] + b[3] <= a[1]
    height = {kind: positions[layout.kind == kind, 1] for kind in (NodeKind.GOVERNMENT, NodeKind.UNIVERSITY, NodeKind.MANAGER, NodeKind.ENTERPRISE)}
    for region_offset in {y for _, y, _, _ in boxes}:
        rows = {k: v[(v >= region_offset) & (v <= region_offset + 1)] - region_offset for k, v in height.items()}
        assert rows[NodeKind.GOVERNMENT].min() > rows[NodeKind.UNIVERSITY].max() > rows[NodeKind.UNIVERSITY].min() > rows[NodeKind.MANAGER].max()
        assert rows[NodeKind.MANAGER].min() > rows[NodeKind.ENTERPRISE].max()
    assert BANDS[NodeKind.ENTERPRISE][3] < BANDS[NodeKind.MANAGER][2]


def test_layout_of_a_large_world_takes_well_under_a_second():
    layout = make_layout(4, {NodeKind.GOVERNMENT: 1, NodeKind.UNIVERSITY: 50, NodeKind.ENTERPRISE: 25_000, NodeKind.MANAGER: 500, NodeKind.INVESTOR: 20})
    start = time.perf_counter()
    positions = node_positions(layout, seed=12345)
    assert time.perf_counter() - start < 1.0
    assert np.isfinite(positions).all()


# ------------------------------------------------------------------ drawing


def test_node_activity_counts_each_distinct_participant_once(stepped):
    model = stepped.ecosystem
    t = model.pipeline.table
    expected = np.zeros(model.layout.n_nodes, dtype=np.int64)
    for row in range(t.n):
        people = {int(t.col(c)[row]) for c in ("owner", "partner", "manager", "investor")} - {-1}
        for node in people:
            expected[node] += 1
    assert np.array_equal(node_activity(model), expected)
    assert expected.sum() > 0


def test_network_svg_draws_every_kind_with_its_own_shape_and_a_legend(stepped):
    model = stepped.ecosystem
    markup = network_svg(model, node_positions(model.layout))
    assert markup.startswith("<svg") and markup.endswith("</svg>")
    shapes = {"circle": "<circle", "square": "<rect", "triangle": "<polygon", "diamond": "<polygon", "star": "<polygon"}
    for code, style in KIND_STYLES.items():
        drawn = re.findall(rf'({shapes[style.shape]}[^>]*class="node node-{NODE_KINDS[code]}")', markup)
        assert len(drawn) == model.layout.counts[code], NODE_KINDS[code]  # tiny world: everyone drawn
        assert style.label in markup
        assert f'fill="{style.colour}"' in markup
    for style in TIE_STYLES.values():
        assert style.label in markup
    assert markup.count('class="region"') == model.scenario.world.regions
    assert "Region 2" in markup


def test_tie_kinds_are_separate_paths_counting_the_visible_ties(stepped):
    model = stepped.ecosystem
    markup = network_svg(model, node_positions(model.layout))
    drawn = np.arange(model.layout.n_nodes)
    _, _, kind, _ = visible_ties(model, drawn)
    for code, style in TIE_STYLES.items():
        name = style.label.split()[0]
        counted = re.search(rf'class="tie tie-{re.escape(name)}" data-count="(\d+)"', markup)
        expected = int((kind == code).sum())
        assert (int(counted.group(1)) if counted else 0) == expected
    assert len({style.colour for style in TIE_STYLES.values()}) == len(TIE_STYLES)
    # and not by colour alone: the line style or width differs too (for colour-blind readers)
    assert len({(style.dash, style.width) for style in TIE_STYLES.values()}) == len(TIE_STYLES)


def test_node_size_grows_with_activity(stepped):
    model = stepped.ecosystem
    markup = network_svg(model, node_positions(model.layout))
    activity = node_activity(model)
    enterprises = model.layout.nodes(NodeKind.ENTERPRISE)
    busiest, idle = enterprises[np.argmax(activity[enterprises])], enterprises[np.argmin(activity[enterprises])]
    radius = {int(n): float(r) for r, n in re.findall(r'<circle [^>]*r="([\d.]+)" class="node node-enterprise" data-node="(\d+)"', markup)}
    assert activity[busiest] > activity[idle]
    assert radius[int(busiest)] > radius[int(idle)]


def test_node_sizes_are_relative_to_the_busiest_of_each_kind(stepped):
    model = stepped.ecosystem
    activity = node_activity(model)
    radius = node_radius(model, activity)
    for code, style in KIND_STYLES.items():
        mine = model.layout.kind == code
        assert radius[mine].min() >= style.base_radius
        if code != NodeKind.GOVERNMENT and activity[mine].max() > 0:
            assert radius[mine].max() == pytest.approx(style.base_radius * (1 + SIZE_GROWTH))
    government = model.layout.kind == NodeKind.GOVERNMENT
    assert (radius[government] == KIND_STYLES[NodeKind.GOVERNMENT].base_radius).all()


def test_crowded_regions_show_only_their_most_active_enterprises():
    model = InteractiveModel(base_scenario=small_scenario(world__enterprises_per_region=300), seed=5)
    for _ in range(8):
        model.step()
    eco = model.ecosystem
    activity = node_activity(eco)
    drawn = enterprises_to_draw(eco, activity, per_region=40)
    assert drawn.size == 80
    for region in (0, 1):
        all_here = eco.layout.nodes(NodeKind.ENTERPRISE)[eco.layout.region[eco.layout.nodes(NodeKind.ENTERPRISE)] == region]
        shown = drawn[eco.layout.region[drawn] == region]
        left_out = np.setdiff1d(all_here, shown)
        assert shown.size == 40
        assert activity[shown].min() >= activity[left_out].max()
    markup = network_svg(eco, node_positions(eco.layout), max_enterprises_per_region=40)
    assert markup.count("node node-enterprise") == 80
    assert "520 less active enterprises" in markup
    u, v, _, _ = visible_ties(eco, np.concatenate([np.flatnonzero(eco.layout.kind != NodeKind.ENTERPRISE), drawn]))
    assert np.isin(u, drawn).sum() + np.isin(v, drawn).sum() > 0
    assert not np.isin(np.concatenate([u, v]), np.setdiff1d(eco.layout.nodes(NodeKind.ENTERPRISE), drawn)).any()


def test_pipeline_chart_shows_waiting_counts_and_failures_by_gate_and_cause(stepped):
    steps = stepped.ecosystem.step_table()
    markup = pipeline_svg(steps)
    waiting = [float(v) for v in re.findall(r'class="bar-waiting" data-layer="waiting" data-value="([\d.]+)"', markup)]
    assert waiting == [float(steps[f"at_G{g}"].iloc[-1]) for g in range(1, 5) if steps[f"at_G{g}"].iloc[-1] > 0]
    failed = sum(float(v) for v in re.findall(r'class="bar-failed" data-layer="\w+" data-value="([\d.]+)"', markup))
    assert failed == pytest.approx(sum(values.sum() for values in gate_failures(steps).values()))
    assert failed == pytest.approx(steps.filter(like="fail_G").to_numpy().sum())
    assert f"quarter {int(steps['step'].iloc[-1])}" in markup


def test_charts_draw_before_the_first_quarter():
    model = InteractiveModel(base_scenario=small_scenario(), seed=1)
    empty = model.ecosystem.step_table()
    assert "bar-" not in pipeline_svg(empty)
    assert "quarter 0" in pipeline_svg(empty)
    assert time_series_svg(empty).count("<polyline") == 0


def test_time_series_has_a_line_per_measure_with_a_point_per_quarter(stepped):
    steps = stepped.ecosystem.step_table()
    markup = time_series_svg(steps)
    lines = dict(re.findall(r'data-metric="([^"]+)" points="([^"]+)"', markup))
    assert set(lines) == {"disclosures", "deals", "commercialisations", "welfare", "public_spending"}
    # each count on its own scale: the deals line uses the height of its panel, not the disclosures' axis
    for points in lines.values():
        assert len(points.split()) == len(steps)


def test_every_plotted_series_is_named_by_the_metric_catalogue(stepped):
    """The charts' labels, units and panel titles are the catalogue's, so the page, the report and the
    notebooks name a quantity the same way (issue 14)."""
    from html import unescape

    from ecosim import metric_catalogue

    steps = stepped.ecosystem.step_table()
    markup = time_series_svg(steps, ghost=steps)
    plotted = re.findall(r'<polyline class="([^"]+)" data-series="([^"]+)" data-metric="([^"]+)"', markup)
    assert {metric for _, _, metric in plotted} == {c for panel in SERIES_PANELS for c in panel}
    for css_class, label, metric in plotted:
        assert metric_catalogue.known(metric), f"{metric} is plotted but not in the metric catalogue"
        assert unescape(label) == metric_catalogue.CATALOGUE[metric].label, metric
        money = metric_catalogue.CATALOGUE[metric].unit == metric_catalogue.MONEY
        assert css_class in ("line-ghost", "line-money" if money else "line-count")
    texts = [unescape(t) for t in re.findall(r'<text[^>]*>([^<]*)</text>', markup)]
    titles = [unescape(t) for t in re.findall(r'class="series-title"[^>]*>([^<]*)</text>', markup)]
    assert titles == [
        "Invention disclosures (technologies per quarter)",
        "Technologies converted (first transfer) (technologies per quarter)",
        "Technologies reaching market (technologies per quarter)",
        "M¥ per quarter",
    ]
    for metric in ("welfare", "public_spending"):  # the shared panel's legend names each line
        assert metric_catalogue.CATALOGUE[metric].label in texts


def test_a_chart_refuses_a_series_the_catalogue_lacks_or_panels_with_two_units(stepped, monkeypatch):
    from ecosim.viz import drawing

    steps = stepped.ecosystem.step_table()
    monkeypatch.setattr(drawing, "SERIES_PANELS", (("disclosures",), ("a_hand_named_series",)))
    with pytest.raises(KeyError, match="not in the metric catalogue"):
        drawing.time_series_svg(steps)
    with pytest.raises(ValueError, match="different units"):
        drawing.series_panel_title(("deals", "welfare"))


# ------------------------------------------------------------------ text panel


def test_quarter_and_year_follow_the_step_table():
    assert quarter_and_year(1) == (1, 1)
    assert quarter_and_year(4) == (4, 1)
    assert quarter_and_year(5) == (1, 2)
    assert quarter_and_year(0) == (0, 0)


def test_a_brokered_licence_reads_like_a_sentence():
    model = run_model(quarters=24, seed=11, managers_per_region=20)
    t = model.ecosystem.pipeline.table
    rows = np.flatnonzero((t.col("deal_mode") == DealMode.LICENCE) & (t.col("manager") >= 0))
    assert rows.size, "expected a brokered licence in 24 quarters with 20 managers per region"
    sentence = deal_sentence(model.ecosystem, int(rows[0]))
    assert re.fullmatch(r"Enterprise \d+ licensed an? [\w-]+ technology from (University|Institute|Enterprise) \d+, "
                        r"brokered by manager \d+", sentence), sentence


def test_recent_events_are_newest_first_and_limited(stepped):
    events = recent_events(stepped.ecosystem, limit=5)
    assert len(events) == 5
    stamps = [tuple(map(int, re.match(r"Y(\d+) Q(\d+):", e).groups())) for e in events]
    assert stamps == sorted(stamps, reverse=True)
    assert stamps[0] <= quarter_and_year(stepped.ecosystem.steps)[::-1]


def test_conversion_so_far_counts_converted_over_disclosed(stepped):
    t = stepped.ecosystem.technology_table()
    for owner, (converted, disclosed) in conversion_so_far(stepped.ecosystem).items():
        mine = t[t["owner_type"] == owner]
        assert disclosed == len(mine)
        assert converted == int(mine["deal_mode"].notna().sum())


def test_text_panel_shows_time_levers_rules_and_events(stepped):
    html = status_html(stepped.ecosystem)
    assert '<span class="ecosim-step-number">12</span>' in html
    assert "quarter 4 of year 3" in html
    assert "managers_per_region = 5" in html
    for kind in RULE_KINDS:
        assert f"{kind} = <code>" in html
    assert html.count("<li>Y") == 6


# ------------------------------------------------------------------ the controls


def test_every_control_is_a_keyword_of_the_model():
    keywords = set(inspect.signature(InteractiveModel.__init__).parameters) - {"self"}
    choices = initial_choices(small_scenario())
    assert set(choices) <= keywords
    assert {lever.keyword for lever in LEVERS} | {f"{k}_rule" for k in RULE_KINDS} | {"seed"} == set(choices)


def test_controls_start_at_the_scenario_values():
    base = small_scenario(policy__managers__managers_per_region=500)
    choices = initial_choices(base)
    assert choices["managers_per_region"] == 500
    assert choices["enterprises_per_region"] == 60
    assert choices["adoption_rule"] == base.rules.adoption


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenarios_values_lie_on_the_sliders_grid(path):
    scenario = load_scenario(path)
    for lever in LEVERS:
        value = lever.value_in(scenario)
        position = (value - lever.minimum) / lever.step
        assert abs(position - round(position)) < 1e-6, (lever.keyword, value, lever.step)
        assert lever.minimum <= value <= lever.maximum, (lever.keyword, value)


def test_levers_have_short_labels_and_full_descriptions():
    for lever in LEVERS:
        assert len(lever.short) <= 18, lever.short
        assert len(lever.label) > len(lever.short)


def test_rule_drop_down_items_carry_each_rules_docstring_line():
    items = {item["value"]: item["title"] for item in rule_options("adoption")}
    assert items["value_hurdle"].startswith("value_hurdle — Willing when the appraised value")
    assert set(items) == set(available_rules("adoption"))


def test_controls_become_scenario_overrides():
    base = small_scenario()
    scenario = scenario_for(base, {"managers_per_region": 7, "openness": 0.2, "adoption_rule": "risk_averse",
                                   "quarters": 20, "regions": 3, "manager_skill": None})
    assert scenario.policy.managers.managers_per_region == 7
    assert scenario.policy.openness.cross_region_tie_probability == 0.2
    assert scenario.rules.adoption == "risk_averse"
    assert scenario.steps == 20 and scenario.world.regions == 3
    assert scenario.policy.managers.skill_mean == base.policy.managers.skill_mean  # None keeps the base


def test_poc_budget_share_is_taken_from_research_grants():
    base = small_scenario()
    scenario = scenario_for(base, {"poc_budget_share": 0.25})
    assert scenario.budget.proof_of_concept == 0.25
    assert scenario.budget.research_grants == pytest.approx(base.budget.research_grants - 0.20)


def test_the_page_model_is_the_same_pure_run_as_simulate():
    base = small_scenario()
    model = InteractiveModel(base_scenario=base, seed=5)
    for _ in range(8):
        model.step()
    expected = simulate(base, seed=5, steps=8).steps
    assert model.ecosystem.step_table().equals(expected)


def test_model_stops_at_the_chosen_number_of_quarters():
    model = InteractiveModel(base_scenario=small_scenario(), seed=2, quarters=4)
    while model.running:
        model.step()
    assert model.ecosystem.steps == 4


def test_seed_typed_in_the_page_is_parsed_and_bad_seeds_are_clear_errors():
    assert parse_seed(" 42 ") == 42
    assert parse_seed("") is None and parse_seed(None) is None
    assert InteractiveModel(base_scenario=small_scenario(), seed="17").ecosystem.seed == 17
    with pytest.raises(InputError, match="seed must be a whole number"):
        parse_seed("forty-two")
    with pytest.raises(InputError, match="seed"):
        parse_seed(-3)
    mistyped = InteractiveModel(base_scenario=small_scenario(), seed="forty-two")  # the page keeps working
    assert "seed must be a whole number" in mistyped.notice and "fresh seed" in mistyped.notice
    assert mistyped.ecosystem.seed >= 0


def test_a_value_typed_in_a_levers_box_is_read_as_the_lever_counts_it():
    quarters, grant = (next(lever for lever in LEVERS if lever.keyword == k) for k in ("quarters", "poc_grant_size"))
    assert quarters.value_from_text(" 32 ") == 32 and isinstance(quarters.value_from_text("32"), int)
    assert grant.value_from_text("0,04") == 0.04 and grant.value_from_text("1e-2") == 0.01
    for lever, text, says in ((quarters, "7.5", "'7.5' is not a whole number"), (quarters, " ", "the box is empty"),
                              (grant, "nan", "'nan' is not a number"), (grant, "four", "'four' is not a number")):
        with pytest.raises(ValueError, match=re.escape(says)):
            lever.value_from_text(text)
    assert grant.text_of(0.35000000000000003) == "0.35" and quarters.text_of(31.0) == "31"
    for lever in LEVERS:  # what a box shows reads back as the value it shows
        for value in (lever.minimum, lever.minimum + lever.step, lever.maximum):
            assert lever.value_from_text(lever.text_of(value)) == pytest.approx(value)


def test_a_value_typed_in_a_box_is_kept_at_once_even_while_another_thread_redraws():
    """Each change of a box's text is kept by its event's handler, before any redraw: a Reset
    clicked next builds with it even while Play's thread holds the page's render lock (issue 15:
    Solara's number inputs passed a typed value on only in their next render, and the Reset ran
    first). Text that is not a number is rejected and changes nothing."""
    import ipyvuetify
    import solara

    page = make_page(TINY)
    session = page.args[0]
    root, rc = solara.render(page, handle_error=False)
    try:
        boxes = [w for w in rc.find(ipyvuetify.VuetifyTemplate).widgets if w.has_trait("shown")]
        assert boxes[0].label.startswith("Seed")  # the seed box, then one per lever in LEVERS order
        box = dict(zip(["seed", *(lever.keyword for lever in LEVERS)], boxes, strict=True))
        assert box["quarters"].shown == "32"
        with rc.thread_lock:  # as while Play's thread redraws the page: no render can run here
            box["quarters"].vue_typed("25")  # what the browser sends for each change of the text
            box["seed"].vue_typed("1234")
            assert session.choices["quarters"] == 25 and session.choices["seed"] == "1234"
        rc.force_update()
        assert box["quarters"].shown == "25" and box["seed"].shown == "1234"  # the box and the slider follow
        box["quarters"].vue_typed("2x")
        assert session.choices["quarters"] == 25 and box["quarters"].shown == "25"
        assert box["quarters"].rejected == {"text": "2x", "message": "Quarters: '2x' is not a whole number; "
                                                                     "type digits only"}
        session.reset()
        assert session.model.ecosystem.planned_steps == 25 and session.model.ecosystem.seed == 1234
    finally:
        rc.close()


# ------------------------------------------------------------------ rules files and the page


def test_a_users_rules_file_joins_the_drop_down_and_can_be_chosen(tmp_path):
    from ecosim import rules as registry

    rules = tmp_path / "my_rules.py"
    rules.write_text(USER_RULES)
    try:
        session = page_parts(TINY, rules)
        assert "everyone_adopts_viz_test" in [item["value"] for item in rule_options("adoption")]
        assert session.rules_file == str(rules.resolve())
        chosen = InteractiveModel(base_scenario=load_scenario(TINY), rules_file=str(rules), seed=1,
                                  adoption_rule="everyone_adopts_viz_test")
        assert chosen.ecosystem.scenario.rules.adoption == "everyone_adopts_viz_test"
        chosen.step()
    finally:  # leave the process-wide registry as other tests expect it
        registry._REGISTRY["adoption"].pop("everyone_adopts_viz_test", None)


def test_a_broken_rules_file_is_a_clear_input_error(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("def oops(:\n")
    with pytest.raises(InputError, match=r"broken\.py: syntax error at line 1"):
        page_parts(TINY, broken)


def test_make_page_builds_a_solara_element():
    page = make_page(TINY)
    assert page.component.name == "EcosystemViz"
    assert page.args[0].model.ecosystem.scenario.name == "tiny"


def test_switching_tabs_and_hiding_the_controls_create_and_close_no_widgets():
    """Tabs and the controls column are hidden, not removed: a widget closed while the browser was
    still building it made the page report "widget model not found" (the Code tab's download button,
    closed by a tab switch), and the Code tab lost what was typed in it."""
    import ipyvuetify
    import ipywidgets
    import solara

    root, rc = solara.render(make_page(TINY), handle_error=False)

    def reachable(value, found: dict) -> dict:
        """Every widget the page's front end sees from ``value``: its synced traits, recursively."""
        if isinstance(value, ipywidgets.Widget):
            if value.model_id not in found:
                found[value.model_id] = value
                for name in value.keys:
                    reachable(getattr(value, name), found)
        elif isinstance(value, (list, tuple)):
            for item in value:
                reachable(item, found)
        elif isinstance(value, dict):
            for item in value.values():
                reachable(item, found)
        return found

    try:
        def tree() -> set[str]:
            return set(reachable(root, {}))

        def press(css_class: str) -> None:
            rc.find(ipyvuetify.Btn, class_=css_class).widget.click()

        built = tree()
        for css_class in ("ecosim-tab-code", "ecosim-tab-info", "ecosim-tab-model", "ecosim-toggle-controls",
                          "ecosim-tab-code", "ecosim-toggle-controls", "ecosim-tab-model"):
            press(css_class)
            assert tree() == built, css_class
        assert len(built) > 100
        classes = [(getattr(widget, "class_", None) or (getattr(widget, "attributes", None) or {}).get("class", "")
                    ).split() for widget in reachable(root, {}).values()]
        for css_class in ("ecosim-panels", "ecosim-info", "ecosim-code", "ecosim-controls"):
            assert sum(css_class in names for names in classes) == 1, css_class  # built, shown or not
    finally:
        rc.close()


# ------------------------------------------------------------------ ecosim viz: bad input


def _exit_and_message(argv, capsys) -> tuple[int, str]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.err.strip()


@pytest.mark.parametrize("content", [
    "world:\n  enterprises_per_regoin: 5\n",  # unknown key
    "steps: -3\n",  # out of range
    "world: [1, 2\n",  # broken YAML
    "rules:\n  adoption: no_such_rule\n",  # unknown rule
])
def test_invalid_scenario_gets_the_same_clear_error_as_ecosim_run(tmp_path, capsys, content):
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    viz_status, viz_message = _exit_and_message(["viz", str(bad), "--port", "1"], capsys)
    run_status, run_message = _exit_and_message(["run", str(bad), "--out", str(tmp_path / "out")], capsys)
    assert viz_status == run_status == 2
    assert viz_message == run_message
    assert "Traceback" not in viz_message and viz_message.startswith("error: ")
    assert not (tmp_path / "out").exists()


def test_missing_scenario_file_is_bad_input(tmp_path, capsys):
    status, message = _exit_and_message(["viz", str(tmp_path / "nope.yaml")], capsys)
    assert status == 2
    assert "nope.yaml: file not found" in message


@pytest.mark.parametrize("content, expected", [
    ("def oops(:\n", "syntax error at line 1"),
    ("raise RuntimeError('no')\n", "error while loading rules: RuntimeError: no"),
])
def test_invalid_rules_file_gets_the_same_clear_error_as_ecosim_run(tmp_path, capsys, content, expected):
    rules = tmp_path / "rules.py"
    rules.write_text(content)
    viz_status, viz_message = _exit_and_message(["viz", str(TINY), "--rules", str(rules), "--port", "1"], capsys)
    run_status, run_message = _exit_and_message(["run", str(TINY), "--rules", str(rules), "--out", str(tmp_path / "o")],
                                                capsys)
    assert viz_status == run_status == 2
    assert viz_message == run_message
    assert expected in viz_message


def test_rules_file_must_be_python(tmp_path, capsys):
    not_python = tmp_path / "rules.txt"
    not_python.write_text("x = 1\n")
    status, message = _exit_and_message(["viz", str(TINY), "--rules", str(not_python)], capsys)
    assert status == 2
    assert "must be a Python file" in message


def test_viz_help_names_the_defaults(capsys):
    assert main(["viz", "--help"]) == 0
    out = capsys.readouterr().out
    assert "127.0.0.1" in out and "--rules" in out and "--port" in out
    assert "--rule-time-limit" in out and "10.0" in out  # the page's own default, like ecosim run's option


def test_the_rule_time_limit_reaches_the_served_page(monkeypatch):
    from ecosim.cli.viz_command import server_environment
    from ecosim.viz.serve import (
        RULE_TIME_LIMIT_ENV,
        RULE_TIME_LIMIT_SECONDS,
        rule_time_limit_from_environment,
    )

    for given, expected in ((2.5, 2.5), (0.0, 0.0), (None, RULE_TIME_LIMIT_SECONDS)):
        env = server_environment(None, None, rule_time_limit=given)
        monkeypatch.setenv(RULE_TIME_LIMIT_ENV, env[RULE_TIME_LIMIT_ENV])
        assert rule_time_limit_from_environment() == expected


def test_a_server_that_ignores_sigterm_is_killed_and_said_so(monkeypatch, capsys):
    """``ecosim viz`` stops its server with SIGTERM, then SIGKILL after STOP_SECONDS (on stderr),
    and puts back the signal handlers it set aside meanwhile."""
    import signal
    import subprocess
    import sys

    from ecosim.cli import viz_command

    monkeypatch.setattr(viz_command, "STOP_SECONDS", 0.5)
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, "
                                 "signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"],
                                stdout=subprocess.PIPE, text=True)
    try:
        assert stubborn.stdout.readline() == "ready\n"
        handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
        viz_command.stop_child(stubborn)
        assert stubborn.returncode == -signal.SIGKILL
        assert "did not stop within 0.5 s; killed it" in capsys.readouterr().err
        assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
        stubborn.wait()
        stubborn.stdout.close()
    viz_command.stop_child(None)  # the server never started: nothing to stop


def test_a_negative_rule_time_limit_is_refused_like_ecosim_runs(tmp_path, capsys):
    viz_status, viz_message = _exit_and_message(["viz", str(TINY), "--rule-time-limit", "-1", "--port", "1"], capsys)
    run_status, run_message = _exit_and_message(["run", str(TINY), "--rule-time-limit", "-1",
                                                 "--out", str(tmp_path / "o")], capsys)
    assert viz_status == run_status == 2
    assert "--rule-time-limit" in viz_message and "-1" in viz_message
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ offline front end


def test_front_end_packages_are_read_from_the_installed_solara():
    required = assets.required_packages()
    assert any(spec.startswith("@widgetti/solara-vuetify") for spec in required)
    assert any(spec.startswith("requirejs@") for spec in required)
    assert all(re.fullmatch(r"(@[\w.-]+/)?[\w.-]+@\d[\w.-]*", spec) for spec in required)


def test_missing_front_end_packages_are_those_without_a_package_json(tmp_path):
    required = assets.required_packages()
    assert assets.missing_packages(tmp_path) == required
    (tmp_path / required[0]).mkdir(parents=True)
    (tmp_path / required[0] / "package.json").write_text("{}")
    assert assets.missing_packages(tmp_path) == required[1:]


def test_the_page_image_library_is_cached_with_the_front_end():
    assert assets.PAGE_IMAGE_PACKAGE in assets.required_packages()
    assert re.fullmatch(r"html-to-image@\d+\.\d+\.\d+", assets.PAGE_IMAGE_PACKAGE)


def test_a_cached_package_missing_a_font_its_stylesheet_names_is_fetched_again(tmp_path):
    required = assets.required_packages()
    for spec in required:
        (tmp_path / spec).mkdir(parents=True)
        (tmp_path / spec / "package.json").write_text("{}")
    fonts = tmp_path / required[0] / "dist"
    fonts.mkdir()
    (fonts / "fonts.css").write_text('@font-face { font-family: "Material Design Icons"; '
                                     'src: url(icons.woff2?v=4.9.95) format("woff2"), url("data:font/woff;base64,AA"); }\n'
                                     '.x { background: url(https://example.org/remote.png) }\n')
    assert assets.missing_font_files(tmp_path / required[0]) == [(fonts / "icons.woff2").resolve()]
    assert assets.missing_packages(tmp_path) == [required[0]]  # offline, its icons would be blank squares
    (fonts / "icons.woff2").write_bytes(b"wOF2")
    assert assets.missing_packages(tmp_path) == []


@pytest.mark.browser  # needs the cached front end, which `make test-slow` fetches (`make test` does not)
def test_the_installed_front_end_has_every_font_its_stylesheets_name():
    folder = assets.cache_folder()
    vuetify = [spec for spec in assets.required_packages() if spec.startswith("@widgetti/")]
    assert (folder / vuetify[0] / "package.json").is_file(), (
        "the front end is not cached here; fetch it with `python -m ecosim.viz.assets`")
    css = (folder / vuetify[0] / "dist" / "fonts.css").read_text(encoding="utf-8")
    assert '"Material Design Icons"' in css  # the icon font the page's buttons and drop-downs use
    assert assets.missing_font_files(folder / vuetify[0]) == []


def test_unpacking_an_npm_tarball_keeps_files_inside_the_target(tmp_path):
    import io
    import tarfile

    archive = tmp_path / "pkg.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in (("package/package.json", b"{}"), ("package/dist/app.js", b"1"), ("evil/../../x", b"!")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    target = tmp_path / "cdn" / "pkg@1.0.0"
    assets._unpack(archive, target)
    assert (target / "package.json").read_text() == "{}"
    assert (target / "dist" / "app.js").read_text() == "1"
    assert not (tmp_path / "x").exists() and not Path(tmp_path.parent / "x").exists()


# ------------------------------------------------------------------ in a notebook


@pytest.mark.slow
def test_the_page_displays_as_a_widget_in_a_jupyter_kernel():
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell(
        f"from ecosim.viz import make_page\npage = make_page(r'{TINY}')\npage"))
    notebook.cells.append(nbformat.v4.new_code_cell(
        "session = page.args[0]\nfor _ in range(3):\n    session.step()\nprint(session.model.ecosystem.steps)"))
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=180).execute()
    shown = [o for o in notebook.cells[0].outputs if o.output_type in ("display_data", "execute_result")]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in shown)
    assert notebook.cells[1].outputs[0]["text"].strip() == "3"
