"""The smallest transport: request envelopes handed to a server's dispatcher in the same
process, with no network in between (not a test module).

It is built like the server's own transports (server/transports/): it needs the dispatcher and
nothing else from the server, so adding it touched no server file. The app's wiring gives the
dispatcher to the aiohttp transports under DISPATCHER_KEY; a test takes it from there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from colonies.rpc import RpcError
from colonies.rpc.envelope import encode_error
from colonies.server.dispatch import Dispatcher


class _QueueSink:
    def __init__(self, queue: asyncio.Queue[bytes | None]) -> None:
        self.queue = queue

    async def send(self, reply: bytes) -> None:
        await self.queue.put(reply)


class InProcessTransport:
    BACKEND = "inprocess"  # its name in the metrics

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher

    async def call(self, body: bytes) -> tuple[int, bytes]:
        """An RPC: (status, reply envelope)."""
        return await self.dispatcher.handle(body, self.BACKEND)

    async def subscribe(self, body: bytes) -> AsyncIterator[bytes]:
        """Each reply of a subscription as it is pushed, until the subscription ends; a
        refusal is one error envelope. Nothing for a request that is no subscription."""
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def run() -> None:
            try:
                prepared = await self.dispatcher.subscription(body)
                if prepared is not None:
                    await prepared.stream(_QueueSink(queue))
            except RpcError as exc:
                await queue.put(encode_error(exc.status, exc.message))
            finally:
                await queue.put(None)

        task = asyncio.create_task(run())
        try:
            while (reply := await queue.get()) is not None:
                yield reply
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
