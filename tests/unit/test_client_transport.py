"""The SDK over a transport of the test's own (client/_transport.py): a new transport plugs in
through ``AsyncClient(..., transport=...)`` alone, and the retry rules decide by the transport's
errors: nothing sent (retry), may have been carried out (retry only what reads)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import msgspec
import pytest

from colonies.client import (
    AsyncClient,
    ColoniesError,
    ConnectError,
    ConnectionLost,
    ReadError,
    Timeout,
    Transport,
)
from colonies.core import Colony, Process, ProcessState
from colonies.crypto import generate_private_key, recover_caller_id
from colonies.rpc import decode_request, encode_error, encode_reply

Outcome = BaseException | tuple[int, bytes]


def reply(payloadtype: str, value: Any) -> tuple[int, bytes]:
    return 200, encode_reply(payloadtype, msgspec.json.encode(msgspec.to_builtins(value)))


class Scripted(Transport):
    """Answers each request with the next outcome (a reply, or an error to raise) and pushes
    ``frames`` to a subscription."""

    def __init__(self, *outcomes: Outcome, frames: tuple[bytes, ...] = ()) -> None:
        self.outcomes = list(outcomes)
        self.frames = frames
        self.sent: list[bytes] = []
        self.closed = False

    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        self.sent.append(envelope)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        self.sent.append(envelope)
        for frame in self.frames:
            yield frame

    async def health(self, timeout: float) -> bool:
        return True

    async def close(self) -> None:
        self.closed = True


KEY = generate_private_key("ed25519")
COLONY = Colony(colonyid=KEY.id, name="c")


def client(transport: Scripted) -> AsyncClient:
    return AsyncClient("scripted://", KEY, retry_seconds=5, transport=transport)


async def test_a_plugged_in_transport_carries_signed_requests_and_typed_replies():
    transport = Scripted(reply("getcolonymsg", COLONY))
    async with client(transport) as c:
        assert await c.get_colony("c") == COLONY
        assert await c.health()
    assert transport.closed
    envelope = decode_request(transport.sent[0])
    assert envelope.payloadtype == "getcolonymsg"
    assert recover_caller_id(envelope.signature, envelope.payload.encode()) == KEY.id


async def test_nothing_sent_is_retried_even_for_a_message_that_changes_something():
    transport = Scripted(
        ConnectError("refused"), ConnectError("refused"), reply("addcolonymsg", COLONY)
    )
    async with client(transport) as c:
        assert await c.add_colony(COLONY) == COLONY
    assert len(transport.sent) == 3
    # Each attempt is a new request (a new nonce, signed anew), never a replay of the last.
    assert len(set(transport.sent)) == 3


@pytest.mark.parametrize(
    "failure", [ConnectionLost("reset"), ReadError("garbled"), Timeout("slow")]
)
async def test_what_may_have_been_carried_out_is_retried_only_when_it_reads(failure):
    changes = Scripted(failure)
    async with client(changes) as c:
        with pytest.raises(type(failure)):
            await c.add_colony(COLONY)
    assert len(changes.sent) == 1

    reads = Scripted(failure, reply("getcolonymsg", COLONY))
    async with client(reads) as c:
        assert await c.get_colony("c") == COLONY
    assert len(reads.sent) == 2


async def test_error_replies_retry_only_when_the_server_did_nothing():
    unavailable = (503, encode_error(503, "database unavailable"))
    transport = Scripted(unavailable, reply("addcolonymsg", COLONY))
    async with client(transport) as c:
        assert await c.add_colony(COLONY) == COLONY
    assert len(transport.sent) == 2

    refused = Scripted((403, encode_error(403, "Access denied, not server owner")))
    async with client(refused) as c:
        with pytest.raises(ColoniesError) as err:
            await c.add_colony(COLONY)
    assert (err.value.status, err.value.message) == (403, "Access denied, not server owner")
    assert len(refused.sent) == 1


async def test_a_subscription_over_the_transport():
    process = Process(processid="p" * 64, state=ProcessState.WAITING)
    done = Process(processid="p" * 64, state=ProcessState.SUCCESS)
    transport = Scripted(
        reply("getprocessmsg", process), frames=(reply("subscribeprocessmsg", done)[1],)
    )
    async with client(transport) as c:
        got = await c.wait(process.processid, timeout=1)
    assert got is not None and got.state == ProcessState.SUCCESS
    assert decode_request(transport.sent[1]).payloadtype == "subscribeprocessmsg"

    ended = Scripted(reply("getprocessmsg", process))  # the server ends it without a push
    async with client(ended) as c:
        assert await c.wait(process.processid, timeout=1) is None
