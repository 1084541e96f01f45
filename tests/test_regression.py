"""Regression: a small, fully pinned scenario with a fixed seed reproduces a stored run exactly.

The scenario is ``tests/data/regression_scenario.yaml``: the fully resolved scenario with every
parameter written out, so later changes to ecosim's defaults (calibration) do not change it.
The expected per-run summary and per-step table are in ``tests/data/regression_summary.json``.

When a change to the model is *meant* to change results, regenerate the expected run and
commit it with the change, saying why in the commit message::

    python tests/test_regression.py --update            # or:
    ECOSIM_UPDATE_REGRESSION=1 python -m pytest tests/test_regression.py

When the schema itself changes (a parameter added, renamed or removed), re-pin the scenario
from ``scenarios/tiny.yaml`` and regenerate both files::

    python tests/test_regression.py --update --repin
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

import yaml

DATA = Path(__file__).resolve().parent / "data"
SCENARIO_FILE = DATA / "regression_scenario.yaml"
EXPECTED_FILE = DATA / "regression_summary.json"
SEED = 20261129
STEPS = 12
REPIN_FROM = Path(__file__).resolve().parent.parent / "scenarios" / "tiny.yaml"
REPIN_OVERRIDES = {"name": "regression", "steps": STEPS, "seed": SEED,
                   "description": "Pinned regression scenario (tests/test_regression.py); every parameter written out."}


def pinned_scenario():
    """The pinned scenario, validated."""
    from ecosim.scenario import load_scenario

    return load_scenario(SCENARIO_FILE)


def run_pinned() -> dict:
    """Run the pinned scenario and return what is stored: seed, summary and per-step rows."""
    from ecosim.model import simulate

    result = simulate(pinned_scenario(), seed=SEED)
    return {
        "seed": SEED,
        "steps": STEPS,
        "summary": {k: float(v) for k, v in result.summary.items()},
        "steps_table": result.steps.to_dict(orient="list"),
    }


def write_expected(repin: bool = False) -> None:
    """Regenerate the stored files (see the module docstring)."""
    from ecosim import __version__
    from ecosim.scenario import load_scenario, scenario_to_yaml

    DATA.mkdir(exist_ok=True)
    if repin or not SCENARIO_FILE.exists():
        scenario = load_scenario(REPIN_FROM, REPIN_OVERRIDES)
        header = "# Pinned regression scenario: every parameter written out. Regenerate with\n"
        header += "#   python tests/test_regression.py --update --repin\n"
        SCENARIO_FILE.write_text(header + scenario_to_yaml(scenario), encoding="utf-8")
    run = run_pinned()
    # one line per summary metric and per step-table column, so that diffs are readable
    lines = ["{", f' "generated_by_ecosim": {json.dumps(__version__)},', f' "seed": {run["seed"]},',
             f' "steps": {run["steps"]},', ' "summary": {']
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in run["summary"].items()]
    lines[-1] = lines[-1].rstrip(",")
    lines += [" },", ' "steps_table": {']
    lines += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in run["steps_table"].items()]
    lines[-1] = lines[-1].rstrip(",")
    lines += [" }", "}"]
    text = "\n".join(lines) + "\n"
    EXPECTED_FILE.write_text(text, encoding="utf-8")


def same(a, b) -> bool:
    """Equality, with NaN equal to NaN and floats equal up to rounding in their last digits
    (relative 1e-12): a library release may change the order of a float sum (numpy 2.5.5 /
    pandas 3.1.1 moved one quarter's licensing income by one unit in the last place, 0.2458542366709834
    → 0.24585423667098347), while any change to the model's random draws or arithmetic moves
    numbers by far more."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return a == b


def differences(expected: dict, actual: dict) -> list[str]:
    """Human-readable list of what changed."""
    lines = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual:
            lines.append(f"{key}: missing now (was {expected[key]!r})")
        elif key not in expected:
            lines.append(f"{key}: new (now {actual[key]!r})")
        elif isinstance(expected[key], list):
            changed = [i for i, (a, b) in enumerate(zip(expected[key], actual[key], strict=False)) if not same(a, b)]
            if changed or len(expected[key]) != len(actual[key]):
                i = changed[0] if changed else min(len(expected[key]), len(actual[key]))
                lines.append(f"{key}: differs first at row {i}")
        elif not same(expected[key], actual[key]):
            lines.append(f"{key}: expected {expected[key]!r}, got {actual[key]!r}")
    return lines


def test_pinned_scenario_writes_out_every_parameter():
    """Defaults may change with calibration; the regression scenario must not depend on them."""
    from ecosim.scenario import scenario_to_yaml

    on_disk = yaml.safe_load(SCENARIO_FILE.read_text(encoding="utf-8"))
    resolved = yaml.safe_load(scenario_to_yaml(pinned_scenario()))
    assert on_disk == resolved, (
        "the schema changed: re-pin with `python tests/test_regression.py --update --repin` and commit both files"
    )


def test_fixed_seed_reproduces_the_stored_run_exactly():
    if os.environ.get("ECOSIM_UPDATE_REGRESSION") == "1":
        write_expected()
    expected = json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))
    actual = run_pinned()
    assert actual["seed"] == expected["seed"] and actual["steps"] == expected["steps"]
    changed = differences(expected["summary"], actual["summary"])
    changed += [f"steps table {line}" for line in differences(expected["steps_table"], actual["steps_table"])]
    assert not changed, (
        "the pinned run changed; if that is intended, regenerate with "
        "`python tests/test_regression.py --update` and say why in the commit:\n  " + "\n  ".join(changed)
    )


def test_pinned_run_is_not_trivial():
    """A regression run where nothing happens would not catch much: checked on the run the model
    makes now (a stored file alone cannot fail when the model breaks)."""
    summary = run_pinned()["summary"]
    assert summary["disclosures"] > 50
    assert summary["deals"] > 0
    assert summary["failed"] > 0 and summary["shelved"] > 0
    assert summary["public_spending"] > 0


def main(argv: list[str] | None = None) -> int:
    """Command line: ``--update`` regenerates the expected run, ``--repin`` also the scenario."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="regenerate tests/data/regression_summary.json")
    parser.add_argument("--repin", action="store_true", help="also re-pin the scenario from scenarios/tiny.yaml")
    args = parser.parse_args(argv)
    if not args.update:
        parser.print_help()
        return 2
    write_expected(repin=args.repin)
    print(f"wrote {EXPECTED_FILE}" + (f" and {SCENARIO_FILE}" if args.repin else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
