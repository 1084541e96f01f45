"""The served visualiser in a real browser: ``ecosim viz`` driven in headless Chromium.

One server (``ecosim viz scenarios/tiny.yaml --rules <user file> --port <free>``) serves the
module and one page is opened on it (loading the page is the slow part on a busy machine), so
the tests run in file order on the same session: load, step, play and pause, switch a rule
and reset, type a lever's value and reset, type values while playing and reset at once (none may be
lost), a rule that raises on step, on play and on reset (the page keeps its controls, the panel
names the rule and line, fixing the file recovers),
rules added to and removed from the file, the ghost of the previous run, a lever changed
mid-run, a finished run, the Info tab, the whole page exported as one PNG, the icon font loaded
from the local cache with every outside request blocked, and a second page at 1024×768 with the
controls hidden and shown again. Each Reset builds a new model, so each test starts from its own.
JavaScript errors fail the test during which the page raised them (:class:`PageWatch`); at the
end, pages are closed once quiet, then the browser, then the server, which must stop within
SERVER_STOP_SECONDS of SIGTERM with nothing of its process group left. Chromium is
Debian's ``/usr/bin/chromium`` (installed by ``.ci/run``), driven with Playwright's bundled
driver; no browser is downloaded. Screenshots are kept in ``test-artifacts/`` (the ones at
1440×900 and 1024×768 are copied to docs/ when the page changes), and the measured Step and Reset times in
``test-artifacts/viz-timings.json`` (docs/VISUALISER.md, Speed).
"""

from __future__ import annotations

import json
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
SERVER_STOP_SECONDS = 60
PAGE_TIMEOUT_MS = 60_000

USER_RULES = '''
import numpy as np
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
        yield url, rules
    finally:
        _stop_server(server, log)


def _stop_server(server: subprocess.Popen, log) -> None:
    """SIGTERM ``ecosim viz`` and wait for it; it stops and waits for its Solara child itself.

    Fails the test run, after killing the whole process group, if the server is still running
    :data:`SERVER_STOP_SECONDS` later, or if a process of its group outlives it: a server that
    does not stop is reported, not silently killed.
    """
    running = server.poll() is None  # not, if it failed to start: the setup has said so
    if running:
        server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=SERVER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        pytest.fail(f"ecosim viz did not stop within {SERVER_STOP_SECONDS} s of SIGTERM (killed):\n{log.read_text()}")
    try:
        os.killpg(server.pid, 0)  # ecosim viz has waited for its child, so its group should be empty
    except ProcessLookupError:
        pass
    else:
        os.killpg(server.pid, signal.SIGKILL)
        pytest.fail(f"a process of ecosim viz's group was still running after it exited (killed):\n{log.read_text()}")
    if running and server.returncode != 128 + signal.SIGTERM:  # what ecosim viz exits with on SIGTERM
        pytest.fail(f"ecosim viz exited with {server.returncode}, not {128 + signal.SIGTERM}:\n{log.read_text()}")


def _jupyter_message(payload: str | bytes) -> dict:
    """The Jupyter message in one of Solara's websocket frames: JSON text, or binary (a count of
    parts, their offsets, the JSON part first: ``solara.server.kernel.serialize_binary_message``)."""
    if isinstance(payload, bytes):
        if len(payload) < 8:
            return {}
        parts, start = int.from_bytes(payload[:4], "big"), int.from_bytes(payload[4:8], "big")
        end = int.from_bytes(payload[8:12], "big") if parts > 1 else len(payload)
        payload = payload[start:end]
    try:
        message = json.loads(payload)
    except ValueError:  # UnicodeDecodeError is a ValueError
        return {}
    return message if isinstance(message, dict) else {}


class PageWatch:
    """One page's JavaScript errors, and whether its Solara session is quiet.

    Each error is kept with its stack and the test it was raised in (:attr:`test`). The page is
    *quiet* when every request it sent over Solara's websocket has been answered — Solara sends
    the kernel status "idle" for a request after handling it and sending every update it caused
    (``solara.server.server.process_kernel_messages``) — and no frame has passed for
    QUIET_SECONDS (the updates the server's Play thread pushes carry no status).

    :meth:`close` waits for that, stops listening, and only then closes the page's context, so
    that an error caused by a test's last action is seen, and the page's own teardown (its
    ``pagehide`` handler disposes the kernel connection while messages may still be arriving)
    cannot report errors that are not the page's. The fixtures close pages before the browser,
    and the browser before the server stops.
    """

    QUIET_SECONDS = 0.5

    def __init__(self, page):
        self.page = page
        self.test = "(loading)"
        self.errors: list[str] = []
        self.reported = 0
        self.pending: set[str] = set()
        self.last_frame = time.monotonic()
        page.on("pageerror", self._error)
        page.on("websocket", self._websocket)

    def _error(self, error) -> None:
        lines = (error.stack or f"{error.name}: {error.message}").splitlines()[:8]  # the stack starts with the message
        self.errors.append(f"[{self.test}] " + "\n    ".join(lines))

    def _websocket(self, socket) -> None:
        socket.on("framesent", self._sent)
        socket.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        self.last_frame = time.monotonic()
        message = _jupyter_message(payload)
        if message.get("channel", "shell") == "shell" and "msg_id" in message.get("header", {}):
            self.pending.add(message["header"]["msg_id"])

    def _received(self, payload) -> None:
        self.last_frame = time.monotonic()
        message = _jupyter_message(payload)
        if (message.get("header", {}).get("msg_type") == "status"
                and message.get("content", {}).get("execution_state") == "idle"):
            self.pending.discard(message.get("parent_header", {}).get("msg_id"))

    def settle(self) -> None:
        """Wait until the page is quiet; fail if it is not within PAGE_TIMEOUT_MS."""
        deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
        while self.pending or time.monotonic() - self.last_frame < self.QUIET_SECONDS:
            if time.monotonic() > deadline:
                pytest.fail(f"the page was not quiet {PAGE_TIMEOUT_MS / 1000:.0f} s after {self.test}: "
                            f"{len(self.pending)} request(s) to the server unanswered")
            self.page.wait_for_timeout(100)  # lets Playwright deliver the page's events meanwhile

    def new_errors(self) -> list[str]:
        """The errors not returned before."""
        errors, self.reported = self.errors[self.reported:], len(self.errors)
        return errors

    def close(self) -> list[str]:
        """Settle, stop listening, close the page's context; returns the errors not returned before."""
        try:
            self.settle()
        finally:
            self.page.remove_listener("pageerror", self._error)
            self.page.context.close()
        return self.new_errors()


@pytest.fixture(scope="module")
def browser(served):
    """Headless Chromium. It asks for ``served`` so that it is closed before the server stops."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def watched_page(browser, served):
    """The module's page (one session) with the network drawn, and its :class:`PageWatch`;
    errors no test was failed for fail the module at the end."""
    context = browser.new_context(viewport={"width": 1500, "height": 1150})
    watch = PageWatch(context.new_page())
    try:
        watch.page.goto(served[0])
        watch.page.wait_for_selector(".ecosim-network svg", timeout=PAGE_TIMEOUT_MS)
        watch.page.wait_for_selector(".ecosim-pipeline svg", timeout=PAGE_TIMEOUT_MS)
        yield watch
    finally:
        errors = watch.close()
    assert errors == [], "JavaScript errors on the page:\n" + "\n".join(errors)


@pytest.fixture
def page(watched_page, request):
    """The module's page, for one test: JavaScript errors raised during the test fail it."""
    watched_page.test = request.node.name
    yield watched_page.page
    watched_page.settle()
    errors = watched_page.new_errors()
    assert errors == [], "JavaScript errors on the page:\n" + "\n".join(errors)


@pytest.fixture
def open_page(browser, served, request):
    """Opens the served page in a new context of the given size; when the test ends, passed or
    failed, every page it opened is settled and closed, and their JavaScript errors fail it."""
    watches: list[PageWatch] = []

    def open_(width: int, height: int):
        watch = PageWatch(browser.new_context(viewport={"width": width, "height": height}).new_page())
        watch.test = request.node.name
        watches.append(watch)
        return watch.page

    yield open_
    problems: list[str] = []
    for watch in watches:
        try:
            problems += watch.close()
        except (Exception, pytest.fail.Exception) as exc:
            problems.append(f"closing the page: {exc}")
    assert problems == [], "JavaScript errors on the page:\n" + "\n".join(problems)


def _step_number(page) -> str:
    return page.locator(".ecosim-step-number").inner_text()


def _waiting_bars(page) -> list[str]:
    return page.locator(".ecosim-pipeline rect.bar-waiting").evaluate_all(
        "bars => bars.map(b => b.getAttribute('data-value'))")


def _press_reset_and_wait(page, expected_text: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Reset").click()
    expect(page.locator(".ecosim-status")).to_contain_text(expected_text, timeout=PAGE_TIMEOUT_MS)


def _step(page, expected: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("button", name="Step").click()
    expect(page.locator(".ecosim-step-number")).to_have_text(expected, timeout=PAGE_TIMEOUT_MS)


def _choose_rule(page, kind: str, name: str) -> None:
    page.locator(f".ecosim-rule-{kind} .v-select").click()
    page.get_by_role("option", name=re.compile(rf"^{re.escape(name)}\b")).click()


def _open_rule_in_code_tab(page, name: str):
    """Open the Code tab and the rule ``name``: (the tab, its text area, the rule's source)."""
    from playwright.sync_api import expect

    page.get_by_role("button", name="Code").click()
    code = page.locator(".ecosim-code")
    expect(code).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    code.locator(".v-select").filter(has_text="open rule").click()
    page.get_by_role("option", name=name).click()
    text = code.locator(".ecosim-code-text textarea")
    expect(text).to_have_value(re.compile(rf"^def {name}\("), timeout=PAGE_TIMEOUT_MS)
    return code, text, text.input_value()


def _type_lever(page, keyword: str, value: str) -> None:
    box = page.locator(f".ecosim-lever-{keyword} .ecosim-lever-value input")
    box.fill(value)
    box.press("Enter")


def _write_rules(served, extra: str = "") -> str:
    """The served rules file: the usual rule plus ``extra``; returns the whole text."""
    text = USER_RULES + extra
    served[1].write_text(text, encoding="utf-8")
    return text


def _line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def _controls_still_there(page) -> None:
    for control in ("Reset", "Step"):
        assert page.get_by_role("button", name=control).is_visible()
    assert page.locator(".ecosim-network svg").is_visible()
    assert page.locator(".ecosim-timeseries svg").is_visible()
    assert page.locator(".ecosim-rule-adoption .v-select").is_visible()


BROKEN_RULE = '''

@register("adoption", "broken_rule")
def broken_rule(c):
    """Willing only where the fit is good (a student's rule)."""
    return np.where(c.fit > 0.3, 1.0, 0.0){mistake}
'''


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
    _controls_still_there(page)
    assert "Ready: press Step" in page.locator(".ecosim-run-state").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viz-page-loaded.png"), full_page=True)


def test_step_advances_the_counter_and_changes_the_pipeline_chart(page):
    _press_reset_and_wait(page, "Step 0")
    before = _waiting_bars(page)
    chart_before = page.locator(".ecosim-pipeline svg").inner_html()
    for expected in ("1", "2"):
        _step(page, expected)
    assert "quarter 2 of year 1" in page.locator(".ecosim-status").inner_text()
    after = _waiting_bars(page)
    assert after != before and sum(float(v) for v in after) > 0
    assert page.locator(".ecosim-pipeline svg").inner_html() != chart_before
    assert page.locator(".ecosim-timeseries polyline.line-count, .ecosim-timeseries polyline.line-money").count() == 5
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viz-after-two-steps.png"), full_page=True)


def test_play_runs_quarter_after_quarter_until_paused(page):
    from playwright.sync_api import expect

    _press_reset_and_wait(page, "Step 0")
    page.get_by_role("button", name="▶ Play").click()
    expect(page.locator(".ecosim-step-number")).to_have_text(re.compile(r"^([3-9]|[1-9]\d)$"), timeout=PAGE_TIMEOUT_MS)
    page.get_by_role("button", name="❚❚ Pause").click()
    expect(page.get_by_role("button", name="▶ Play")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    time.sleep(1.0)  # a quarter already under way may still finish
    paused_at = _step_number(page)
    time.sleep(1.5)
    assert _step_number(page) == paused_at


def test_rule_drop_down_shows_each_rules_docstring_line(page):
    page.locator(".ecosim-rule-adoption .v-select").click()
    option = page.get_by_role("option", name=re.compile(r"^everyone_adopts"))
    assert "Every reachable enterprise is willing." in option.inner_text()
    assert "Willing when the appraised value clears" in page.get_by_role(
        "option", name=re.compile(r"^value_hurdle")).inner_text()
    page.keyboard.press("Escape")
    assert "Willing when the appraised value clears" in page.locator(".ecosim-rule-adoption .ecosim-rule-doc").inner_text()


def test_choosing_a_users_rule_and_pressing_reset_rebuilds_the_model_with_it(page):
    _step(page, re.compile(r"^\d+$"))
    assert "adoption = value_hurdle" in page.locator(".ecosim-status").inner_text()
    _choose_rule(page, "adoption", "everyone_adopts")
    _press_reset_and_wait(page, "adoption = everyone_adopts")
    assert _step_number(page) == "0"  # a new model
    _step(page, "1")
    assert "adoption = everyone_adopts" in page.locator(".ecosim-status").inner_text()
    _choose_rule(page, "adoption", "value_hurdle")


def test_typing_a_levers_value_and_pressing_reset_changes_the_models_parameter(page):
    from playwright.sync_api import expect

    status = page.locator(".ecosim-status")
    _press_reset_and_wait(page, "managers_per_region = 5")
    box = page.locator(".ecosim-lever-managers_per_region .ecosim-lever-value input")
    assert box.input_value() == "5"  # the value is always shown, not only while the thumb is focused
    _type_lever(page, "managers_per_region", "7")
    slider = page.locator(".ecosim-lever-managers_per_region").get_by_role("slider")
    expect(slider).to_have_attribute("aria-valuenow", "7", timeout=PAGE_TIMEOUT_MS)  # the slider follows
    _press_reset_and_wait(page, "managers_per_region = 7")
    assert "7 technology managers" in status.inner_text()
    assert page.locator(".ecosim-network .node-technology_manager").count() == 14  # 7 in each of 2 regions
    # a text that is not a whole number turns the box red, says why on hover, and changes nothing
    _type_lever(page, "managers_per_region", "seven")
    red = page.locator(".ecosim-lever-managers_per_region .ecosim-lever-value .v-input--error")
    expect(red).to_have_count(1, timeout=PAGE_TIMEOUT_MS)
    assert "'seven' is not a whole number" in box.get_attribute("title")
    _press_reset_and_wait(page, "managers_per_region = 7")
    expect(box).to_have_value("7")  # left, the box shows the value in effect again
    expect(red).to_have_count(0)
    # a value between the grid's steps (the baseline's 0.04 M¥ grant under the old 0.1 step)
    _type_lever(page, "poc_grant_size", "0.04")
    _press_reset_and_wait(page, "poc_grant_size = 0.04")
    title = page.locator(".ecosim-lever-poc_budget_share span[title]").get_attribute("title")
    assert "share of the government budget" in title  # the full description on hover


def test_a_typed_value_is_never_lost_when_reset_follows_at_once(page):
    """Values typed while the model plays and followed at once by Reset — after Enter, or straight
    from the box — are the ones the new world is built with, every time (issue 15: a typed value was
    lost in 4 of 10 loops under load). The values change every time, so a lost one shows."""
    from playwright.sync_api import expect

    status = page.locator(".ecosim-status")
    quarters_box = page.locator(".ecosim-lever-quarters .ecosim-lever-value input")
    seed_box = page.get_by_label("Seed (empty: a fresh one)")
    seed_before = seed_box.input_value()
    for attempt, quarters in enumerate((25, 31, 26, 29, 27, 30, 28, 24, 23, 32)):
        page.get_by_role("button", name="▶ Play").click()  # the server redraws the page every quarter
        expect(page.locator(".ecosim-step-number")).not_to_have_text("0", timeout=PAGE_TIMEOUT_MS)
        seed_box.fill(str(1000 + attempt))
        quarters_box.fill(str(quarters))
        if attempt % 2 == 0:
            quarters_box.press("Enter")
        page.get_by_role("button", name="Reset").click()
        expect(status).to_contain_text(re.compile(rf"Step 0 of {quarters} —"), timeout=PAGE_TIMEOUT_MS)
        expect(status).to_contain_text(re.compile(rf"seed {1000 + attempt}(?!\d)"))
        expect(quarters_box).to_have_value(str(quarters))
    seed_box.fill(seed_before)
    _press_reset_and_wait(page, "Step 0 of 32")


def test_a_rule_that_raises_on_step_shows_a_panel_and_fixing_the_file_recovers(page, served):
    from playwright.sync_api import expect

    text = _write_rules(served, BROKEN_RULE.format(mistake=" + undefined_name"))
    line = _line_of(text, "return np.where(c.fit > 0.3")
    _press_reset_and_wait(page, "Step 0")  # Reset re-reads the file: the new rule is offered
    _choose_rule(page, "adoption", "broken_rule")
    _press_reset_and_wait(page, "adoption = broken_rule")
    panel = page.locator(".ecosim-error")
    step_button = page.get_by_role("button", name="Step")
    for quarter in range(1, 9):  # the adoption rule is called once a gate attempt reaches an enterprise
        if panel.count() or step_button.is_disabled():
            break
        step_button.click()
        deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
        while not panel.count() and _step_number(page) != str(quarter) and time.monotonic() < deadline:
            time.sleep(0.1)
    expect(panel).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    shown = panel.inner_text()
    assert "adoption rule 'broken_rule'" in shown and f"my_rules.py:{line}" in shown
    assert "NameError" in shown and "undefined_name" in shown and "on Step" in shown
    _controls_still_there(page)
    assert page.get_by_role("button", name="Step").is_disabled()  # nothing runs on behind the panel
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viz-error-on-step.png"), full_page=True)
    _write_rules(served, BROKEN_RULE.format(mistake=""))
    _press_reset_and_wait(page, "adoption = broken_rule")  # the choice was kept
    expect(panel).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    _step(page, "1")


def test_a_rule_that_raises_while_playing_stops_play_with_the_panel(page, served):
    from playwright.sync_api import expect

    text = _write_rules(served, BROKEN_RULE.format(mistake=" * (1 / 0 if c.trl.size > 10**9 else None)"))
    line = _line_of(text, "return np.where(c.fit > 0.3")
    _press_reset_and_wait(page, "adoption = broken_rule")
    page.get_by_role("button", name="▶ Play").click()
    panel = page.locator(".ecosim-error")
    expect(panel).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    shown = panel.inner_text()
    assert "adoption rule 'broken_rule'" in shown and f"my_rules.py:{line}" in shown
    assert "while playing" in shown and "TypeError" in shown
    expect(page.get_by_role("button", name="▶ Play")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    stopped = _step_number(page)
    time.sleep(1.0)
    assert _step_number(page) == stopped
    _controls_still_there(page)
    _write_rules(served, BROKEN_RULE.format(mistake=""))
    _press_reset_and_wait(page, "Step 0")
    expect(panel).to_have_count(0, timeout=PAGE_TIMEOUT_MS)


def test_a_syntax_error_on_reset_shows_its_line_and_keeps_the_chosen_rules(page, served):
    from playwright.sync_api import expect

    text = _write_rules(served, BROKEN_RULE.format(mistake="") + "\ndef oops(:\n    pass\n")
    line = _line_of(text, "def oops(:")
    page.get_by_role("button", name="Reset").click()
    panel = page.locator(".ecosim-error")
    expect(panel).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    shown = panel.inner_text()
    assert f"my_rules.py:{line}" in shown and "syntax error" in shown and "on Reset" in shown
    _controls_still_there(page)
    assert page.get_by_role("button", name="Step").is_disabled()  # the old model does not run on
    _write_rules(served, BROKEN_RULE.format(mistake=""))
    _press_reset_and_wait(page, "adoption = broken_rule")
    expect(panel).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    _step(page, "1")


def test_rules_added_to_and_removed_from_the_file_follow_in_the_drop_down(page, served):
    from playwright.sync_api import expect

    _choose_rule(page, "adoption", "value_hurdle")
    _write_rules(served, BROKEN_RULE.format(mistake="").replace("broken_rule", "added_rule"))
    _press_reset_and_wait(page, "adoption = value_hurdle")
    page.locator(".ecosim-rule-adoption .v-select").click()
    added = page.get_by_role("option", name=re.compile(r"^added_rule"))
    expect(added).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    assert "Willing only where the fit is good" in added.inner_text()
    expect(page.get_by_role("option", name=re.compile(r"^broken_rule"))).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    page.keyboard.press("Escape")
    _write_rules(served)
    _press_reset_and_wait(page, "Step 0")
    page.locator(".ecosim-rule-adoption .v-select").click()
    expect(page.get_by_role("option", name=re.compile(r"^everyone_adopts"))).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    expect(page.get_by_role("option", name=re.compile(r"^added_rule"))).to_have_count(0, timeout=PAGE_TIMEOUT_MS)
    page.keyboard.press("Escape")


def test_the_previous_run_stays_as_a_ghost_after_reset(page):
    from playwright.sync_api import expect

    _press_reset_and_wait(page, "Step 0")
    for expected in ("1", "2", "3"):
        _step(page, expected)
    ghost = page.locator(".ecosim-timeseries polyline.line-ghost")
    _press_reset_and_wait(page, "Step 0")
    expect(ghost).to_have_count(5, timeout=PAGE_TIMEOUT_MS)
    # the three quarters of the run before; wait for them: the chart is redrawn apart from the
    # text panel, and until then shows an older ghost (a Reset of a run with no quarter keeps it)
    expect(ghost.first).to_have_attribute("points", re.compile(r"^\S+ \S+ \S+$"), timeout=PAGE_TIMEOUT_MS)
    assert "dashed: the previous run" in page.locator(".ecosim-timeseries svg").text_content()


def test_a_lever_changed_mid_run_acts_at_once_and_is_marked_on_the_charts(page):
    from playwright.sync_api import expect

    _press_reset_and_wait(page, "Step 0")
    _step(page, "1")
    _step(page, "2")
    _type_lever(page, "poc_grant_size", "0.5")
    apply = page.get_by_role("button", name=re.compile(r"^Apply 1 change"))
    expect(apply).to_be_enabled(timeout=PAGE_TIMEOUT_MS)
    apply.click()
    expect(page.locator(".ecosim-status")).to_contain_text("poc_grant_size = 0.50", timeout=PAGE_TIMEOUT_MS)
    assert _step_number(page) == "2"  # the same run, not a new one
    marks = page.locator('.ecosim-timeseries line.change-mark[data-step="2"]')
    expect(marks).to_have_count(4, timeout=PAGE_TIMEOUT_MS)
    assert "PoC grant 0.04 → 0.5" in marks.first.text_content()
    _step(page, "3")
    _type_lever(page, "poc_grant_size", "0.04")


def test_a_finished_run_says_it_has_finished(page):
    from playwright.sync_api import expect

    _type_lever(page, "quarters", "4")
    _press_reset_and_wait(page, "of 4")
    page.get_by_role("button", name="▶ Play").click()
    expect(page.locator(".ecosim-run-state")).to_contain_text("Run finished: all 4 quarters done",
                                                              timeout=PAGE_TIMEOUT_MS)
    assert "press Reset" in page.locator(".ecosim-run-state").inner_text()
    assert page.get_by_role("button", name="Step").is_disabled()
    _type_lever(page, "quarters", "32")
    _press_reset_and_wait(page, "of 32")


def test_the_info_tab_tells_what_the_model_is_and_how_to_write_a_rule(page):
    from playwright.sync_api import expect

    page.get_by_role("button", name="Info").click()
    info = page.locator(".ecosim-info")
    expect(info).to_contain_text("Things to try", timeout=PAGE_TIMEOUT_MS)
    text = info.inner_text()
    assert "What the model is" in text and "The rule contract" in text and "fit_seekers" in text
    page.get_by_role("button", name="Model").click()
    expect(page.locator(".ecosim-network svg")).to_be_visible(timeout=PAGE_TIMEOUT_MS)


def test_a_rule_written_in_the_code_tab_is_checked_kept_and_run(page):
    from playwright.sync_api import expect

    code, text, source = _open_rule_in_code_tab(page, "value_hurdle")
    name_box = code.get_by_label("new name")
    name_box.fill("steeper_hurdle")
    text.fill(source.replace("return _logistic(", "return np.mean(_logistic(").replace("c.hurdle_log))", "c.hurdle_log)))"))
    code.get_by_role("button", name="Check").click()
    result = page.locator(".ecosim-check-result")
    expect(result).to_contain_text("a single number", timeout=PAGE_TIMEOUT_MS)
    assert "line 1" in result.inner_text() and "failed" in result.get_attribute("class")
    text.fill(source.replace("return _logistic(", "return nothing + _logistic("))
    code.get_by_role("button", name="Check").click()
    expect(result).to_contain_text("NameError", timeout=PAGE_TIMEOUT_MS)
    assert "line 3" in result.inner_text()
    text.fill(source.replace("2.0", "4.0"))
    code.get_by_role("button", name="Check").click()
    expect(result).to_contain_text("Check passed", timeout=PAGE_TIMEOUT_MS)
    code.get_by_role("button", name="Run with it").click()
    page.get_by_role("button", name="Model").click()
    expect(page.locator(".ecosim-status")).to_contain_text("adoption = steeper_hurdle", timeout=PAGE_TIMEOUT_MS)
    _step(page, "1")
    _choose_rule(page, "adoption", "value_hurdle")


def test_code_typed_while_the_model_plays_is_kept_keystroke_by_keystroke(page):
    """Issue 15: the page is redrawn every quarter while the model plays; a text area whose value
    the server sends back with each redraw can drop keystrokes typed between two redraws. Typed
    key by key during Play, every character reaches the text area and the server: Check runs
    the typed line and quotes it back."""
    from playwright.sync_api import expect

    _type_lever(page, "quarters", "400")
    _press_reset_and_wait(page, "Step 0 of 400")
    page.get_by_role("button", name="▶ Play").click()
    expect(page.locator(".ecosim-step-number")).not_to_have_text("0", timeout=PAGE_TIMEOUT_MS)
    code, text, source = _open_rule_in_code_tab(page, "value_hurdle")
    typed = '\nraise RuntimeError("typed while the model plays: 0123456789 abcdefghij")'
    text.press("Control+End")
    text.press_sequentially(typed, delay=40)  # ~3 s of keystrokes, many quarters' redraws
    expect(text).to_have_value(source + typed)
    code.get_by_role("button", name="Check").click()
    result = page.locator(".ecosim-check-result")
    expect(result).to_contain_text("typed while the model plays: 0123456789 abcdefghij", timeout=PAGE_TIMEOUT_MS)
    page.get_by_role("button", name="Model").click()
    assert int(_step_number(page)) > 5  # the model was playing all along
    page.get_by_role("button", name="❚❚ Pause").click()
    _type_lever(page, "quarters", "32")
    _press_reset_and_wait(page, "Step 0 of 32")


def _pixels_near(image, colour: str, tolerance: int = 40) -> int:
    """How many pixels of ``image`` (PIL, RGB) lie within ``tolerance`` of the hex ``colour``."""
    import numpy as np

    target = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    rgb = np.asarray(image.convert("RGB"), dtype=int)
    return int((np.abs(rgb - target).max(axis=2) <= tolerance).sum())


def test_the_whole_page_exports_as_one_png_with_the_charts_and_the_settings(page):
    """The Export section's PNG: what the student sees, network, charts and every lever, in one image."""
    from PIL import Image
    from playwright.sync_api import expect

    _press_reset_and_wait(page, "Step 0")
    for expected in ("1", "2", "3", "4"):
        _step(page, expected)
    root = page.locator(".ecosim-page").bounding_box()
    boxes = {name: page.locator(f".ecosim-{name} svg").bounding_box() for name in ("network", "timeseries")}
    controls_height = page.locator(".ecosim-controls").evaluate("el => el.scrollHeight")
    button = page.get_by_role("button", name="Whole page (PNG)")
    button.scroll_into_view_if_needed()
    start = time.perf_counter()
    with page.expect_download(timeout=PAGE_TIMEOUT_MS) as download:
        button.click()
    seconds = time.perf_counter() - start
    ARTIFACTS.mkdir(exist_ok=True)
    saved = ARTIFACTS / "viz-whole-page.png"
    download.value.save_as(saved)
    assert download.value.suggested_filename.endswith("-q4-page.png")
    expect(page.locator(".ecosim-page-png-result")).to_contain_text("Saved the page as PNG", timeout=PAGE_TIMEOUT_MS)
    assert saved.stat().st_size > 100_000, saved.stat().st_size  # a picture, not a blank or broken file
    image = Image.open(saved)
    assert image.format == "PNG"
    assert abs(image.width - root["width"]) <= 2
    assert image.height >= controls_height  # the whole controls column, not only what fits the window
    for name, colours in (("network", ("#1f77b4", "#2ca02c", "#ff7f0e")),  # universities, enterprises, managers
                          ("timeseries", ("#4c78a8", "#f58518", "#e45756"))):  # disclosures, deals, spending
        box = boxes[name]
        crop = image.crop((int(box["x"] - root["x"]), int(box["y"] - root["y"]),
                           int(box["x"] - root["x"] + box["width"]), int(box["y"] - root["y"] + box["height"])))
        for colour in colours:
            assert _pixels_near(crop, colour) > 30, f"{name} panel of the PNG lacks {colour}"
    print(json.dumps({"page_png_seconds": round(seconds, 2), "bytes": saved.stat().st_size,
                      "size": [image.width, image.height], "load_average": os.getloadavg()}))


def test_icons_render_from_the_local_cache_with_no_internet(open_page, served):
    """Every request outside this machine is blocked: the page still loads its icon font from the
    local asset cache, and the button that reopens the controls shows its menu glyph."""
    import io

    import numpy as np
    from PIL import Image
    from playwright.sync_api import expect

    blocked: list[str] = []
    fonts_served: list[str] = []

    def only_this_machine(route):
        if route.request.url.startswith(served[0]):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    offline = open_page(1024, 768)
    offline.context.route("**/*", only_this_machine)
    offline.on("response", lambda r: fonts_served.append(r.url) if ".woff" in r.url and r.ok else None)
    offline.goto(served[0])
    offline.wait_for_selector(".ecosim-network svg", timeout=PAGE_TIMEOUT_MS)
    offline.get_by_role("button", name=re.compile("Hide controls")).click()
    reopen = offline.get_by_role("button", name=re.compile("Show controls"))
    expect(reopen).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    icon = reopen.locator(".v-icon")
    offline.evaluate("document.fonts.ready")
    faces = offline.evaluate("() => { const out = []; document.fonts.forEach(f => out.push([f.family, f.status])); "
                             "return out; }")
    assert ["Material Design Icons", "loaded"] in [[family.strip('"'), status] for family, status in faces]
    assert "Material Design Icons" in icon.evaluate("el => getComputedStyle(el, '::before').fontFamily")
    assert any("/_solara/cdn/" in url for url in fonts_served), fonts_served
    assert blocked == [], f"the page asked the internet for {blocked}"

    def white_rows(shot: bytes) -> np.ndarray:
        rgb = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), dtype=int)
        return (rgb.min(axis=2) > 200).any(axis=1)  # the icon is white on the blue header

    glyph = white_rows(icon.screenshot())
    bands = int(glyph[0]) + int(((~glyph[:-1]) & glyph[1:]).sum())
    assert bands == 3, f"the menu icon's three bars: {bands} band(s) of white rows"  # a blank square has 0 or 1
    offline.add_style_tag(content=".ecosim-toggle-controls .v-icon::before { font-family: serif !important; }")
    offline.wait_for_timeout(200)
    fallback = white_rows(icon.screenshot())
    assert not np.array_equal(glyph, fallback)  # what the icon font draws is not what a fallback font draws


def test_step_and_reset_times_in_the_browser_are_recorded(page):
    """Measured, not asserted: written to test-artifacts/viz-timings.json for docs/VISUALISER.md."""
    import statistics

    from playwright.sync_api import expect

    _press_reset_and_wait(page, "Step 0")
    steps = []
    for expected in range(1, 11):
        start = time.perf_counter()
        if page.get_by_role("button", name="Step").is_disabled():
            page.screenshot(path=str(ARTIFACTS / "viz-debug-disabled.png"), full_page=True)
            pytest.fail(f"Step disabled at {expected - 1}: {page.locator('.ecosim-main').inner_text()[:800]}")
        page.get_by_role("button", name="Step").click()
        expect(page.locator(".ecosim-step-number")).to_have_text(str(expected), timeout=PAGE_TIMEOUT_MS)
        steps.append(time.perf_counter() - start)
    resets = []
    for _ in range(3):
        _step(page, re.compile(r"^[1-9]\d*$"))
        start = time.perf_counter()
        _press_reset_and_wait(page, "Step 0")
        resets.append(time.perf_counter() - start)
    timings = {"step_click_to_counter_s": {"median": statistics.median(steps), "max": max(steps), "n": len(steps)},
               "reset_click_to_new_model_s": {"median": statistics.median(resets), "max": max(resets), "n": len(resets)},
               "load_average": os.getloadavg()}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "viz-timings.json").write_text(json.dumps(timings, indent=2))
    print(json.dumps(timings))


@pytest.mark.parametrize("width, height", [(1440, 900), (1024, 768)])
def test_the_page_works_at_projector_sizes_with_the_controls_reachable(open_page, served, width, height):
    from playwright.sync_api import expect

    small = open_page(width, height)
    small.goto(served[0])
    small.wait_for_selector(".ecosim-network svg", timeout=PAGE_TIMEOUT_MS)
    controls, network = small.locator(".ecosim-controls"), small.locator(".ecosim-network svg")
    c, n = controls.bounding_box(), network.bounding_box()
    assert c["x"] + c["width"] <= n["x"] + 1  # the controls sit beside the network, never over it
    assert n["width"] > 300
    for quarter in range(1, 9):  # a few quarters, so the screenshot shows deals and failures
        small.get_by_role("button", name="Step").click()
        expect(small.locator(".ecosim-step-number")).to_have_text(str(quarter), timeout=PAGE_TIMEOUT_MS)
    small.wait_for_timeout(500)
    ARTIFACTS.mkdir(exist_ok=True)  # copied by hand to docs/visualiser-WxH.png when the page changes
    small.screenshot(path=str(ARTIFACTS / f"visualiser-{width}x{height}.png"))
    toggle = small.get_by_role("button", name=re.compile("Hide controls"))
    assert "mdi-menu" in toggle.locator(".v-icon").get_attribute("class")  # its font is served from the local cache
    toggle.click()
    expect(controls).to_be_hidden(timeout=PAGE_TIMEOUT_MS)
    assert network.bounding_box()["x"] < n["x"] - 200  # the panels take the freed width
    small.get_by_role("button", name=re.compile("Show controls")).click()
    expect(small.locator(".ecosim-controls")).to_be_visible(timeout=PAGE_TIMEOUT_MS)
    small.get_by_role("button", name="Reset").scroll_into_view_if_needed()
    assert small.get_by_role("button", name="Reset").is_visible()
    lever = small.locator(".ecosim-lever-openness").get_by_role("slider")
    lever.scroll_into_view_if_needed()
    track = small.locator(".ecosim-lever-openness .v-slider-track").bounding_box()
    assert track["width"] >= 120  # a usable track (0.5 of openness over 120+ px), not squeezed by a long label
    scroll_x = small.locator(".ecosim-controls").evaluate("el => el.scrollLeft")
    lever.focus()
    assert small.locator(".ecosim-controls").evaluate("el => el.scrollLeft") == scroll_x == 0
