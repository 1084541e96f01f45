"""The visualiser's page: Mesa's SolaraViz controls around ecosim's panels.

In a notebook::

    from ecosim.viz import make_page
    make_page("scenarios/tiny.yaml")          # the last expression of a cell displays the page

From the command line, ``ecosim viz [SCENARIO] [--rules PATH.py]`` serves the same page
(:mod:`ecosim.viz.app`).

The sidebar is SolaraViz's own: its :func:`~mesa.visualization.solara_viz.ModelController`
(Reset, Play/Pause, Step) and :func:`~mesa.visualization.solara_viz.ModelCreator` (the
sliders and drop-downs of ``model_params``, applied on Reset). The main area is laid out
here rather than by SolaraViz's draggable grid, for two reasons: the network needs more room
than one grid cell, and with ipyvuetify 3 the grid's script (a Vue 2 library loaded from a
CDN) fails to start, leaving the main area blank.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import solara
from mesa.visualization.solara_viz import ModelController, ModelCreator

from ecosim.rules import load_rules_file
from ecosim.scenario import Scenario, load_scenario
from ecosim.viz.components import NetworkView, PipelineView, StatusView, TimeSeriesView
from ecosim.viz.interactive_model import InteractiveModel, model_params

PLAY_INTERVAL_MS = 100
"""Pause between quarters while playing."""


def base_scenario(scenario: str | Path | Scenario | None) -> Scenario:
    """The starting scenario: a file path, a Scenario, or ``None`` for the built-in baseline.

    A bad file raises :class:`~ecosim.errors.InputError`, as for ``ecosim run``.
    """
    if isinstance(scenario, Scenario):
        return scenario
    return load_scenario(scenario) if scenario is not None else Scenario()


def page_parts(scenario: str | Path | Scenario | None = None, rules_file: str | Path | None = None,
               ) -> tuple[InteractiveModel, dict[str, Any]]:
    """The first model and the keyword arguments of :func:`EcosystemViz` for a page.

    The user's rules file (and the scenario's own ``rules_file``) are loaded first, so their
    rules appear in the drop-downs; the file is read again on every Reset.
    """
    base = base_scenario(scenario)
    rules_path = str(Path(rules_file).resolve()) if rules_file is not None else None
    for path in (base.rules_file, rules_path):
        if path:
            load_rules_file(path)
    model = InteractiveModel(base_scenario=base, rules_file=rules_path)
    params = model_params(base)
    params["rules_file"] = rules_path
    return model, {"model_params": params, "name": f"ecosim — {base.name}"}


@solara.component
def Panels(model: InteractiveModel):
    """The main area: the network beside the text panel, then the pipeline beside the time series."""
    with solara.Column(style={"padding": "8px", "gap": "8px"}, classes=["ecosim-panels"]) as main:
        with solara.Columns([5, 2]):
            with solara.Card(margin=0):
                NetworkView(model)
            with solara.Card("What is happening", margin=0):
                StatusView(model)
        with solara.Columns([1, 1]):
            with solara.Card(margin=0):
                PipelineView(model)
            with solara.Card(margin=0):
                TimeSeriesView(model)
    return main


@solara.component
def EcosystemViz(model: InteractiveModel | solara.Reactive, model_params: dict[str, Any], name: str = "ecosim"):
    """The page: SolaraViz's controls and parameter inputs in the sidebar, ecosim's panels beside.

    Parameters
    ----------
    model : the first model (or a reactive holding it); Reset replaces it
    model_params : SolaraViz parameters (:func:`ecosim.viz.interactive_model.model_params`)
    name : the title in the app bar
    """
    if not isinstance(model, solara.Reactive):
        model = solara.use_reactive(model)  # noqa: SH102 (as SolaraViz does)
    parameters = solara.use_reactive({})
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)
    with solara.AppBar():
        solara.AppBarTitle(name)
    with solara.Sidebar(), solara.Column():
        with solara.Card("Controls"):
            solara.SliderInt("Play interval (ms)", value=play_interval, min=10, max=1000, step=10)
            ModelController(model, model_parameters=parameters, play_interval=play_interval,
                            render_interval=render_interval, use_threads=use_threads)
        with solara.Card("Model parameters (press Reset to apply)"):
            ModelCreator(model, model_params, model_parameters=parameters)
    Panels(model.value)


def make_page(scenario: str | Path | Scenario | None = None, rules_file: str | Path | None = None):
    """The visualiser page for ``scenario`` (a Solara element; display it in a notebook).

    Parameters
    ----------
    scenario : a scenario file, a :class:`~ecosim.scenario.Scenario`, or ``None`` for the baseline
    rules_file : a Python file that registers extra rules (they join the drop-downs)

    Examples
    --------
    >>> from ecosim.viz import make_page
    >>> page = make_page("scenarios/tiny.yaml")
    """
    model, kwargs = page_parts(scenario, rules_file)
    return EcosystemViz(model, **kwargs)
