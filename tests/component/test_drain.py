"""A replica's drain on stop (server/drain.py), driven as `colonies server start` drives it
(server/run.py's serve): for COLONIES_DRAIN_SECONDS it keeps serving with /ready failing and
`Connection: close` on every response; a waiting long poll is answered by the end of the drain;
a /pubsub WebSocket gets its heartbeat pings, then a clean 1001 close; then the listener closes.
The drain under load behind changing endpoints is integration/test_graceful_drain.py."""

from __future__ import annotations

import asyncio
import socket
import time

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType

from colonies.client import AsyncRpc, ColoniesError
from colonies.crypto import PrivateKey
from colonies.rpc import sign_request
from colonies.server.run import serve
from tests.helpers import make_colony, make_config

DRAIN = 2.0


async def _until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_drain_keeps_serving_then_closes(db_url: str, server_key: PrivateKey) -> None:
    config = make_config(db_url, server_key, drain_seconds=DRAIN, pubsub_heartbeat=0.5)
    url = f"http://127.0.0.1:{config.port}"
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(config, stop))
    session = aiohttp.ClientSession()
    try:

        async def healthy() -> bool:
            try:
                async with session.get(url + "/health") as reply:
                    return reply.status == 200
            except aiohttp.ClientError:
                return False

        await _until(healthy)
        async with AsyncRpc(url, retry_attempts=1) as rpc:
            colony = await make_colony(rpc, server_key, name="drain")
            poll = asyncio.create_task(
                rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=60)
            )
            ws = await session.ws_connect(url + "/pubsub", autoping=False)
            subscription = {"colonyname": colony.name, "executortype": "cli", "state": 0}
            await ws.send_str(
                sign_request(
                    "subscribeprocessesmsg", {**subscription, "timeout": 60}, colony.user
                ).decode()
            )

            async def read_all() -> list[tuple[WSMsgType, object]]:
                """Every frame until the close, answering pings as a client does."""
                frames = []
                while True:
                    msg = await ws.receive(timeout=DRAIN + 10)
                    frames.append((msg.type, msg.data))
                    if msg.type != WSMsgType.PING:
                        return frames
                    await ws.pong(msg.data)

            reader = asyncio.create_task(read_all())
            await asyncio.sleep(1.2)  # the heartbeat: pings while the subscription is quiet

            stopped = time.monotonic()
            stop.set()
            await asyncio.sleep(0.2)
            # Draining: not ready, but every request is still served, without keep-alive.
            async with session.get(url + "/ready") as reply:
                assert reply.status == 503
                assert await reply.text() == "shutting down\n"
            for _ in range(3):
                got = await rpc.call("getcolonymsg", colony.user, colonyname=colony.name)
                assert got["name"] == colony.name
            async with session.post(url + "/api", data=b"{}") as reply:
                assert reply.headers["Connection"] == "close"
                assert reply.status == 403  # an unsigned envelope, answered normally
            assert not poll.done()  # the long poll still waits ...

            # ... until the end of the drain, when it is answered "no process".
            with pytest.raises(ColoniesError) as err:
                await poll
            assert err.value.status == 404
            waited = time.monotonic() - stopped
            assert DRAIN - 0.3 < waited < DRAIN + 3, waited

            # The WebSocket: pings before and during the drain, then a clean "going away".
            frames = await reader
            assert frames[-1] == (WSMsgType.CLOSE, WSCloseCode.GOING_AWAY), frames
            assert [kind for kind, _ in frames[:-1]] == [WSMsgType.PING] * (len(frames) - 1)
            assert len(frames) - 1 >= 4, frames  # 1.2 s + 2 s at one ping per 0.5 s
            await ws.close()

        await asyncio.wait_for(serving, 15)
        with pytest.raises(OSError):  # the listener is closed
            socket.create_connection(("127.0.0.1", config.port), timeout=1).close()
    finally:
        stop.set()
        await session.close()
        if not serving.done():
            serving.cancel()


async def test_without_a_drain_long_polls_end_at_once(db_url: str, server_key: PrivateKey) -> None:
    config = make_config(db_url, server_key)  # COLONIES_DRAIN_SECONDS unset: 0
    url = f"http://127.0.0.1:{config.port}"
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(config, stop))
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", config.port), timeout=1).close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        async with AsyncRpc(url, retry_attempts=1) as rpc:
            colony = await make_colony(rpc, server_key, name="nodrain")
            poll = asyncio.create_task(
                rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=60)
            )
            await asyncio.sleep(0.3)
            started = time.monotonic()
            stop.set()
            with pytest.raises(ColoniesError) as err:
                await poll
            assert err.value.status == 404
            assert time.monotonic() - started < 2
        await asyncio.wait_for(serving, 15)
    finally:
        stop.set()
        if not serving.done():
            serving.cancel()
