"""A two-node workflow end to end: gen closes with five integers, sum receives them as input."""

from __future__ import annotations

import asyncio


def node(colony, name, deps=(), **extra):
    spec = {
        "nodename": name,
        "funcname": name,
        "conditions": {
            "colonyname": colony.name,
            "executortype": colony.executor_type,
            "dependencies": list(deps),
        },
        "maxexectime": -1,
        "maxretries": -1,
        "maxwaittime": -1,
    }
    spec.update(extra)
    return spec


async def assign(server, colony):
    return await server.rpc.call(
        "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=5
    )


async def test_static_workflow_passes_outputs_to_children(server, colony):
    rpc = server.rpc
    graph = await rpc.call(
        "submitworkflowspecmsg",
        colony.user,
        spec={
            "colonyname": colony.name,
            "functionspecs": [node(colony, "gen"), node(colony, "sum", ["gen"])],
        },
    )
    assert len(graph["processids"]) == 2 and len(graph["rootprocessids"]) == 1
    assert {n["type"] for n in graph["nodes"]} == {"input", "output"}
    assert len(graph["edges"]) == 1
    gen = await assign(server, colony)
    assert gen["spec"]["funcname"] == "gen"
    running = await rpc.call(
        "getprocessgraphmsg", colony.user, processgraphid=graph["processgraphid"]
    )
    assert running["state"] == 1
    await rpc.call(
        "closesuccessfulmsg", colony.executor, processid=gen["processid"], out=[1, 2, 3, 4, 5]
    )
    total = await assign(server, colony)
    assert total["spec"]["funcname"] == "sum" and total["in"] == [1, 2, 3, 4, 5]
    await rpc.call("closesuccessfulmsg", colony.executor, processid=total["processid"], out=[15])
    done = await rpc.call("getprocessgraphmsg", colony.user, processgraphid=graph["processgraphid"])
    assert done["state"] == 2


async def test_failure_cascades_and_keeps_successes(server, colony):
    rpc = server.rpc
    graph = await rpc.call(
        "submitworkflowspecmsg",
        colony.user,
        spec={
            "colonyname": colony.name,
            "functionspecs": [
                node(colony, "a"),
                node(colony, "b", ["a"]),
                node(colony, "c", ["a"]),
                node(colony, "d", ["b", "c"]),
            ],
        },
    )
    a = await assign(server, colony)
    await rpc.call("closesuccessfulmsg", colony.executor, processid=a["processid"], out=["x"])
    b = await assign(server, colony)
    await rpc.call("closefailedmsg", colony.executor, processid=b["processid"], errors=["boom"])
    await asyncio.sleep(0)
    states = {}
    for pid in graph["processids"]:
        p = await rpc.call("getprocessmsg", colony.user, processid=pid)
        states[p["spec"]["nodename"]] = p["state"]
    assert states == {"a": 2, "b": 3, "c": 3, "d": 3}
    g = await rpc.call("getprocessgraphmsg", colony.user, processgraphid=graph["processgraphid"])
    assert g["state"] == 3
