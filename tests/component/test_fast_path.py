"""The executor fast path (docs/protocol.md §7.21): close-and-assign and multi-claims keep the
standard path's guarantees: exactly-once assignment, the ledger, replay protection, tenant
isolation, and clear errors for bad input."""

from __future__ import annotations

import asyncio
from collections import Counter

from click.testing import CliRunner

from colonies.cli.main import cli
from colonies.core import utcnow
from colonies.rpc import sign_request
from colonies.server.app import STATE_KEY
from colonies.store.processes.handovers import Claimer, Handoff
from tests.component.test_ledger import check, seal
from tests.component.test_process_messages import expect
from tests.helpers import add_executor, make_colony, submit
from tests.helpers import function_spec as spec


async def _running(rpc, colony):
    """A process of ``colony`` running on its executor."""
    p = await submit(rpc, colony.user, colony)
    got = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    assert got["processid"] == p["processid"]
    return p


async def test_the_server_advertises_the_fast_path(server):
    info = await server.rpc.call("getserverinfomsg", None)
    assert set(info["features"]) == {"closeandassignmsg", "assignprocessesmsg"}


async def test_close_and_assign_closes_with_output_and_claims_the_next(server, colony):
    rpc = server.rpc
    first = await _running(rpc, colony)
    second = await submit(rpc, colony.user, colony)
    got = await rpc.call(
        "closeandassignmsg", colony.executor, processid=first["processid"], successful=True,
        out=["done", 1],
    )  # fmt: skip
    assert [p["processid"] for p in got] == [second["processid"]]
    assert got[0]["state"] == 1 and got[0]["assignedexecutorid"] == colony.executor.id
    closed = await rpc.call("getprocessmsg", colony.user, processid=first["processid"])
    assert closed["state"] == 2 and closed["out"] == ["done", 1]
    # Failed, with errors; nothing left to claim: closed all the same, an empty list.
    got = await rpc.call(
        "closeandassignmsg", colony.executor, processid=second["processid"], errors=["boom"]
    )
    assert got == []
    failed = await rpc.call("getprocessmsg", colony.user, processid=second["processid"])
    assert failed["state"] == 3 and failed["errors"] == ["boom"]
    # The function statistics count the successful close only, as closesuccessfulmsg does.
    stats = await rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
    assert stats["successfulprocesses"] == 1 and stats["failedprocesses"] == 1


async def test_count_zero_closes_only_and_a_long_poll_waits_for_the_next(server, colony):
    rpc = server.rpc
    first = await _running(rpc, colony)
    waiting = await submit(rpc, colony.user, colony)
    got = await rpc.call(
        "closeandassignmsg", colony.executor, processid=first["processid"], successful=True,
        count=0,
    )  # fmt: skip
    assert got == []
    still = await rpc.call("getprocessmsg", colony.user, processid=waiting["processid"])
    assert still["state"] == 0
    running = await rpc.call(
        "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1
    )
    assert running["processid"] == waiting["processid"]

    async def later():
        await asyncio.sleep(0.5)
        return await submit(rpc, colony.user, colony)

    submitted = asyncio.create_task(later())
    got = await rpc.call(
        "closeandassignmsg", colony.executor, processid=running["processid"], successful=True,
        timeout=10,
    )  # fmt: skip
    assert [p["processid"] for p in got] == [(await submitted)["processid"]]


async def test_several_at_once_in_priority_order_within_the_resources(server, colony):
    rpc = server.rpc
    low = await submit(rpc, colony.user, colony, priority=1)
    high = await submit(rpc, colony.user, colony, priority=5)
    mid = await submit(rpc, colony.user, colony, priority=3)
    got = await rpc.call(
        "assignprocessesmsg", colony.executor, colonyname=colony.name, count=2, timeout=-1
    )
    assert [p["processid"] for p in got] == [high["processid"], mid["processid"]]
    got = await rpc.call(
        "assignprocessesmsg", colony.executor, colonyname=colony.name, count=5, timeout=-1
    )
    assert [p["processid"] for p in got] == [low["processid"]]
    await expect(
        rpc.call("assignprocessesmsg", colony.executor, colonyname=colony.name, count=5,
                 timeout=-1),
        404, "No process available for assignment",
    )  # fmt: skip
    # Three of 500m each: 1200m available takes two, in order, and leaves the third waiting.
    sized = [await submit(rpc, colony.user, colony, conditions={"cpu": "500m"}) for _ in range(3)]
    got = await rpc.call(
        "assignprocessesmsg", colony.executor, colonyname=colony.name, count=5, timeout=-1,
        availablecpu="1200m",
    )  # fmt: skip
    assert [p["processid"] for p in got] == [p["processid"] for p in sized[:2]]
    got = await rpc.call(
        "closeandassignmsg", colony.executor, processid=sized[0]["processid"], successful=True,
        count=3, availablecpu="400m",
    )  # fmt: skip
    assert got == []  # the third needs 500m: not claimed, and the close is done
    closed = await rpc.call("getprocessmsg", colony.user, processid=sized[0]["processid"])
    assert closed["state"] == 2


async def test_bad_input_gets_a_clear_error(server, colony):
    rpc = server.rpc
    p = await _running(rpc, colony)
    pid = p["processid"]
    for count in (-1, 101):
        await expect(
            rpc.call("closeandassignmsg", colony.executor, processid=pid, count=count),
            400, "count must be from 0 to 100",
        )  # fmt: skip
    for count in (0, 101):
        await expect(
            rpc.call("assignprocessesmsg", colony.executor, colonyname=colony.name,
                     count=count, timeout=-1),
            400, "count must be from 1 to 100",
        )  # fmt: skip
    await expect(
        rpc.call("assignprocessesmsg", colony.executor, colonyname=colony.name, count=2,
                 timeout=0),
        400, "timeout cannot be zero",
    )  # fmt: skip
    await expect(
        rpc.call("closeandassignmsg", colony.executor, processid=pid, availablemem="12 parsecs"),
        400,
    )
    await expect(rpc.call("closeandassignmsg", colony.executor, processid="0" * 64), 404)
    # A user is no executor: it holds no process (403) and cannot claim (400).
    await expect(rpc.call("closeandassignmsg", colony.user, processid=pid), 403)
    await expect(
        rpc.call("assignprocessesmsg", colony.user, colonyname=colony.name, count=2,
                 timeout=-1),
        400, "not an approved executor",
    )  # fmt: skip
    # Still running after every refusal; closing it twice: the second is not running.
    assert (await rpc.call("getprocessmsg", colony.user, processid=pid))["state"] == 1
    await rpc.call("closeandassignmsg", colony.executor, processid=pid, successful=True)
    await expect(
        rpc.call("closeandassignmsg", colony.executor, processid=pid, successful=True),
        400, "process is not running",
    )  # fmt: skip


async def test_a_process_that_is_not_yours_is_refused(server, colony, server_key):
    rpc = server.rpc
    mine = await _running(rpc, colony)
    other = await add_executor(rpc, colony, "exec-2")
    await expect(
        rpc.call("closeandassignmsg", other, processid=mine["processid"], successful=True),
        403, "Access denied",
    )  # fmt: skip
    # Another colony's executor: refused, claims nothing here, leaves the process running.
    elsewhere = await make_colony(rpc, server_key, colony.owner.scheme, name="elsewhere")
    theirs = await _running(rpc, elsewhere)
    waiting = await submit(rpc, colony.user, colony)
    await expect(
        rpc.call("closeandassignmsg", elsewhere.executor, processid=mine["processid"],
                 successful=True),
        403,
    )  # fmt: skip
    # Its own process closes, and the claim stays in its own colony: nothing there.
    got = await rpc.call(
        "closeandassignmsg", elsewhere.executor, processid=theirs["processid"], successful=True
    )
    assert got == []
    assert (await rpc.call("getprocessmsg", colony.user, processid=mine["processid"]))["state"] == 1
    assert (await rpc.call("getprocessmsg", colony.user, processid=waiting["processid"]))[
        "state"
    ] == 0
    await expect(
        rpc.call("assignprocessesmsg", elsewhere.executor, colonyname=colony.name, count=2,
                 timeout=-1),
        403,
    )  # fmt: skip


async def test_a_replayed_close_and_assign_acts_on_nothing(server, colony):
    rpc = server.rpc
    p = await _running(rpc, colony)
    nxt = await submit(rpc, colony.user, colony)
    captured = sign_request(
        "closeandassignmsg",
        {"processid": p["processid"], "successful": True, "count": 1},
        colony.executor,
    )
    got = await rpc.post(captured)
    assert [q["processid"] for q in got] == [nxt["processid"]]
    again = await submit(rpc, colony.user, colony)
    await expect(rpc.post(captured), 403, "Replayed request")
    assert (await rpc.call("getprocessmsg", colony.user, processid=again["processid"]))[
        "state"
    ] == 0
    # A refused request's nonce is used up too (a replay of it is told as one).
    refused = sign_request(
        "closeandassignmsg", {"processid": "0" * 64, "count": 1}, colony.executor
    )
    await expect(rpc.post(refused), 404)
    await expect(rpc.post(refused), 403, "Replayed request")
    captured = sign_request(
        "assignprocessesmsg",
        {"colonyname": colony.name, "count": 2, "timeout": -1},
        colony.executor,
    )
    assert [q["processid"] for q in await rpc.post(captured)] == [again["processid"]]
    await submit(rpc, colony.user, colony)
    await expect(rpc.post(captured), 403, "Replayed request")


async def test_every_process_is_assigned_exactly_once_and_in_the_ledger(server, colony, db_url):
    rpc = server.rpc
    executors = [colony.executor] + [await add_executor(rpc, colony, f"fast-{i}") for i in range(5)]
    total = 60
    submitted = [p["processid"] for p in await asyncio.gather(
        *(submit(rpc, colony.user, colony) for _ in range(total))
    )]  # fmt: skip
    taken: Counter[str] = Counter()

    async def work(key) -> None:
        held = await rpc.call(
            "assignprocessesmsg", key, colonyname=colony.name, count=2, timeout=-1
        )
        taken.update(p["processid"] for p in held)
        for _ in range(total):  # bounded: at most one round per process
            if not held:
                return
            current, *rest = held
            got = await rpc.call(
                "closeandassignmsg", key, processid=current["processid"], successful=True,
                count=2 - len(rest),
            )  # fmt: skip
            taken.update(p["processid"] for p in got)
            held = rest + got

    results = await asyncio.gather(*(work(k) for k in executors), return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert set(taken) == set(submitted) and max(taken.values()) == 1
    await seal(server.app)
    result = await check(db_url)
    assert result.ok, result
    one = submitted[0]
    show = await asyncio.to_thread(
        CliRunner().invoke, cli, ["ledger", "show", "--process", one, "--db-url", db_url]
    )
    events = [line.split()[3] for line in show.output.splitlines()[1:]]
    assert events == ["submitted", "assigned", "closed"], show.output


async def test_a_workflow_member_closed_on_the_fast_path_releases_its_children(server, colony):
    rpc = server.rpc
    workflow = {
        "colonyname": colony.name,
        "functionspecs": [
            spec(colony, "a", nodename="a"),
            spec(colony, "b", nodename="b", conditions={"dependencies": ["a"]}),
        ],
    }
    graph = await rpc.call("submitworkflowspecmsg", colony.user, spec=workflow)
    a = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    assert a["spec"]["nodename"] == "a"
    got = await rpc.call(
        "closeandassignmsg", colony.executor, processid=a["processid"], successful=True,
        out=["from a"], timeout=5,
    )  # fmt: skip
    assert [p["spec"]["nodename"] for p in got] == ["b"]
    assert got[0]["in"] == ["from a"]
    await rpc.call(
        "closeandassignmsg", colony.executor, processid=got[0]["processid"], successful=True
    )
    done = await rpc.call("getprocessgraphmsg", colony.user, processgraphid=graph["processgraphid"])
    assert done["state"] == 2


async def test_while_paused_the_close_is_done_and_nothing_is_claimed(server, colony):
    rpc = server.rpc
    p = await _running(rpc, colony)
    waiting = await submit(rpc, colony.user, colony)
    await rpc.call("pauseassignmentsmsg", colony.owner, colonyname=colony.name)
    got = await rpc.call(
        "closeandassignmsg", colony.executor, processid=p["processid"], successful=True,
        timeout=5,
    )  # fmt: skip
    assert got == []
    assert (await rpc.call("getprocessmsg", colony.user, processid=p["processid"]))["state"] == 2
    assert (await rpc.call("getprocessmsg", colony.user, processid=waiting["processid"]))[
        "state"
    ] == 0


async def test_concurrent_close_and_assigns_share_a_statement(server, colony):
    """Executors closing at the same moment share one statement (CLOSE_AND_CLAIM_MANY): each
    closes its own process, gets its own next ones, and a failed close keeps its errors."""
    rpc = server.rpc
    executors = [colony.executor] + [await add_executor(rpc, colony, f"x-{i}") for i in range(3)]
    running = []
    for key in executors:
        await submit(rpc, colony.user, colony)
        got = await rpc.call("assignprocessmsg", key, colonyname=colony.name, timeout=-1)
        running.append(got["processid"])
    waiting = [(await submit(rpc, colony.user, colony))["processid"] for _ in range(7)]
    replies = await asyncio.gather(*(
        rpc.call("closeandassignmsg", key, processid=pid, successful=i != 1,
                 errors=[] if i != 1 else ["bad"], count=2)
        for i, (key, pid) in enumerate(zip(executors, running, strict=True))
    ))  # fmt: skip
    claimed = [p["processid"] for reply in replies for p in reply]
    assert sorted(claimed) == sorted(waiting[: len(claimed)]) and len(claimed) == 7
    assert len(set(claimed)) == 7
    for key, reply in zip(executors, replies, strict=True):
        assert all(p["assignedexecutorid"] == key.id for p in reply)
    states = [
        (await rpc.call("getprocessmsg", colony.user, processid=pid))["state"] for pid in running
    ]
    assert states == [2, 3, 2, 2]
    failed = await rpc.call("getprocessmsg", colony.user, processid=running[1])
    assert failed["errors"] == ["bad"]


async def test_the_shared_statement_closes_and_claims_for_each_in_order(server, colony):
    """CLOSE_AND_CLAIM_MANY itself (the batcher decides when requests share it): the requests,
    in order, get the waiting processes in priority order; while a process aimed at an executor
    by name waits, the shared claim steps aside and each claims alone, in turn."""
    rpc = server.rpc
    store = server.app[STATE_KEY].store
    names = ["exec-1", "y-0", "y-1"]
    executors = [colony.executor] + [await add_executor(rpc, colony, n) for n in names[1:]]
    held = []
    for key in executors:
        await submit(rpc, colony.user, colony)
        got = await rpc.call("assignprocessmsg", key, colonyname=colony.name, timeout=-1)
        held.append(got["processid"])

    def handoffs(counts: list[int]) -> list[Handoff]:
        return [
            Handoff(held[i], Claimer(colony.name, "cli", names[i], "", executors[i].id), count,
                    i != 2, [i], ["e"], utcnow())
            for i, count in enumerate(counts)
        ]  # fmt: skip

    waiting = [(await submit(rpc, colony.user, colony))["processid"] for _ in range(4)]
    results = await store.handovers.close_and_claim_many(handoffs([1, 1, 2]))
    assert [[p.processid for p in r.claimed] for r in results] == [
        [waiting[0]],
        [waiting[1]],
        [waiting[2], waiting[3]],
    ]
    assert [r.closed for r in results] == [True, True, True]
    failed = await rpc.call("getprocessmsg", colony.user, processid=held[2])
    assert failed["state"] == 3 and failed["errors"] == ["e"]
    closed = await rpc.call("getprocessmsg", colony.user, processid=held[0])
    assert closed["state"] == 2 and closed["out"] == [0]

    held = [r.claimed[0].processid for r in results]
    later = [(await submit(rpc, colony.user, colony))["processid"] for _ in range(2)]
    named = await submit(rpc, colony.user, colony, conditions={"executornames": ["y-1"]})
    results = await store.handovers.close_and_claim_many(handoffs([1, 1, 1]))
    assert [[p.processid for p in r.claimed] for r in results] == [
        [later[0]],
        [later[1]],
        [named["processid"]],
    ]
    # The same process twice in one batch: each alone, the second finds it closed.
    held = [r.claimed[0].processid for r in results]
    results = await store.handovers.close_and_claim_many([handoffs([1])[0], handoffs([1])[0]])
    assert [r.closed for r in results] == [True, False]
