"""An assign long poll whose client goes away leaves nothing behind: no registered waiter, no
gauge count, and no process claimed on behalf of a client that is gone."""

from __future__ import annotations

import asyncio
import time

import pytest

from colonies.client import AsyncRpc, ColoniesError
from colonies.server.app import STATE_KEY
from colonies.server.handlers import processes as processes_handlers
from tests.helpers import add_executor, eventually, make_colony, make_config, start_server, submit


def waiting_gauge(state) -> float:
    """The value of the colonies_assign_waiting gauge (prometheus_client's public reading)."""
    (metric,) = state.metrics.assign_waiting.collect()
    return metric.samples[0].value


async def test_disconnected_long_poll_unregisters_its_waiter(server, colony):
    state = server.app[STATE_KEY]
    client = AsyncRpc(server.url, retry_attempts=1)
    poll = asyncio.create_task(
        client.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=30)
    )
    try:
        await eventually(lambda: len(state.waiters) == 1)
        assert waiting_gauge(state) == 1
    finally:
        poll.cancel()
        await asyncio.gather(poll, return_exceptions=True)
        await client.close()  # the connection is gone
    # The handler is cancelled with the connection (handler_cancellation), long before the
    # 30 s timeout: its waiter and its gauge count go.
    await eventually(lambda: len(state.waiters) == 0, timeout=2)
    await eventually(lambda: waiting_gauge(state) == 0, timeout=2)
    # A process submitted now is not claimed for the vanished client.
    p = await server.rpc.call(
        "submitfuncspecmsg",
        colony.user,
        spec={
            "funcname": "f",
            "conditions": {"colonyname": colony.name, "executortype": colony.executor_type},
            "maxexectime": -1,
            "maxwaittime": -1,
            "maxretries": -1,
        },
    )
    await asyncio.sleep(0.3)
    got = await server.rpc.call("getprocessmsg", colony.user, processid=p["processid"])
    assert got["state"] == 0 and got["assignedexecutorid"] == ""
    # And the next long poll of the same executor gets it at once.
    again = await server.rpc.call(
        "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=5
    )
    assert again["processid"] == p["processid"]


async def test_shutdown_ends_waiting_long_polls_at_once(db_url, server_key):
    """SIGTERM (runner cleanup): waiting executors get "no process" now, not in 30 s, so they
    poll another replica; the replica reports not ready meanwhile."""
    config = make_config(db_url, server_key)
    runner, app = await start_server(config)
    url = f"http://127.0.0.1:{config.port}"
    state = app[STATE_KEY]
    async with AsyncRpc(url, retry_attempts=1) as rpc:
        colony = await make_colony(rpc, server_key, name="draining")
        polls = [
            asyncio.create_task(
                rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=30)
            )
            for _ in range(3)
        ]
        await eventually(lambda: len(state.waiters) == 3)
        started = time.monotonic()
        cleanup = asyncio.create_task(runner.cleanup())
        for poll in polls:
            with pytest.raises(ColoniesError) as err:
                await poll
            assert err.value.status == 404
        assert time.monotonic() - started < 5
        assert state.draining
        await cleanup
        assert time.monotonic() - started < 10


async def _long_poll(rpc: AsyncRpc, key, colony, timeout: int = 5) -> tuple[dict, float]:
    started = time.monotonic()
    process = await rpc.call(
        "assignprocessmsg", key, colonyname=colony.name, timeout=timeout
    )  # fmt: skip
    return process, time.monotonic() - started


async def test_processes_nobody_was_woken_for_are_claimed_at_once(server, colony, monkeypatch):
    """After an empty poll the replica knows nothing waits; processes submitted while no
    executor polls must then still be taken at once, not after a deferred re-check (made 10 s
    here, so that the bound below holds with a wide margin either way)."""
    monkeypatch.setattr(processes_handlers, "DEFERRED_RECHECK", 10.0)
    rpc = server.rpc
    with pytest.raises(ColoniesError):  # nothing: the count becomes known (zero)
        await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=1)
    submitted = [await submit(rpc, colony.user, colony, funcname=f"f{i}") for i in range(3)]
    taken = []
    for _ in submitted:
        process, seconds = await _long_poll(rpc, colony.executor, colony, timeout=20)
        assert seconds < 5, f"a waiting process took {seconds:.2f} s to assign"
        taken.append(process["processid"])
        await rpc.call("closesuccessfulmsg", colony.executor, processid=process["processid"])
    assert taken == [p["processid"] for p in submitted]


async def test_a_process_aimed_at_a_busy_executor_reaches_it(server, colony):
    """A process for executor B by name, submitted while only A polls: A cannot take it. A
    third executor's empty claim then makes the replica believe nothing waits, so B, arriving
    later, defers its claim; it still gets the process at its deferred re-check (1 s). The
    usual re-check is made 30 s so that only the deferred one can deliver within the bound."""
    state = server.app[STATE_KEY]
    state.assign_recheck_interval = 30.0
    rpc = server.rpc
    b_key = await add_executor(rpc, colony, "exec-b")
    c_key = await add_executor(rpc, colony, "exec-c")
    poll_a = asyncio.create_task(_long_poll(rpc, colony.executor, colony, timeout=3))
    await eventually(lambda: len(state.waiters) == 1)
    aimed = await submit(rpc, colony.user, colony, conditions={"executornames": ["exec-b"]})
    with pytest.raises(ColoniesError):  # C cannot take it either, and finds nothing
        await _long_poll(rpc, c_key, colony, timeout=1)
    assert state.waiters.all_handed(colony.name, colony.executor_type, "")  # B will defer
    process, seconds = await _long_poll(rpc, b_key, colony, timeout=20)
    assert process["processid"] == aimed["processid"]
    assert seconds < 10
    with pytest.raises(ColoniesError):
        await poll_a  # A never got it
