"""The served visualiser in a real browser: ``ecosim viz`` driven in headless Chromium.

One server (``ecosim viz scenarios/tiny.yaml --rules <user file> --port <free>``) serves the
module and one page is opened on it (loading the page is the slow part on a busy machine), so
the tests run in file order on the same session: load, step, play and pause, switch a rule
and reset, move a slider and reset. Each Reset builds a new model, so each test starts from its own. Chromium is
Debian's ``/usr/bin/chromium`` (installed by ``.ci/run``), driven with Playwright's bundled
driver; no browser is downloaded. A screenshot of the page is kept in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from conftest import REPO, TINY

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts"
SERVER_START_SECONDS = 120
PAGE_TIMEOUT_MS = 60_000

USER_RULES = '''
from ecosim.rules import register

@register("adoption", "everyone_adopts")
def everyone_adopts(candidates):
    """Every reachable enterprise is willing."""
    return candidates.fit * 0 + 1.0
'''


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``ecosim viz`` running on a free local port; yields its printed URL."""
    folder = tmp_path_factory.mktemp("viz")
    rules = folder / "my_rules.py"
    rules.write_text(USER_RULES)
    log = folder / "server.log"
    port = _free_port()
    command = [sys.executable, "-c", "import sys; from ecosim.cli import main; sys.exit(main())",
               "viz", str(TINY), "--rules", str(rules), "--port", str(port)]
    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        url = None
        while url is None:
            found = re.search(r"at (http://127\.0\.0\.1:\d+/)", log.read_text())
            if found:
                url = found.group(1)
            elif server.poll() is not None:
                pytest.fail(f"ecosim viz exited with {server.returncode}:\n{log.read_text()}")
            elif time.monotonic() > deadline:
                pytest.fail(f"ecosim viz did not print its address in {SERVER_START_SECONDS} s:\n{log.read_text()}")
            else:
                time.sleep(0.2)
        assert url == f"http://127.0.0.1:{port}/"
        yield url
    finally:
        server.send_signal(signal.SIGTERM)  # ecosim viz stops its solara child on SIGTERM
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        time.sleep(0.5)
        try:
            os.killpg(server.pid, signal.SIGKILL)  # anything of that session left behind
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(browser, served):
    """The page (one session) with the network drawn; JavaScript errors fail the module."""
    context = browser.new_context(viewport={"width": 1500, "height": 1150})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(served)
    page.wait_for_selector(".ecosim-network svg", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector(".ecosim-pipeline svg", timeout=PAGE_TIMEOUT_MS)
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def _step_number(page) -> str:
    return page.locator(".ecosim-step-number").inner_text()


def _waiting_bars(page) -> list[str]:
    return page.locator(".ecosim-pipeline rect.bar-waiting").evaluate_all(
        "bars => bars.map(b => b.getAttribute('data-value'))")


def _press_reset_and_wait(page, expected_text: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Reset").click()
    expect(page.locator(".ecosim-status")).to_contain_text(expected_text, timeout=PAGE_TIMEOUT_MS)


def test_page_loads_with_the_network_the_charts_and_the_text_panel(page):
    network = page.locator(".ecosim-network svg")
    for kind in ("government", "university", "enterprise", "technology_manager", "investor"):
        assert page.locator(f".ecosim-network .node-{kind}").count() > 0, kind
    legend = network.text_content()
    assert "technology manager" in legend and "brokerage" in legend and "Region 2" in legend
    assert page.locator(".ecosim-network .tie").count() >= 3
    assert page.locator(".ecosim-timeseries svg").count() == 1
    assert "waiting at each gate now" in page.locator(".ecosim-pipeline svg").text_content()
    assert _step_number(page) == "0"
    for control in ("Reset", "Step"):
        assert page.get_by_role("button", name=control).is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viz-page-loaded.png"), full_page=True)


def test_step_advances_the_counter_and_changes_the_pipeline_chart(page):
    from playwright.sync_api import expect

    _press_reset_and_wait(page, "Step 0")
    before = _waiting_bars(page)
    chart_before = page.locator(".ecosim-pipeline svg").inner_html()
    for expected in ("1", "2"):
        page.get_by_role("button", name="Step").click()
        expect(page.locator(".ecosim-step-number")).to_have_text(expected, timeout=PAGE_TIMEOUT_MS)
    assert "quarter 2 of year 1" in page.locator(".ecosim-status").inner_text()
    after = _waiting_bars(page)
    assert after != before and sum(float(v) for v in after) > 0
    assert page.locator(".ecosim-pipeline svg").inner_html() != chart_before
    assert page.locator(".ecosim-timeseries polyline").count() == 5
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viz-after-two-steps.png"), full_page=True)


def test_play_runs_quarter_after_quarter_until_paused(page):
    from playwright.sync_api import expect

    _press_reset_and_wait(page, "Step 0")
    page.get_by_role("button", name="▶").click()
    expect(page.locator(".ecosim-step-number")).to_have_text(re.compile(r"^([3-9]|[1-9]\d)$"), timeout=PAGE_TIMEOUT_MS)
    page.get_by_role("button", name="❚❚").click()
    expect(page.get_by_role("button", name="▶")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    time.sleep(1.0)  # a quarter already under way may still finish
    paused_at = _step_number(page)
    time.sleep(1.5)
    assert _step_number(page) == paused_at


def test_choosing_a_users_rule_and_pressing_reset_rebuilds_the_model_with_it(page):
    from playwright.sync_api import expect

    page.get_by_role("button", name="Step").click()
    expect(page.locator(".ecosim-step-number")).not_to_have_text("0", timeout=PAGE_TIMEOUT_MS)
    assert "adoption = value_hurdle" in page.locator(".ecosim-status").inner_text()
    page.locator(".v-select").filter(has_text="adoption rule").click()
    page.get_by_role("option", name="everyone_adopts").click()
    _press_reset_and_wait(page, "adoption = everyone_adopts")
    assert _step_number(page) == "0"  # a new model
    page.get_by_role("button", name="Step").click()
    expect(page.locator(".ecosim-step-number")).to_have_text("1", timeout=PAGE_TIMEOUT_MS)
    assert "adoption = everyone_adopts" in page.locator(".ecosim-status").inner_text()


def test_moving_a_slider_and_pressing_reset_changes_the_models_parameter(page):
    status = page.locator(".ecosim-status")
    _press_reset_and_wait(page, "managers_per_region = 5")
    slider = page.locator(".v-slider").filter(has_text="Technology managers per region").get_by_role("slider")
    slider.focus()
    slider.press("ArrowRight")
    slider.press("ArrowRight")
    assert slider.get_attribute("aria-valuenow") == "7"
    _press_reset_and_wait(page, "managers_per_region = 7")
    assert "7 technology managers" in status.inner_text()
    assert page.locator(".ecosim-network .node-technology_manager").count() == 14  # 7 in each of 2 regions
