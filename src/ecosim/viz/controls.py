"""The page's controls and error panel, driving a :class:`~ecosim.viz.session.VizSession`.

These replace Mesa's ``ModelController`` and ``ModelCreator``: those let an exception in a
step or a Reset replace the whole page with a traceback, show a slider's value only while
its thumb is focused, and list rules by bare name. Here every button calls a session
method that never raises; a mistake shows in :func:`ErrorPanel` while everything else stays.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from html import escape

import solara
from mesa.visualization.utils import force_update, update_counter

from ecosim.rules import rule_doc
from ecosim.scenario import RULE_KINDS
from ecosim.viz.interactive_model import LEVERS, Lever, rule_keyword
from ecosim.viz.session import LIVE_LEVERS, VizSession, rule_options

CONTROLS_WIDTH_PX = 300
"""Width of the controls column; the panels take the rest (at 1024 px: 724 px)."""


@solara.component
def ErrorPanel(session: VizSession):
    """The error of the last action, if any: what failed, where (file:line), the message and what to do."""
    update_counter.get()
    report = session.error
    if report is None:
        return solara.Div(classes=["ecosim-no-error"])
    location = f'<p class="ecosim-error-location">at <code>{escape(report.location)}</code></p>' if report.location else ""
    markup = (f'<div style="border-left: 6px solid #b00020; background: #fdecee; padding: 8px 12px; font-size: 14px">'
              f'<p style="margin: 0 0 4px 0"><b class="ecosim-error-title">{escape(report.title)}</b> '
              f'<span style="color: #555">({escape(report.when)})</span></p>{location}'
              f'<pre class="ecosim-error-message" style="white-space: pre-wrap; margin: 4px 0">{escape(report.message)}</pre>'
              f'<p class="ecosim-error-hint" style="margin: 0"><b>What to do:</b> {escape(report.hint)}</p></div>')
    return solara.HTML(tag="div", unsafe_innerHTML=markup, classes=["ecosim-error"])


def run_state_text(session: VizSession) -> str:
    """One line on where the run is: running, finished (with what to do next) or stopped by an error."""
    eco = session.model.ecosystem
    if session.error is not None:
        return f"Stopped at quarter {eco.steps} by an error (see above the charts): fix it and press Reset."
    if session.finished:
        return (f"Run finished: all {eco.planned_steps} quarters done. Change a lever or a rule and press Reset — "
                "this run stays in the charts as a dashed ghost to compare with.")
    if eco.steps == 0:
        return f"Ready: press Step or ▶ to run {eco.planned_steps} quarters."
    return f"Quarter {eco.steps} of {eco.planned_steps}."


@solara.component
def RunControls(session: VizSession, play_interval_ms: solara.Reactive[int]):
    """Reset, Play/Pause, Step, Apply now, and the run's state in words."""
    update_counter.get()
    playing = solara.use_reactive(False)

    def play_loop():
        model = session.model  # a Reset ends this loop: it never steps a model it did not start on
        while playing.value and session.model is model:
            time.sleep(play_interval_ms.value / 1000)
            if not playing.value or session.model is not model:
                break
            ran = session.step("while playing")
            if not ran:
                playing.value = False
            force_update()

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)

    def reset():
        playing.value = False
        session.reset()
        force_update()

    def step():
        session.step()
        force_update()

    def play_pause():
        playing.value = not playing.value and not session.finished and session.error is None

    def apply_now():
        session.apply_now()
        force_update()

    blocked = session.finished or session.error is not None
    pending = session.pending_changes()
    with solara.Column(gap="6px", classes=["ecosim-run-controls"]) as controls:
        with solara.Row(gap="6px"):
            solara.Button("Reset", color="primary", on_click=reset, classes=["ecosim-reset"])
            solara.Button("❚❚ Pause" if playing.value else "▶ Play", color="primary", on_click=play_pause,
                          disabled=blocked and not playing.value, classes=["ecosim-play"])
            solara.Button("Step", color="primary", on_click=step, disabled=blocked or playing.value,
                          classes=["ecosim-step"])
        solara.Button(f"Apply {len(pending)} change(s) now" if pending else "Apply now (nothing changed)",
                      on_click=apply_now, disabled=not pending or blocked, outlined=True, classes=["ecosim-apply"])
        solara.HTML(tag="div", unsafe_innerHTML=escape(run_state_text(session)), classes=["ecosim-run-state"],
                    style="font-size: 13px; color: #333")
        solara.HTML(tag="div", unsafe_innerHTML=f"Pause between quarters while playing: {play_interval_ms.value} ms",
                    style="font-size: 13px")
        solara.SliderInt("", value=play_interval_ms, min=10, max=1000, step=10, thumb_label=False)
    return controls


@solara.component_vue("value_box.vue")
def ValueBox(shown: str, rejected: dict, event_typed: Callable[[str], None], label: str = ""):
    """A box to type a value in. Every change of its text reaches ``event_typed`` at once (not
    only on Enter or when the box is left); ``shown`` is the value in effect, which the box shows
    while it is not being edited; ``rejected`` (``{text, message}``) turns the box red while it
    holds that text, with the message on hover.

    Why not Solara's ``InputInt``/``InputFloat``/``InputText`` (issue 15): a typed value was lost
    when Reset followed it while the model played. Their text is a widget property, which every
    redraw of the page (each quarter, from Play's thread) set back to the last value passed on,
    over a number still being typed; and ``InputInt``/``InputFloat`` pass a value on only in
    their next render, which Play's thread could be doing while a Reset click read the old value.
    Here the text stays in the browser, and the handler keeps the value before it returns.
    """


@solara.component
def LeverInput(session: VizSession, lever: Lever):
    """A lever: its short label (full description on hover), a slider and a box to type the value in."""
    value = solara.use_reactive(session.choices[lever.keyword])
    rejected = solara.use_reactive({})

    def set_value(new):
        if new is None:
            return
        new = int(round(new)) if lever.integer else float(new)
        # kept here, in the handler, not in a render: a Reset clicked next reads it, whichever
        # thread (Play's) is redrawing the page meanwhile
        session.choices[lever.keyword] = new
        if value.value != new:
            value.value = new
            force_update()

    def typed(text: str):
        try:
            new = lever.value_from_text(text)
        except ValueError as exc:  # the value in effect stays; the box turns red until fixed or left
            rejected.set({"text": text, "message": str(exc)})
            return
        rejected.set({})
        set_value(new)

    live = " · can change mid-run (Apply now)" if lever.keyword in LIVE_LEVERS else " · applied on Reset"
    minimum, maximum = min(lever.minimum, value.value), max(lever.maximum, value.value)
    with solara.Column(gap="0px", classes=["ecosim-lever", f"ecosim-lever-{lever.keyword}"]) as column:
        solara.HTML(tag="div", unsafe_innerHTML=f'<span title="{escape(lever.label + live)}">{escape(lever.short)}</span>',
                    style="font-size: 13px; margin-top: 4px")
        with solara.Row(gap="6px", style="align-items: center; flex-wrap: nowrap"):
            slider = solara.SliderInt if lever.integer else solara.SliderFloat
            with solara.Div(style="flex: 1 1 auto; min-width: 120px"):
                slider("", value=value.value, min=minimum, max=maximum, step=lever.step, on_value=set_value,
                       thumb_label=False)
            with solara.Div(style="flex: 0 0 78px", classes=["ecosim-lever-value"]):
                ValueBox(shown=lever.text_of(value.value), rejected=rejected.value, event_typed=typed)
    return column


@solara.component
def RuleSelect(session: VizSession, kind: str):
    """A drop-down of the rules of ``kind``, each shown with its docstring's first line."""
    update_counter.get()
    keyword = rule_keyword(kind)
    chosen = session.choices[keyword]
    items = rule_options(kind)

    def choose(name):
        session.choices[keyword] = name
        force_update()

    try:
        doc = rule_doc(kind, chosen)
    except Exception:  # noqa: BLE001 — a rule removed from the file: the Reset error says so
        doc = "(no longer in the rules file)"
    with solara.Column(gap="0px", classes=["ecosim-rule", f"ecosim-rule-{kind}"]) as column:
        solara.v.Select(label=f"{kind.replace('_', ' ')} rule", items=items, v_model=chosen, on_v_model=choose,
                        dense=True, hide_details=True, class_=f"ecosim-rule-select-{kind}")
        solara.HTML(tag="div", unsafe_innerHTML=escape(doc), classes=["ecosim-rule-doc"],
                    style="font-size: 12px; color: #555; margin: 2px 0 6px 0")
    return column


@solara.component
def SeedInput(session: VizSession):
    """The seed box (empty: the scenario's seed, or a fresh one); checked on Reset."""
    seed = solara.use_reactive(session.choices.get("seed", ""))

    def typed(text: str):
        session.choices["seed"] = text  # kept at once, as a lever's value (see ValueBox)
        seed.set(text)

    ValueBox(shown=seed.value, rejected={}, event_typed=typed, label="Seed (empty: a fresh one)")


def export_tables(session: VizSession) -> bytes:
    """The run so far as a zip: per-step table, run summary and technology table (CSV), the
    resolved scenario's rules and levers, and a PNG of the activity and failure charts."""
    import io
    import json
    import zipfile

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecosim.rules import rules_in_effect
    from ecosim.run_figures import activity_figure, funnel_figure
    from ecosim.scenario import scenario_to_yaml

    model = session.model
    with model.lock:
        eco = model.ecosystem
        steps, summary, technologies = eco.step_table(), eco.summary(), eco.technology_table()
        scenario = eco.scenario
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("steps.csv", steps.to_csv(index=False))
        archive.writestr("summary.csv", "measure,value\n" + "".join(f"{k},{v}\n" for k, v in summary.items()))
        archive.writestr("technologies.csv", technologies.to_csv(index=False))
        archive.writestr("scenario.yaml", f"# seed {eco.seed}, after {eco.steps} quarters\n" + scenario_to_yaml(scenario))
        archive.writestr("provenance.json", json.dumps({
            "seed": eco.seed, "quarters_run": eco.steps, "rules": rules_in_effect(scenario.rules),
            "changes_mid_run": [{"step": c.step, "change": c.text} for c in session.changes]}, indent=2))
        if len(steps):
            for name, figure in (("activity.png", activity_figure(steps)), ("failures.png", funnel_figure(summary))):
                image = io.BytesIO()
                figure.savefig(image, format="png", dpi=110)
                plt.close(figure)
                archive.writestr(name, image.getvalue())
    return buffer.getvalue()


@solara.component_vue("page_png.vue")
def PagePngButton(filename: str, label: str, library_package: str, event_saved: Callable[[dict], None],
                  selector: str = ".ecosim-page"):
    """A button that draws the element ``selector`` (the whole page) as a PNG in the browser and
    downloads it as ``filename``; ``event_saved`` gets ``{ok, bytes, width, height}`` or
    ``{ok: False, error}``.

    The drawing is html-to-image's (:data:`ecosim.viz.assets.PAGE_IMAGE_PACKAGE`), loaded from the
    local asset cache, so it works offline and shows exactly what the student sees: the network,
    the text panel, the charts and the controls with every lever's value (the controls column is
    drawn whole, not only the part that fits the window).
    """


def saved_text(result: dict) -> str:
    """The line under the PNG button after a capture: what was saved, or why nothing was."""
    if result.get("ok"):
        return (f"Saved the page as PNG: {int(result.get('width', 0))}×{int(result.get('height', 0))} px, "
                f"{int(result.get('bytes', 0)) // 1024:,} kB (see your downloads).")
    return f"Could not draw the page: {result.get('error', 'unknown error')}. The zip and SVG exports still work."


@solara.component
def ExportButtons(session: VizSession):
    """Downloads: the run's tables and figures (zip), the charts as they are on the page (SVG), and
    the whole page as one PNG (network, charts and settings, drawn in the browser)."""
    update_counter.get()
    from ecosim.viz.assets import PAGE_IMAGE_PACKAGE
    from ecosim.viz.drawing import pipeline_svg, time_series_svg

    png_result = solara.use_reactive("")

    eco = session.model.ecosystem
    stem = f"ecosim-{eco.scenario.name}-seed{eco.seed}-q{eco.steps}"

    def charts() -> str:
        with session.model.lock:
            steps = eco.step_table()
        marks = [(c.step, c.text) for c in session.changes]
        return ("<html><body>" + time_series_svg(steps, session.ghost, marks) + pipeline_svg(steps)
                + "</body></html>")

    with solara.Column(gap="4px", classes=["ecosim-export"]) as column:
        solara.FileDownload(lambda: export_tables(session), filename=f"{stem}.zip", label="Tables and figures (zip)",
                            icon_name=None, mime_type="application/zip")
        solara.FileDownload(charts, filename=f"{stem}-charts.html", label="Charts as on the page (SVG)",
                            icon_name=None, mime_type="text/html")
        PagePngButton(filename=f"{stem}-page.png", label="Whole page (PNG)", library_package=PAGE_IMAGE_PACKAGE,
                      event_saved=lambda result: png_result.set(saved_text(result)))
        if png_result.value:
            solara.HTML(tag="div", unsafe_innerHTML=escape(png_result.value), classes=["ecosim-page-png-result"],
                        style="font-size: 12px; color: #333")
    return column


def _heading(title: str, note: str = "") -> None:
    extra = f' <span style="font-size: 12px; font-weight: normal; color: #555">({escape(note)})</span>' if note else ""
    solara.HTML(tag="div", unsafe_innerHTML=f"{escape(title)}{extra}",
                style="font-size: 16px; font-weight: 600; margin: 10px 0 4px 0; border-bottom: 1px solid #ddd")


@solara.component
def Controls(session: VizSession, play_interval_ms: solara.Reactive[int], shown: bool = True):
    """The controls column: run buttons, rules, seed and levers. Hidden (``shown=False``), it stays
    built, so showing it again creates no widgets."""
    with solara.Column(gap="4px", classes=["ecosim-controls"],
                       style={"width": f"{CONTROLS_WIDTH_PX}px", "min-width": f"{CONTROLS_WIDTH_PX}px",
                              # the column's d-flex class sets display with !important
                              "display": "block" if shown else "none !important", "flex": "0 0 auto",
                              "padding": "8px", "overflow-y": "auto", "overflow-x": "hidden",
                              "max-height": "calc(100vh - 56px)", "box-sizing": "border-box",
                              "background": "#fafafa", "border-right": "1px solid #ddd"}) as column:
        _heading("Run")
        with solara.Div(classes=["ecosim-section"]):
            RunControls(session, play_interval_ms)
        _heading("Rules")
        with solara.Div(classes=["ecosim-section"]):
            for kind in RULE_KINDS:
                RuleSelect(session, kind)
            solara.HTML(tag="div", style="font-size: 12px; color: #555",
                        unsafe_innerHTML="Reset re-reads your rules file: added, removed and renamed rules show here.")
        _heading("Export")
        with solara.Div(classes=["ecosim-section"]):
            ExportButtons(session)
        _heading("Levers", "hover a name for its meaning")
        with solara.Div(classes=["ecosim-section"]):
            SeedInput(session)
            for lever in LEVERS:
                LeverInput(session, lever)
    return column
