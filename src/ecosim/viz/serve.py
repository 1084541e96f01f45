"""The server process of ``ecosim viz``: cache the page's front end, then ``solara run`` the app.

``python -m ecosim.viz.serve --host 127.0.0.1 --port 8765`` takes the options of
``solara run`` (after the app name, which is always :mod:`ecosim.viz.app`). Doing the asset
check here rather than in ``ecosim viz`` itself means Solara is imported once, by the process
that needs it.
"""

from __future__ import annotations

import subprocess
import sys

APP = "ecosim.viz.app"

SCENARIO_ENV = "ECOSIM_VIZ_SCENARIO"
"""Environment variable with the path of the starting scenario file (empty: the built-in baseline)."""

RULES_ENV = "ECOSIM_VIZ_RULES"
"""Environment variable with the path of a Python file registering extra rules (empty: none)."""

RULE_TIME_LIMIT_ENV = "ECOSIM_VIZ_RULE_TIME_LIMIT"
"""Environment variable with the limit, in seconds, on one call of a user's rule (set by
``ecosim viz --rule-time-limit``; "0": no limit; empty: :data:`RULE_TIME_LIMIT_SECONDS`)."""

RULE_TIME_LIMIT_SECONDS = 10.0
"""The visualiser's default limit on one call of a user's rule: an endless loop becomes an error
panel after this long. Shorter than ``ecosim run``'s 30 s, because a student is watching the page."""

CODE_ENV = "ECOSIM_VIZ_CODE_EDITING"
"""Environment variable: "1" offers the Code tab (set by ``ecosim viz`` on a loopback address or with
``--allow-code-editing``); anything else hides it."""


def rule_time_limit_from_environment() -> float:
    """The per-call rule time limit the server was started with (:data:`RULE_TIME_LIMIT_ENV`)."""
    import os

    text = os.environ.get(RULE_TIME_LIMIT_ENV, "").strip()
    return float(text) if text else RULE_TIME_LIMIT_SECONDS


def main(argv: list[str] | None = None) -> None:
    """Make sure the front end is cached (see :mod:`ecosim.viz.assets`), then serve the app."""
    from ecosim.viz.assets import ensure_frontend_assets, missing_packages

    missing = missing_packages()
    if missing:
        print(f"fetching the page's front end ({', '.join(missing)}) with npm, once...", file=sys.stderr)
        try:
            ensure_frontend_assets()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            print(f"warning: {exc}; the page will try a public CDN instead", file=sys.stderr)
    from solara.__main__ import cli

    cli(["run", APP, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
