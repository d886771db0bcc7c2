"""Workflows, crons and generators with the real pycolonies client (docs/protocol.md §7.9-§7.11)."""

from __future__ import annotations

import json
import time

import pytest
from model import Conditions, FuncSpec, Workflow
from pycolonies import func_spec

pytestmark = pytest.mark.compat


def _spec(name: str, deps: list[str] | None = None) -> FuncSpec:
    return FuncSpec(
        nodename=name,
        funcname=name,
        args=[],
        maxexectime=-1,
        maxretries=-1,
        maxwaittime=-1,
        conditions=Conditions(colonyname="test", executortype="cli", dependencies=deps or []),
    )


def test_static_two_node_workflow(world):
    client, _, key, _ = world
    graph = client.submit_workflow(
        Workflow(colonyname="test", functionspecs=[_spec("gen"), _spec("sum", ["gen"])]), key
    )
    gen = client.assign("test", 5, key)
    assert gen.spec.funcname == "gen"
    client.close(gen.processid, [1, 2, 3, 4, 5], key)
    total = client.assign("test", 5, key)
    assert total.spec.funcname == "sum" and total.input == [1, 2, 3, 4, 5]
    client.close(total.processid, [sum(total.input)], key)
    done = client.get_processgraph(graph.processgraphid, key)
    assert done.state == 2 and len(done.nodes) == 2 and len(done.edges) == 1
    assert client.get_process(total.processid, key).output == [15]


def test_dynamic_workflow_adds_two_children(world):
    client, _, key, _ = world
    graph = client.submit_workflow(
        Workflow(colonyname="test", functionspecs=[_spec("gen"), _spec("sum", ["gen"])]), key
    )
    gen = client.assign("test", 5, key)
    sum_process = client.find_process("sum", graph.processids, key)
    for name in ("left", "right"):
        client.add_child(
            graph.processgraphid, gen.processid, sum_process.processid,
            func_spec(name, [], "test", "cli"), name, False, key,
        )  # fmt: skip
    client.close(gen.processid, [2], key)
    seen = []
    for _ in range(2):
        child = client.assign("test", 5, key)
        seen.append(child.spec.funcname)
        client.close(child.processid, [child.input[0] * 10], key)
    assert sorted(seen) == ["left", "right"]
    total = client.assign("test", 5, key)
    assert total.spec.funcname == "sum" and total.input == [2, 20, 20]  # parents in order
    client.close(total.processid, [42], key)
    assert client.get_processgraph(graph.processgraphid, key).state == 2


def test_cron_every_second_spawns_a_workflow(world):
    client, _, key, _ = world
    cron = client.add_cron(
        "tick", "0/1 * * * * *", False, Workflow(colonyname="test", functionspecs=[_spec("c")]),
        "test", key,
    )  # fmt: skip
    deadline = time.monotonic() + 4
    spawned = []
    while time.monotonic() < deadline and not spawned:
        spawned = client.get_processgraphs("test", 10, key)
        time.sleep(0.2)
    assert spawned, "no workflow within 4 s"
    assert client.get_cron(cron["cronid"], key)["name"] == "tick"
    assert [c["name"] for c in client.get_crons("test", 10, key)] == ["tick"]
    client.del_cron(cron["cronid"], key)
    assert client.get_crons("test", 10, key) == []


def test_generators(world):
    client, _, key, _ = world
    spec = json.dumps(
        Workflow(colonyname="test", functionspecs=[_spec("g")]).model_dump(by_alias=True)
    )
    generator = client.add_generator(
        {"colonyname": "test", "name": "batch", "workflowspec": spec, "trigger": 2, "timeout": -1},
        key,
    )
    gid = generator["generatorid"]
    assert client.get_generator(gid, key)["name"] == "batch"
    assert [g["name"] for g in client.get_generators("test", key)] == ["batch"]
    for arg in ("x", "y"):  # pycolonies has no pack call: the same signed RPC by hand
        client._Colonies__rpc({"msgtype": "packgeneratormsg", "generatorid": gid, "arg": arg}, key)
    p = client.assign("test", 5, key)
    assert p.spec.args == ["x", "y"]
    client.remove_generator(gid, key)
    assert client.get_generators("test", key) == []
