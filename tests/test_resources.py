"""Resource bounds: a run's memory, a sweep's runs and workers are checked before any work."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from ecosim.errors import InputError
from ecosim.experiment import _validate_file, load_experiment, planned_points
from ecosim.resources import (
    BASE_BYTES,
    BYTES_PER_TECHNOLOGY,
    LOCAL_WORKER_BYTES,
    MAX_RUNS,
    MAX_WORKERS,
    check_memory,
    check_runs,
    check_workers,
    largest_run,
    parse_memory,
    scenario_sizes,
)
from ecosim.scenario import Scenario, load_scenario
from ecosim.strict_yaml import load_mapping

ROOT = Path(__file__).resolve().parents[1]
GiB = 2**30


def test_sizes_count_agents_groups_ties_and_technologies_of_the_baseline():
    sizes = scenario_sizes(Scenario())
    assert sizes.agents == Scenario().n_agents
    assert sizes.groups == 2 * (8 + 2) * 10
    assert sizes.ties > 2 * 500 * 3  # at least the enterprises' own ties
    assert sizes.technologies > 60 * 68  # at least the enterprises' own R&D over 60 quarters
    assert BASE_BYTES < sizes.bytes < BASE_BYTES + 100 * 2**20


def test_estimate_grows_with_every_size_that_costs_memory():
    base = scenario_sizes(Scenario()).bytes
    for key, value in [("world.groups_per_university", 100), ("enterprises.university_ties_per_university", 5000),
                       ("world.enterprises_per_region", 50_000), ("steps", 600)]:
        bigger = Scenario().model_dump(mode="json")
        section, field = key.split(".") if "." in key else (None, key)
        (bigger[section] if section else bigger)[field] = value
        assert scenario_sizes(bigger).bytes > base, key


def test_the_issue_s_huge_world_is_refused_with_what_was_asked_and_how_to_override(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text("world:\n  regions: 50\n  universities_per_region: 20000\n  groups_per_university: 200\n")
    scenario = load_scenario(path)  # the schema allows each value on its own
    with pytest.raises(InputError) as info:
        check_memory(scenario, 16 * GiB, source=str(path))
    message = str(info.value)
    assert message.startswith(f"{path}: a run would need about ")
    assert "200,020,000 research groups" in message and "the limit is 16.0 GiB" in message
    assert "--memory-limit" in message


def test_a_limit_below_the_estimate_refuses_and_above_accepts():
    estimate = scenario_sizes(Scenario()).bytes
    assert check_memory(Scenario(), estimate + 1).bytes == estimate
    with pytest.raises(InputError, match="a run would need"):
        check_memory(Scenario(), estimate - 1)


def test_ties_alone_can_exceed_the_limit():
    data = Scenario().model_dump(mode="json")
    data["world"]["universities_per_region"] = 20_000
    data["enterprises"]["university_ties_per_university"] = 100_000
    with pytest.raises(InputError, match="4,000,000,000 ties|ties"):
        check_memory(data, 64 * GiB)


@pytest.mark.parametrize("text, expected", [("4G", 4 * GiB), ("500M", 500 * 2**20), ("2GiB", 2 * GiB),
                                            ("3GB", 3 * 10**9), ("2e9", 2 * 10**9), ("1.5G", int(1.5 * GiB))])
def test_memory_sizes_parse(text, expected):
    assert parse_memory(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "10Q", "-1G", "0", "1K", "2E"])
def test_bad_memory_sizes_name_the_option(text):
    with pytest.raises(InputError, match="--memory-limit: expected a size"):
        parse_memory(text)


def test_run_cap_says_what_was_asked_what_is_allowed_and_how_to_override():
    check_runs(MAX_RUNS)
    with pytest.raises(InputError) as info:
        check_runs(MAX_RUNS + 1, key="--replications", how=" (1 scenarios × 1 design points × 200,001 replications)")
    assert f"{MAX_RUNS + 1:,} runs" in str(info.value) and f"at most {MAX_RUNS:,}" in str(info.value)
    assert "--max-runs" in str(info.value)


def test_worker_cap_follows_the_memory_limit():
    run = scenario_sizes(Scenario()).bytes
    per_worker = LOCAL_WORKER_BYTES + run - BASE_BYTES
    check_workers(10, run, "process", 10 * per_worker)
    with pytest.raises(InputError, match="11 workers asked for; at most 10 fit"):
        check_workers(11, run, "process", 10 * per_worker)
    with pytest.raises(InputError, match=f"never more than {MAX_WORKERS}"):
        check_workers(100_000, run, "process", 2**60)
    check_workers(100_000, run, "serial", 2**30)  # serial has no workers


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "experiments").glob("*.yaml")
                                         if "\ntargets:" not in p.read_text()))  # calibration files have no design
def test_planned_points_are_counted_without_making_them(name):
    path = ROOT / "experiments" / name
    spec = _validate_file(load_mapping(path).data, str(path))
    assert planned_points(spec.design) == len(load_experiment(path).points)


def write_experiment(tmp_path, design, replications=2):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({"scenarios": [str(ROOT / "scenarios" / "tiny.yaml")], "seed": 1,
                                    "replications": replications, "design": design}))
    return path


def test_a_ten_by_ten_grid_is_refused_before_a_point_is_made(tmp_path):
    keys = ["budget.per_quarter", "policy.fairs.foreign_share", "policy.joint_rnd.subsidy_rate",
            "policy.incentives.inventor_share", "policy.managers.skill_mean", "policy.managers.fit_gain",
            "network.triadic_closure", "network.fair_tie_weight", "universities.quality_mean",
            "universities.peer_weight"]
    design = {"kind": "grid", "parameters": {k: [round(0.05 * i, 2) for i in range(1, 11)] for k in keys}}
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"design: the sweep would make 20,000,000,000 runs \(1 scenarios × "
                                         r"10,000,000,000 design points × 2 replications\)"):
        load_experiment(write_experiment(tmp_path, design))
    assert time.perf_counter() - started < 2


def test_lhs_with_huge_replications_is_refused(tmp_path):
    design = {"kind": "lhs", "samples": 1000, "parameters": {"budget.per_quarter": [5, 20]}}
    with pytest.raises(InputError, match="100,000,000 runs"):
        load_experiment(write_experiment(tmp_path, design, replications=100_000))
    assert len(load_experiment(write_experiment(tmp_path, design, replications=2), max_runs=2000).points) == 1000
    with pytest.raises(InputError, match="at most 1,999"):
        load_experiment(write_experiment(tmp_path, design, replications=2), max_runs=1999)


def test_largest_run_names_the_scenario_and_point():
    small = Scenario(steps=4).model_dump(mode="json")
    where, sizes = largest_run({"tiny": small}, [{"world.regions": 1}, {"world.regions": 9}, {"world.regions": 2}])
    assert where == "scenario 'tiny', design point 1"
    assert sizes.agents == scenario_sizes({**small, "world": {**small["world"], "regions": 9}}).agents
    assert small["world"]["regions"] == 2  # not changed


def test_per_technology_cost_is_the_bulk_of_a_long_run():
    long = Scenario(steps=2000)
    sizes = scenario_sizes(long)
    assert sizes.technologies * BYTES_PER_TECHNOLOGY > sizes.bytes / 2


def test_the_visualiser_s_reset_checks_memory_before_building():
    from ecosim.viz.interactive_model import InteractiveModel

    started = time.perf_counter()
    with pytest.raises(InputError, match="visualiser controls: a run would need about"):
        InteractiveModel(base_scenario=Scenario(), regions=50, universities_per_region=20_000)
    assert time.perf_counter() - started < 5
