"""``GET /pubsub``: subscriptions over a WebSocket (docs/protocol.md §1.5, §6.18).

Each text frame is a request envelope. The dispatcher prepares it like an RPC (a frame of any
other payloadtype is ignored) and runs it with this socket as the sink of its replies, one
frame each; an error envelope frame tells a refusal. A subscription ends the socket when it
is done (delivered, or timed out).
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import WSMsgType, web

from colonies.rpc import RpcError
from colonies.rpc.envelope import encode_error
from colonies.server.context import SubscriberGone
from colonies.server.dispatch import Dispatcher
from colonies.server.transports import DISPATCHER_KEY


class _SocketSink:
    """A subscription's replies as text frames of one WebSocket."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def send(self, reply: bytes) -> None:
        if self.ws.closed:
            raise SubscriberGone
        try:
            await self.ws.send_str(reply.decode())
        except ConnectionResetError:
            raise SubscriberGone from None


async def _serve(dispatcher: Dispatcher, data: str | bytes, ws: web.WebSocketResponse) -> None:
    sink = _SocketSink(ws)
    try:
        prepared = await dispatcher.subscription(data.encode() if isinstance(data, str) else data)
        if prepared is None:
            return  # other types are ignored on the socket (§6.18)
        await prepared.stream(sink)
    except RpcError as exc:
        with contextlib.suppress(SubscriberGone):
            await sink.send(encode_error(exc.status, exc.message))
    except SubscriberGone:
        pass
    await ws.close()


async def pubsub(request: web.Request) -> web.WebSocketResponse:
    dispatcher = request.app[DISPATCHER_KEY]
    state = dispatcher.state
    # Pings keep proxies from closing a quiet subscription, and notice a vanished client.
    ws = web.WebSocketResponse(
        max_msg_size=state.config.max_body, heartbeat=state.config.pubsub_heartbeat or None
    )
    await ws.prepare(request)
    state.websockets.add(ws)  # closed with "going away" at the end of a drain (server/drain.py)
    tasks: set[asyncio.Task[None]] = set()
    try:
        async for frame in ws:
            if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                task = asyncio.create_task(_serve(dispatcher, frame.data, ws))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            elif frame.type == WSMsgType.ERROR:
                break
    finally:
        state.websockets.discard(ws)
        for task in tasks:
            task.cancel()
        for task in list(tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    return ws


def add_routes(app: web.Application) -> None:
    app.router.add_get("/pubsub", pubsub)
