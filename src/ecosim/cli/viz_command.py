"""``ecosim viz [SCENARIO]``: serve the interactive visualiser on this machine.

The scenario and rules file are checked first, with the functions ``ecosim run`` uses, so bad
input exits 2 with the same clear message before any server starts. The page is then served
by ``solara run ecosim.viz.app`` (via :mod:`ecosim.viz.serve`) in a child process,
bound to 127.0.0.1 unless ``--host`` says otherwise, and its address is printed once it
answers.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from ecosim.cli.options import (
    check_rules_file,
    check_scenario_rules,
    load_with_overrides,
    rule_time_limit_option,
    rules_option,
)
from ecosim.viz.serve import RULE_TIME_LIMIT_SECONDS  # a light module: no Mesa, no Solara

READY_TIMEOUT_SECONDS = 120.0
"""How long to wait for the server to answer before giving up."""


def free_port(host: str) -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_open(host: str, port: int) -> bool:
    """True when something accepts connections at ``host:port``."""
    target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        with socket.create_connection((target, port), timeout=0.5):
            return True
    except OSError:
        return False


def page_url(host: str, port: int) -> str:
    """The address to open in a browser."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def server_command(host: str, port: int) -> list[str]:
    """The command line that serves :mod:`ecosim.viz.app` (through :mod:`ecosim.viz.serve`)."""
    return [sys.executable, "-m", "ecosim.viz.serve", "--host", host, "--port", str(port),
            "--production", "--no-open", "--log-level", "warning"]


def check_inputs(scenario: str | None, rules_file: str | None):
    """Validate the scenario and rules as ``ecosim run`` does; returns (scenario, rules path).

    The same functions raise the same :class:`~ecosim.errors.InputError` messages: the file and
    its keys, the rules file, then every rule name the scenario chooses (after its own
    ``rules_file``, if any, is loaded). Mesa and Solara are not imported here, so a mistake is
    reported at once.
    """
    from ecosim.scenario import Scenario

    loaded = load_with_overrides(scenario, ()) if scenario else Scenario()
    rules_path = check_rules_file(rules_file)
    if rules_path:
        loaded = loaded.model_copy(update={"rules_file": rules_path})
    check_scenario_rules(loaded, scenario or "(built-in baseline)")
    from ecosim.resources import check_memory

    check_memory(loaded, source=scenario or "(built-in baseline)")
    return loaded, rules_path


def check_address(host: str, port: int) -> None:
    """Refuse a ``--host`` that does not resolve to an address of this machine, or a ``--port`` in use."""
    from ecosim.errors import InputError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"cannot resolve {host!r}: {reason}; give an address of this machine such as 127.0.0.1",
                         key="--host") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise InputError(f"port {port} is already in use on {host}; choose another --port (0: any free one)",
                                 key="--port") from None
            raise InputError(f"cannot listen on {host} port {port}: {exc.strerror}", key="--host") from None


LOOPBACK = ("127.0.0.1", "localhost", "::1")
"""Addresses only this machine can reach: the Code tab is offered on them without asking."""


def code_editing_allowed(host: str, allow_code_editing: bool) -> bool:
    """The Code tab runs typed code in the server: offered on a loopback address, elsewhere only if allowed."""
    return host in LOOPBACK or allow_code_editing


def server_environment(scenario: str | None, rules_file: str | None, code_editing: bool = False,
                       rule_time_limit: float | None = None) -> dict[str, str]:
    """The child's environment: the validated paths, whether the Code tab is offered, the limit on
    one call of a user's rule (``None``: the page's default), and no telemetry."""
    from ecosim.viz.serve import CODE_ENV, RULE_TIME_LIMIT_ENV, RULES_ENV, SCENARIO_ENV

    env = dict(os.environ)
    env[CODE_ENV] = "1" if code_editing else "0"
    env[RULE_TIME_LIMIT_ENV] = "" if rule_time_limit is None else repr(float(rule_time_limit))
    env[SCENARIO_ENV] = str(Path(scenario).resolve()) if scenario else ""
    env[RULES_ENV] = rules_file or ""
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    return env


STOP_SECONDS = 5.0
"""How long the server has to stop after SIGTERM before it is killed."""


def stop_child(child: subprocess.Popen | None) -> None:
    """Stop the server (SIGTERM, then SIGKILL after :data:`STOP_SECONDS`, said on stderr) and wait
    for it. A second Ctrl+C or SIGTERM meanwhile cannot interrupt this and leave it orphaned."""
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            click.echo(f"the visualiser's server did not stop within {STOP_SECONDS:g} s; killed it", err=True)
            child.kill()
            child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@click.command("viz")
@click.argument("scenario", required=False, type=click.Path(dir_okay=False))
@rules_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Only this machine can open the page unless you choose another.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--allow-code-editing", is_flag=True,
              help="Offer the Code tab (code typed in the page runs on this machine) even when --host is not a "
                   "loopback address. On 127.0.0.1 it is always offered.")
@rule_time_limit_option(default=RULE_TIME_LIMIT_SECONDS)
def command(scenario, rules_file, host, port, allow_code_editing, rule_time_limit):
    """Serve the interactive visualiser for SCENARIO (default: the built-in baseline).

    Students watch the network, the pipeline and the time series, move the policy sliders,
    pick rules in the drop-downs (including those of --rules PATH.py) and press Reset.

    Example: ecosim viz scenarios/tiny.yaml --port 8765
    """
    loaded, rules_path = check_inputs(scenario, rules_file)
    check_address(host, port)
    if port == 0:
        port = free_port(host)
    code_editing = code_editing_allowed(host, allow_code_editing)
    if host not in LOOPBACK:
        click.echo(f"warning: listening on {host}: other machines on the network can open the page"
                   + ("; --allow-code-editing lets them run code on this machine" if allow_code_editing else
                      " (the Code tab is off; --allow-code-editing turns it on)"), err=True)
    # a plain `kill` must stop the server too, not leave it orphaned: the handler is in place
    # before the child exists, and the child is stopped in `finally`
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    child = None
    try:
        child = subprocess.Popen(server_command(host, port),
                                 env=server_environment(scenario, rules_path, code_editing, rule_time_limit))
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not port_is_open(host, port):
            if child.poll() is not None:
                raise click.ClickException(f"the visualiser's server stopped (exit status {child.returncode}); "
                                           f"is port {port} already in use?")
            if time.monotonic() > deadline:
                raise click.ClickException(f"the visualiser's server did not answer within {READY_TIMEOUT_SECONDS:.0f} s")
            time.sleep(0.2)
        click.echo(f"ecosim visualiser for '{loaded.name}' at {page_url(host, port)}  (Ctrl+C to stop)", err=False)
        sys.stdout.flush()
        child.wait()
    finally:
        stop_child(child)
    if child.returncode not in (0, -15):
        raise click.ClickException(f"the visualiser's server stopped with exit status {child.returncode}")
