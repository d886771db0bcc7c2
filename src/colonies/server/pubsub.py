"""``GET /pubsub``: WebSocket subscriptions (PROTOCOL.md §6.18).

Each text frame is a signed request envelope, verified and authorized like an RPC; replies and
pushes are reply-envelope frames. Process events reach every matching subscriber on every
replica through the event bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import WSMsgType, web

from colonies.core import Process
from colonies.core.wire import encode
from colonies.rpc import RpcError, decode_payload, decode_request
from colonies.rpc.envelope import encode_error, encode_reply
from colonies.rpc.messages import SubscribeChannelMsg, SubscribeProcessesMsg, SubscribeProcessMsg
from colonies.server.context import Context
from colonies.server.dispatch import Dispatcher
from colonies.server.handlers.channels import channel_id, channel_scope, entries, require_channel
from colonies.server.handlers.processes import process_scope
from colonies.server.registry import Role, registry
from colonies.server.scopes import by_colonyname
from colonies.server.waiters import Subscription

log = logging.getLogger(__name__)

PUSH_TYPE = "subscribeprocessmsg"  # also for subscribeprocessesmsg pushes (§6.18)


async def _push(ctx: Context, process: Process) -> None:
    await ctx.ws.send_str(encode_reply(PUSH_TYPE, encode(process)).decode())


async def _events(ctx: Context, sub: Subscription, timeout: float) -> Any:
    """Yield the Process of each matching event until ``timeout`` seconds have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        try:
            event = await asyncio.wait_for(sub.queue.get(), remaining)
        except asyncio.TimeoutError:
            return
        # The event matched; the process may have moved on since (a fast close): deliver it
        # anyway rather than lose the event.
        process = await ctx.store.processes.get(event.processid)
        if process is not None:
            yield process


@registry.handles(
    "subscribeprocessmsg",
    SubscribeProcessMsg,
    Role.MEMBER,
    action="Failed to subscribe to process",
    scope=process_scope,
    websocket=True,
)
async def subscribe_process(ctx: Context, msg: SubscribeProcessMsg) -> None:
    subscriptions = ctx.state.subscriptions
    sub = Subscription(msg.state, processid=msg.processid)
    subscriptions.add(sub)  # before looking, so a change in between is not missed
    try:
        process = await ctx.store.processes.get(msg.processid)
        if process is not None and process.state == msg.state:
            await _push(ctx, process)
            return
        async for process in _events(ctx, sub, msg.timeout):
            await _push(ctx, process)
            return
    finally:
        subscriptions.remove(sub)


@registry.handles(
    "subscribeprocessesmsg",
    SubscribeProcessesMsg,
    Role.MEMBER,
    action="Failed to subscribe to processes",
    scope=by_colonyname,
    websocket=True,
)
async def subscribe_processes(ctx: Context, msg: SubscribeProcessesMsg) -> None:
    subscriptions = ctx.state.subscriptions
    sub = Subscription(msg.state, colonyname=msg.colonyname, executortype=msg.executortype)
    subscriptions.add(sub)
    try:
        async for process in _events(ctx, sub, msg.timeout):
            await _push(ctx, process)
    finally:
        subscriptions.remove(sub)


CHANNEL_PUSH_TYPE = "subscribechannelmsg"
_DEFAULT_CHANNEL_TIMEOUT = 30


async def _push_entries(ctx: Context, rows: list[Any]) -> None:
    payload = encode(entries(rows))
    await ctx.ws.send_str(encode_reply(CHANNEL_PUSH_TYPE, payload).decode())


@registry.handles(
    "subscribechannelmsg",
    SubscribeChannelMsg,
    Role.MEMBER_PARTY,
    action="Failed to subscribe to channel",
    scope=channel_scope("read from"),
    websocket=True,
)
async def subscribe_channel(ctx: Context, msg: SubscribeChannelMsg) -> None:
    """The backlog after ``afterseq``, then each new entry; a final ``[]`` at the timeout."""
    channels = ctx.store.channels
    channelid = channel_id(msg)
    await require_channel(channels, channelid)
    subscriptions = ctx.state.channel_subscriptions
    woken = subscriptions.add(channelid)  # before reading, so no append is missed
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (msg.timeout if msg.timeout > 0 else _DEFAULT_CHANNEL_TIMEOUT)
    position = max(msg.afterseq, 0)
    try:
        while True:
            woken.clear()
            rows = await channels.read(channelid, position, 0)
            if rows:
                await _push_entries(ctx, rows)
                position = rows[-1]["position"] + 1
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(woken.wait(), remaining)
        await _push_entries(ctx, [])  # the end of the stream for pycolonies
    finally:
        subscriptions.remove(channelid, woken)


async def pubsub(request: web.Request, dispatcher: Dispatcher) -> web.WebSocketResponse:
    state = dispatcher.state
    # Pings keep proxies from closing a quiet subscription, and notice a vanished client.
    ws = web.WebSocketResponse(
        max_msg_size=state.config.max_body, heartbeat=state.config.pubsub_heartbeat or None
    )
    await ws.prepare(request)
    state.websockets.add(ws)  # closed with "going away" at the end of a drain
    tasks: set[asyncio.Task[None]] = set()

    async def serve(data: str | bytes) -> None:
        try:
            envelope = decode_request(data)
            route = dispatcher.routes.get(envelope.payloadtype)
            caller = dispatcher.authenticate(envelope)
            if route is None or not route.websocket:
                return  # other types are ignored on the socket (§6.18)
            msg = decode_payload(envelope, route.msg_type, route.action)
            await dispatcher.check_fresh(caller, msg)
            ctx = Context(dispatcher.state, caller, ws=ws)
            await dispatcher.run(ctx, route, msg)
        except RpcError as exc:
            if not ws.closed:
                await ws.send_str(encode_error(exc.status, exc.message).decode())
        except ConnectionResetError:
            pass
        # A process subscription ends the socket when it is done (timeout or delivered).
        await ws.close()

    try:
        async for frame in ws:
            if frame.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                task = asyncio.create_task(serve(frame.data))
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
