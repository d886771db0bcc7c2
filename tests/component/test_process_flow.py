"""Submit → assign → close through the real server; long-poll wake-ups; exactly-once claims."""

from __future__ import annotations

import asyncio
import time

import pytest

from colonies.client import ColoniesError


def spec(colony, funcname="echo", **extra):
    s = {
        "funcname": funcname,
        "args": ["hello", 5.0],
        "conditions": {"colonyname": colony.name, "executortype": colony.executor_type},
        "maxexectime": -1,
        "maxwaittime": -1,
        "maxretries": -1,
        "priority": 0,
    }
    s.update(extra)
    return s


async def test_submit_assign_close(server, colony):
    rpc = server.rpc
    p = await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony, env={"A": "1"}))
    assert p["state"] == 0 and p["initiatorname"] == colony.user_name
    assert p["spec"]["args"] == ["hello", 5]
    assert p["spec"]["conditions"]["cpu"] == "0m" and p["spec"]["conditions"]["mem"] == "0Mi"
    assert [a["key"] for a in p["attributes"]] == ["A"]
    got = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    assert got["processid"] == p["processid"] and got["state"] == 1
    assert got["assignedexecutorid"] == colony.executor.id and got["isassigned"] is True
    assert got["attributes"][0]["state"] == 1
    await rpc.call("addlogmsg", colony.executor, processid=p["processid"], message="hi")
    await rpc.call("closesuccessfulmsg", colony.executor, processid=p["processid"], out=[1.0, "x"])
    done = await rpc.call("getprocessmsg", colony.user, processid=p["processid"])
    assert done["state"] == 2 and done["out"] == [1, "x"]
    logs = await rpc.call(
        "getlogsmsg", colony.user, colonyname=colony.name, processid=p["processid"], count=10
    )
    assert [entry["message"] for entry in logs] == ["hi"]
    # closed once: a second close is refused
    with pytest.raises(ColoniesError) as err:
        await rpc.call("closesuccessfulmsg", colony.executor, processid=p["processid"], out=[])
    assert err.value.status == 400
    stats = await rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
    assert stats["successfulprocesses"] == 1 and stats["waitingprocesses"] == 0


async def test_assign_errors(server, colony):
    rpc = server.rpc
    with pytest.raises(ColoniesError) as err:
        await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=0)
    assert err.value.status == 400 and "timeout cannot be zero" in err.value.message
    start = time.monotonic()
    with pytest.raises(ColoniesError) as err:
        await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=1)
    assert err.value.status == 404
    assert err.value.message == "No process available for assignment"
    assert 0.9 < time.monotonic() - start < 3


async def test_waiting_executor_is_woken_quickly(server, colony):
    rpc = server.rpc
    poll = asyncio.create_task(
        rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=10)
    )
    await asyncio.sleep(0.3)  # let the long poll register
    submitted = time.monotonic()
    p = await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
    got = await poll
    latency = time.monotonic() - submitted
    assert got["processid"] == p["processid"]
    print(f"\nsubmit -> assign of a waiting executor: {latency * 1000:.1f} ms")
    assert latency < 0.5, f"wake-up took {latency * 1000:.0f} ms"


async def test_fifo_and_priority(server, colony):
    rpc = server.rpc
    ids = [
        (await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony)))["processid"]
        for _ in range(3)
    ]
    urgent = await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony, priority=1))
    order = []
    for _ in range(4):
        p = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
        order.append(p["processid"])
    assert order == [urgent["processid"], *ids]
