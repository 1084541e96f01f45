"""Hostile input: every case exits 0 or 2, without a traceback, naming the file, key or option,
writing nothing when it refuses, within a memory limit and a time limit.

Each ``ecosim`` runs as a separate process under ``RLIMIT_AS`` (:data:`MEMORY_LIMIT_BYTES`),
so a bomb that is expanded or a world that is built dies there (exit 1, a failed test) rather
than on the machine. The generated cases (hypothesis) run in this process for speed; a
sample of them runs again under the limits in the slow suite.
"""

from __future__ import annotations

import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecosim.cli import main
from hostile_helpers import (
    ROOT,
    RUN_MEMORY_LIMIT_BYTES,
    TIME_LIMIT_SECONDS,
    TINY,
    assert_refused,
    make_unwritable,
    make_writable,
    run_ecosim,
    snapshot,
)
from test_strict_yaml import alias_bomb

BASELINE = (ROOT / "scenarios" / "baseline.yaml").read_text(encoding="utf-8")


def experiment_text(**changes) -> str:
    data = {"name": "hostile", "scenarios": [TINY], "seed": 1, "replications": 2, "steps": 2}
    data.update(changes)
    return yaml.safe_dump(data, sort_keys=False)


TEN_BY_TEN = {"kind": "grid", "parameters": {
    key: [round(0.05 * i, 2) for i in range(1, 11)] for key in (
        "budget.per_quarter", "policy.fairs.foreign_share", "policy.joint_rnd.subsidy_rate",
        "policy.incentives.inventor_share", "policy.managers.skill_mean", "policy.managers.fit_gain",
        "network.triadic_closure", "network.fair_tie_weight", "universities.quality_mean", "universities.peer_weight")}}

# id: (files to write, arguments, words of which the message must name one)
CASES = {
    "alias bomb 9 levels": ({"s.yaml": alias_bomb(9)}, ["check", "s.yaml"], ["s.yaml: refused at line 1"]),
    "alias bomb in run": ({"s.yaml": "name: x\ndescription: " + alias_bomb(8).replace("\n", "\n  ")},
                          ["run", "s.yaml"], ["s.yaml"]),
    "self-referencing alias": ({"s.yaml": "a: &a [*a]\n"}, ["check", "s.yaml"], ["s.yaml: refused at line 1"]),
    "600 deep": ({"s.yaml": "x: " + "[" * 600 + "]" * 600}, ["check", "s.yaml"], ["s.yaml: refused at line 1"]),
    "duplicate key": ({"s.yaml": "steps: 3\nsteps: 4\n"}, ["check", "s.yaml"], ["duplicate key 'steps'"]),
    "yes as steps": ({"s.yaml": "steps: yes\n"}, ["check", "s.yaml"], ["s.yaml: steps: expected an integer"]),
    "quoted steps": ({"s.yaml": "steps: '10'\n"}, ["check", "s.yaml"], ["s.yaml: steps: expected an integer"]),
    "yes as seed": ({"s.yaml": "seed: yes\n"}, ["check", "s.yaml"], ["s.yaml: seed: expected an integer"]),
    "yes in a tuple": ({"s.yaml": "technology:\n  gate_quarters: [yes, 2, 2, 2]\n"}, ["check", "s.yaml"],
                       ["technology.gate_quarters: item 1"]),
    "negative gate duration": ({"s.yaml": "technology:\n  gate_quarters: [2, -1, 2, 2]\n"}, ["check", "s.yaml"],
                               ["technology.gate_quarters.1"]),
    "beyond int64": ({"s.yaml": "budget:\n  per_quarter: 99999999999999999999999\n"}, ["check", "s.yaml"],
                     ["64-bit"]),
    "huge world": ({"s.yaml": "world:\n  regions: 50\n  universities_per_region: 20000\n  groups_per_university: 200\n"},
                   ["check", "s.yaml"], ["s.yaml: a run would need about"]),
    "huge world in run": ({"s.yaml": "world:\n  regions: 50\n  universities_per_region: 20000\n"
                                     "  groups_per_university: 200\n"}, ["run", "s.yaml", "--out", "o"],
                          ["s.yaml: a run would need about"]),
    "huge ties": ({"s.yaml": "world:\n  universities_per_region: 20000\nenterprises:\n"
                             "  university_ties_per_university: 100000\n"}, ["check", "s.yaml"], ["ties"]),
    "memory limit below the run": ({}, ["check", TINY, "--memory-limit", "10M"], ["--memory-limit"]),
    "bad memory limit": ({}, ["check", TINY, "--memory-limit", "lots"], ["--memory-limit"]),
    "binary file": ({"s.yaml": "\udcff"}, ["check", "s.yaml"], ["s.yaml"]),
    "a list at the top": ({"s.yaml": "- 1\n- 2\n"}, ["check", "s.yaml"], ["s.yaml"]),
    "experiment replications yes": ({"e.yaml": experiment_text(replications=True)}, ["check", "e.yaml"],
                                    ["e.yaml: replications: expected an integer"]),
    "experiment seed quoted": ({"e.yaml": experiment_text(seed="5")}, ["check", "e.yaml"], ["e.yaml: seed"]),
    "experiment 10x10 grid": ({"e.yaml": experiment_text(design=TEN_BY_TEN)}, ["check", "e.yaml"],
                              ["e.yaml: design: the sweep would make"]),
    "experiment lhs x 100000": ({"e.yaml": experiment_text(replications=100_000, design={
        "kind": "lhs", "samples": 1000, "parameters": {"budget.per_quarter": [5, 20]}})}, ["check", "e.yaml"],
        ["100,000,000 runs"]),
    "sweep 10 million replications": ({"e.yaml": experiment_text()},
                                      ["sweep", "e.yaml", "--replications", "10000000", "--out", "o"],
                                      ["--replications: the sweep would make 10,000,000 runs"]),
    "sweep 100000 workers": ({"e.yaml": experiment_text()}, ["sweep", "e.yaml", "--workers", "100000", "--out", "o"],
                             ["--workers: 100,000 workers asked for"]),
    "sweep not a url": ({"e.yaml": experiment_text()},
                        ["sweep", "e.yaml", "--executor", "dask", "--scheduler", "not a url", "--out", "o"],
                        ["--scheduler"]),
    "sweep out is a file": ({"e.yaml": experiment_text(), "f": "x"}, ["sweep", "e.yaml", "--out", "f"], ["--out"]),
    "allow code change without resume": ({"e.yaml": experiment_text()},
                                         ["sweep", "e.yaml", "--out", "o", "--allow-code-change"],
                                         ["--allow-code-change"]),
    "set twice": ({}, ["run", TINY, "--set", "steps=2", "--set", "steps=x", "--out", "o"], ["--set steps=x"]),
    "set against steps": ({}, ["run", TINY, "--set", "steps=3", "--steps", "2", "--out", "o"], ["--steps"]),
    "set against seed": ({}, ["run", TINY, "--set", "seed=3", "--seed", "2", "--out", "o"], ["--seed"]),
    "set a bomb": ({}, ["run", TINY, "--set", "description=&a [*a]", "--out", "o"], ["--set description="]),
    "run out dangling": ({"dangling": "->/nonexistent/place"}, ["run", TINY, "--out", "dangling"], ["dangling"]),
    "run out here with force": ({}, ["run", TINY, "--out", ".", "--force"], ["is the current directory"]),
    "run out dev null": ({}, ["run", TINY, "--out", "/dev/null"], ["/dev/null"]),
    "run out in proc": ({}, ["run", TINY, "--out", "/proc/self/ecosim"], ["/proc/self"]),
    "force on a foreign folder": ({"mine/thesis.tex": "precious"}, ["run", TINY, "--out", "mine", "--force"],
                                  ["no provenance.json"]),
    "compare damaged index": ({"r/index.json": "{not json"}, ["compare", "r"], ["index.json"]),
    "compare index not an object": ({"r/index.json": "[1, 2]"}, ["compare", "r"], ["index.json"]),
    "report out is a directory": ({"r/index.json": "{}", "d/x": ""}, ["report", "r", "--out", "d"], ["--out"]),
    "report out under a file": ({"r/index.json": "{}", "f": "x"}, ["report", "r", "--out", "f/such/r.html"],
                                ["--out"]),
    "bench json in a missing folder": ({}, ["bench", "--sizes", "1", "--json-out", "no/such/b.json"],
                                       ["--json-out"]),
    "validate csv is a directory": ({"d/x": ""}, ["validate", TINY, "--csv", "d"], ["--csv"]),
    "viz unknown host": ({}, ["viz", "--host", "no.such.host.invalid"], ["--host"]),
    "viz foreign address": ({}, ["viz", "--host", "192.0.2.1"], ["--host"]),
}


# Every path option of every command against each kind of bad target: a dangling symbolic link,
# a special file, the wrong kind of thing (a file where a folder goes and the reverse), a
# folder inside a file. {target} is replaced by the target.
PATH_OPTIONS = {
    "run --out": (["run", TINY, "--steps", "1", "--out", "{target}"], "folder"),
    "run --rules": (["run", TINY, "--steps", "1", "--out", "o", "--rules", "{target}"], "input"),
    "check FILE": (["check", "{target}"], "input"),
    "sweep EXPERIMENT": (["sweep", "{target}", "--out", "o"], "input"),
    "sweep --out": (["sweep", "e.yaml", "--out", "{target}", "--executor", "serial"], "folder"),
    "compare RESULTS_DIR": (["compare", "{target}"], "input"),
    "compare --out": (["compare", "r", "--out", "{target}"], "folder"),
    "report --out": (["report", "r", "--out", "{target}"], "file"),
    "validate --csv": (["validate", TINY, "--replications", "1", "--csv", "{target}"], "file"),
    "calibrate --out": (["calibrate", "e.yaml", "--out", "{target}"], "folder"),
    "bench --json-out": (["bench", "--sizes", "1", "--json-out", "{target}"], "file"),
    "bench --scenario": (["bench", "--sizes", "1", "--scenario", "{target}"], "input"),
    "viz --rules": (["viz", "--rules", "{target}"], "input"),
}
TARGETS = {
    "dangling": ({"dangling": "->/nonexistent/place"}, "dangling"),
    "special": ({}, "/dev/null"),
    "wrong kind": ({"a_file": "text", "a_folder/x": ""}, None),
    "inside a file": ({"a_file": "text"}, "a_file/inside"),
}
for option, (args, kind) in PATH_OPTIONS.items():
    for target_name, (files, target) in TARGETS.items():
        if kind == "input" and target_name == "special":
            continue  # reading /dev/null is reading an empty file: valid or not, no special case
        if target is None:
            target = "a_file" if kind == "folder" else "a_folder"
        files = {**files, "e.yaml": experiment_text(), "r/index.json": '{"runs": []}'}
        CASES[f"{option} {target_name}"] = (files, [a.replace("{target}", target) for a in args],
                                           [target, option.split()[-1]])


def build(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text.startswith("->"):
            path.symlink_to(text[2:])
        elif text == "\udcff":
            path.write_bytes(b"\xff\xfe\x00garbage")
        else:
            path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def case_outcomes(tmp_path_factory, request):
    """The selected cases of :data:`CASES` run once, a few at a time (each in its own folder): id → (outcome, changed)."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_hostile_case_is_refused_cleanly_within_limits"]

    def one(case):
        files, args, _ = CASES[case]
        folder = tmp_path_factory.mktemp("case")
        build(folder, files)
        before = snapshot(folder)
        done = run_ecosim(*args, cwd=folder)
        return case, (done, snapshot(folder) != before)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(one, selected))


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_hostile_case_is_refused_cleanly_within_limits(case_outcomes, case):
    done, changed = case_outcomes[case]
    assert_refused(done, *CASES[case][2])
    assert not changed, "a refusal wrote something"
    assert done.seconds < TIME_LIMIT_SECONDS


def test_viz_port_in_use_is_refused(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_ecosim("viz", "--port", port, cwd=tmp_path)
    assert_refused(done, f"--port: port {port} is already in use")


def test_bench_refuses_its_output_before_benchmarking(tmp_path):
    done = run_ecosim("bench", "--sizes", "1,10,100", "--json-out", tmp_path / "missing" / "b.json", cwd=tmp_path)
    assert_refused(done, "--json-out")
    assert done.seconds < 10  # not after the benchmark (minutes)


# ---------------------------------------------------------------- paths another user cannot write

UNWRITABLE = [
    ["run", TINY, "--out", "ro/out"],
    ["run", TINY, "--out", "ro"],
    ["sweep", "{experiment}", "--out", "ro/sweep"],
    ["compare", "{results}", "--out", "ro/cmp"],
    ["report", "{results}", "--out", "ro/report.html"],
    ["report", "{results}", "--out", "ro/old.html"],
    ["validate", TINY, "--csv", "ro/facts.csv"],
    ["bench", "--json-out", "ro/bench.json"],
]


@pytest.fixture
def unwritable_folder(tmp_path):
    """``tmp_path/ro``: a folder (holding ``old.html``) that this process cannot write, even as root."""
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "old.html").write_text("x")
    if not make_unwritable(folder / "old.html", folder):
        make_writable(folder / "old.html", folder)
        pytest.skip("cannot make a folder unwritable here")
    yield folder
    make_writable(folder / "old.html", folder)


@pytest.mark.parametrize("args", UNWRITABLE, ids=[" ".join(a[:1] + a[2:]) for a in UNWRITABLE])
def test_unwritable_outputs_are_bad_input_for_every_command(tmp_path, unwritable_folder, sweep_results, args):
    experiment = tmp_path / "e.yaml"
    experiment.write_text(experiment_text())
    args = [a.replace("{experiment}", str(experiment)).replace("{results}", str(sweep_results)) for a in args]
    before = snapshot(tmp_path)
    done = run_ecosim(*args, cwd=tmp_path)
    assert_refused(done, "ro", "--out", "--csv", "--json-out")
    assert "permission denied" in done.stderr.lower() or "not permitted" in done.stderr.lower()
    assert snapshot(tmp_path) == before


@pytest.fixture(scope="module")
def sweep_results(tmp_path_factory):
    """A finished tiny sweep."""
    folder = tmp_path_factory.mktemp("sweep")
    experiment = folder / "e.yaml"
    experiment.write_text(experiment_text())
    done = run_ecosim("sweep", experiment, "--out", folder / "results", "--executor", "serial", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "results"


def test_a_full_disk_is_bad_input_and_leaves_no_partial_run(tmp_path):
    done = run_ecosim("run", TINY, "--steps", 4, "--out", tmp_path / "out", cwd=tmp_path, file_size=4096)
    assert_refused(done, "File too large")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---------------------------------------------------------------- generated input

SCENARIO = yaml.safe_load(BASELINE)
HOSTILE_VALUES = st.one_of(
    st.sampled_from([True, False, None, "yes", "10", "", "1e400", -1, 0, 2**63, -(2**63) - 1, 10**30, 1e308,
                     float("inf"), [], {}, [1, 2], {"x": 1}, "../../etc", "x" * 200]),
    st.integers(), st.floats(allow_nan=True), st.text(max_size=20),
)


def key_paths(data, prefix=()):
    for key, value in data.items():
        yield (*prefix, key)
        if isinstance(value, dict):
            yield from key_paths(value, (*prefix, key))


PATHS = list(key_paths(SCENARIO))


def mutate(data: dict, path: tuple, value) -> dict:
    copy = yaml.safe_load(yaml.safe_dump(data))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def call(argv: list[str], capsys) -> tuple[int, str]:
    status = main([str(a) for a in argv])
    return status, capsys.readouterr().err


def assert_clean(status: int, err: str, *names: str) -> None:
    assert status in (0, 2), (status, err)
    assert "Traceback" not in err and "internal error" not in err, err
    if status == 2:
        assert any(name in err for name in names), (names, err)


@settings(max_examples=120, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), value=HOSTILE_VALUES, extra=st.booleans())
def test_mutated_scenarios_are_valid_or_refused_naming_file_and_key(tmp_path, capsys, path, value, extra):
    data = mutate(SCENARIO, path, value)
    if extra:
        data = mutate(data, (*path[:-1], path[-1] + "_typo"), 1)
    scenario = tmp_path / "mutated.yaml"
    scenario.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    status, err = call(["check", scenario], capsys)
    assert_clean(status, err, str(scenario))
    if status == 2:
        assert any(part in err for part in map(str, path)), err  # the key (or its section) is named


EXPERIMENT = {"name": "mutated", "scenarios": [TINY], "seed": 1, "replications": 2, "steps": 2,
              "design": {"kind": "grid", "parameters": {"budget.per_quarter": [10, 12]}}}


@settings(max_examples=80, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["name", "scenarios", "seed", "replications", "steps", "keep", "design", "description"]),
       value=HOSTILE_VALUES)
def test_mutated_experiments_are_valid_or_refused_naming_file_and_key(tmp_path, capsys, key, value):
    experiment = tmp_path / "mutated.yaml"
    experiment.write_text(yaml.safe_dump({**EXPERIMENT, key: value}, allow_unicode=True), encoding="utf-8")
    status, err = call(["check", experiment], capsys)
    assert_clean(status, err, str(experiment))


OPTION_VALUES = st.sampled_from(["0", "-1", "1", "2", "99999999999999999999", "yes", "", "x", ".", "/", "/dev/null",
                                 "no/such/dir/f", "tcp://", "not a url", "1e9", "10Q", "4G", "--help"])
COMMAND_OPTIONS = {
    "check": ["--memory-limit", "--max-runs"],
    "run": ["--seed", "--steps", "--set", "--out", "--memory-limit", "--rules"],
    "sweep": ["--replications", "--steps", "--workers", "--executor", "--scheduler", "--max-runs", "--memory-limit",
              "--out"],
    "compare": ["--baseline", "--metric", "--out", "--alpha", "--correction", "--seed"],
    "report": ["--out", "--baseline", "--metric", "--seed"],
}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(sorted(COMMAND_OPTIONS)))
    argv = [command]
    if command in ("check", "run"):
        argv.append(draw(st.sampled_from([TINY, "missing.yaml", ".", "/dev/null"])))
    elif command == "sweep":
        argv.append(draw(st.sampled_from(["e.yaml", "missing.yaml"])))
    else:
        argv.append(draw(st.sampled_from(["results", "missing", "e.yaml"])))
    for option in draw(st.lists(st.sampled_from(COMMAND_OPTIONS[command]), max_size=4)):
        argv += [option, draw(OPTION_VALUES)]
    if draw(st.booleans()):
        argv.append(draw(st.sampled_from(["--force", "--resume", "--bogus", "extra"])))
    return argv


def finished_quickly(argv: list[str]) -> bool:
    """Keep generated runs small: a valid sweep or run of more than a few quarters is not the point here."""
    steps = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--steps"]
    return argv[0] not in ("run", "sweep") or (steps and steps[-1] in ("1", "2"))


@settings(max_examples=30, deadline=30_000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_generated_command_lines_exit_0_or_2_without_traceback(tmp_path_factory, capsys, argv):
    folder = tmp_path_factory.mktemp("cli")
    (folder / "e.yaml").write_text(experiment_text(replications=1, steps=1), encoding="utf-8")
    os.chdir(folder)
    if not finished_quickly(argv):
        argv = [*argv, "--steps", "1"] if argv[0] in ("run", "sweep") else argv
    if argv[0] == "sweep":
        argv = [*argv, "--executor", "serial"]
    before = snapshot(folder)
    try:
        status, err = call(argv, capsys)
    except SystemExit as exc:  # click's --help and sweep's exit 3 pass through as SystemExit
        status, err = (exc.code or 0), capsys.readouterr().err
    finally:
        os.chdir(ROOT)
    assert_clean(int(status), err, *[a for a in argv if a], "Usage", "option")
    if status == 2:
        assert snapshot(folder) == before, (argv, err)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), value=HOSTILE_VALUES)
def test_mutated_scenarios_run_under_the_memory_limit(tmp_path_factory, path, value):
    folder = tmp_path_factory.mktemp("limited")
    scenario = folder / "mutated.yaml"
    scenario.write_text(yaml.safe_dump({**mutate(SCENARIO, path, value), "steps": 2}), encoding="utf-8")
    before = snapshot(folder)
    done = run_ecosim("run", scenario, "--out", folder / "out", "--no-csv", cwd=folder, memory=RUN_MEMORY_LIMIT_BYTES)
    assert done.returncode in (0, 2), done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    if done.returncode == 2:
        assert str(scenario) in done.stderr
        assert snapshot(folder) == before


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
