"""The report and the notebooks as a reader sees them: opened in headless Chromium, every figure
rendered, no error text, and the answer on the first screen. Screenshots are kept in
``test-artifacts/``.

Uses Debian's ``/usr/bin/chromium`` driven by Playwright (no browser is downloaded).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import REPO

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
ARTIFACTS = REPO / "test-artifacts"
ERROR_TEXT = re.compile(r"Traceback|Error:|Exception|\bnan\b|NaN|undefined|None\b")
TINY = str(Path(REPO / "scenarios" / "tiny.yaml"))


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def check_page(browser, url: str, screenshot: str, first_screen_selector: str | None = None) -> str:
    """Open ``url``; every image decoded with a size, no error text; returns the page text."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.wait_for_load_state("load")
    images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])")
    assert images, "no figures on the page"
    assert all(done and width > 50 and height > 50 for done, width, height in images), images
    text = page.inner_text("body")
    found = ERROR_TEXT.findall(text)
    assert not found, f"error text on the page: {found[:5]}"
    if first_screen_selector:
        box = page.locator(first_screen_selector).bounding_box()
        assert box is not None and box["y"] < 900, "the answer is not on the first screen"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{screenshot}-first-screen.png"))
    page.screenshot(path=str(ARTIFACTS / f"{screenshot}-full.png"), full_page=True)
    shot = (ARTIFACTS / f"{screenshot}-first-screen.png").read_bytes()
    assert len(shot) > 20_000  # a rendered page, not a blank one
    page.close()
    return text


def test_report_renders_every_figure_and_answers_on_the_first_screen(browser, tmp_path):
    from ecosim.cli import main

    experiment = tmp_path / "e.yaml"
    experiment.write_text(f"""
name: browser_report
description: Do more technology managers convert more research in the tiny world?
scenarios:
  - file: {TINY}
    name: baseline
  - file: {TINY}
    name: more_managers
    overrides: {{policy.managers.managers_per_region: 20}}
replications: 4
seed: 8
steps: 12
""")
    out = tmp_path / "results"
    assert main(["sweep", str(experiment), "--out", str(out), "--executor", "serial"]) == 0
    assert main(["report", str(out)]) == 0
    text = check_page(browser, (out / "report.html").as_uri(), "report", "#ranking")
    assert "Question: Do more technology managers" in text
    assert "more_managers" in text.split("What was run")[0]  # ranked before the details


@pytest.mark.slow
@pytest.mark.parametrize("name", ["02_which_policy", "04_change_a_rule"])
def test_executed_notebook_renders_its_figures_without_errors(browser, tmp_path, name):
    nbclient = pytest.importorskip("nbclient")
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.read(REPO / "notebooks" / f"{name}.ipynb", as_version=4)
    os.environ["ECOSIM_NOTEBOOK_RESULTS"] = str(tmp_path)
    try:
        nbclient.NotebookClient(notebook, kernel_name="python3", timeout=900,
                                resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    finally:
        os.environ.pop("ECOSIM_NOTEBOOK_RESULTS", None)
    body, _ = HTMLExporter(exclude_input=False).from_notebook_node(notebook)
    page = tmp_path / f"{name}.html"
    page.write_text(body, encoding="utf-8")
    text = check_page(browser, page.as_uri(), f"notebook-{name}")
    assert "Which policy?" in text or "Change a rule" in text or "rule" in text


FITS_JS = """() => {
  const problems = [];
  const viewport = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > viewport)
    problems.push(`the page is ${document.documentElement.scrollWidth} px wide in a ${viewport} px window`);
  const what = el => `${el.tagName.toLowerCase()} "${(el.innerText || el.alt || '').trim().slice(0, 50)}"`;
  for (const el of document.querySelectorAll('h1, h2, p, table, caption, figure, img, figcaption, div.scroll')) {
    const box = el.getBoundingClientRect();
    const parent = el.parentElement.getBoundingClientRect();
    if (box.right > parent.right + 1 || box.left < parent.left - 1)
      problems.push(`${what(el)} is ${Math.round(box.width)} px wide in a ${Math.round(parent.width)} px container`);
    if (box.right > viewport + 1) problems.push(`${what(el)} ends at ${Math.round(box.right)} px, off the screen`);
    if (el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'TABLE')
      problems.push(`${what(el)} hides ${el.scrollWidth - el.clientWidth} px of its content (it scrolls)`);
  }
  return problems;
}"""

VERDICT_CELLS_JS = """selector => {
  const cells = [...document.querySelectorAll(selector)];
  return cells.map(cell => {
    cell.scrollIntoView({block: 'center', inline: 'nearest'});
    const box = cell.getBoundingClientRect();
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return {text: cell.innerText.trim(), left: box.left, right: box.right, width: box.width,
            window: document.documentElement.clientWidth, visible: hit !== null && cell.contains(hit)};
  });
}"""


def _posterior_report(tmp_path) -> Path:
    """The report of the small sweep dressed as the widest one: three policies (one with a long
    name), runs from posterior draws (a P(better) column), a question from the experiment."""
    import pandas as pd

    from analysis_data import small_sweep
    from ecosim.report import Results, write_report

    runs, steps = small_sweep()
    policy = runs[runs["scenario"] == "more_managers"]
    extra = policy.assign(scenario="incentive_reform_with_long_name",
                          run_id=policy["run_id"] + "x", deals=policy["deals"] * 1.2)
    runs = pd.concat([runs, extra], ignore_index=True).assign(
        posterior_draw=lambda f: f["replication"].map({0: 17, 1: 3, 2: 17, 3: 40}))
    index = {"experiment_name": "browser_widths", "design": "scenarios", "replications": 4,
             "question": "Which policy converts more research?", "description": "Two policies, tiny world.",
             "posterior": {"file": "posterior.parquet", "particles": 500, "effective_sample_size": 10.5,
                           "keys": ["technology.matching_lambda"], "draws": [17, 3, 17, 40]}}
    out = tmp_path / "widths.html"
    write_report(Results(tmp_path, runs, steps, index), out)
    return out


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1024, 768)])
def test_report_fits_the_screen_and_every_verdict_is_visible(browser, tmp_path, width, height):
    """No table, figure or text block is wider than its container or the window, and every cell
    of a verdict column can be seen: a wide comparison no longer hides its verdicts off the
    right edge (or in a scrolled box)."""
    url = _posterior_report(tmp_path).as_uri()
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(url)
    page.wait_for_load_state("load")
    assert page.inner_text("p.question").startswith("Question: Which policy converts more research?")
    assert page.evaluate(FITS_JS) == []
    # folded tables fit too, once a reader opens them
    assert page.evaluate("() => { const d = [...document.querySelectorAll('details')]; "
                         "d.forEach(e => { e.open = true; }); return d.length; }") >= 1
    assert page.evaluate(FITS_JS) == []
    # every cell that gives a verdict carries its verdict's class (and colour)
    from ecosim import plots, report

    selector = ", ".join(f"td.{report.verdict_class(v)}" for v in plots.VERDICT_COLOURS)
    cells = page.evaluate(VERDICT_CELLS_JS, selector)
    assert len(cells) >= 12  # 2 policies × 3 primary outcomes, in the ranking and in the P(better) table
    hidden = [c for c in cells if not (c["visible"] and c["left"] >= 0 and c["right"] <= c["window"] + 1
                                       and c["width"] > 40)]
    assert not hidden, hidden
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-widths-{width}.png"), full_page=True)
    page.close()
