"""The process messages' rules and error cases (docs/protocol.md §6.6, §6.8, §6.9, §7.1-§7.8)."""

from __future__ import annotations

import time

import pytest

from colonies.client import ColoniesError
from colonies.core.submission import attribute_id
from tests.helpers import function_spec as spec


async def expect(call, status: int, text: str = ""):
    with pytest.raises(ColoniesError) as err:
        await call
    assert err.value.status == status, err.value
    assert text in err.value.message
    return err.value


async def test_submit_validation_and_initiator(server, colony):
    rpc = server.rpc
    await expect(rpc.call("submitfuncspecmsg", colony.user, spec=None), 400)
    await expect(rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony, priority=50001)), 400)
    bad_mem = spec(colony)
    bad_mem["conditions"]["mem"] = "12 parsecs"
    await expect(rpc.call("submitfuncspecmsg", colony.user, spec=bad_mem), 400)
    await expect(
        rpc.call("submitfuncspecmsg", colony.owner, spec=spec(colony)), 403, "Access denied"
    )
    by_executor = await rpc.call("submitfuncspecmsg", colony.executor, spec=spec(colony))
    assert by_executor["initiatorname"] == colony.executor_name
    sized = spec(colony, maxwaittime=30, priority=2)
    sized["conditions"].update(cpu="500m", mem="1Gi")
    p = await rpc.call("submitfuncspecmsg", colony.user, spec=sized)
    assert p["spec"]["conditions"]["cpu"] == "500m" and p["spec"]["conditions"]["mem"] == "1024Mi"
    assert p["waitdeadline"] != "0001-01-01T00:00:00Z"
    assert p["prioritytime"] < by_executor["prioritytime"]  # two days of queue age earlier


async def test_matching_cpu_mem_and_names(server, colony):
    rpc = server.rpc
    heavy = spec(colony)
    heavy["conditions"].update(cpu="4000m")
    named = spec(colony)
    named["conditions"]["executornames"] = ["someone-else"]
    await rpc.call("submitfuncspecmsg", colony.user, spec=heavy)
    await rpc.call("submitfuncspecmsg", colony.user, spec=named)
    await expect(
        rpc.call(
            "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1,
            availablecpu="1000m",
        ),
        404,
        "No process available for assignment",
    )  # fmt: skip
    got = await rpc.call(
        "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1,
        availablecpu="8000m", availablemem="1Gi",
    )  # fmt: skip
    assert got["spec"]["conditions"]["cpu"] == "4000m"
    await expect(
        rpc.call(
            "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1,
            availablemem="lots",
        ),
        400,
    )  # fmt: skip
    await expect(
        rpc.call("assignprocessmsg", colony.user, colonyname=colony.name, timeout=-1),
        500,
        "executor not found",
    )
    executor = await rpc.call(
        "getexecutormsg", colony.user, colonyname=colony.name, executorname=colony.executor_name
    )
    assert executor["lastheardfromtime"] != "0001-01-01T00:00:00Z"


async def test_only_the_assigned_executor_while_running(server, colony, server_key):
    from tests.helpers import make_colony

    rpc = server.rpc
    p = await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
    pid = p["processid"]
    await expect(rpc.call("closesuccessfulmsg", colony.executor, processid=pid, out=[]), 403)
    await expect(rpc.call("addlogmsg", colony.executor, processid=pid, message="x"), 403)
    await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    await expect(rpc.call("closesuccessfulmsg", colony.user, processid=pid, out=[]), 403)
    other = await make_colony(rpc, server_key, name="other")
    await expect(rpc.call("getprocessmsg", other.user, processid=pid), 403, "Access denied")
    await expect(rpc.call("getprocessmsg", colony.user, processid="0" * 64), 404)
    attribute = await rpc.call(
        "addattributemsg", colony.executor,
        attribute={"targetid": pid, "key": "k", "value": "v", "attributetype": 1},
    )  # fmt: skip
    assert attribute["attributeid"] == attribute_id(pid, "k", 1)
    assert attribute["targetcolonyname"] == colony.name and attribute["state"] == 1
    await rpc.call("setoutputmsg", colony.executor, processid=pid, out=["partial"])
    await rpc.call("closefailedmsg", colony.executor, processid=pid, errors=["e1"])
    done = await rpc.call("getprocessmsg", colony.user, processid=pid)
    assert done["state"] == 3 and done["errors"] == ["e1"] and done["out"] == ["partial"]
    await expect(rpc.call("closesuccessfulmsg", colony.executor, processid=pid, out=[]), 400)
    await expect(rpc.call("setoutputmsg", colony.executor, processid=pid, out=["x"]), 403)
    await expect(
        rpc.call(
            "addattributemsg", colony.executor,
            attribute={"targetid": pid, "key": "k2", "value": "v", "attributetype": 1},
        ),
        403,
    )  # fmt: skip
    got = await rpc.call("getattributemsg", colony.user, attributeid=attribute["attributeid"])
    assert got["value"] == "v" and got["state"] == 3


async def test_lists_history_cancel_and_removal(server, colony):
    rpc = server.rpc
    ids = [
        (await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony, label="L")))[
            "processid"
        ]
        for _ in range(3)
    ]
    await expect(
        rpc.call("getprocessesmsg", colony.user, colonyname=colony.name, count=101, state=0),
        400,
        "Count is larger than MaxCount limit <100>",
    )
    await expect(
        rpc.call("getprocessesmsg", colony.user, colonyname=colony.name, count=10, state=9), 400
    )
    await expect(
        rpc.call(
            "getprocessesmsg", colony.user, colonyname=colony.name, count=10, state=0,
            initiator="nobody",
        ),
        400,
        "User nobody does not exist",
    )  # fmt: skip
    mine = await rpc.call(
        "getprocessesmsg", colony.user, colonyname=colony.name, count=10, state=0,
        initiator=colony.user_name,
    )  # fmt: skip
    assert [p["processid"] for p in mine] == ids
    labelled = await rpc.call(
        "getprocessesmsg", colony.user, colonyname=colony.name, count=10, state=0, label="L"
    )
    assert len(labelled) == 3
    history = await rpc.call(
        "getprocesshistmsg", colony.user, colonyname=colony.name, seconds=60, state=0
    )
    assert [p["processid"] for p in history] == ids
    running = await rpc.call(
        "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1
    )
    await expect(
        rpc.call("removeprocessmsg", colony.user, processid=running["processid"]),
        400,
        "cannot remove a running process",
    )
    await rpc.call("cancelprocessmsg", colony.user, processid=running["processid"])
    await expect(
        rpc.call("closesuccessfulmsg", colony.executor, processid=running["processid"], out=[]),
        400,
    )
    await expect(rpc.call("cancelprocessmsg", colony.user, processid=running["processid"]), 400)
    await rpc.call("removeprocessmsg", colony.user, processid=ids[1])
    await expect(rpc.call("getprocessmsg", colony.user, processid=ids[1]), 404)
    await expect(
        rpc.call("removeallprocessesmsg", colony.user, colonyname=colony.name, state=-1), 403
    )
    await expect(
        rpc.call("removeallprocessesmsg", colony.owner, colonyname=colony.name, state=1),
        400,
        "Not possible to remove running processes",
    )
    await expect(
        rpc.call("removeallprocessesmsg", colony.owner, colonyname=colony.name, state=7), 400
    )
    await rpc.call("removeallprocessesmsg", colony.owner, colonyname=colony.name, state=-1)
    stats = await rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
    assert sum(v for k, v in stats.items() if k.endswith("processes")) == 0


async def test_logs_count_since_latest_and_search(server, colony):
    rpc = server.rpc
    p = await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony))
    await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    for i in range(5):
        await rpc.call("addlogmsg", colony.executor, processid=p["processid"], message=f"line {i}")
    await rpc.call(
        "addexecutorlogmsg", colony.executor, colonyname=colony.name,
        executorname=colony.executor_name, message="executor says hi",
    )  # fmt: skip
    await expect(
        rpc.call(
            "addexecutorlogmsg", colony.user, colonyname=colony.name,
            executorname=colony.executor_name, message="impostor",
        ),
        403,
    )  # fmt: skip
    logs = await rpc.call(
        "getlogsmsg", colony.user, colonyname=colony.name, processid=p["processid"], count=3
    )
    assert [entry["message"] for entry in logs] == ["line 0", "line 1", "line 2"]
    after = await rpc.call(
        "getlogsmsg", colony.user, colonyname=colony.name, processid=p["processid"], count=10,
        since=logs[-1]["timestamp"],
    )  # fmt: skip
    assert [entry["message"] for entry in after] == ["line 3", "line 4"]
    latest = await rpc.call(
        "getlogsmsg", colony.user, colonyname=colony.name, processid=p["processid"], count=2,
        latest=True,
    )  # fmt: skip
    assert [entry["message"] for entry in latest] == ["line 4", "line 3"]
    own = await rpc.call(
        "getlogsmsg", colony.user, colonyname=colony.name, executorname=colony.executor_name,
        count=10,
    )  # fmt: skip
    assert "executor says hi" in [entry["message"] for entry in own]
    assert abs(logs[0]["timestamp"] / 1e9 - time.time()) < 60
    await expect(rpc.call("getlogsmsg", colony.user, colonyname=colony.name, count=5), 400)
    await expect(
        rpc.call(
            "getlogsmsg", colony.user, colonyname=colony.name, processid=p["processid"], count=501
        ),
        400,
    )
    found = await rpc.call(
        "searchlogsmsg", colony.user, colonyname=colony.name, text="line 3", days=1, count=10
    )
    assert [entry["message"] for entry in found] == ["line 3"]
    await expect(
        rpc.call("searchlogsmsg", colony.user, colonyname=colony.name, text="x", days=31, count=1),
        400,
    )
