"""ecosim — an agent-based simulation of a technology-transfer ecosystem on Mesa.

The public API in one line each:

- :func:`ecosim.scenario.load_scenario` — read and validate a scenario file.
- :func:`ecosim.model.simulate` — run one seeded scenario and get its tables.
- :class:`ecosim.model.EcosystemModel` — the Mesa model itself (for the visualiser).

``ecosim.__version__`` is looked up on first use (PEP 562), not on import: reading the installed
package's metadata imports ``importlib.metadata`` and its e-mail parser, about 0.2 s that
``ecosim check`` and ``ecosim --help`` would otherwise pay for nothing (docs/RELIABILITY.md).
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["__version__"]


@functools.cache
def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ecosim")
    except PackageNotFoundError:  # running from a source tree without installation
        return "0.0.0+local"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module 'ecosim' has no attribute {name!r}")
