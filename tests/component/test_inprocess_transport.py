"""A transport added beside HTTP and WebSocket without touching the server: the whole pipeline
(signature, role, replay protection, handler, error envelopes, subscriptions, metrics) works
through tests/component/inprocess_transport.py alone."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from colonies.crypto import generate_private_key
from colonies.rpc import RpcError, decode_reply, sign_request
from colonies.server.app import DISPATCHER_KEY, STATE_KEY
from tests.component.inprocess_transport import InProcessTransport
from tests.helpers import function_spec

pytestmark = pytest.mark.parametrize("colony", ["ed25519"], indirect=True)


@pytest.fixture
def transport(server) -> InProcessTransport:
    return InProcessTransport(server.app[DISPATCHER_KEY])


async def call(transport: InProcessTransport, payloadtype: str, key, **payload: Any) -> Any:
    status, reply = await transport.call(sign_request(payloadtype, payload, key))
    return decode_reply(status, reply)


def inprocess_requests(server, payloadtype: str, status: str) -> float:
    value = server.app[STATE_KEY].metrics.registry.get_sample_value(
        "colonies_rpc_requests_total",
        {"payloadtype": payloadtype, "status": status, "backend": "inprocess"},
    )
    return value or 0.0


async def test_a_process_lifecycle(server, colony, transport):
    submitted = await call(transport, "submitfuncspecmsg", colony.user, spec=function_spec(colony))
    assert submitted["state"] == 0
    assigned = await call(
        transport, "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1
    )
    assert assigned["processid"] == submitted["processid"]
    assert assigned["assignedexecutorid"] == colony.executor.id
    await call(
        transport,
        "closesuccessfulmsg",
        colony.executor,
        processid=assigned["processid"],
        out=["done"],
    )
    # The same process, read over HTTP: one server, two transports.
    done = await server.rpc.call("getprocessmsg", colony.user, processid=assigned["processid"])
    assert done["state"] == 2 and done["out"] == ["done"]
    for payloadtype in ("submitfuncspecmsg", "assignprocessmsg", "closesuccessfulmsg"):
        assert inprocess_requests(server, payloadtype, "200") == 1


async def test_error_envelopes(server, colony, transport):
    status, reply = await transport.call(b"not an envelope")
    with pytest.raises(RpcError) as err:
        decode_reply(status, reply)
    assert err.value.status == 400 and "invalid JSON envelope" in err.value.message

    status, reply = await transport.call(sign_request("nosuchmsg", {}, colony.user))
    with pytest.raises(RpcError) as err:
        decode_reply(status, reply)
    assert err.value.status == 403 and "invalid rpcMsg.PayloadType" in err.value.message

    with pytest.raises(RpcError) as err:
        await call(transport, "getcoloniesmsg", colony.user)  # the server owner's only
    assert err.value.status == 403 and err.value.message.startswith("Access denied")

    captured = sign_request("getcolonymsg", {"colonyname": colony.name}, colony.user)
    assert decode_reply(*await transport.call(captured))["name"] == colony.name
    with pytest.raises(RpcError) as err:
        decode_reply(*await transport.call(captured))
    assert err.value.status == 403 and "Replayed request" in err.value.message
    assert inprocess_requests(server, "getcolonymsg", "403") == 1


async def test_a_subscription_streams_through_the_sink(server, colony, transport):
    process = await call(transport, "submitfuncspecmsg", colony.user, spec=function_spec(colony))
    request = sign_request(
        "subscribeprocessmsg",
        {
            "colonyname": colony.name,
            "processid": process["processid"],
            "executortype": "",
            "state": 1,
            "timeout": 10,
        },
        colony.user,
    )
    replies = transport.subscribe(request)
    first = asyncio.ensure_future(anext(replies))
    await asyncio.sleep(0.2)
    assert not first.done()  # waiting for the process to run
    await call(transport, "assignprocessmsg", colony.executor, colonyname=colony.name, timeout=-1)
    pushed = decode_reply(200, await asyncio.wait_for(first, 10))
    assert pushed["processid"] == process["processid"] and pushed["state"] == 1
    assert [reply async for reply in replies] == []  # delivered: the subscription ends

    # A refused subscription is one error envelope; an RPC is no subscription.
    outsider = sign_request(
        "subscribeprocessesmsg",
        {"colonyname": colony.name, "executortype": "cli", "state": 0, "timeout": 1},
        generate_private_key("ed25519"),  # a member of no colony
    )
    (refusal,) = [reply async for reply in transport.subscribe(outsider)]
    with pytest.raises(RpcError) as err:
        decode_reply(200, refusal)
    assert err.value.status == 403
    rpc = sign_request("getcolonymsg", {"colonyname": colony.name}, colony.user)
    assert [reply async for reply in transport.subscribe(rpc)] == []
