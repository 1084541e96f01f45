"""The tour notebook's helpers (``ecosim.tour``): the numbers they show are the run's own."""

from __future__ import annotations

import pytest

from ecosim import tour
from ecosim.scenario import CAUSES, GATES
from hostile_helpers import TINY


@pytest.fixture(scope="module")
def world():
    return tour.run_world(TINY, seed=7)


def test_the_failure_table_holds_the_runs_failures_by_gate_and_cause(world):
    table = tour.failures(world)
    assert list(table.index) == [*GATES, "total"] and list(table.columns) == [*CAUSES, "total"]
    for gate in GATES:
        for cause in CAUSES:
            assert table.loc[gate, cause] == int(world.summary[f"fail_{gate}_{cause}"])
    assert table.loc["total", "total"] == sum(int(world.summary[f"fail_{g}_{c}"]) for g in GATES for c in CAUSES)
    words = tour.failures_in_words(world)
    assert f"{table.loc['total', 'total']:,}" in words and table.drop(index="total")["total"].idxmax() in words


def test_the_run_in_words_and_the_status_table_agree_with_the_technology_table(world):
    words = tour.run_in_words(world)
    assert f"{world.summary['disclosures']:,.0f} inventions were disclosed" in words
    assert f"{world.summary['deals']:,.0f} technologies were transferred" in words
    assert f"warm-up of {int(world.summary['measured_from_quarter']) - 1} quarters" in words
    stand = tour.where_technologies_stand(world)
    assert stand.loc["total", "total"] == len(world.technologies)
    assert stand.loc["total", "market"] == (world.technologies["status"] == "market").sum()


def test_example_technologies_show_one_of_each_fate_that_happened(world):
    examples = tour.example_technologies(world)
    statuses = list(examples.loc["status"])
    assert statuses == sorted(statuses, key=["market", "failed", "shelved"].index)
    assert set(statuses) <= {"market", "failed", "shelved"} and len(statuses) >= 1
    assert "true value (M¥, hidden from everyone)" in examples.index


def test_the_network_table_counts_every_agent_and_tie(world):
    table = tour.network_table(world)
    graph = world.model.network.graph
    assert table.drop(index="ties between them")["number"].sum() == graph.number_of_nodes()
    assert table.loc["ties between them", "number"] == graph.number_of_edges()


def test_the_world_table_reads_the_scenario_file():
    table = tour.world_table(TINY)
    assert table.loc["enterprises"].iloc[0] == "120" and table.loc["quarters simulated"].iloc[0] == "32 (8 years)"
