"""Solara components of the page: network, pipeline, time series and the text panel.

Each takes the :class:`~ecosim.viz.interactive_model.InteractiveModel` and subscribes to
Mesa's update counter, so it redraws after every Step, Play tick and Reset. The pictures
are SVG text from :mod:`ecosim.viz.drawing`, memoised on (model, step) so a re-render that
is not a new quarter costs nothing. The network's positions come from the layout cache, so
they are computed once per world size.
"""

from __future__ import annotations

from html import escape

import solara
from mesa.visualization.utils import update_counter

from ecosim.viz.drawing import network_svg, pipeline_svg, time_series_svg
from ecosim.viz.events import status_html
from ecosim.viz.layout import node_positions

LAYOUT_SEED = 0
"""Seed of the layout jitter: the same world size is always drawn the same way."""


def _locked(model, read, *args):
    """``read(*args)`` while no quarter is running (Play steps the model in another thread)."""
    with model.lock:
        return read(*args)


def _svg_panel(markup: str, css_class: str):
    """A block holding SVG markup (tests find it by ``css_class``)."""
    return solara.HTML(tag="div", unsafe_innerHTML=markup, classes=[css_class], style="width: 100%")


@solara.component
def NetworkView(model):
    """The ecosystem's network on fixed positions (:func:`ecosim.viz.drawing.network_svg`)."""
    update_counter.get()
    ecosystem = model.ecosystem
    markup = solara.use_memo(lambda: _locked(model, network_svg, ecosystem, node_positions(ecosystem.layout, LAYOUT_SEED)),
                             [ecosystem, ecosystem.steps])
    return _svg_panel(markup, "ecosim-network")


@solara.component
def PipelineView(model):
    """Technologies at each gate and failures by gate and cause (:func:`ecosim.viz.drawing.pipeline_svg`)."""
    update_counter.get()
    ecosystem = model.ecosystem
    markup = solara.use_memo(lambda: pipeline_svg(_locked(model, ecosystem.step_table)), [ecosystem, ecosystem.steps])
    return _svg_panel(markup, "ecosim-pipeline")


@solara.component
def TimeSeriesView(session):
    """Disclosures, deals, market entries, welfare and public spending over time, with the
    previous run as a ghost and changes made mid-run marked (a :class:`~ecosim.viz.session.VizSession`)."""
    update_counter.get()
    model = session.model
    ecosystem = model.ecosystem
    marks = [(change.step, change.text) for change in session.changes]
    markup = solara.use_memo(lambda: time_series_svg(_locked(model, ecosystem.step_table), session.ghost, marks),
                             [ecosystem, ecosystem.steps, id(session.ghost), len(marks)])
    return _svg_panel(markup, "ecosim-timeseries")


@solara.component
def StatusView(model):
    """Step (quarter and year), world and rules, conversion so far and the last notable events."""
    update_counter.get()
    markup = _locked(model, status_html, model.ecosystem)
    if getattr(model, "notice", ""):
        markup = f'<p class="ecosim-notice" style="color: #b00020">{escape(model.notice)}</p>' + markup
    return solara.HTML(tag="div", unsafe_innerHTML=markup, classes=["ecosim-status"])
