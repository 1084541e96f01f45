"""The interactive visualiser: watch the ecosystem and change its rules, in a browser or notebook.

- :func:`make_page` — the page (controls, error panel, Model, Info and Code tabs) for a scenario;
  ``ecosim viz`` serves the same page (:mod:`ecosim.viz.app`).
- :class:`VizSession` — the page's state: choices, model, ghost run, changes and errors.
- :class:`InteractiveModel` — the model the page's Reset rebuilds from the choices.
- :mod:`ecosim.viz.layout` — fixed node positions; :mod:`ecosim.viz.drawing` — the figures;
  :mod:`ecosim.viz.events` — the text panel; :mod:`ecosim.viz.components` — Solara panels;
  :mod:`ecosim.viz.controls` — the controls and error panel; :mod:`ecosim.viz.info` — the Info tab.

See docs/VISUALISER.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "LEVERS": "ecosim.viz.interactive_model",
    "InteractiveModel": "ecosim.viz.interactive_model",
    "VizSession": "ecosim.viz.session",
    "scenario_for": "ecosim.viz.interactive_model",
    "make_page": "ecosim.viz.page",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `ecosim viz` can start its server (and report bad input)
    # without loading Mesa and Solara into the command-line process.
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ecosim.viz' has no attribute {name!r}")
