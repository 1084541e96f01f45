"""The Info tab, as a NetLogo model has: what the model is, how to use the page, things to try, how to write a rule.

It opens with what is particular to this page (:func:`page_facts_html`): the time limit on one
call of a user's rule (``ecosim viz --rule-time-limit``) and whether the Code tab is offered.

The text is read from the documentation itself — sections of docs/VISUALISER.md and
docs/RULES.md — so the tab says what the docs say (``tests/test_viz.py`` checks the
sections exist). The Markdown is turned into HTML on the server (python-markdown, which
Solara already depends on) rather than with Solara's Markdown component, which loads KaTeX
and Mermaid from a CDN.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import solara

DOCS = Path(__file__).resolve().parents[3] / "docs"
"""The repository's docs folder (the page is served from a source checkout)."""

INFO_SECTIONS = (
    ("VISUALISER.md", "What the model is"),
    ("VISUALISER.md", "How to use the page"),
    ("VISUALISER.md", "Things to try"),
    ("RULES.md", "The six kinds"),
    ("RULES.md", "The rule contract"),
    ("RULES.md", "Worked example: your own adoption and project-choice rules"),
)
"""(file in docs/, ``## `` heading) of each section the Info tab shows, in order."""


def markdown_section(text: str, heading: str) -> str:
    """The Markdown of the ``## heading`` section of ``text`` (heading included), or '' if absent."""
    match = re.search(rf"^## {re.escape(heading)}\s*$", text, flags=re.MULTILINE)
    if not match:
        return ""
    rest = text[match.start():]
    following = re.search(r"^## ", rest[3:], flags=re.MULTILINE)
    section = rest[: following.start() + 3] if following else rest
    return re.sub(r"<!-- .*? -->", "", section, flags=re.DOTALL)


@lru_cache(maxsize=4)
def _info_html(stamp: tuple[float, ...]) -> str:
    import markdown

    parts = []
    for name, heading in INFO_SECTIONS:
        path = DOCS / name
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        section = markdown_section(text, heading)
        if section:
            parts.append(f'<section class="ecosim-info-section" data-source="docs/{name}">'
                         + markdown.markdown(section, extensions=["tables", "fenced_code"]) + "</section>")
    if not parts:
        return "<p>The documentation (docs/VISUALISER.md, docs/RULES.md) is not beside this installation.</p>"
    return "".join(parts)


def info_html() -> str:
    """The Info tab's HTML, read again when the documentation files change."""
    stamp = tuple((DOCS / name).stat().st_mtime if (DOCS / name).is_file() else 0.0
                  for name in sorted({name for name, _ in INFO_SECTIONS}))
    return _info_html(stamp)


def time_limit_text(seconds: float | None) -> str:
    """The sentence the Info tab gives the rule time limit in force (``None`` or 0: no limit)."""
    if not seconds:
        return ("A call of a rule of your own may run as long as it takes (no time limit: "
                "<code>ecosim viz --rule-time-limit 0</code>); an endless loop stops only with the server.")
    return (f"A call of a rule of your own may run for at most <b class=\"ecosim-rule-time-limit\">{seconds:g} s</b>; "
            "a longer one (an endless loop) stops the run with an error panel that names the line it was on. "
            "Change it with <code>ecosim viz --rule-time-limit SECONDS</code> (0: no limit), "
            "as with <code>ecosim run</code>.")


def page_facts_html(session) -> str:
    """What is particular to this page: the rule time limit in force and whether the Code tab is offered."""
    code = ("The <b>Code</b> tab is offered (the page is served on this machine only, or code editing was allowed)."
            if getattr(session, "code_editing", False) else
            "The <b>Code</b> tab is off: the page is served to other machines "
            "(<code>ecosim viz --allow-code-editing</code> turns it on).")
    return ('<section class="ecosim-info-section ecosim-info-this-page"><h2>This page</h2><ul>'
            f"<li>{time_limit_text(getattr(session, 'rule_time_limit', None))}</li><li>{code}</li></ul></section>")


@solara.component
def InfoView(session=None):
    """The Info tab: this page's settings (rule time limit, Code tab), then the sections of the docs."""
    style = "font-size: 14px; line-height: 1.5; max-width: 900px; overflow-x: auto"
    facts = page_facts_html(session) if session is not None else ""
    return solara.HTML(tag="div", unsafe_innerHTML=facts + info_html(), classes=["ecosim-info"], style=style)
