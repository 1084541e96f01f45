"""ecosim — an agent-based simulation of a technology-transfer ecosystem on Mesa.

The public API in one line each:

- :func:`ecosim.scenario.load_scenario` — read and validate a scenario file.
- :func:`ecosim.model.simulate` — run one seeded scenario and get its tables.
- :class:`ecosim.model.EcosystemModel` — the Mesa model itself (for the visualiser).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ecosim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
