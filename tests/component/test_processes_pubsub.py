"""WebSocket process subscriptions on ``GET /pubsub`` (docs/protocol.md §6.18, §7.6, §7.19, §8 items
4 and 5), also across two replicas sharing one database."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from colonies.client import AsyncRpc
from colonies.crypto import generate_private_key
from colonies.rpc import sign_request
from colonies.server.app import STATE_KEY
from tests.helpers import eventually, make_colony, make_config, start_server
from tests.helpers import function_spec as spec


async def submit(rpc, colony, **extra: Any) -> dict:
    return await rpc.call("submitfuncspecmsg", colony.user, spec=spec(colony, **extra))


async def run_to_success(rpc, colony, processid: str) -> None:
    got = await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    assert got["processid"] == processid
    await rpc.call("closesuccessfulmsg", colony.executor, processid=processid, out=["done"])


@asynccontextmanager
async def websocket(url: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as session, session.ws_connect(url + "/pubsub") as ws:
        yield ws


async def send(ws, payloadtype: str, key, **payload: Any) -> None:
    await ws.send_str(sign_request(payloadtype, payload, key).decode())


def decode(data: str) -> tuple[dict, Any]:
    envelope = json.loads(data)
    return envelope, json.loads(base64.b64decode(envelope["payload"]))


async def frame(ws, timeout: float = 5.0) -> tuple[dict, Any]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == WSMsgType.TEXT, msg
    return decode(msg.data)


async def push(ws, timeout: float = 5.0) -> dict:
    """The next frame, which must be a pushed Process."""
    envelope, payload = await frame(ws, timeout)
    assert envelope["error"] is False, payload
    assert envelope["payloadtype"] == "subscribeprocessmsg"
    return payload


async def error_frame(ws) -> dict:
    envelope, payload = await frame(ws)
    assert envelope["payloadtype"] == "error" and envelope["error"] is True, envelope
    return payload


async def assert_closed(ws, timeout: float = 3.0) -> None:
    msg = await ws.receive(timeout=timeout)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED), msg


async def assert_quiet(ws, seconds: float = 0.3) -> None:
    """No frame arrives within ``seconds`` and the socket stays open."""
    try:
        msg = await ws.receive(timeout=seconds)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"unexpected frame: {msg}")


def subscriptions(app) -> int:
    return len(app[STATE_KEY].subscriptions)


# --- subscribeprocessmsg --------------------------------------------------------------------
async def test_subscribe_process_receives_its_success(server, colony):
    rpc = server.rpc
    p = await submit(rpc, colony)
    pid = p["processid"]
    async with websocket(server.url) as ws:
        await send(
            ws,
            "subscribeprocessmsg",
            colony.user,
            colonyname=colony.name,
            processid=pid,
            executortype="",
            state=2,
            timeout=10,
        )
        await eventually(lambda: subscriptions(server.app) == 1)
        await assert_quiet(ws, 0.2)  # still waiting: no frame yet
        await run_to_success(rpc, colony, pid)
        process = await push(ws)
        assert process["processid"] == pid and process["state"] == 2
        assert process["out"] == ["done"]
        await assert_closed(ws)  # one frame, then the socket is closed
    await eventually(lambda: subscriptions(server.app) == 0)


async def test_subscribe_process_already_in_state_answers_at_once(server, colony):
    rpc = server.rpc
    p = await submit(rpc, colony)
    await run_to_success(rpc, colony, p["processid"])
    async with websocket(server.url) as ws:
        started = time.monotonic()
        await send(
            ws,
            "subscribeprocessmsg",
            colony.executor,
            colonyname=colony.name,
            processid=p["processid"],
            state=2,
            timeout=30,
        )
        process = await push(ws, timeout=2)
        assert time.monotonic() - started < 1.5
        assert process["processid"] == p["processid"] and process["state"] == 2
        await assert_closed(ws)
    # A waiting process subscribed for state 0 answers at once too.
    waiting = await submit(rpc, colony)
    async with websocket(server.url) as ws:
        await send(
            ws,
            "subscribeprocessmsg",
            colony.user,
            colonyname=colony.name,
            processid=waiting["processid"],
            state=0,
            timeout=30,
        )
        assert (await push(ws, timeout=2))["state"] == 0


async def test_subscribe_process_timeout_closes_without_frame(server, colony):
    p = await submit(server.rpc, colony)
    async with websocket(server.url) as ws:
        started = time.monotonic()
        await send(
            ws,
            "subscribeprocessmsg",
            colony.user,
            colonyname=colony.name,
            processid=p["processid"],
            state=2,
            timeout=1,
        )
        await assert_closed(ws, timeout=4)  # no TEXT frame before the close
        assert 0.9 < time.monotonic() - started < 3
    assert subscriptions(server.app) == 0


async def test_subscribe_process_errors(server, colony, server_key):
    rpc = server.rpc
    p = await submit(rpc, colony)
    other = await make_colony(rpc, server_key, colony.owner.scheme, name="other")
    for key in (other.user, colony.owner):
        async with websocket(server.url) as ws:
            await send(
                ws,
                "subscribeprocessmsg",
                key,
                colonyname=colony.name,
                processid=p["processid"],
                state=2,
                timeout=5,
            )
            error = await error_frame(ws)
            assert error["status"] == 403 and error["message"].startswith("Access denied")
            await assert_closed(ws)
    async with websocket(server.url) as ws:
        await send(
            ws,
            "subscribeprocessmsg",
            colony.user,
            colonyname=colony.name,
            processid="0" * 64,
            state=2,
            timeout=5,
        )
        error = await error_frame(ws)
        assert error["status"] == 404
        await assert_closed(ws)
    assert subscriptions(server.app) == 0


async def test_two_subscribers_of_one_process_both_receive(server, colony):
    rpc = server.rpc
    p = await submit(rpc, colony)
    async with websocket(server.url) as first, websocket(server.url) as second:
        for ws, key in ((first, colony.user), (second, colony.executor)):
            await send(
                ws,
                "subscribeprocessmsg",
                key,
                colonyname=colony.name,
                processid=p["processid"],
                state=2,
                timeout=10,
            )
        await eventually(lambda: subscriptions(server.app) == 2)
        await run_to_success(rpc, colony, p["processid"])
        for ws in (first, second):
            process = await push(ws)
            assert process["processid"] == p["processid"] and process["state"] == 2


# --- subscribeprocessesmsg ------------------------------------------------------------------
async def test_subscribe_processes_receives_each_matching_event(server, colony, server_key):
    rpc = server.rpc
    other = await make_colony(rpc, server_key, colony.owner.scheme, name="other")
    async with websocket(server.url) as ws:
        await send(
            ws,
            "subscribeprocessesmsg",
            colony.executor,
            colonyname=colony.name,
            executortype=colony.executor_type,
            state=0,
            timeout=10,
        )
        await eventually(lambda: subscriptions(server.app) == 1)
        await submit(rpc, colony, conditions={"executortype": "gpu"})  # another type
        await submit(rpc, other)  # another colony (§8 item 4)
        submitted = [(await submit(rpc, colony))["processid"] for _ in range(3)]
        received = [await push(ws) for _ in range(3)]
        assert [p["processid"] for p in received] == submitted
        assert {p["state"] for p in received} == {0}
        # A state change to RUNNING is not a WAITING event.
        await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
        await assert_quiet(ws)


async def test_subscribe_processes_non_member_is_refused(server, colony, server_key):
    other = await make_colony(server.rpc, server_key, colony.owner.scheme, name="other")
    for key in (other.executor, colony.owner):
        async with websocket(server.url) as ws:
            await send(
                ws,
                "subscribeprocessesmsg",
                key,
                colonyname=colony.name,
                executortype=colony.executor_type,
                state=0,
                timeout=5,
            )
            error = await error_frame(ws)
            assert error["status"] == 403 and error["message"].startswith("Access denied")


# --- signatures and other payload types -----------------------------------------------------
async def test_bad_signature_gets_error_frame(server, colony):
    p = await submit(server.rpc, colony)
    body = json.loads(
        sign_request(
            "subscribeprocessmsg",
            {"colonyname": colony.name, "processid": p["processid"], "state": 2, "timeout": 5},
            colony.user,
        )
    )
    # Another payload under the same signature: Ed25519 rejects it; secp256k1 recovers some
    # unrelated identity, which is no member. Either way 403, and never the push it asks for.
    changed = {"msgtype": "subscribeprocessmsg", "processid": p["processid"], "state": 0}
    tampered = {**body, "payload": base64.b64encode(json.dumps(changed).encode()).decode()}
    not_hex = {**body, "signature": "z" + body["signature"][1:]}
    for envelope in (tampered, not_hex, {**body, "signature": "ab" * 10}):
        async with websocket(server.url) as ws:
            await ws.send_str(json.dumps(envelope))
            error = await error_frame(ws)
            assert error["status"] == 403
            await assert_closed(ws)
    assert subscriptions(server.app) == 0


async def test_other_payload_types_are_ignored(server, colony):
    rpc = server.rpc
    p = await submit(rpc, colony)
    async with websocket(server.url) as ws:
        await send(ws, "getprocessmsg", colony.user, processid=p["processid"])
        await send(ws, "submitfuncspecmsg", colony.user, spec=spec(colony))
        await assert_quiet(ws, 0.5)  # no reply, and the socket stays open
        stats = await rpc.call("getcolonystatsmsg", colony.user, colonyname=colony.name)
        assert stats["waitingprocesses"] == 1, "a non-subscription frame was executed"
        # The same socket still serves a subscription.
        await send(
            ws,
            "subscribeprocessmsg",
            colony.user,
            colonyname=colony.name,
            processid=p["processid"],
            state=0,
            timeout=5,
        )
        assert (await push(ws))["processid"] == p["processid"]


# --- across replicas ------------------------------------------------------------------------
async def test_events_and_wake_ups_cross_replicas(server, colony, db_url, server_key):
    """A subscriber and a long poll on replica B see what happens through replica A."""
    runner, app_b = await start_server(make_config(db_url, server_key))
    url_b = f"http://127.0.0.1:{app_b[STATE_KEY].config.port}"
    rpc_a = server.rpc
    try:
        async with AsyncRpc(url_b) as rpc_b:
            p = await submit(rpc_a, colony)
            async with websocket(url_b) as single, websocket(url_b) as many:
                await send(
                    single,
                    "subscribeprocessmsg",
                    colony.user,
                    colonyname=colony.name,
                    processid=p["processid"],
                    state=2,
                    timeout=10,
                )
                await send(
                    many,
                    "subscribeprocessesmsg",
                    colony.user,
                    colonyname=colony.name,
                    executortype=colony.executor_type,
                    state=1,
                    timeout=10,
                )
                await eventually(lambda: subscriptions(app_b) == 2)
                assert subscriptions(server.app) == 0  # nothing held on replica A
                await rpc_a.call(
                    "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1
                )
                # (Closed only after the RUNNING push: a subscriber loads the process when the
                # event arrives and drops the event if the state has moved on meanwhile.)
                running = await push(many)
                assert running["processid"] == p["processid"] and running["state"] == 1
                await rpc_a.call(
                    "closesuccessfulmsg", colony.executor, processid=p["processid"], out=[]
                )
                done = await push(single)
                assert done["processid"] == p["processid"] and done["state"] == 2

            # A long poll on B is woken by a submission on A (LISTEN/NOTIFY), not by its
            # slow safety re-check.
            poll = asyncio.create_task(
                rpc_b.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=10)
            )
            await eventually(lambda: len(app_b[STATE_KEY].waiters) == 1)
            assert len(server.app[STATE_KEY].waiters) == 0
            submitted = time.monotonic()
            q = await submit(rpc_a, colony)
            got = await asyncio.wait_for(poll, 5)
            latency = time.monotonic() - submitted
            assert got["processid"] == q["processid"] and got["state"] == 1
            assert latency < 0.5, f"cross-replica wake-up took {latency * 1000:.0f} ms"
            assert len(app_b[STATE_KEY].waiters) == 0
    finally:
        await runner.cleanup()


async def test_unknown_key_is_refused(server, colony):
    """A signature that verifies but belongs to nobody in the colony."""
    p = await submit(server.rpc, colony)
    async with websocket(server.url) as ws:
        await send(
            ws,
            "subscribeprocessmsg",
            generate_private_key(colony.owner.scheme),
            colonyname=colony.name,
            processid=p["processid"],
            state=0,
            timeout=5,
        )
        error = await error_frame(ws)
        assert error["status"] == 403 and error["message"].startswith("Access denied")
