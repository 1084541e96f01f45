"""The Code tab, as NetLogo has: read a rule's source, edit a copy, Check it, keep it under a new name, run with it.

:class:`CodeWorkbench` is the plain-Python part (tested without a browser):

- :meth:`~CodeWorkbench.source_of` — the source of any registered rule, without its
  ``@register`` line, as the starting text of a copy;
- :meth:`~CodeWorkbench.check` — compiles the text and calls the function it defines on a
  small sample input of the kind (:func:`ecosim.rules.contract.sample_inputs`), checking the
  result against the kind's contract; a mistake comes back as a :class:`CheckResult` with the
  line in the text;
- :meth:`~CodeWorkbench.keep` — checks, then writes every kept rule into one rules file
  (:attr:`~CodeWorkbench.path`, a plain ``.py`` file the student can download and use with
  ``ecosim run --rules``) and loads it, so the rule joins the drop-downs.

Editing code runs it in the server's process, so the page offers the tab only while it is
served on a loopback address (``127.0.0.1``, ``localhost``, ``::1``) or when ``ecosim viz
--allow-code-editing`` says so (:data:`ecosim.viz.serve.CODE_ENV`).
"""

from __future__ import annotations

import inspect
import re
import tempfile
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import solara
from mesa.visualization.utils import force_update, update_counter

from ecosim.errors import InputError
from ecosim.rules import _REGISTRY, available_rules, get_rule, load_rules_file
from ecosim.rules.contract import CONTRACTS, RuleError, describe, try_rule
from ecosim.scenario import RULE_KINDS

CODE_NAME = "<code tab>"
"""The file name compiled text carries, so that errors can be traced to the text's lines."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class CheckResult:
    """What Check found: ``ok``, the line of the mistake in the text (``None`` if none or unknown), a message."""

    ok: bool
    message: str
    line: int | None = None


def _names_in(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_in(const)
    return names


class CodeWorkbench:
    """The Code tab's state: the rules kept so far and the file they are saved in.

    Parameters
    ----------
    folder : where to keep the rules file (default: a new temporary folder)
    """

    def __init__(self, folder: str | Path | None = None):
        folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="ecosim-code-tab-"))
        self.path = folder / "my_code_tab_rules.py"
        self.kept: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, name) -> (module it started from, text)

    @staticmethod
    def source_of(kind: str, name: str) -> tuple[str, str]:
        """(text, module name) of a registered rule: its ``def`` and body, without decorators."""
        function = get_rule(kind, name).__wrapped__
        try:
            text = textwrap.dedent(inspect.getsource(function))
        except (OSError, TypeError):
            return f"def {name}(x):\n    '''(source not available)'''\n    raise NotImplementedError\n", "ecosim.rules"
        lines = text.splitlines()
        while lines and lines[0].lstrip().startswith("@"):
            lines.pop(0)
        return "\n".join(lines) + "\n", function.__module__

    @staticmethod
    def _compile(text: str, module: str) -> types.FunctionType:
        """Compile ``text`` with the names of ``module`` at hand; returns the function it defines last."""
        import importlib

        code = compile(text, CODE_NAME, "exec", dont_inherit=True)
        try:
            namespace = dict(vars(importlib.import_module(module)))
        except ImportError:
            namespace = {}
        import numpy as np

        namespace.setdefault("np", np)
        namespace["__name__"] = "ecosim_code_tab"  # a user's rule: its errors are reported as the student's
        before = {k: id(v) for k, v in namespace.items()}
        exec(code, namespace)  # noqa: S102 — the student's own code, on their own machine (loopback only)
        defined = [v for k, v in namespace.items() if isinstance(v, types.FunctionType) and before.get(k) != id(v)]
        if not defined:
            raise ValueError("the text defines no function: start it with 'def my_rule(x):'")
        return defined[-1]

    def check(self, kind: str, name: str, text: str, module: str = "ecosim.rules") -> CheckResult:
        """Compile ``text`` and try the function on a sample input of ``kind`` against the contract."""
        if not _NAME.match(name):
            return CheckResult(False, f"the name {name!r} is not a Python name (letters, digits and _, not first a digit)")
        try:
            function = self._compile(text, module)
        except SyntaxError as exc:
            return CheckResult(False, f"syntax error at line {exc.lineno}: {exc.msg}", exc.lineno)
        except Exception as exc:  # noqa: BLE001 — the text's own error while defining
            line = _line_in_text(exc)
            return CheckResult(False, f"{type(exc).__name__}: {exc}", line)
        try:
            result = try_rule(kind, name, function)
        except RuleError as exc:
            line = exc.line if exc.path == CODE_NAME else None
            return CheckResult(False, exc.problem + (f"\nhint: {exc.hint}" if exc.hint else ""), line)
        return CheckResult(True, f"Check passed: on a sample input the rule returned {describe(result)}, as a "
                                 f"{kind} rule must ({CONTRACTS[kind].returns}).")

    def keep(self, kind: str, name: str, text: str, module: str = "ecosim.rules") -> CheckResult:
        """Check, then save the rule under ``name`` in :attr:`path` and register it (it joins the drop-downs)."""
        if name in _REGISTRY[kind] and (kind, name) not in self.kept:
            return CheckResult(False, f"there is already a {kind} rule named {name!r}; choose a new name")
        result = self.check(kind, name, text, module)
        if not result.ok:
            return result
        self.kept[(kind, name)] = (module, text)
        self.path.write_text(self.file_text(), encoding="utf-8")
        try:
            load_rules_file(self.path)
        except InputError as exc:
            del self.kept[(kind, name)]
            self.path.write_text(self.file_text(), encoding="utf-8")
            return CheckResult(False, str(exc))
        return CheckResult(True, f"Kept as {kind} rule {name!r} in {self.path.name}; choose it in the drop-down "
                                 "(or press Run with it).")

    def file_text(self) -> str:
        """The rules file of every kept rule: imports, then each rule with its ``@register`` line."""
        parts = ['"""Rules written in the ecosim visualiser\'s Code tab (use: ecosim run --rules this_file.py)."""',
                 "", "import numpy as np", "", "from ecosim.rules import register"]
        imports: dict[str, set[str]] = {}
        import importlib

        for module, text in self.kept.values():
            try:
                names = vars(importlib.import_module(module))
            except ImportError:
                continue
            used = _names_in(compile(text, CODE_NAME, "exec", dont_inherit=True))
            wanted = {n for n in used if n in names and not n.startswith("__") and n not in ("np", "register")}
            if wanted:
                imports.setdefault(module, set()).update(wanted)
        for module, names in sorted(imports.items()):
            parts.append(f"from {module} import {', '.join(sorted(names))}")
        for (kind, name), (_, text) in self.kept.items():
            body = re.sub(r"^def\s+\w+\s*\(", f"def {name}(", text.strip("\n"), count=1, flags=re.MULTILINE)
            parts += ["", "", f'@register("{kind}", "{name}")', body]
        return "\n".join(parts) + "\n"


def _line_in_text(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == CODE_NAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


@solara.component_vue("code_box.vue")
def CodeBox(loaded: dict, event_typed: Callable[[str], None]):
    """The rule's text: the box owns what is typed and sends every change to ``event_typed`` at
    once; ``loaded`` (``{text, version}``) replaces the text when its version changes (a rule is
    opened).

    Why not a ``v_model`` text area (issue 15): while the model plays, the page is redrawn every
    quarter from Play's thread, and each redraw sent the text area's last value back over the
    keys typed since — typed key by key during Play, "RuntimeError" arrived as "RunimeError".
    Here the text stays in the browser, as in the lever boxes (``controls.ValueBox``).
    """


@solara.component
def CodeView(session):
    """The Code tab: open a rule, edit a copy, Check, Keep under a new name, Run with it, download the file."""
    update_counter.get()
    workbench: CodeWorkbench = solara.use_memo(CodeWorkbench, [])
    kind = solara.use_reactive("adoption")
    opened = solara.use_reactive("")
    text = solara.use_reactive("")  # what the student has typed (CodeBox sends every change)
    loaded = solara.use_reactive({"text": "", "version": 0})  # the opened rule's source, sent to CodeBox
    module = solara.use_reactive("ecosim.rules")
    new_name = solara.use_reactive("")
    result = solara.use_reactive(None)

    if not getattr(session, "code_editing", False):
        return solara.HTML(tag="div", classes=["ecosim-code-disabled"], unsafe_innerHTML=(
            "<p>Code editing is off: this page is served on a network address, and code typed here would run "
            "on the server. Start <code>ecosim viz</code> on your own machine (it listens on 127.0.0.1), or "
            "pass <code>--allow-code-editing</code>.</p>"))

    def open_rule(name):
        source, where = CodeWorkbench.source_of(kind.value, name)
        opened.set(name)
        text.set(source)
        loaded.set({"text": source, "version": loaded.value["version"] + 1})
        module.set(where)
        new_name.set(f"my_{name}")
        result.set(None)

    def check():
        result.set(workbench.check(kind.value, new_name.value, text.value, module.value))

    def keep():
        result.set(workbench.keep(kind.value, new_name.value, text.value, module.value))
        force_update()

    def run_with():
        outcome = workbench.keep(kind.value, new_name.value, text.value, module.value) \
            if (kind.value, new_name.value) not in workbench.kept else CheckResult(True, "")
        result.set(outcome)
        if outcome.ok:
            session.choices[f"{kind.value}_rule"] = new_name.value
            if workbench.path not in session.extra_rules_files:
                session.extra_rules_files.append(str(workbench.path))
            session.reset()
        force_update()

    with solara.Column(gap="8px", classes=["ecosim-code"], style={"max-width": "900px"}) as column:
        solara.HTML(tag="p", unsafe_innerHTML=(
            "Open a rule, edit the copy, press <b>Check</b> (it runs your rule on a small sample input and checks "
            "what it returns), then <b>Keep</b> it under a new name or <b>Run with it</b>. Your rules are saved in "
            "one file you can download and use with <code>ecosim run --rules</code>."))
        with solara.Row(gap="8px"):
            solara.Select("kind", value=kind, values=list(RULE_KINDS), on_value=lambda _: opened.set(""))
            solara.Select("open rule", value=opened.value or None, values=available_rules(kind.value),
                          on_value=open_rule)
            solara.InputText("new name", value=new_name, continuous_update=True)
        CodeBox(loaded=loaded.value, event_typed=text.set)
        with solara.Row(gap="8px"):
            solara.Button("Check", on_click=check, color="primary", disabled=not text.value, classes=["ecosim-check"])
            solara.Button("Keep", on_click=keep, disabled=not text.value, classes=["ecosim-keep"])
            solara.Button("Run with it", on_click=run_with, disabled=not text.value, classes=["ecosim-run-with"])
            if workbench.kept:
                solara.FileDownload(workbench.file_text, filename=workbench.path.name, label="Download my rules",
                                    icon_name=None, mime_type="text/x-python")
        if result.value is not None:
            outcome: CheckResult = result.value
            colour, border = ("#e8f5e9", "#2e7d32") if outcome.ok else ("#fdecee", "#b00020")
            where = f"<b>line {outcome.line}</b>: " if outcome.line else ""
            from html import escape

            solara.HTML(tag="div", classes=["ecosim-check-result", "ok" if outcome.ok else "failed"],
                        unsafe_innerHTML=(f'<pre style="white-space: pre-wrap; background: {colour}; border-left: 6px '
                                          f'solid {border}; padding: 8px; margin: 0">{where}{escape(outcome.message)}</pre>'))
    return column
