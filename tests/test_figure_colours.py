"""One colour per scenario in every figure (issue 14): every figure maker of ``ecosim.plots`` and
``ecosim.run_figures`` is listed here with what its colours mean, and each is drawn and checked.

- **scenario** figures colour each scenario with ``plots.condition_colours`` — drawn for all three
  scenarios and for each one alone beside the baseline, the scenario colours they use must be
  exactly those of the scenarios shown (so a scenario's colour cannot depend on the figure or on
  which other scenarios it shows);
- **cause** figures colour failure causes with ``plots.CAUSE_COLOURS``; **verdict** figures colour
  verdicts with ``plots.VERDICT_COLOURS``; neither uses a scenario's colour for anything;
- **panel** figures name each scenario in a panel title (colour is a value scale there);
- **no scenario** figures show design points, parameters or one run, never scenarios.

A new figure maker that is not listed fails ``test_every_figure_maker_is_listed``; the report and
the notebook helpers (``notebook``, ``tour``) draw only through these makers (``test_reports_draw_only_through_the_makers``).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.markers import MarkerStyle

from analysis_data import small_sweep
from ecosim import analysis, plots, run_figures

SCENARIOS = ["baseline", "more_managers", "poc_fund"]


@pytest.fixture(scope="module")
def three_scenarios():
    """The small sweep with a third scenario (more_managers' runs, 10% more of everything), same seeds."""
    runs, steps = small_sweep()
    third = runs[runs["scenario"] == "more_managers"].copy()
    numbers = [c for c in third.select_dtypes("number").columns if c not in ("point", "replication", "seed")]
    third[numbers] = third[numbers] * 1.1
    third["scenario"] = "poc_fund"
    third["run_id"] = third["run_id"].str.replace("more_managers", "poc_fund")
    third_steps = steps[steps["scenario"] == "more_managers"].assign(scenario="poc_fund")
    return pd.concat([runs, third], ignore_index=True), pd.concat([steps, third_steps], ignore_index=True)


def only(tables, names):
    runs, steps = tables
    return runs[runs["scenario"].isin(names)], steps[steps["scenario"].isin(names)]


def cost_plane(runs):
    comparison = analysis.compare(runs, "baseline", ["public_spending", "deals"])
    return plots.cost_effectiveness_plot(analysis.cost_effectiveness(comparison, ["deals"]), "deals")


DRAWS_NO_BASELINE = {"cost_effectiveness_plot"}  # a plane of differences from the baseline

SCENARIO_FIGURES = {
    "distribution_plot": lambda runs, steps: plots.distribution_plot(runs, "deals", baseline="baseline"),
    "time_series_plot": lambda runs, steps: plots.time_series_plot(
        analysis.time_series_bands(steps, ["deals"]), "deals", baseline="baseline"),
    "funnel_plot": lambda runs, steps: plots.funnel_plot(analysis.conversion_funnel(runs), "baseline"),
    "conversion_by_owner_plot": lambda runs, steps: plots.conversion_by_owner_plot(
        analysis.conversion_by_owner(runs), "baseline"),
    "cost_effectiveness_plot": lambda runs, steps: cost_plane(runs),
}
CAUSE_FIGURES = {
    "failure_plot": lambda runs, steps: plots.failure_plot(analysis.failures_by_gate_cause(runs)),
    "funnel_figure": lambda runs, steps: run_figures.funnel_figure(runs.iloc[0].to_dict()),
}
VERDICT_FIGURES = {
    "forest_panels": lambda runs, steps: plots.forest_panels(
        analysis.compare(runs, "baseline", ["deals", "publications"], primary=["deals"])),
}
PANEL_FIGURES = {
    "failure_change_plot": lambda runs, steps: plots.failure_change_plot(analysis.failure_decomposition(runs, "baseline")),
}
NO_SCENARIO_FIGURES = {
    "sensitivity_plot": "indices of a sampled design's parameters",
    "design_surface_plot": "a grid's design points of one scenario",
    "main_effects_plot": "a sampled design's points against each parameter",
    "activity_figure": "one run's activity over time",
    "network_measures_figure": "one run's network measures over time",
}


def figure_makers() -> set[str]:
    """Every public function of the figure modules that returns a matplotlib Figure."""
    found = set()
    for module in (plots, run_figures):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                if inspect.signature(function).return_annotation in (Figure, "Figure"):
                    found.add(name)
    return found


def test_every_figure_maker_is_listed():
    listed = {*SCENARIO_FIGURES, *CAUSE_FIGURES, *VERDICT_FIGURES, *PANEL_FIGURES, *NO_SCENARIO_FIGURES}
    assert figure_makers() == listed


def test_reports_draw_only_through_the_makers():
    """report.py, notebook.py and tour.py make no figures of their own (no colours of their own),
    and the figure makers do not go through pyplot (a notebook would show their figures twice)."""
    for module in ("report.py", "notebook.py", "tour.py"):
        source = (Path(plots.__file__).parent / module).read_text()
        assert "subplots(" not in source and "plt.figure(" not in source and "color=" not in source, module
    for module in (plots, run_figures):
        assert "plt.subplots(" not in Path(module.__file__).read_text(), module.__name__


def used_colours(fig: Figure) -> set[str]:
    """Every colour a figure draws with (lines, markers, filled areas, bars, legend handles), as hex."""
    found: set[str] = set()

    def add(colours):
        for colour in colours:
            try:
                found.add(to_hex(colour, keep_alpha=False))
            except (ValueError, TypeError):
                pass

    for ax in fig.axes:
        for line in ax.get_lines():  # what shows: the line if drawn, a marker's edge, a filled marker's face
            marker = MarkerStyle(line.get_marker())
            add([line.get_color()] if line.get_linestyle() not in ("None", "none", "") else [])
            if line.get_marker() not in (None, "None", "none", ""):
                add([line.get_markeredgecolor()] + ([line.get_markerfacecolor()] if marker.is_filled() else []))
        for collection in ax.collections:
            add(list(collection.get_facecolors()) + list(collection.get_edgecolors()))
        for patch in ax.patches:
            add([patch.get_facecolor()])
    return found


SCENARIO_PALETTE = set(plots._PALETTE) | {plots.BASELINE_COLOUR}


@pytest.mark.parametrize("maker", sorted(SCENARIO_FIGURES))
def test_a_scenario_has_the_one_colour_of_condition_colours_in_every_scenario_figure(three_scenarios, maker):
    draw = SCENARIO_FIGURES[maker]
    expected = plots.condition_colours(SCENARIOS, "baseline")
    assert len(set(expected.values())) == len(SCENARIOS)
    for shown in (SCENARIOS, ["baseline", "more_managers"], ["baseline", "poc_fund"]):
        fig = draw(*only(three_scenarios, shown))
        used = used_colours(fig) & SCENARIO_PALETTE
        drawn = [n for n in shown if not (n == "baseline" and maker in DRAWS_NO_BASELINE)]
        assert used == {expected[name] for name in drawn}, (maker, shown)


@pytest.mark.parametrize("maker", sorted(CAUSE_FIGURES))
def test_failure_causes_have_the_one_colour_of_cause_colours(three_scenarios, maker):
    fig = CAUSE_FIGURES[maker](*three_scenarios)
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    handles = {text.get_text(): handle for legend in legends
               for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True)}
    for cause, colour in plots.CAUSE_COLOURS.items():
        labelled = [h for label, h in handles.items() if cause in label]
        assert labelled, (maker, cause)
        assert {to_hex(h.get_facecolor(), keep_alpha=False) for h in labelled} == {colour}, (maker, cause)
    drawn = used_colours(fig) - {"#000000", "#ffffff"}
    assert drawn <= set(plots.CAUSE_COLOURS.values()), (maker, drawn)


@pytest.mark.parametrize("maker", sorted(VERDICT_FIGURES))
def test_verdicts_have_the_one_colour_of_verdict_colours(three_scenarios, maker):
    fig = VERDICT_FIGURES[maker](*three_scenarios)
    legend = fig.axes[0].get_legend() or fig.legends[0]
    for text, handle in zip(legend.get_texts(), legend.legend_handles, strict=True):
        assert to_hex(handle.get_color(), keep_alpha=False) == plots.VERDICT_COLOURS[text.get_text()]
    drawn = used_colours(fig) - {"#000000", "#ffffff"}
    assert drawn <= set(plots.VERDICT_COLOURS.values())


def test_panel_figures_name_each_scenario_in_a_panel(three_scenarios):
    fig = PANEL_FIGURES["failure_change_plot"](*three_scenarios)
    titles = {ax.get_title() for ax in fig.axes}
    assert {"more_managers", "poc_fund"} <= {t for t in titles if t in SCENARIOS}


# Machado, Oliveira & Fernandes (2009), severity 1: a dichromat's view of linear RGB.
DICHROMACIES = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}
MIN_VERDICT_DISTANCE = 10.0
"""CIELAB ΔE*ab between any two verdicts' colours, as seen with normal vision and each dichromacy
(2.3 is a just-noticeable difference; ~10 tells two small dots apart at a glance)."""


def cielab(hex_colour: str, view=None):
    import numpy as np
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(hex_colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    if view is not None:
        linear = np.clip(np.array(view) @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 216 / 24389, np.cbrt(t), (24389 / 27 * t + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_every_verdict_has_its_own_colour_told_apart_by_colour_blind_readers():
    """Issue 14's verdict colours were greys of nearly one shade ("no change beyond the precision
    target" #7f7f7f, "descriptive" #969696, "identical in every replication" #bdbdbd: 8.9 apart),
    and higher and lower shared one blue. Every verdict now has a colour of its own that stays
    distinct under simulated protanopia, deuteranopia and tritanopia."""
    import itertools

    import numpy as np

    assert set(plots.VERDICT_COLOURS) == set(analysis.VERDICTS)
    assert len(set(plots.VERDICT_COLOURS.values())) == len(plots.VERDICT_COLOURS)
    for vision, view in {"normal": None, **DICHROMACIES}.items():
        for (a, colour_a), (b, colour_b) in itertools.combinations(plots.VERDICT_COLOURS.items(), 2):
            distance = float(np.linalg.norm(cielab(colour_a, view) - cielab(colour_b, view)))
            assert distance >= MIN_VERDICT_DISTANCE, (vision, a, b, round(distance, 1))
