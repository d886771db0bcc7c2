"""Channels: append, read and subscribe (docs/protocol.md §6.17, §6.18, §7.12)."""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import time
from base64 import b64decode
from collections import OrderedDict
from typing import Any

from colonies.core import ChannelEntry
from colonies.core.scheduling import CHANNEL_BURST, CHANNEL_RATE, MAX_CHANNEL_PAYLOAD
from colonies.rpc import RpcError
from colonies.rpc.messages import ChannelAppendMsg, ChannelReadMsg, SubscribeChannelMsg
from colonies.server.context import Context
from colonies.server.registry import Registry, Role
from colonies.server.scopes import channel_scope
from colonies.store.channels import ChannelStore

routes = Registry()

_KINDS = {"": "data", "data": "data", "end": "end", "error": "error"}


def channel_id(msg: Any) -> str:
    return f"{msg.processid}_{msg.name}"


async def require_channel(channels: ChannelStore, channelid: str) -> None:
    if not await channels.exists(channelid):
        raise RpcError(404, "Channel not found")


def entries(rows: list[Any]) -> list[ChannelEntry]:
    return [
        ChannelEntry(
            sequence=r["sequence"],
            timestamp=r["ts"],
            senderid=r["senderid"],
            payload=bytes(r["payload"]),
            inreplyto=r["inreplyto"],
            type=r["type"],
            error=r["error"],
        )
        for r in rows
    ]


def _payload_bytes(value: Any) -> bytes:
    """Bytes arrive as base64 text or as a JSON array of integers 0-255 (§3.3)."""
    if value is None:
        return b""
    if isinstance(value, str):
        try:
            return b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise RpcError(400, "Failed to append to channel, payload is not base64") from None
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b <= 255 for b in value):
        return bytes(value)
    raise RpcError(400, "Failed to append to channel, payload must be base64 or a byte array")


class _RateLimiter:
    """A token bucket per process (100 messages/s, burst 500), per replica."""

    def __init__(self, rate: float, burst: int, capacity: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.capacity = capacity
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        tokens, stamp = self.buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
        allowed = tokens >= 1.0
        self.buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self.buckets) > self.capacity:
            self.buckets.popitem(last=False)
        return allowed


_limiter = _RateLimiter(CHANNEL_RATE, CHANNEL_BURST)


@routes.handles(
    "channelappendmsg",
    ChannelAppendMsg,
    Role.MEMBER_PARTY,
    action="Failed to append to channel",
    scope=channel_scope("write to"),
)
async def append(ctx: Context, msg: ChannelAppendMsg) -> None:
    payload = _payload_bytes(msg.payload)
    if len(payload) > MAX_CHANNEL_PAYLOAD:
        raise RpcError(500, "message payload exceeds maximum size")
    kind = _KINDS.get(msg.payloadtype)
    if kind is None:
        raise RpcError(400, f"Failed to append to channel, invalid payloadtype {msg.payloadtype!r}")
    channels = ctx.store.channels
    channelid = channel_id(msg)
    await require_channel(channels, channelid)
    if not _limiter.allow(msg.processid):
        raise RpcError(500, "rate limit exceeded")
    position = await channels.append(
        channelid, msg.sequence, msg.inreplyto, ctx.now(), ctx.caller, payload, kind
    )
    if position is None:
        if await channels.exists(channelid):
            raise RpcError(500, "channel log is full")
        raise RpcError(404, "Channel not found")
    ctx.state.metrics.channel_messages.inc()


@routes.handles(
    "channelreadmsg",
    ChannelReadMsg,
    Role.MEMBER_PARTY,
    action="Failed to read from channel",
    scope=channel_scope("read from"),
)
async def read(ctx: Context, msg: ChannelReadMsg) -> list[ChannelEntry]:
    if msg.afterseq < 0 or msg.limit < 0:
        raise RpcError(400, "Failed to read from channel, afterseq and limit must not be negative")
    channelid = channel_id(msg)
    await require_channel(ctx.store.channels, channelid)
    return entries(await ctx.store.channels.read(channelid, msg.afterseq, msg.limit))


CHANNEL_PUSH_TYPE = "subscribechannelmsg"
_DEFAULT_CHANNEL_TIMEOUT = 30


@routes.handles(
    "subscribechannelmsg",
    SubscribeChannelMsg,
    Role.MEMBER_PARTY,
    action="Failed to subscribe to channel",
    scope=channel_scope("read from"),
    subscription=True,
)
async def subscribe(ctx: Context, msg: SubscribeChannelMsg) -> None:
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
                await ctx.push(CHANNEL_PUSH_TYPE, entries(rows))
                position = rows[-1]["position"] + 1
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(woken.wait(), remaining)
        await ctx.push(CHANNEL_PUSH_TYPE, [])  # the end of the stream for pycolonies
    finally:
        subscriptions.remove(channelid, woken)
