"""Channels: ordered messages between a process's submitter and its executor while it runs
(docs/protocol.md §6.17, §6.18, §7.12).

A process declares its channels in its spec (``FunctionSpec.channels``); only its initiator and
its assigned executor may use them, and they go when the process ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from base64 import b64encode
from collections.abc import AsyncIterator

from colonies.client._base import ClientBase, KeyArg, sends
from colonies.client._errors import ConnectError, ConnectionLost
from colonies.core import ChannelEntry
from colonies.core.wire import decode_value

_KINDS = ("data", "end", "error")


class ChannelMethods(ClientBase):
    #: The next sequence number of each channel this client appends to (set by AsyncClient).
    _channel_sequences: dict[tuple[str, str], itertools.count[int]]

    @sends("channelappendmsg")
    async def channel_append(
        self,
        processid: str,
        name: str,
        payload: bytes | str,
        *,
        sequence: int | None = None,
        in_reply_to: int = 0,
        kind: str = "data",
        key: KeyArg = None,
    ) -> None:
        """Append a message to the process's channel ``name``. ``kind``: ``data``, or ``end``
        (no more will come) or ``error``. ``sequence`` is yours to number the messages you
        send (by default this client counts 1, 2, 3, ... per channel); ``in_reply_to`` names
        the sequence of a message this one answers."""
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {', '.join(_KINDS)}, not {kind!r}")
        if sequence is None:
            counter = self._channel_sequences.setdefault((processid, name), itertools.count(1))
            sequence = next(counter)
        data = payload.encode() if isinstance(payload, str) else payload
        await self.call(
            "channelappendmsg",
            key,
            processid=processid,
            name=name,
            sequence=sequence,
            inreplyto=in_reply_to,
            payload=b64encode(data).decode(),
            payloadtype=kind,
        )

    @sends("channelreadmsg")
    async def channel_read(
        self, processid: str, name: str, after: int = 0, limit: int = 0, *, key: KeyArg = None
    ) -> list[ChannelEntry]:
        """The channel's messages in arrival order, skipping the first ``after``; at most
        ``limit`` (0: all)."""
        return await self._typed(
            list[ChannelEntry],
            "channelreadmsg",
            key,
            processid=processid,
            name=name,
            afterseq=after,
            limit=limit,
        )

    @sends("subscribechannelmsg")
    async def subscribe_channel(
        self,
        processid: str,
        name: str,
        after: int = 0,
        timeout: float = 30,
        *,
        key: KeyArg = None,
    ) -> AsyncIterator[ChannelEntry]:
        """The channel's messages after the first ``after``, then each new one as it arrives,
        for ``timeout`` seconds: ``async for entry in client.subscribe_channel(pid, "out"):
        ...`` (stop early with ``break``, e.g. at an entry of type ``end``).

        A lost connection is made again from the last message received, so every message
        comes exactly once, in order.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        position = after
        pause = 0.2
        while deadline - loop.time() >= 1:
            replies = self.rpc.subscribe(
                "subscribechannelmsg",
                self._key(key),
                processid=processid,
                name=name,
                afterseq=position,
                timeout=math.ceil(deadline - loop.time()),
            )
            try:
                async with contextlib.aclosing(replies):
                    async for reply in replies:
                        pause = 0.2
                        for entry in decode_value(reply, list[ChannelEntry]):
                            position += 1
                            yield entry
            except (ConnectError, ConnectionLost):
                if deadline - loop.time() < pause + 1:
                    raise
            await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
            pause = min(pause * 2, 5.0)
