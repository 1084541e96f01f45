"""The Solara app that ``ecosim viz`` serves (``solara run ecosim.viz.app``).

The scenario, the rules file and the rule time limit come from the environment variables
:data:`ecosim.viz.serve.SCENARIO_ENV`, :data:`~ecosim.viz.serve.RULES_ENV` and
:data:`~ecosim.viz.serve.RULE_TIME_LIMIT_ENV` (set by
``ecosim viz`` after it has validated them). Each browser session
gets its own model, so two tabs do not step the same world.
"""

from __future__ import annotations

import os

import solara

from ecosim.viz.page import EcosystemViz, page_parts
from ecosim.viz.serve import CODE_ENV, RULES_ENV, SCENARIO_ENV, rule_time_limit_from_environment


@solara.component
def Page():
    """One browser session's page: its own session and model, built from the served scenario."""
    scenario = os.environ.get(SCENARIO_ENV) or None
    rules_file = os.environ.get(RULES_ENV) or None
    code_editing = os.environ.get(CODE_ENV) == "1"
    limit = rule_time_limit_from_environment()
    session = solara.use_memo(lambda: page_parts(scenario, rules_file, code_editing=code_editing,
                                                 rule_time_limit=limit), [])
    return EcosystemViz(session, name=f"ecosim — {session.base.name}")
