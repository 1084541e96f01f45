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
