"""Workflow planning and the dashboard layout (core/graphs.py): linear in the graph's size,
without recursion, whatever order or depth a workflow comes in."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import count

import pytest

from colonies.core import Conditions, FunctionSpec, WorkflowSpec
from colonies.core.graphs import GraphError, Member, layout, plan_workflow
from colonies.core.limits import MAX_WORKFLOW_NODES

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def chain(n: int, reverse: bool = True) -> WorkflowSpec:
    specs = [
        FunctionSpec(
            nodename=f"n{i}",
            funcname="f",
            conditions=Conditions(executortype="t", dependencies=[f"n{i - 1}"] if i else []),
        )
        for i in range(n)
    ]
    return WorkflowSpec(colonyname="c", functionspecs=specs[::-1] if reverse else specs)


def plan(spec: WorkflowSpec):  # type: ignore[no-untyped-def]
    ids = count()
    return plan_workflow(
        spec,
        graphid="g",
        initiatorid="i",
        initiatorname="n",
        now=NOW,
        new_id=lambda: f"p{next(ids)}",
    )


def test_a_long_chain_listed_children_first_plans():
    graph, processes = plan(chain(MAX_WORKFLOW_NODES))
    assert len(processes) == MAX_WORKFLOW_NODES
    assert len(graph.rootprocessids) == 1


def test_a_cycle_is_refused_whatever_its_length():
    spec = chain(MAX_WORKFLOW_NODES, reverse=False)
    spec.functionspecs[0].conditions.dependencies = [f"n{MAX_WORKFLOW_NODES - 1}"]
    with pytest.raises(GraphError, match="form a cycle"):
        plan(spec)


def test_more_nodes_than_the_limit_are_refused():
    with pytest.raises(GraphError, match="at most"):
        plan(chain(MAX_WORKFLOW_NODES + 1))


def test_layout_depths_of_a_deep_chain_without_recursion():
    n = 20_000
    members = [
        Member(f"p{i}", f"n{i}", [f"p{i - 1}"] if i else [], [f"p{i + 1}"] if i < n - 1 else [], 0)
        for i in range(n)
    ][::-1]
    nodes, edges = layout(members)
    y = {node.id: node.position.y for node in nodes}
    assert y["p0"] == 0 and y[f"p{n - 1}"] == (n - 1) * 80
    assert len(edges) == n - 1


def test_layout_of_a_graph_with_a_cycle_is_finite():
    members = [Member("a", "a", ["b"], ["b"], 0), Member("b", "b", ["a"], ["a"], 0)]
    nodes, _ = layout(members)
    assert {node.position.y for node in nodes} == {0}


def test_layout_depth_is_the_longest_chain_of_parents():
    members = [
        Member("r", "r", [], ["a", "c"], 0),
        Member("a", "a", ["r"], ["b"], 0),
        Member("b", "b", ["a"], ["c"], 0),
        Member("c", "c", ["r", "b"], [], 0),
    ]
    nodes, _ = layout(members)
    assert {node.id: node.position.y // 80 for node in nodes} == {"r": 0, "a": 1, "b": 2, "c": 3}
