"""The visualiser's page: ecosim's controls beside ecosim's panels.

In a notebook::

    from ecosim.viz import make_page
    make_page("scenarios/tiny.yaml")          # the last expression of a cell displays the page

From the command line, ``ecosim viz [SCENARIO] [--rules PATH.py]`` serves the same page
(:mod:`ecosim.viz.app`).

The page is laid out here, not by SolaraViz: a header with a button that shows or hides
the controls (its menu icon comes from the locally cached icon font, so it renders offline), the controls column
(:mod:`ecosim.viz.controls`) beside the main area, and in the main area the error panel
above three tabs — *Model* (network, text panel, pipeline, time series), *Info* (what the
model is and how to use the page, drawn from docs/VISUALISER.md and docs/RULES.md) and
*Code* (:mod:`ecosim.viz.code_tab`: read, edit, check and keep a rule). The
controls column pushes the panels aside rather than covering them, so a 1024×768 screen shows
both. SolaraViz's own controls let an exception replace the page and its grid loads a Vue 2
library that fails under ipyvuetify 3, which is why neither is used.
"""

from __future__ import annotations

from pathlib import Path

import solara
from mesa.visualization.utils import update_counter

from ecosim.rules import load_rules_file
from ecosim.scenario import Scenario, load_scenario
from ecosim.viz.code_tab import CodeView
from ecosim.viz.components import NetworkView, PipelineView, StatusView, TimeSeriesView
from ecosim.viz.controls import Controls, ErrorPanel
from ecosim.viz.info import InfoView
from ecosim.viz.session import RULE_TIME_LIMIT_SECONDS, VizSession

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
               code_editing: bool = True, rule_time_limit: float | None = RULE_TIME_LIMIT_SECONDS) -> VizSession:
    """The page's :class:`~ecosim.viz.session.VizSession` for a scenario and a user's rules file.

    The rules files (the scenario's own ``rules_file`` and ``rules_file``) are loaded first, so
    their rules appear in the drop-downs; a bad file is an :class:`~ecosim.errors.InputError`.
    Reset reads them again. ``code_editing`` offers the Code tab (a notebook's page runs on the
    student's own kernel; ``ecosim viz`` decides by the address it listens on).
    ``rule_time_limit`` is the limit in seconds on one call of a user's rule (0 or ``None``: none).
    """
    base = base_scenario(scenario)
    rules_path = str(Path(rules_file).resolve()) if rules_file is not None else None
    for path in (base.rules_file, rules_path):
        if path:
            load_rules_file(path)
    return VizSession(base, rules_path, code_editing=code_editing, rule_time_limit=rule_time_limit)


@solara.component
def Panels(session: VizSession):
    """The model tab: the network beside the text panel, then the pipeline beside the time series."""
    update_counter.get()  # Reset replaces the session's model: the panels must follow
    model = session.model
    wrap = {"display": "flex", "flex-wrap": "wrap", "gap": "8px", "align-items": "flex-start"}
    with solara.Column(style={"gap": "8px"}, classes=["ecosim-panels"]) as main:
        # flex boxes that wrap: side by side on a wide screen, one under another at 1024 px
        with solara.Div(style=wrap):
            with solara.Div(style={"flex": "5 1 560px", "min-width": "0"}), solara.Card(margin=0):
                NetworkView(model)
            with solara.Div(style={"flex": "2 1 260px", "min-width": "0"}), solara.Card("What is happening", margin=0):
                StatusView(model)
        with solara.Div(style=wrap):
            with solara.Div(style={"flex": "1 1 440px", "min-width": "0"}), solara.Card(margin=0):
                PipelineView(model)
            with solara.Div(style={"flex": "1 1 440px", "min-width": "0"}), solara.Card(margin=0):
                TimeSeriesView(session)
    return main


@solara.component
def EcosystemViz(session: VizSession, name: str = "ecosim"):
    """The page: a header, the controls column, the error panel and the Model and Info tabs.

    Parameters
    ----------
    session : the page's state (:func:`page_parts`); the buttons act on it
    name : the title in the header
    """
    play_interval = solara.use_reactive(PLAY_INTERVAL_MS)
    show_controls = solara.use_reactive(True)
    tab = solara.use_reactive(0)
    with solara.Column(gap="0px", style={"min-height": "100vh"}, classes=["ecosim-page"]) as page:
        with solara.Row(style={"background": "#1f4e79", "color": "white", "align-items": "center",
                               "padding": "6px 12px", "gap": "12px"}, classes=["ecosim-header"]):
            # the icon is a glyph of the Material Design Icons font, served from the local asset
            # cache (ecosim.viz.assets) like the rest of the front end: it renders offline
            solara.Button("Hide controls" if show_controls.value else "Show controls", text=True,
                          icon_name="mdi-menu", style={"color": "white"}, classes=["ecosim-toggle-controls"],
                          on_click=lambda: show_controls.set(not show_controls.value))
            solara.HTML(tag="div", unsafe_innerHTML=name, style="font-size: 18px; font-weight: 500")
        with solara.Row(gap="0px", style={"flex-wrap": "nowrap", "align-items": "flex-start"}):
            Controls(session, play_interval, shown=show_controls.value)
            with solara.Column(gap="8px", style={"flex": "1 1 auto", "min-width": "0", "padding": "8px"},
                               classes=["ecosim-main"]):
                ErrorPanel(session)
                with solara.Row(gap="4px", classes=["ecosim-tab-buttons"]):
                    for index, label in enumerate(("Model", "Info", "Code")):
                        solara.Button(label, text=tab.value != index, color="primary", outlined=tab.value == index,
                                      on_click=lambda index=index: tab.set(index), classes=[f"ecosim-tab-{label.lower()}"])
                # Every tab is built once and stays; only the chosen one is shown (as the controls
                # column, hidden rather than removed). Switching tabs then creates and closes no
                # widgets: a tab closed while the browser was still building it (the Code tab's
                # download button, just made by "Run with it") made the page report "widget model
                # not found", and a rule being edited in the Code tab was lost on a look at the model.
                for index, view in enumerate((Panels, InfoView, CodeView)):
                    with solara.Div(style={"display": "block" if tab.value == index else "none"}):
                        view(session)
    return page


def make_page(scenario: str | Path | Scenario | None = None, rules_file: str | Path | None = None,
              rule_time_limit: float | None = RULE_TIME_LIMIT_SECONDS):
    """The visualiser page for ``scenario`` (a Solara element; display it in a notebook).

    ``make_page(...).args[0]`` is the page's :class:`~ecosim.viz.session.VizSession`
    (``.model.ecosystem`` is the :class:`~ecosim.model.EcosystemModel` shown).

    Parameters
    ----------
    scenario : a scenario file, a :class:`~ecosim.scenario.Scenario`, or ``None`` for the baseline
    rules_file : a Python file that registers extra rules (they join the drop-downs)
    rule_time_limit : seconds one call of a rule of your own may run before it is stopped with an
        error panel (0 or ``None``: no limit)

    Examples
    --------
    >>> from ecosim.viz import make_page
    >>> page = make_page("scenarios/tiny.yaml")
    """
    session = page_parts(scenario, rules_file, rule_time_limit=rule_time_limit)
    return EcosystemViz(session, name=f"ecosim — {session.base.name}")
