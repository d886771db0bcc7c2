"""The leader's ticks through the real server: deadlines, generators, crons, pause, fencing."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest

from colonies.client import ColoniesError
from colonies.core import utcnow
from colonies.server.app import STATE_KEY
from colonies.store.ticks import StaleTerm
from tests.helpers import eventually, make_colony, make_config, start_server


def node(name, deps=(), colony="test", etype="cli", **extra):
    spec = {
        "nodename": name,
        "funcname": name,
        "conditions": {"colonyname": colony, "executortype": etype, "dependencies": list(deps)},
        "maxexectime": -1,
        "maxretries": -1,
        "maxwaittime": -1,
    }
    spec.update(extra)
    return spec


def workflow(*specs, colony="test") -> str:
    return json.dumps({"colonyname": colony, "functionspecs": list(specs)})


@pytest.fixture
async def fast(db_url, server_key):
    """A server with 100 ms cron and generator ticks, and a colony."""
    config = make_config(db_url, server_key, cron_period_ms=100, generator_period_ms=100)
    runner, app = await start_server(config)
    from colonies.client import AsyncRpc

    rpc = AsyncRpc(f"http://127.0.0.1:{config.port}")
    colony = await make_colony(rpc, server_key)
    try:
        yield rpc, colony, app
    finally:
        await rpc.close()
        await runner.cleanup()


async def graphs(rpc, colony, state=0):
    return await rpc.call(
        "getprocessgraphsmsg", colony.user, colonyname=colony.name, count=100, state=state
    )


async def test_exec_deadline_reclaims_then_fails(fast):
    rpc, colony, _ = fast
    spec = node("slow", maxexectime=1, maxretries=1)
    del spec["nodename"]
    p = await rpc.call("submitfuncspecmsg", colony.user, spec=spec)
    first = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=5)

    async def reclaimed():
        got = await rpc.call("getprocessmsg", colony.user, processid=p["processid"])
        return got if got["state"] == 0 else None

    again = await eventually(reclaimed, "the reclaim", timeout=5)
    assert again["retries"] == 1 and again["assignedexecutorid"] == ""
    with pytest.raises(ColoniesError) as err:  # the executor that lost it
        await rpc.call("closesuccessfulmsg", colony.executor, processid=first["processid"], out=[])
    assert err.value.status == 403
    await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=5)

    async def failed():
        got = await rpc.call("getprocessmsg", colony.user, processid=p["processid"])
        return got if got["state"] == 3 else None

    assert (await eventually(failed, "the failure", timeout=5))["errors"] == [
        "Maximum execution time limit exceeded"
    ]


async def test_wait_deadline_fails_and_many_expire_in_one_tick(fast):
    rpc, colony, app = fast
    spec = node("never", etype="nobody", maxwaittime=1)
    del spec["nodename"]
    ids = [
        (await rpc.call("submitfuncspecmsg", colony.user, spec=spec))["processid"]
        for _ in range(40)
    ]
    store = app[STATE_KEY].store
    term = await store.ticks.current_term()
    result = await store.ticks.deadlines(term, utcnow() + timedelta(seconds=2))
    assert result.expired_waiting == 40
    got = await rpc.call("getprocessmsg", colony.user, processid=ids[0])
    assert got["state"] == 3 and got["errors"] == ["Maximum waiting time limit exceeded"]


async def test_stale_term_changes_nothing(fast):
    rpc, colony, app = fast
    spec = node("x", etype="nobody", maxwaittime=1)
    del spec["nodename"]
    p = await rpc.call("submitfuncspecmsg", colony.user, spec=spec)
    store = app[STATE_KEY].store
    term = await store.ticks.current_term()
    with pytest.raises(StaleTerm):
        await store.ticks.deadlines(term - 1, utcnow() + timedelta(seconds=5))
    with pytest.raises(StaleTerm):
        await store.schedules.cron_tick(term - 1, utcnow())
    got = await rpc.call("getprocessmsg", colony.user, processid=p["processid"])
    assert got["state"] == 0


async def test_generator_by_count_and_by_timeout(fast):
    rpc, colony, _ = fast
    g = await rpc.call(
        "addgeneratormsg", colony.user,
        generator={"colonyname": colony.name, "name": "gen", "workflowspec": workflow(node("w")),
                   "trigger": 3, "timeout": 1},
    )  # fmt: skip
    for i in range(7):
        await rpc.call("packgeneratormsg", colony.user, generatorid=g["generatorid"], arg=f"a{i}")

    async def three_graphs():
        found = await graphs(rpc, colony)
        return found if len(found) == 3 else None

    found = await eventually(three_graphs, "three graphs")
    args = []
    for graph in sorted(found, key=lambda x: x["submissiontime"]):
        p = await rpc.call("getprocessmsg", colony.user, processid=graph["rootprocessids"][0])
        args.append(p["spec"]["args"])
    assert args == [["a0", "a1", "a2"], ["a3", "a4", "a5"], ["a6"]]  # FIFO, each exactly once
    got = await rpc.call("getgeneratormsg", colony.user, generatorid=g["generatorid"])
    assert got["queuesize"] == 0 and got["checkerperiod"] == 100
    same = await rpc.call(
        "resolvegeneratormsg", colony.user, colonyname=colony.name, generatorname="gen"
    )
    assert same["generatorid"] == g["generatorid"]
    with pytest.raises(ColoniesError) as err:
        await rpc.call(
            "addgeneratormsg", colony.user,
            generator={"colonyname": colony.name, "name": "bad", "workflowspec": "{",
                       "trigger": 1},
        )  # fmt: skip
    assert err.value.status == 400
    await rpc.call("removegeneratormsg", colony.user, generatorid=g["generatorid"])
    assert await rpc.call("getgeneratorsmsg", colony.user, colonyname=colony.name, count=10) == []


async def test_cron_by_interval_and_expression(fast):
    rpc, colony, _ = fast
    by_interval = await rpc.call(
        "addcronmsg", colony.user,
        cron={"colonyname": colony.name, "name": "every", "interval": 1, "cronexpression": "",
              "workflowspec": workflow(node("c"))},
    )  # fmt: skip
    by_expr = await rpc.call(
        "addcronmsg", colony.user,
        cron={"colonyname": colony.name, "name": "expr", "interval": -1,
              "cronexpression": "0/1 * * * * *", "workflowspec": workflow(node("d"))},
    )  # fmt: skip

    async def both_fired():
        crons = [
            await rpc.call("getcronmsg", colony.user, cronid=c["cronid"])
            for c in (by_interval, by_expr)
        ]
        return crons if all(c["prevprocessgraphid"] for c in crons) else None

    fired = await eventually(both_fired, "both crons firing", timeout=6)
    assert all(c["lastrun"] != "0001-01-01T00:00:00Z" for c in fired)
    for bad in (
        {"interval": 0},
        {"interval": -1, "cronexpression": "* * * * *"},
        {"random": True, "interval": 5},
    ):
        with pytest.raises(ColoniesError) as err:
            await rpc.call(
                "addcronmsg", colony.user,
                cron={"colonyname": colony.name, "name": "bad",
                      "workflowspec": workflow(node("e")), **bad},
            )  # fmt: skip
        assert err.value.status == 400
    for c in (by_interval, by_expr):
        await rpc.call("removecronmsg", colony.user, cronid=c["cronid"])
    assert await rpc.call("getcronsmsg", colony.user, colonyname=colony.name, count=10) == []


async def test_cron_waits_for_the_previous_graph_and_passes_leaf_outputs(fast):
    rpc, colony, _ = fast
    cron = await rpc.call(
        "addcronmsg", colony.user,
        cron={"colonyname": colony.name, "name": "chain", "interval": 3600,
              "workflowspec": workflow(node("step")), "waitforprevprocessgraph": True},
    )  # fmt: skip
    first = await rpc.call("runcronmsg", colony.user, cronid=cron["cronid"])
    prev = first["prevprocessgraphid"]
    second = await rpc.call("runcronmsg", colony.user, cronid=cron["cronid"])
    assert second["prevprocessgraphid"] == prev, "fired while the previous graph was waiting"
    p = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=5)
    await rpc.call("closesuccessfulmsg", colony.executor, processid=p["processid"], out=[1, 2])
    third = await rpc.call("runcronmsg", colony.user, cronid=cron["cronid"])
    assert third["prevprocessgraphid"] != prev
    nxt = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=5)
    assert nxt["in"] == [1, 2]


async def test_pause_and_resume(fast):
    rpc, colony, _ = fast
    spec = node("p")
    del spec["nodename"]
    await rpc.call("pauseassignmentsmsg", colony.owner, colonyname=colony.name)
    with pytest.raises(ColoniesError) as err:
        await rpc.call("pauseassignmentsmsg", colony.user, colonyname=colony.name)
    assert err.value.status == 403
    status = await rpc.call("getpausestatusmsg", colony.user, colonyname=colony.name)
    assert status == {"msgtype": "pausestatusreplymsg", "colonyname": colony.name, "ispaused": True}
    await rpc.call("submitfuncspecmsg", colony.user, spec=spec)
    with pytest.raises(ColoniesError) as err:
        await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    assert (err.value.status, err.value.message) == (
        503,
        "No processes available: colony assignments are paused",
    )
    with pytest.raises(ColoniesError) as err:
        await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=1)
    assert err.value.status == 408
    poll = asyncio.create_task(
        rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=10)
    )
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await rpc.call("resumeassignmentsmsg", colony.owner, colonyname=colony.name)
    got = await poll
    assert got["state"] == 1 and time.monotonic() - started < 2


async def test_add_child_both_ways(fast):
    rpc, colony, _ = fast
    g = await rpc.call(
        "submitworkflowspecmsg", colony.user,
        spec=json.loads(workflow(node("gen"), node("sum", ["gen"]))),
    )  # fmt: skip
    gen = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=5)
    gid = g["processgraphid"]
    sum_id = next(pid for pid in g["processids"] if pid != gen["processid"])
    between = await rpc.call(
        "addchildmsg", colony.executor, processgraphid=gid, parentprocessid=gen["processid"],
        childprocessid="", spec=node("mid"), insert=True,
    )  # fmt: skip
    extra = await rpc.call(
        "addchildmsg", colony.executor, processgraphid=gid, parentprocessid=gen["processid"],
        childprocessid=sum_id, spec=node("side"), insert=False,
    )  # fmt: skip
    parent = await rpc.call("getprocessmsg", colony.user, processid=gen["processid"])
    assert parent["children"] == [between["processid"], extra["processid"]]
    total = await rpc.call("getprocessmsg", colony.user, processid=sum_id)
    assert total["parents"] == [between["processid"], extra["processid"]]
    assert between["parents"] == [gen["processid"]] and between["children"] == [sum_id]
    assert extra["children"] == [sum_id]
    graph = await rpc.call("getprocessgraphmsg", colony.user, processgraphid=gid)
    assert len(graph["processids"]) == 4 and len(graph["edges"]) == 4
    with pytest.raises(ColoniesError) as err:  # not the parent's executor
        await rpc.call(
            "addchildmsg", colony.user, processgraphid=gid, parentprocessid=gen["processid"],
            spec=node("x"), insert=False,
        )  # fmt: skip
    assert err.value.status == 403


async def test_retention_and_stale_executors(db_url, server_key):
    from colonies.client import AsyncRpc
    from colonies.crypto import generate_private_key

    config = make_config(db_url, server_key)
    runner, app = await start_server(config)
    rpc = AsyncRpc(f"http://127.0.0.1:{config.port}")
    try:
        colony = await make_colony(rpc, server_key)
        spec = node("r")
        del spec["nodename"]
        done = await rpc.call("submitfuncspecmsg", colony.user, spec=spec)
        await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
        await rpc.call("addlogmsg", colony.executor, processid=done["processid"], message="old")
        await rpc.call("closesuccessfulmsg", colony.executor, processid=done["processid"], out=[])
        failed = await rpc.call("submitfuncspecmsg", colony.user, spec=spec)
        await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
        await rpc.call("closefailedmsg", colony.executor, processid=failed["processid"], errors=[])
        silent, timeless = generate_private_key(), generate_private_key()
        for key, name, heard in (
            (silent, "silent", "2020-01-01T00:00:00Z"),
            (timeless, "timeless", None),
        ):
            executor = {"executorid": key.id, "executorname": name, "executortype": "x",
                        "colonyname": colony.name}  # fmt: skip
            if heard:
                executor["lastheardfromtime"] = heard
            await rpc.call("addexecutormsg", colony.owner, executor=executor)

        store = app[STATE_KEY].store
        term = await store.ticks.current_term()
        later = utcnow() + timedelta(seconds=120)
        assert await store.ticks.retention(term, later, 60) == 1
        await expect_missing(rpc, colony, done["processid"])
        kept = await rpc.call("getprocessmsg", colony.user, processid=failed["processid"])
        assert kept["state"] == 3  # FAILED is kept
        logs = await rpc.call(
            "getlogsmsg", colony.user, colonyname=colony.name, processid=done["processid"], count=5
        )
        assert logs == []
        assert await store.ticks.stale_executors(term, utcnow(), 600) == 1
        names = [e["executorname"] for e in await rpc.call(
            "getexecutorsmsg", colony.user, colonyname=colony.name)]  # fmt: skip
        assert "silent" not in names and "timeless" in names
        assert colony.executor_name in names  # heard from by its assigns
    finally:
        await rpc.close()
        await runner.cleanup()


async def expect_missing(rpc, colony, processid):
    with pytest.raises(ColoniesError) as err:
        await rpc.call("getprocessmsg", colony.user, processid=processid)
    assert err.value.status == 404
