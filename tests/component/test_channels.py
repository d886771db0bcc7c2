"""Channels between the initiator and the assigned executor, also across two replicas."""

from __future__ import annotations

import asyncio
import base64
import json

import aiohttp
import pytest

from colonies.client import ColoniesError
from colonies.rpc import sign_request
from tests.helpers import make_config, start_server


async def _running_process_with_channel(rpc, colony):
    spec = {
        "funcname": "chat",
        "channels": ["chat"],
        "conditions": {"colonyname": colony.name, "executortype": colony.executor_type},
        "maxexectime": -1,
        "maxwaittime": -1,
        "maxretries": -1,
    }
    p = await rpc.call("submitfuncspecmsg", colony.user, spec=spec)
    await rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    return p["processid"]


async def test_append_and_read_both_payload_forms(server, colony):
    rpc = server.rpc
    pid = await _running_process_with_channel(rpc, colony)
    await rpc.call(
        "channelappendmsg",
        colony.user,
        processid=pid,
        name="chat",
        sequence=1,
        payload=list(b"hi"),
        payloadtype="",
    )
    await rpc.call(
        "channelappendmsg",
        colony.executor,
        processid=pid,
        name="chat",
        sequence=1,
        payload=base64.b64encode(b"hello").decode(),
        inreplyto=1,
        payloadtype="end",
    )
    got = await rpc.call("channelreadmsg", colony.executor, processid=pid, name="chat")
    assert [base64.b64decode(e["payload"]) for e in got] == [b"hi", b"hello"]
    assert got[0]["type"] == "data" and got[1]["type"] == "end" and got[1]["inreplyto"] == 1
    assert got[0]["senderid"] == colony.user.id
    tail = await rpc.call(
        "channelreadmsg", colony.user, processid=pid, name="chat", afterseq=1, limit=5
    )
    assert len(tail) == 1
    # Only the initiator and the assigned executor; unknown channel and process are 404.
    with pytest.raises(ColoniesError) as err:
        await rpc.call("channelreadmsg", colony.owner, processid=pid, name="chat")
    assert err.value.status == 403
    with pytest.raises(ColoniesError) as err:
        await rpc.call("channelreadmsg", colony.user, processid=pid, name="nope")
    assert (err.value.status, err.value.message) == (404, "Channel not found")
    with pytest.raises(ColoniesError) as err:
        await rpc.call("channelreadmsg", colony.user, processid="0" * 64, name="chat")
    assert (err.value.status, err.value.message) == (404, "Process not found")
    # The channel goes with the process.
    await rpc.call("closesuccessfulmsg", colony.executor, processid=pid, out=[])
    with pytest.raises(ColoniesError) as err:
        await rpc.call("channelreadmsg", colony.user, processid=pid, name="chat")
    assert err.value.status == 404


async def test_subscriber_on_another_replica_sees_appends(server, colony, db_url, server_key):
    rpc = server.rpc
    pid = await _running_process_with_channel(rpc, colony)
    runner, _ = await start_server(make_config(db_url, server_key))
    other = f"http://127.0.0.1:{runner.addresses[0][1]}"
    received: list[bytes] = []
    try:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(other + "/pubsub") as ws:
                body = sign_request(
                    "subscribechannelmsg",
                    {"processid": pid, "name": "chat", "afterseq": 0, "timeout": 2},
                    colony.user,
                )
                await ws.send_str(body.decode())
                await asyncio.sleep(0.3)
                for i in range(3):
                    await rpc.call(
                        "channelappendmsg",
                        colony.executor,
                        processid=pid,
                        name="chat",
                        sequence=i,
                        payload=list(f"m{i}".encode()),
                    )
                async for frame in ws:
                    entries = json.loads(base64.b64decode(json.loads(frame.data)["payload"]))
                    if not entries:
                        break
                    received += [base64.b64decode(e["payload"]) for e in entries]
    finally:
        await runner.cleanup()
    assert received == [b"m0", b"m1", b"m2"]


async def test_chat_between_two_subscribers_on_two_replicas(server, colony, db_url, server_key):
    rpc = server.rpc
    pid = await _running_process_with_channel(rpc, colony)
    runner, _ = await start_server(make_config(db_url, server_key))
    other = f"http://127.0.0.1:{runner.addresses[0][1]}"
    heard: dict[str, list[bytes]] = {"user": [], "executor": []}

    async def listen(url: str, who: str, key) -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(url + "/pubsub") as ws:
            body = sign_request(
                "subscribechannelmsg",
                {"processid": pid, "name": "chat", "afterseq": 0, "timeout": 2},
                key,
            )
            await ws.send_str(body.decode())
            async for frame in ws:
                entries = json.loads(base64.b64decode(json.loads(frame.data)["payload"]))
                if not entries:
                    return
                heard[who] += [base64.b64decode(e["payload"]) for e in entries]

    try:
        listeners = [
            asyncio.create_task(listen(server.url, "user", colony.user)),
            asyncio.create_task(listen(other, "executor", colony.executor)),
        ]
        await asyncio.sleep(0.3)
        for i, (key, text) in enumerate(
            [(colony.user, b"hi"), (colony.executor, b"hello"), (colony.user, b"bye")]
        ):
            await rpc.call(
                "channelappendmsg", key, processid=pid, name="chat", sequence=i,
                payload=list(text),
            )  # fmt: skip
        await asyncio.gather(*listeners)
    finally:
        await runner.cleanup()
    assert heard["user"] == heard["executor"] == [b"hi", b"hello", b"bye"]


async def test_channel_limits(server, colony):
    from colonies.server.app import STATE_KEY

    rpc = server.rpc
    pid = await _running_process_with_channel(rpc, colony)
    big = base64.b64encode(b"x" * (10 * 1024 * 1024 + 1)).decode()
    with pytest.raises(ColoniesError) as err:
        await rpc.call("channelappendmsg", colony.user, processid=pid, name="chat", payload=big)
    assert (err.value.status, err.value.message) == (500, "message payload exceeds maximum size")
    store = server.app[STATE_KEY].store
    await store.pool.execute(
        "UPDATE channels SET entries = 10000 WHERE channelid = $1", f"{pid}_chat"
    )
    with pytest.raises(ColoniesError) as err:
        await rpc.call("channelappendmsg", colony.user, processid=pid, name="chat", payload=[1])
    assert (err.value.status, err.value.message) == (500, "channel log is full")
    with pytest.raises(ColoniesError) as err:
        await rpc.call("channelappendmsg", colony.user, processid=pid, name="chat", payload={})
    assert err.value.status == 400
