"""Every process, attribute and log message with its error cases, against a real server
(docs/protocol.md §3.8, §4.2, §5.3, §6.6, §6.8, §6.9, §7.1-§7.8, §7.18, §7.20)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from hashlib import sha3_256
from typing import Any

import pytest

from colonies.crypto import generate_private_key
from tests.helpers import ZERO_TIME, add_executor, expect_error, make_colony, submit
from tests.helpers import function_spec as spec

NS_PER_DAY = 86_400 * 10**9
ACCESS_DENIED = "Access denied"


# --- helpers --------------------------------------------------------------------------------


async def assign(rpc, key, colony, **extra: Any) -> dict:
    return await rpc.call("assignprocessmsg", key, colonyname=colony.name, timeout=-1, **extra)


async def no_assignment(rpc, key, colony, **extra: Any) -> None:
    await expect_error(
        assign(rpc, key, colony, **extra), 404, starts="No process available for assignment"
    )


def ns(text: str) -> int:
    """An RFC 3339 UTC timestamp as Unix nanoseconds, exactly (all nine fractional digits)."""
    assert text.endswith("Z"), text
    base, _, fraction = text[:-1].partition(".")
    whole = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    delta = whole - datetime(1970, 1, 1, tzinfo=timezone.utc)
    seconds = delta.days * 86_400 + delta.seconds
    return seconds * 10**9 + int(fraction.ljust(9, "0") if fraction else "0")


def ids(processes: list[dict]) -> list[str]:
    return [p["processid"] for p in processes]


async def get(rpc, colony, processid: str) -> dict:
    return await rpc.call("getprocessmsg", colony.user, processid=processid)


async def listing(rpc, colony, state: int, count: int = 100, **filters: Any) -> list[str]:
    got = await rpc.call(
        "getprocessesmsg", colony.user, colonyname=colony.name, count=count, state=state, **filters
    )
    return ids(got)


# --- submitfuncspecmsg ----------------------------------------------------------------------
async def test_submit_rejects_bad_specs_and_non_members(server, colony, server_key):
    rpc = server.rpc
    await expect_error(rpc.call("submitfuncspecmsg", colony.user, spec=None), 400)
    for priority in (50001, -50001):
        await expect_error(submit(rpc, colony.user, colony, priority=priority), 400)
    for field in ("mem", "storage"):
        await expect_error(submit(rpc, colony.user, colony, conditions={field: "12 parsecs"}), 400)
    await expect_error(submit(rpc, colony.user, colony, conditions={"mem": "5"}), 400)
    # Not a member: a stranger, a member of another colony, and the colony owner alone.
    other = await make_colony(rpc, server_key, colony.owner.scheme, name="other")
    stranger = generate_private_key(colony.owner.scheme)
    for key in (stranger, other.user, other.executor, colony.owner):
        await expect_error(submit(rpc, key, colony), 403, starts=ACCESS_DENIED)
    await expect_error(
        rpc.call(
            "submitfuncspecmsg",
            colony.user,
            spec=spec(colony, conditions={"colonyname": "nowhere"}),
        ),
        403,
        contains="nowhere",
    )
    stats = await rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
    assert stats["waitingprocesses"] == 0, "a refused submission left a process behind"
    # The boundaries of the priority range are accepted.
    for priority in (50000, -50000):
        assert (await submit(rpc, colony.user, colony, priority=priority))["state"] == 0


async def test_submit_sets_initiator_and_initial_fields(server, colony):
    rpc = server.rpc
    by_user = await submit(rpc, colony.user, colony)
    assert by_user["initiatorname"] == colony.user_name
    assert by_user["initiatorid"] == colony.user.id
    by_executor = await submit(rpc, colony.executor, colony)
    assert by_executor["initiatorname"] == colony.executor_name
    assert by_executor["initiatorid"] == colony.executor.id
    for p in (by_user, by_executor, await get(rpc, colony, by_user["processid"])):
        assert len(p["processid"]) == 64
        assert p["state"] == 0 and p["isassigned"] is False and p["assignedexecutorid"] == ""
        assert p["retries"] == 0 and p["processgraphid"] == "" and p["waitforparents"] is False
        for key in ("in", "out", "errors", "parents", "children", "attributes"):
            assert p[key] == [], (key, p[key])
        for key in ("starttime", "endtime", "waitdeadline", "execdeadline"):
            assert p[key] == ZERO_TIME, (key, p[key])
        assert p["spec"]["env"] == {}
    assert by_user["processid"] != by_executor["processid"]
    read = await get(rpc, colony, by_executor["processid"])
    assert read["initiatorname"] == colony.executor_name


async def test_submit_priority_time_and_wait_deadline(server, colony):
    rpc = server.rpc
    for priority in (0, 3, -2):
        p = await submit(rpc, colony.user, colony, priority=priority)
        expected = ns(p["submissiontime"]) - priority * NS_PER_DAY
        assert p["prioritytime"] == expected, priority
        read = await get(rpc, colony, p["processid"])
        assert read["prioritytime"] == ns(read["submissiontime"]) - priority * NS_PER_DAY
        assert read["prioritytime"] == p["prioritytime"]
    limited = await submit(rpc, colony.user, colony, maxwaittime=45)
    assert ns(limited["waitdeadline"]) == ns(limited["submissiontime"]) + 45 * 10**9
    read = await get(rpc, colony, limited["processid"])
    assert ns(read["waitdeadline"]) == ns(read["submissiontime"]) + 45 * 10**9
    assert read["execdeadline"] == ZERO_TIME
    for unlimited in (0, -1):
        p = await submit(rpc, colony.user, colony, maxwaittime=unlimited)
        assert p["waitdeadline"] == ZERO_TIME
        assert (await get(rpc, colony, p["processid"]))["waitdeadline"] == ZERO_TIME
        assert p["spec"]["maxwaittime"] == unlimited  # stored as given (§7.1 item 8)


async def test_submit_resources_env_and_args(server, colony):
    rpc = server.rpc
    p = await submit(
        rpc,
        colony.user,
        colony,
        conditions={"cpu": "500m", "mem": "1Gi", "storage": "2G"},
        env={"A": "1", "B": "two"},
        args=[1.0, 2.5, "x", 3, -4.0],
        kwargs={"n": 2.0, "f": 0.5},
    )
    for got in (p, await get(rpc, colony, p["processid"])):
        conditions = got["spec"]["conditions"]
        assert conditions["cpu"] == "500m" and conditions["mem"] == "1024Mi"
        assert conditions["storage"] == f"{2 * 10**9 // 2**20}Mi"
        assert got["spec"]["env"] == {"A": "1", "B": "two"}
        attributes = sorted(got["attributes"], key=lambda a: a["key"])
        assert [(a["key"], a["value"], a["attributetype"]) for a in attributes] == [
            ("A", "1", 3),
            ("B", "two", 3),
        ]
        for a in attributes:
            expected = sha3_256(f"{p['processid']}{a['key']}3".encode()).hexdigest()
            assert a["attributeid"] == expected
            assert a["targetid"] == p["processid"]
            assert a["targetcolonyname"] == colony.name and a["state"] == 0
        args = got["spec"]["args"]
        assert args == [1, 2.5, "x", 3, -4]
        assert [type(a) for a in args] == [int, float, str, int, int]  # no "1.0" on the wire
        assert type(got["spec"]["kwargs"]["n"]) is int and got["spec"]["kwargs"]["f"] == 0.5
    # A CPU string without the "m" suffix counts as 0 (the upstream rule).
    bare = await submit(rpc, colony.user, colony, conditions={"cpu": "4"})
    assert bare["spec"]["conditions"]["cpu"] == "0m"
    assert bare["spec"]["conditions"]["mem"] == "0Mi"


# --- assignprocessmsg -----------------------------------------------------------------------
async def test_assign_matches_executor_type_and_names(server, colony):
    rpc = server.rpc
    other_type = await add_executor(rpc, colony, "gpu-1", executortype="gpu")
    second = await add_executor(rpc, colony, "exec-2")
    # The executor type must match, also when the process names the executor.
    named_wrong_type = await submit(
        rpc,
        colony.user,
        colony,
        conditions={"executortype": "gpu", "executornames": [colony.executor_name]},
    )
    await no_assignment(rpc, colony.executor, colony)
    assert (await get(rpc, colony, named_wrong_type["processid"]))["state"] == 0
    await rpc.call("cancelprocessmsg", colony.user, processid=named_wrong_type["processid"])
    by_type = await submit(rpc, colony.user, colony, conditions={"executortype": "gpu"})
    await no_assignment(rpc, colony.executor, colony)
    assert (await assign(rpc, other_type, colony))["processid"] == by_type["processid"]
    # executornames: only the named executor; ["*"] and [] mean any executor of the type.
    named = await submit(rpc, colony.user, colony, conditions={"executornames": ["exec-2"]})
    await no_assignment(rpc, colony.executor, colony)
    got = await assign(rpc, second, colony)
    assert got["processid"] == named["processid"] and got["assignedexecutorid"] == second.id
    for names in (["*"], []):
        p = await submit(rpc, colony.user, colony, conditions={"executornames": names})
        got = await assign(rpc, colony.executor, colony)
        assert got["processid"] == p["processid"]
        assert got["assignedexecutorid"] == colony.executor.id
    await no_assignment(rpc, other_type, colony)


async def test_assign_matches_location_case_insensitively(server, colony):
    rpc = server.rpc
    await rpc.call(
        "addlocationmsg", colony.owner, location={"name": "Lab-A", "colonyname": colony.name}
    )
    located = await add_executor(rpc, colony, "exec-lab", locationname="Lab-A")
    executor = await rpc.call(
        "getexecutormsg", colony.user, colonyname=colony.name, executorname="exec-lab"
    )
    assert executor["locationname"] == "Lab-A"
    p = await submit(rpc, colony.user, colony, conditions={"locationname": "lab-a"})
    await no_assignment(rpc, colony.executor, colony)  # no location: cannot take a located one
    elsewhere = await submit(rpc, colony.user, colony, conditions={"locationname": "LAB-B"})
    got = await assign(rpc, located, colony)
    assert got["processid"] == p["processid"]
    await no_assignment(rpc, located, colony)  # "LAB-B" is not its location
    await no_assignment(rpc, colony.executor, colony)
    await rpc.call("cancelprocessmsg", colony.user, processid=elsewhere["processid"])
    anywhere = await submit(rpc, colony.user, colony)
    assert (await assign(rpc, located, colony))["processid"] == anywhere["processid"]


async def test_assign_filters_by_available_cpu_and_mem(server, colony):
    rpc = server.rpc
    p = await submit(rpc, colony.user, colony, conditions={"cpu": "2000m", "mem": "2Gi"})
    await no_assignment(rpc, colony.executor, colony, availablecpu="1999m")
    await no_assignment(rpc, colony.executor, colony, availablemem="2047Mi")
    await no_assignment(rpc, colony.executor, colony, availablecpu="4")  # no "m": 0 millicores
    for bad in ("lots", "12 parsecs", "5", "1gi"):
        await expect_error(assign(rpc, colony.executor, colony, availablemem=bad), 400)
    assert (await get(rpc, colony, p["processid"]))["state"] == 0
    got = await assign(rpc, colony.executor, colony, availablecpu="2000m", availablemem="2048Mi")
    assert got["processid"] == p["processid"]
    small = await submit(rpc, colony.user, colony)
    got = await assign(rpc, colony.executor, colony, availablecpu="4", availablemem="1Ki")
    assert got["processid"] == small["processid"]
    # Not reported: unlimited.
    big = await submit(rpc, colony.user, colony, conditions={"cpu": "64000m", "mem": "1TiB"})
    assert (await assign(rpc, colony.executor, colony))["processid"] == big["processid"]


async def test_assign_requires_an_approved_executor(server, colony):
    rpc = server.rpc
    p = await submit(rpc, colony.user, colony)
    await expect_error(
        assign(rpc, colony.user, colony), 500, starts="Failed to assign process, executor not found"
    )
    pending = generate_private_key(colony.owner.scheme)
    await rpc.call(
        "addexecutormsg",
        colony.owner,
        executor={
            "executorid": pending.id,
            "executorname": "pending",
            "executortype": "cli",
            "colonyname": colony.name,
        },
    )
    await expect_error(assign(rpc, pending, colony), 403, starts=ACCESS_DENIED)
    await expect_error(assign(rpc, colony.owner, colony), 403, starts=ACCESS_DENIED)
    assert (await get(rpc, colony, p["processid"]))["state"] == 0


async def test_every_assign_refreshes_lastheardfromtime(server, colony):
    rpc = server.rpc

    async def heard() -> int:
        executor = await rpc.call(
            "getexecutormsg", colony.user, colonyname=colony.name, executorname="exec-1"
        )
        return ns(executor["lastheardfromtime"])

    before = await heard()
    await no_assignment(rpc, colony.executor, colony)  # no work: still heard from
    first = await heard()
    assert first > before
    await asyncio.sleep(0.01)
    await expect_error(
        rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=1), 404
    )  # a long poll that times out
    second = await heard()
    assert second > first
    await asyncio.sleep(0.01)
    await submit(rpc, colony.user, colony)
    got = await assign(rpc, colony.executor, colony)
    third = await heard()
    assert third > second and third >= ns(got["starttime"]) - 10**9


async def test_execdeadline_only_with_maxexectime(server, colony):
    rpc = server.rpc
    for maxexectime in (30, 0, -1):
        await submit(rpc, colony.user, colony, maxexectime=maxexectime)
        got = await assign(rpc, colony.executor, colony)
        assert got["state"] == 1 and got["isassigned"] is True
        assert got["starttime"] != ZERO_TIME
        if maxexectime > 0:
            assert ns(got["execdeadline"]) == ns(got["starttime"]) + maxexectime * 10**9
        else:
            assert got["execdeadline"] == ZERO_TIME, maxexectime
        read = await get(rpc, colony, got["processid"])
        assert read["execdeadline"] == got["execdeadline"]
        assert read["spec"]["maxexectime"] == maxexectime


# --- closesuccessfulmsg, closefailedmsg, setoutputmsg ---------------------------------------
async def test_close_and_output_only_by_the_assigned_executor(server, colony):
    rpc = server.rpc
    second = await add_executor(rpc, colony, "exec-2")
    p = await submit(rpc, colony.user, colony)
    pid = p["processid"]

    async def refused(key, status: int, starts: str = "") -> None:
        for call in (
            rpc.call("closesuccessfulmsg", key, processid=pid, out=["x"]),
            rpc.call("closefailedmsg", key, processid=pid, errors=["x"]),
            rpc.call("setoutputmsg", key, processid=pid, out=["x"]),
        ):
            await expect_error(call, status, starts=starts or None)

    await refused(colony.executor, 403, ACCESS_DENIED)  # waiting: not assigned to anyone
    await assign(rpc, colony.executor, colony)
    await refused(second, 403, ACCESS_DENIED)  # another approved executor
    await refused(colony.user, 403, ACCESS_DENIED)
    await refused(colony.owner, 403, ACCESS_DENIED)
    for call in ("closesuccessfulmsg", "closefailedmsg", "setoutputmsg"):
        await expect_error(rpc.call(call, colony.executor, processid="0" * 64, out=[]), 404)
    running = await get(rpc, colony, pid)
    assert running["state"] == 1 and running["out"] == [] and running["errors"] == []
    # setoutputmsg replaces the output while running; an empty one leaves it.
    await rpc.call("setoutputmsg", colony.executor, processid=pid, out=["first"])
    await rpc.call("setoutputmsg", colony.executor, processid=pid, out=["second", 2.0])
    await rpc.call("setoutputmsg", colony.executor, processid=pid, out=[])
    out = (await get(rpc, colony, pid))["out"]
    assert out == ["second", 2] and type(out[1]) is int
    await rpc.call("closefailedmsg", colony.executor, processid=pid, errors=["e1", "e2"])
    failed = await get(rpc, colony, pid)
    assert failed["state"] == 3 and failed["errors"] == ["e1", "e2"]
    assert failed["out"] == ["second", 2] and ns(failed["endtime"]) >= ns(failed["starttime"])
    # Closed: closing again is 400, output is 403 (not running).
    await expect_error(rpc.call("closesuccessfulmsg", colony.executor, processid=pid, out=[]), 400)
    await expect_error(
        rpc.call("closefailedmsg", colony.executor, processid=pid, errors=["again"]), 400
    )
    await expect_error(rpc.call("setoutputmsg", colony.executor, processid=pid, out=["x"]), 403)
    await expect_error(rpc.call("setoutputmsg", colony.executor, processid=pid, out=[]), 403)
    assert (await get(rpc, colony, pid))["errors"] == ["e1", "e2"]


async def test_close_successful_output(server, colony):
    rpc = server.rpc
    kept = await submit(rpc, colony.user, colony)
    await assign(rpc, colony.executor, colony)
    await rpc.call("setoutputmsg", colony.executor, processid=kept["processid"], out=["early"])
    await rpc.call("closesuccessfulmsg", colony.executor, processid=kept["processid"], out=[])
    done = await get(rpc, colony, kept["processid"])
    assert done["state"] == 2 and done["out"] == ["early"] and done["errors"] == []
    assert ns(done["endtime"]) >= ns(done["starttime"]) >= ns(done["submissiontime"])
    replaced = await submit(rpc, colony.user, colony)
    await assign(rpc, colony.executor, colony)
    await rpc.call("setoutputmsg", colony.executor, processid=replaced["processid"], out=["a"])
    await rpc.call(
        "closesuccessfulmsg", colony.executor, processid=replaced["processid"], out=[7.0, "b"]
    )
    assert (await get(rpc, colony, replaced["processid"]))["out"] == [7, "b"]
    for call, fields in (
        ("closesuccessfulmsg", {"out": ["x"]}),
        ("closefailedmsg", {"errors": ["x"]}),
    ):
        await expect_error(
            rpc.call(call, colony.executor, processid=replaced["processid"], **fields), 400
        )
    assert (await get(rpc, colony, replaced["processid"]))["state"] == 2


async def test_close_updates_function_statistics(server, colony):
    rpc = server.rpc
    second = await add_executor(rpc, colony, "exec-2")
    for name, key in ((colony.executor_name, colony.executor), ("exec-2", second)):
        added = await rpc.call(
            "addfunctionmsg",
            key,
            fun={"executorname": name, "colonyname": colony.name, "funcname": "stat-fn"},
        )
        assert added["counter"] == 0

    async def function_of(name: str) -> dict:
        functions = await rpc.call(
            "getfunctionsmsg", colony.user, colonyname=colony.name, executorname=name
        )
        (function,) = [f for f in functions if f["funcname"] == "stat-fn"]
        return function

    p = await submit(rpc, colony.user, colony, funcname="stat-fn")
    await asyncio.sleep(0.05)
    await assign(rpc, colony.executor, colony)
    await asyncio.sleep(0.1)
    await rpc.call("closesuccessfulmsg", colony.executor, processid=p["processid"], out=[])
    done = await get(rpc, colony, p["processid"])
    waited = (ns(done["starttime"]) - ns(done["submissiontime"])) / 1e9
    ran = (ns(done["endtime"]) - ns(done["starttime"])) / 1e9
    f = await function_of(colony.executor_name)
    assert f["counter"] == 1
    for key in ("minwaittime", "maxwaittime", "minexectime", "maxexectime"):
        assert f[key] >= 0, key
    assert f["minwaittime"] == pytest.approx(waited, abs=1e-5) == f["maxwaittime"]
    assert f["minexectime"] == pytest.approx(ran, abs=1e-5) == f["maxexectime"]
    assert f["minexectime"] >= 0.09 and f["minwaittime"] >= 0.04
    # The upstream running approximation: (old avg + new) / 2, starting from 0.
    assert f["avgwaittime"] == pytest.approx(waited / 2, abs=1e-5)
    assert f["avgexectime"] == pytest.approx(ran / 2, abs=1e-5)
    # Another executor's function of the same name is untouched.
    assert (await function_of("exec-2"))["counter"] == 0
    # A failed close and a process of an unregistered function update nothing.
    failing = await submit(rpc, colony.user, colony, funcname="stat-fn")
    await assign(rpc, colony.executor, colony)
    await rpc.call("closefailedmsg", colony.executor, processid=failing["processid"], errors=[])
    other = await submit(rpc, colony.user, colony, funcname="unregistered")
    await assign(rpc, colony.executor, colony)
    await rpc.call("closesuccessfulmsg", colony.executor, processid=other["processid"], out=[])
    assert (await function_of(colony.executor_name))["counter"] == 1
    # A second successful close: counter 2, extremes and the running average move.
    again = await submit(rpc, colony.user, colony, funcname="stat-fn")
    await assign(rpc, colony.executor, colony)
    await rpc.call("closesuccessfulmsg", colony.executor, processid=again["processid"], out=[])
    done2 = await get(rpc, colony, again["processid"])
    ran2 = (ns(done2["endtime"]) - ns(done2["starttime"])) / 1e9
    f2 = await function_of(colony.executor_name)
    assert f2["counter"] == 2
    assert f2["minexectime"] == pytest.approx(min(ran, ran2), abs=1e-5)
    assert f2["maxexectime"] == pytest.approx(max(ran, ran2), abs=1e-5)
    assert f2["avgexectime"] == pytest.approx((ran / 2 + ran2) / 2, abs=1e-5)


# --- getprocessmsg, getprocessesmsg, getprocesshistmsg -------------------------------------
async def test_get_process_errors(server, colony, server_key):
    rpc = server.rpc
    p = await submit(rpc, colony.user, colony)
    await expect_error(rpc.call("getprocessmsg", colony.user, processid="0" * 64), 404)
    other = await make_colony(rpc, server_key, colony.owner.scheme, name="other")
    for key in (other.user, other.executor, colony.owner):
        await expect_error(
            rpc.call("getprocessmsg", key, processid=p["processid"]), 403, starts=ACCESS_DENIED
        )
    assert (await rpc.call("getprocessmsg", colony.executor, processid=p["processid"]))[
        "processid"
    ] == p["processid"]


async def test_get_processes_validation_and_filters(server, colony):
    rpc = server.rpc
    await expect_error(
        rpc.call("getprocessesmsg", colony.user, colonyname=colony.name, count=101, state=0),
        400,
        starts="Count is larger than MaxCount limit <100>",
    )
    for state in (5, -1, 7):
        await expect_error(
            rpc.call("getprocessesmsg", colony.user, colonyname=colony.name, count=10, state=state),
            400,
            starts="Failed to get processes, invalid msg.State",
        )
    await expect_error(
        rpc.call("getprocessesmsg", colony.owner, colonyname=colony.name, count=10, state=0),
        403,
        starts=ACCESS_DENIED,
    )
    by_user = await submit(rpc, colony.user, colony, label="L1")
    by_executor = await submit(rpc, colony.executor, colony, label="L2")
    typed = await submit(rpc, colony.user, colony, conditions={"executortype": "gpu"}, label="L2")
    everything = [by_user["processid"], by_executor["processid"], typed["processid"]]
    assert await listing(rpc, colony, 0) == everything
    assert await listing(rpc, colony, 0, count=2) == everything[:2]
    assert await listing(rpc, colony, 0, executortype="gpu") == [typed["processid"]]
    assert await listing(rpc, colony, 0, executortype="cli") == everything[:2]
    assert await listing(rpc, colony, 0, initiator=colony.user_name) == [
        by_user["processid"],
        typed["processid"],
    ]
    await expect_error(listing(rpc, colony, 0, initiator="x"), 400, starts="User x does not exist")
    # The initiator filter takes a user name only, not an executor name.
    await expect_error(
        listing(rpc, colony, 0, initiator=colony.executor_name),
        400,
        starts=f"User {colony.executor_name} does not exist",
    )
    assert await listing(rpc, colony, 0, label="L2") == everything[1:]
    assert await listing(rpc, colony, 0, label="none") == []
    # One filter applies: executortype, then initiator, then label.
    assert await listing(rpc, colony, 0, executortype="gpu", label="L1") == [typed["processid"]]
    assert await listing(rpc, colony, 0, executortype="gpu", initiator="x") == [typed["processid"]]
    assert await listing(rpc, colony, 0, initiator=colony.user_name, label="L2") == [
        by_user["processid"],
        typed["processid"],
    ]
    assert await listing(rpc, colony, 1) == []


async def test_get_processes_order_per_state(server, colony):
    rpc = server.rpc
    other_type = await add_executor(rpc, colony, "gpu-1", executortype="gpu")
    # WAITING: by prioritytime ascending (not by submission).
    idle = {"executortype": "idle"}
    w1 = await submit(rpc, colony.user, colony, conditions=idle, priority=0)
    w2 = await submit(rpc, colony.user, colony, conditions=idle, priority=5)
    w3 = await submit(rpc, colony.user, colony, conditions=idle, priority=-5)
    assert await listing(rpc, colony, 0) == ids([w2, w1, w3])
    # RUNNING: by starttime ascending (here the reverse of the priority order).
    r_a = await submit(rpc, colony.user, colony, conditions={"executortype": "gpu"}, priority=5)
    r_b = await submit(rpc, colony.user, colony, priority=0)
    assert (await assign(rpc, colony.executor, colony))["processid"] == r_b["processid"]
    assert (await assign(rpc, other_type, colony))["processid"] == r_a["processid"]
    assert await listing(rpc, colony, 1) == ids([r_b, r_a])
    # SUCCESS and FAILED: by endtime descending.
    for state, call, fields in (
        (2, "closesuccessfulmsg", {"out": []}),
        (3, "closefailedmsg", {"errors": []}),
    ):
        batch = [await submit(rpc, colony.user, colony) for _ in range(3)]
        for p in batch:
            assert (await assign(rpc, colony.executor, colony))["processid"] == p["processid"]
        for p in (batch[1], batch[0], batch[2]):
            await rpc.call(call, colony.executor, processid=p["processid"], **fields)
        assert await listing(rpc, colony, state) == ids([batch[2], batch[0], batch[1]])
        assert await listing(rpc, colony, state, count=2) == ids([batch[2], batch[0]])
    # CANCELLED: by endtime descending.
    for p in (w1, w3, w2):
        await rpc.call("cancelprocessmsg", colony.user, processid=p["processid"])
    assert await listing(rpc, colony, 4) == ids([w2, w3, w1])
    assert await listing(rpc, colony, 0) == []


async def test_get_process_history(server, server_key):
    """One scheme only: it sleeps past a one-second window."""
    rpc = server.rpc
    colony = await make_colony(rpc, server_key, "ed25519")
    second = await add_executor(rpc, colony, "exec-2")
    h1 = await submit(rpc, colony.user, colony)
    await asyncio.sleep(1.1)
    h2 = await submit(rpc, colony.user, colony)
    h3 = await submit(rpc, colony.user, colony)

    async def history(state: int, seconds: int, executorid: str = "") -> list[str]:
        got = await rpc.call(
            "getprocesshistmsg",
            colony.user,
            colonyname=colony.name,
            executorid=executorid,
            seconds=seconds,
            state=state,
        )
        return ids(got)

    assert await history(0, 60) == ids([h1, h2, h3])
    assert await history(0, 1) == ids([h2, h3])
    assert await history(1, 60) == []
    assert (await assign(rpc, colony.executor, colony))["processid"] == h1["processid"]
    assert (await assign(rpc, second, colony))["processid"] == h2["processid"]
    assert await history(1, 60) == ids([h1, h2])
    assert await history(1, 60, colony.executor.id) == ids([h1])
    assert await history(1, 60, second.id) == ids([h2])
    assert await history(1, 1, colony.executor.id) == []
    assert await history(0, 60) == ids([h3])
    await expect_error(
        rpc.call("getprocesshistmsg", colony.owner, colonyname=colony.name, seconds=60, state=0),
        403,
        starts=ACCESS_DENIED,
    )


# --- removeprocessmsg, removeallprocessesmsg, cancelprocessmsg ------------------------------
async def test_remove_process(server, colony, server_key):
    rpc = server.rpc
    running = await submit(rpc, colony.user, colony)
    await assign(rpc, colony.executor, colony)
    await expect_error(
        rpc.call("removeprocessmsg", colony.user, processid=running["processid"]),
        400,
        starts="Failed to remove process, cannot remove a running process",
    )
    assert (await get(rpc, colony, running["processid"]))["state"] == 1
    waiting = await submit(rpc, colony.user, colony, env={"K": "v"})
    (env,) = waiting["attributes"]
    assert (await rpc.call("getattributemsg", colony.user, attributeid=env["attributeid"]))[
        "value"
    ] == "v"
    other = await make_colony(rpc, server_key, colony.owner.scheme, name="other")
    await expect_error(
        rpc.call("removeprocessmsg", other.user, processid=waiting["processid"]),
        403,
        starts=ACCESS_DENIED,
    )
    await rpc.call("removeprocessmsg", colony.user, processid=waiting["processid"], all=True)
    await expect_error(get(rpc, colony, waiting["processid"]), 404)
    await expect_error(
        rpc.call("getattributemsg", colony.user, attributeid=env["attributeid"]), 404
    )
    await expect_error(
        rpc.call("removeprocessmsg", colony.user, processid=waiting["processid"]), 404
    )
    # A finished process can be removed by any member.
    await rpc.call("closesuccessfulmsg", colony.executor, processid=running["processid"], out=[])
    await rpc.call("removeprocessmsg", colony.executor, processid=running["processid"])
    await expect_error(get(rpc, colony, running["processid"]), 404)


async def test_remove_all_processes(server, colony):
    rpc = server.rpc
    done = await submit(rpc, colony.user, colony)
    await assign(rpc, colony.executor, colony)
    await rpc.call("closesuccessfulmsg", colony.executor, processid=done["processid"], out=[])
    failed = await submit(rpc, colony.user, colony)
    await assign(rpc, colony.executor, colony)
    await rpc.call("closefailedmsg", colony.executor, processid=failed["processid"], errors=[])
    running = await submit(rpc, colony.user, colony)
    await assign(rpc, colony.executor, colony)
    cancelled = await submit(rpc, colony.user, colony)
    await rpc.call("cancelprocessmsg", colony.user, processid=cancelled["processid"])
    waiting = await submit(rpc, colony.user, colony, conditions={"executortype": "idle"})
    graph = await rpc.call(
        "submitworkflowspecmsg",
        colony.user,
        spec={
            "colonyname": colony.name,
            "functionspecs": [
                spec(colony, nodename="n", conditions={"executortype": "idle"}),
            ],
        },
    )
    (member,) = graph["processids"]

    for key in (colony.user, colony.executor):
        await expect_error(
            rpc.call("removeallprocessesmsg", key, colonyname=colony.name, state=-1),
            403,
            starts=ACCESS_DENIED,
        )
    await expect_error(
        rpc.call("removeallprocessesmsg", colony.owner, colonyname=colony.name, state=1),
        400,
        starts="Not possible to remove running processes",
    )
    for state in (7, 5, -2):
        await expect_error(
            rpc.call("removeallprocessesmsg", colony.owner, colonyname=colony.name, state=state),
            400,
        )
    stats = await rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
    assert (stats["waitingprocesses"], stats["successfulprocesses"]) == (2, 1)
    await rpc.call("removeallprocessesmsg", colony.owner, colonyname=colony.name, state=2)
    await expect_error(get(rpc, colony, done["processid"]), 404)
    assert (await get(rpc, colony, failed["processid"]))["state"] == 3
    await rpc.call("removeallprocessesmsg", colony.owner, colonyname=colony.name, state=-1)
    for p in (failed, cancelled, waiting):
        await expect_error(get(rpc, colony, p["processid"]), 404)
    assert (await get(rpc, colony, running["processid"]))["state"] == 1
    assert (await get(rpc, colony, member))["state"] == 0  # workflow members stay
    stats = await rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
    assert stats["runningprocesses"] == 1 and stats["waitingprocesses"] == 1
    assert stats["failedprocesses"] == stats["cancelledprocesses"] == 0


async def test_cancel_process(server, colony, server_key):
    rpc = server.rpc
    waiting = await submit(rpc, colony.user, colony)
    await rpc.call("cancelprocessmsg", colony.user, processid=waiting["processid"])
    cancelled = await get(rpc, colony, waiting["processid"])
    assert cancelled["state"] == 4 and cancelled["endtime"] != ZERO_TIME
    await no_assignment(rpc, colony.executor, colony)  # a cancelled process is not handed out
    await expect_error(
        rpc.call("cancelprocessmsg", colony.user, processid=waiting["processid"]), 400
    )
    running = await submit(rpc, colony.user, colony)
    await assign(rpc, colony.executor, colony)
    other = await make_colony(rpc, server_key, colony.owner.scheme, name="other")
    await expect_error(
        rpc.call("cancelprocessmsg", other.user, processid=running["processid"]),
        403,
        starts=ACCESS_DENIED,
    )
    await rpc.call("cancelprocessmsg", colony.executor, processid=running["processid"])
    assert (await get(rpc, colony, running["processid"]))["state"] == 4
    pid = running["processid"]
    # The executor that was running it can no longer close it, set output or log.
    await expect_error(rpc.call("closesuccessfulmsg", colony.executor, processid=pid, out=[]), 400)
    await expect_error(rpc.call("closefailedmsg", colony.executor, processid=pid, errors=[]), 400)
    await expect_error(rpc.call("setoutputmsg", colony.executor, processid=pid, out=["x"]), 403)
    await expect_error(rpc.call("addlogmsg", colony.executor, processid=pid, message="x"), 403)
    assert (await get(rpc, colony, pid))["state"] == 4
    finished = await submit(rpc, colony.user, colony)
    await assign(rpc, colony.executor, colony)
    await rpc.call("closesuccessfulmsg", colony.executor, processid=finished["processid"], out=[])
    await expect_error(
        rpc.call("cancelprocessmsg", colony.user, processid=finished["processid"]), 400
    )
    assert (await get(rpc, colony, finished["processid"]))["state"] == 2
    await expect_error(rpc.call("cancelprocessmsg", colony.user, processid="0" * 64), 404)


# --- addattributemsg, getattributemsg -------------------------------------------------------
async def test_attributes(server, colony, server_key):
    rpc = server.rpc
    second = await add_executor(rpc, colony, "exec-2")
    p = await submit(rpc, colony.user, colony)
    pid = p["processid"]

    def attribute(key: str, attributetype: int = 1, value: str = "v") -> dict:
        return {"targetid": pid, "key": key, "value": value, "attributetype": attributetype}

    await expect_error(
        rpc.call("addattributemsg", colony.executor, attribute=attribute("early")),
        403,
        starts=ACCESS_DENIED,
    )  # waiting: not assigned
    await assign(rpc, colony.executor, colony)
    for key in (second, colony.user):
        await expect_error(
            rpc.call("addattributemsg", key, attribute=attribute("k")), 403, starts=ACCESS_DENIED
        )
    await expect_error(
        rpc.call(
            "addattributemsg",
            colony.executor,
            attribute={**attribute("k"), "targetid": "0" * 64},
        ),
        404,
    )
    added = []
    for attributetype in (0, 1, 2):
        a = await rpc.call(
            "addattributemsg",
            colony.executor,
            attribute={**attribute(f"k{attributetype}", attributetype), "state": 4},
        )
        expected = sha3_256(f"{pid}k{attributetype}{attributetype}".encode()).hexdigest()
        assert a["attributeid"] == expected
        assert a["targetcolonyname"] == colony.name and a["targetprocessgraphid"] == ""
        assert a["state"] == 1 and a["attributetype"] == attributetype and a["value"] == "v"
        added.append(a)
    got = await rpc.call("getattributemsg", colony.user, attributeid=added[1]["attributeid"])
    assert got == added[1]
    process = await get(rpc, colony, pid)
    assert sorted(a["key"] for a in process["attributes"]) == ["k0", "k1", "k2"]
    assert {a["state"] for a in process["attributes"]} == {1}
    await expect_error(rpc.call("getattributemsg", colony.user, attributeid="0" * 64), 404)
    other = await make_colony(rpc, server_key, colony.owner.scheme, name="other")
    await expect_error(
        rpc.call("getattributemsg", other.user, attributeid=added[0]["attributeid"]),
        403,
        starts=ACCESS_DENIED,
    )
    await rpc.call("closesuccessfulmsg", colony.executor, processid=pid, out=[])
    got = await rpc.call("getattributemsg", colony.user, attributeid=added[0]["attributeid"])
    assert got["state"] == 2  # mirrors the process
    assert {a["state"] for a in (await get(rpc, colony, pid))["attributes"]} == {2}
    await expect_error(
        rpc.call("addattributemsg", colony.executor, attribute=attribute("late")), 403
    )


# --- logs -----------------------------------------------------------------------------------
async def test_process_logs(server, colony, server_key):
    rpc = server.rpc
    second = await add_executor(rpc, colony, "exec-2")
    p = await submit(rpc, colony.user, colony)
    pid = p["processid"]
    await expect_error(rpc.call("addlogmsg", colony.executor, processid=pid, message="early"), 403)
    await assign(rpc, colony.executor, colony)
    for key in (second, colony.user):
        await expect_error(
            rpc.call("addlogmsg", key, processid=pid, message="x"), 403, starts=ACCESS_DENIED
        )
    await expect_error(rpc.call("addlogmsg", colony.executor, processid="0" * 64, message=""), 404)
    before = (await rpc.call("getlogsmsg", colony.user, colonyname=colony.name, processid=pid,
                             count=10))  # fmt: skip
    assert before == []
    for i in range(5):
        await rpc.call("addlogmsg", colony.executor, processid=pid, message=f"line {i}")

    async def logs(**fields: Any) -> list[dict]:
        return await rpc.call("getlogsmsg", colony.user, colonyname=colony.name, **fields)

    every = await logs(processid=pid, count=500)
    assert [e["message"] for e in every] == [f"line {i}" for i in range(5)]
    for e in every:
        assert e["processid"] == pid and e["colonyname"] == colony.name
        assert e["executorname"] == colony.executor_name and isinstance(e["timestamp"], int)
        assert abs(e["timestamp"] - ns(p["submissiontime"])) < 60 * 10**9
    stamps = [e["timestamp"] for e in every]
    assert stamps == sorted(stamps) and len(set(stamps)) == 5
    assert [e["message"] for e in await logs(processid=pid, count=2)] == ["line 0", "line 1"]
    after = await logs(processid=pid, count=10, since=stamps[1])
    assert [e["message"] for e in after] == ["line 2", "line 3", "line 4"]
    assert await logs(processid=pid, count=10, since=stamps[4]) == []
    latest = await logs(processid=pid, count=2, latest=True)
    assert [e["message"] for e in latest] == ["line 4", "line 3"]
    latest_all = await logs(processid=pid, count=10, latest=True)
    assert [e["message"] for e in latest_all] == [f"line {i}" for i in reversed(range(5))]
    await expect_error(logs(processid=pid, count=501), 400, starts="Count is larger")
    await expect_error(logs(count=10), 400)
    await expect_error(logs(processid="", executorname="", count=10), 400)
    other = await make_colony(rpc, server_key, colony.owner.scheme, name="other")
    await expect_error(
        rpc.call("getlogsmsg", other.user, colonyname=colony.name, processid=pid, count=10),
        403,
        starts=ACCESS_DENIED,
    )
    # Other colony's members see nothing of this process through their own colony.
    assert (
        await rpc.call("getlogsmsg", other.user, colonyname="other", processid=pid, count=10)
    ) == []
    await rpc.call("closesuccessfulmsg", colony.executor, processid=pid, out=[])
    await expect_error(rpc.call("addlogmsg", colony.executor, processid=pid, message="late"), 403)
    assert len(await logs(processid=pid, count=10)) == 5


async def test_executor_logs_and_search(server, colony):
    rpc = server.rpc
    second = await add_executor(rpc, colony, "exec-2")
    for message in ("e2 one", "e2 two"):
        await rpc.call(
            "addexecutorlogmsg",
            second,
            colonyname=colony.name,
            executorname="exec-2",
            message=message,
        )
    for key in (colony.executor, colony.user, colony.owner):  # only the named executor itself
        await expect_error(
            rpc.call(
                "addexecutorlogmsg",
                key,
                colonyname=colony.name,
                executorname="exec-2",
                message="impostor",
            ),
            403,
        )
    p = await submit(rpc, colony.user, colony)
    await assign(rpc, colony.executor, colony)
    await rpc.call("addlogmsg", colony.executor, processid=p["processid"], message="proc two")
    got = await rpc.call(
        "getlogsmsg", colony.user, colonyname=colony.name, executorname="exec-2", count=10
    )
    assert [(e["message"], e["processid"], e["executorname"]) for e in got] == [
        ("e2 one", "", "exec-2"),
        ("e2 two", "", "exec-2"),
    ]

    async def search(text: str, days: int = 1, count: int = 10) -> list[str]:
        found = await rpc.call(
            "searchlogsmsg", colony.user, colonyname=colony.name, text=text, days=days, count=count
        )
        return sorted(e["message"] for e in found)

    assert await search("two") == ["e2 two", "proc two"]
    assert await search("one") == ["e2 one"]
    assert await search("absent") == []
    assert len(await search("two", count=1)) == 1
    assert await search("e2", days=30, count=100) == ["e2 one", "e2 two"]
    await expect_error(
        rpc.call("searchlogsmsg", colony.user, colonyname=colony.name, text="x", days=31, count=10),
        400,
    )
    await expect_error(
        rpc.call("searchlogsmsg", colony.user, colonyname=colony.name, text="x", days=1, count=101),
        400,
        starts="Count is larger than MaxCount limit <100>",
    )
    await expect_error(
        rpc.call("searchlogsmsg", colony.owner, colonyname=colony.name, text="x", days=1, count=10),
        403,
        starts=ACCESS_DENIED,
    )


# --- getcolonystatsmsg ----------------------------------------------------------------------
async def test_colony_stats_count_per_state(server, colony, server_key):
    rpc = server.rpc

    async def through(call: str, **fields: Any) -> None:
        p = await submit(rpc, colony.user, colony)
        await assign(rpc, colony.executor, colony)
        await rpc.call(call, colony.executor, processid=p["processid"], **fields)

    await through("closesuccessfulmsg", out=[])
    await through("closesuccessfulmsg", out=[])
    await through("closefailedmsg", errors=[])
    for _ in range(3):
        c = await submit(rpc, colony.user, colony)
        await rpc.call("cancelprocessmsg", colony.user, processid=c["processid"])
    await submit(rpc, colony.user, colony)
    await assign(rpc, colony.executor, colony)
    for _ in range(4):
        await submit(rpc, colony.user, colony)
    other = await make_colony(rpc, server_key, colony.owner.scheme, name="other")
    await submit(rpc, other.user, other)  # another colony's process is not counted
    stats = await rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
    assert stats["colonies"] == 1
    assert (stats["executors"], stats["activeexecutors"]) == (1, 1)
    assert (
        stats["waitingprocesses"],
        stats["runningprocesses"],
        stats["successfulprocesses"],
        stats["failedprocesses"],
        stats["cancelledprocesses"],
    ) == (4, 1, 2, 1, 3)
    assert stats["waitingworkflows"] == stats["runningworkflows"] == 0
    await expect_error(
        rpc.call("getcolonystatsmsg", other.user, colonyname=colony.name),
        403,
        starts=ACCESS_DENIED,
    )
