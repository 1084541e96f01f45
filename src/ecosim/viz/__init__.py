"""The interactive visualiser: watch the ecosystem and change its rules, in a browser or notebook.

- :func:`make_page` — the SolaraViz page for a scenario (display it in a notebook);
  ``ecosim viz`` serves the same page (:mod:`ecosim.viz.app`).
- :class:`InteractiveModel` — the model the page's controls rebuild on Reset.
- :mod:`ecosim.viz.layout` — fixed node positions; :mod:`ecosim.viz.drawing` — the figures;
  :mod:`ecosim.viz.events` — the text panel; :mod:`ecosim.viz.components` — Solara panels.

See docs/VISUALISER.md.
"""

from ecosim.viz.interactive_model import LEVERS, InteractiveModel, model_params, scenario_for
from ecosim.viz.page import make_page

__all__ = ["LEVERS", "InteractiveModel", "make_page", "model_params", "scenario_for"]
