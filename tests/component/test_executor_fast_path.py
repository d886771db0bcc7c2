"""The executor toolkit on the fast path (docs/protocol.md §7.21): it closes each process and
takes the next in one request when the server lists closeandassignmsg in getserverinfomsg, and
uses the standard messages otherwise."""

from __future__ import annotations

import asyncio

import pytest

from colonies.client import AsyncClient
from colonies.core import Conditions, FunctionSpec, ProcessState
from colonies.crypto import generate_private_key
from colonies.executor import Executor
from colonies.server.app import STATE_KEY
from tests.helpers import eventually


def _spec(colony: str, funcname: str, *args) -> FunctionSpec:
    return FunctionSpec(
        funcname=funcname,
        args=list(args),
        maxexectime=-1,
        maxwaittime=-1,
        maxretries=-1,
        conditions=Conditions(colonyname=colony, executortype="fast"),
    )


def _requests(server, payloadtype: str) -> float:
    """How many requests of ``payloadtype`` the server answered (its /metrics counter)."""
    counter = server.app[STATE_KEY].metrics.rpc_requests
    return sum(
        sample.value
        for metric in counter.collect()
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("payloadtype") == payloadtype
    )


async def _run_batch(server, colony) -> list:
    executor = Executor(
        server.url,
        generate_private_key(),
        colony=colony.name,
        name="fast-1",
        executortype="fast",
        colony_key=colony.owner,
        poll_timeout=2,
    )

    @executor.function
    def double(x):
        return 2 * x

    @executor.function
    def broken():
        raise ValueError("no")

    serving = asyncio.create_task(executor.serve())
    try:
        async with AsyncClient(server.url, colony.user) as client:
            submitted = [await client.submit(_spec(colony.name, "double", i)) for i in range(6)]
            submitted.append(await client.submit(_spec(colony.name, "broken")))

            async def finished():
                done = [await client.get_process(p.processid) for p in submitted]
                if all(p.state not in (ProcessState.WAITING, ProcessState.RUNNING) for p in done):
                    return done
                return None

            return await eventually(finished, "every process finishing", timeout=30)
    finally:
        executor.stop()
        await asyncio.wait_for(serving, 15)


async def test_the_toolkit_uses_the_fast_path_when_the_server_lists_it(server, colony):
    done = await _run_batch(server, colony)
    assert [p.output for p in done[:6]] == [[2 * i] for i in range(6)]
    assert done[6].state == ProcessState.FAILED and done[6].errors == ["ValueError: no"]
    assert _requests(server, "closeandassignmsg") == 7
    assert _requests(server, "closesuccessfulmsg") == _requests(server, "closefailedmsg") == 0


async def test_the_toolkit_falls_back_when_the_server_does_not(
    server, colony, monkeypatch: pytest.MonkeyPatch
):
    # A server without the fast path (upstream's, or an older one) does not list it.
    monkeypatch.setattr("colonies.server.handlers.server.FAST_PATH_FEATURES", [])
    done = await _run_batch(server, colony)
    assert [p.output for p in done[:6]] == [[2 * i] for i in range(6)]
    assert done[6].state == ProcessState.FAILED
    assert _requests(server, "closeandassignmsg") == 0
    assert _requests(server, "closesuccessfulmsg") == 6
    assert _requests(server, "closefailedmsg") == 1


async def test_the_sdk_claims_several_and_closes_with_the_next(server, colony):
    async with AsyncClient(server.url, colony.executor) as executor:
        assert await executor.assign_many(colony.name, 3, timeout=-1) == []
        async with AsyncClient(server.url, colony.user) as user:
            spec = _spec(colony.name, "f")
            spec.conditions.executortype = colony.executor_type
            ids = [(await user.submit(spec)).processid for _ in range(3)]
        got = await executor.assign_many(colony.name, 2, timeout=-1)
        assert [p.processid for p in got] == ids[:2]
        nxt = await executor.close_and_assign(got[0].processid, ["ok"], count=2)
        assert [p.processid for p in nxt] == ids[2:]
        assert await executor.close_and_assign(got[1].processid, errors=["bad"]) == []
        assert (await executor.get_process(got[0].processid)).output == ["ok"]
        assert (await executor.get_process(got[1].processid)).errors == ["bad"]
