"""Every figure of ecosim.plots, drawn from a small real sweep of the model."""

from __future__ import annotations

import io

import pytest
from matplotlib.figure import Figure

from analysis_data import small_sweep
from ecosim import analysis, plots


@pytest.fixture(scope="module")
def sweep():
    return small_sweep()


def assert_readable(fig: Figure) -> None:
    """A title (axes or figure), an x label with text on every drawn panel, a y label on the
    figure, every label and tick label inside the figure (nothing cut off), and it renders to PNG."""
    assert isinstance(fig, Figure)
    drawn = [ax for ax in fig.axes if ax.axison and ax.get_label() != "<colorbar>"]
    titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle else ""]
    assert any(t.strip() for t in titles), "figure has no title"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=50)
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    box = fig.bbox
    for ax in drawn:
        assert ax.get_xlabel().strip(), "an axis has no x label"
        has_y = ax.get_ylabel().strip() or any(other.get_ylabel().strip() for other in drawn if other is not ax)
        assert has_y, "no y label on the figure"
        # everything the panel draws (labels, title, the tick labels in view) lies inside the figure
        extent = ax.get_tightbbox(renderer)
        assert extent.x0 >= box.x0 - 2 and extent.x1 <= box.x1 + 2, f"panel {ax.get_title()!r} is cut off at a side"
        assert extent.y0 >= box.y0 - 2 and extent.y1 <= box.y1 + 2, f"panel {ax.get_title()!r} is cut off"


def test_forest_panels_draw_each_comparison_in_its_metrics_panel_with_the_tables_interval(sweep):
    runs, _ = sweep
    comparison = analysis.compare(runs, "baseline", ["deals", "publications", "failed"], primary=["deals"])
    fig = plots.forest_panels(comparison, columns=2)
    assert_readable(fig)
    drawn = [ax for ax in fig.axes if ax.axison]
    # the primary outcome first, in a row of its own (the second cell of that row is left empty)
    assert [" ".join(ax.get_title().split()) for ax in drawn] == [
        "Technologies converted (first transfer) (primary)", analysis.metric_label("publications"),
        analysis.metric_label("failed")]
    assert fig.axes[0].axison and not fig.axes[1].axison
    # the scenarios share one axis: the first panel names them all
    scenarios = list(dict.fromkeys(comparison["condition"]))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == scenarios
    for ax, metric in zip(drawn, dict.fromkeys(comparison["metric"]), strict=True):
        rows = comparison[comparison["metric"] == metric]
        bars = sorted(float(x) for collection in ax.collections for seg in collection.get_segments()
                      for x in seg[:, 0])
        table = sorted(float(x) for _, r in rows.iterrows() for x in (r["relative_low"], r["relative_high"]))
        assert bars == pytest.approx(table), metric


def test_distribution_plot_has_a_dot_per_replication(sweep):
    runs, _ = sweep
    fig = plots.distribution_plot(runs, "deals", baseline="baseline")
    assert_readable(fig)
    dots = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    assert dots == len(runs)
    assert "technologies per run" in fig.axes[0].get_ylabel()


@pytest.mark.parametrize("cumulative", [False, True])
def test_time_series_plot_draws_a_median_line_per_scenario(sweep, cumulative):
    _, steps = sweep
    bands = analysis.time_series_bands(steps, ["deals"], cumulative=cumulative)
    fig = plots.time_series_plot(bands, "deals", baseline="baseline")
    assert_readable(fig)
    assert len(fig.axes[0].get_lines()) == 2
    assert ("running total" in fig.axes[0].get_ylabel()) == cumulative


def test_failure_plots_cover_every_gate_and_cause(sweep):
    runs, _ = sweep
    fig = plots.failure_plot(analysis.failures_by_gate_cause(runs))
    assert_readable(fig)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["G1", "G2", "G3", "G4"]
    change = plots.failure_change_plot(analysis.failure_decomposition(runs, "baseline"))
    assert_readable(change)
    assert len(change.axes[0].texts) == 12


def test_funnel_and_conversion_by_owner_plots(sweep):
    runs, _ = sweep
    assert_readable(plots.funnel_plot(analysis.conversion_funnel(runs), "baseline"))
    fig = plots.conversion_by_owner_plot(analysis.conversion_by_owner(runs), "baseline")
    assert_readable(fig)
    assert "%" in fig.axes[0].get_ylabel()


def test_cost_effectiveness_plot_places_each_scenario_on_the_plane(sweep):
    runs, _ = sweep
    comparison = analysis.compare(runs, "baseline", ["public_spending"])
    effectiveness = analysis.cost_effectiveness(comparison, ["welfare", "deals"])
    fig = plots.cost_effectiveness_plot(effectiveness, "deals")
    assert_readable(fig)
    assert "M¥" in fig.axes[0].get_xlabel()
    # the extra outcome is the comparison's estimate and interval, not a second computation
    row = comparison.set_index("metric").loc["deals"]
    ce = effectiveness.set_index("outcome").loc["deals"]
    assert (ce["extra_outcome"], ce["extra_outcome_low"], ce["extra_outcome_high"]) == (
        row["difference"], row["difference_low"], row["difference_high"])


def test_sensitivity_plot_for_sobol_and_morris_indices():
    import numpy as np
    import pandas as pd

    sobol = pd.DataFrame({"metric": "deals", "parameter": ["policy.a", "policy.b"], "S1": [0.6, 0.1],
                          "S1_low": [0.5, 0.0], "S1_high": [0.7, 0.2], "ST": [0.8, 0.3], "ST_low": [0.7, 0.2],
                          "ST_high": [0.9, 0.4], "note": ""})
    fig = plots.sensitivity_plot(sobol, "deals")
    assert_readable(fig)
    assert "Sobol" in fig.axes[0].get_xlabel()
    morris = pd.DataFrame({"metric": "deals", "parameter": ["policy.a"], "mu_star": [2.0], "mu_star_low": [1.5],
                           "mu_star_high": [2.5], "mu": [2.0], "sigma": [0.1], "note": ""})
    assert "μ*" in plots.sensitivity_plot(morris, "deals").axes[0].get_xlabel()
    constant = sobol.assign(S1=np.nan, note="constant over the design")
    assert_readable(plots.sensitivity_plot(constant, "deals"))


def test_figures_with_nothing_to_compare_say_so(sweep):
    runs, _ = sweep
    only_baseline = runs[runs["scenario"] == "baseline"]
    fig = plots.forest_panels(analysis.compare(only_baseline, "baseline", ["deals"]))
    assert "only one scenario" in fig.axes[0].texts[0].get_text()


def test_grid_surface_and_main_effects_plots_label_points_by_parameter_values():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = []
    point = 0
    for a in (0.0, 0.05, 0.1):
        for b in (25, 50):
            for r in range(3):
                rows.append({"scenario": "grid", "point": point, "replication": r, "seed": r, "status": "ok",
                             "budget.proof_of_concept": a, "policy.managers.managers_per_region": b,
                             "deals": 100 + 200 * a + 0.1 * b + rng.normal(0, 1)})
            point += 1
    means = analysis.design_point_means(pd.DataFrame(rows), ["deals"])
    assert "proof of concept = 0.05, managers per region = 50" in set(means["label"])
    fig = plots.design_surface_plot(means, "deals")
    assert_readable(fig)
    assert fig.axes[0].get_xlabel() == "proof of concept"
    assert len(fig.axes[0].texts) == 6  # one annotated cell per design point
    effects = plots.main_effects_plot(means, "deals")
    assert_readable(effects)
    assert [ax.get_xlabel() for ax in effects.axes[:2]] == ["proof of concept", "managers per region"]


# One colour per scenario in every figure: tests/test_figure_colours.py (every figure maker, parametrised).


def test_a_stock_is_labelled_as_a_level_not_a_flow_per_quarter(sweep):
    _, steps = sweep
    fig = plots.time_series_plot(analysis.time_series_bands(steps, ["at_G2"]), "at_G2", baseline="baseline")
    assert_readable(fig)
    label = fig.axes[0].get_ylabel().replace("\n", " ")
    assert "per quarter" not in label and "at the end of each quarter" in label
    flow = plots.time_series_plot(analysis.time_series_bands(steps, ["deals"]), "deals", baseline="baseline")
    assert "per quarter" in flow.axes[0].get_ylabel().replace("\n", " ")


def test_failure_change_cells_use_the_common_number_format():
    import pandas as pd

    from ecosim.formatting import format_signed

    rows = [{"condition": "policy", "baseline": "baseline", "gate": g, "cause": c, "difference": d,
             "difference_low": d - 1, "difference_high": d + 1, "share_of_change": 0.1}
            for (g, c), d in zip([(g, c) for g in ("G1", "G2", "G3", "G4") for c in ("technical", "funding", "matching")],
                                 [-2912.6, -0.04, 94.63, *[1.0] * 9], strict=True)]
    fig = plots.failure_change_plot(pd.DataFrame(rows))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:3] == ["−2,913*", "−0.04", "+94.63*"]  # thousands separated, true minus, no "-0.0"
    assert all(text.rstrip("*") == format_signed(float(text.rstrip("*").replace("−", "-").replace(",", "")))
               for text in texts)
