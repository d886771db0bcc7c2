"""CoAP over UDP (docs/protocol.md §12.2, §12.5) with aiocoap: requests as ``POST /api``,
subscriptions as an observed ``FETCH /pubsub``, health as ``GET /health``.

Each exchange in flight has a client endpoint (UDP socket) of its own, as Go's client has: the
requests that fetch a reply's Block2 blocks name only the resource, so two exchanges of one
endpoint at once could be handed each other's blocks (RFC 7959, section 2.4). Endpoints are kept
and reused once their exchange is over.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import aiocoap
from aiocoap import error as coap_error
from aiocoap.numbers.codes import Code
from aiocoap.numbers.contentformat import ContentFormat

from colonies.client._errors import ConnectError, ConnectionLost, ReadError, Timeout
from colonies.client._transport import Transport

# aiocoap logs each intermediate Block1 block at INFO.
_QUIET = ("coap", "coap-server")


def _translate(exc: Exception, target: str) -> Exception:
    cause = exc.__cause__
    if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
        # The host answered that nothing listens on the port: the request was not taken.
        return ConnectError(f"cannot connect to {target}: nothing listens there")
    if isinstance(exc, coap_error.ResolutionError):
        return ConnectError(f"cannot connect to {target}: {exc}")
    if isinstance(exc, coap_error.NetworkError):  # retransmissions exhausted and the like
        return ConnectionLost(f"no answer from {target}: {type(exc).__name__}")
    return ReadError(f"unusable reply from {target}: {type(exc).__name__}: {exc}")


class CoapTransport(Transport):
    def __init__(self, host: str, port: int) -> None:
        self.target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.base = f"coap://{self.target}"
        self._idle: list[aiocoap.Context] = []
        self._every: list[aiocoap.Context] = []
        for name in _QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)

    def __repr__(self) -> str:
        return self.base

    @contextlib.asynccontextmanager
    async def _endpoint(self) -> AsyncIterator[aiocoap.Context]:
        if self._idle:
            context = self._idle.pop()
        else:
            context = await aiocoap.Context.create_client_context()
            self._every.append(context)
        try:
            yield context
        finally:
            self._idle.append(context)

    async def _exchange(self, message: aiocoap.Message, timeout: float | None) -> aiocoap.Message:
        async with self._endpoint() as context:
            try:
                return await asyncio.wait_for(context.request(message).response, timeout)
            except asyncio.TimeoutError:
                raise Timeout(f"no reply from {self.base} in time") from None
            except coap_error.Error as exc:
                raise _translate(exc, self.base) from exc

    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        message = aiocoap.Message(
            code=Code.POST,
            uri=self.base + "/api",
            payload=envelope,
            content_format=ContentFormat.JSON,
        )
        reply = await self._exchange(message, timeout)
        if reply.code != Code.CONTENT:  # the server answers every request with 2.05
            raise ReadError(f"CoAP {reply.code} from {self.base}")
        return 200, bytes(reply.payload)

    async def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        message = aiocoap.Message(
            code=Code.FETCH,
            uri=self.base + "/pubsub",
            observe=0,
            payload=envelope,
            content_format=ContentFormat.JSON,
        )
        # An endpoint of its own for the whole observation (its Block2 fetches included).
        context = await aiocoap.Context.create_client_context()
        request = context.request(message)
        # Not `async for` over request.observation: its iterator keeps only the latest
        # notification, and every one matters here.
        notifications: asyncio.Queue[Any] = asyncio.Queue()
        request.observation.register_callback(notifications.put_nowait, _suppress_deprecation=True)
        request.observation.register_errback(notifications.put_nowait, _suppress_deprecation=True)
        try:
            try:
                item: Any = await request.response
            except coap_error.Error as exc:
                raise _translate(exc, self.base) from exc
            while True:
                if isinstance(item, Exception):  # the observation ended without a last reply
                    return
                if item.payload:
                    yield bytes(item.payload)
                if item.opt.observe is None:  # the last one
                    return
                item = await notifications.get()
        finally:
            if not request.observation.cancelled:
                request.observation.cancel()
            await context.shutdown()

    async def health(self, timeout: float) -> bool:
        reply = await self._exchange(
            aiocoap.Message(code=Code.GET, uri=self.base + "/health"), timeout
        )
        return bool(reply.code == Code.CONTENT)

    async def close(self) -> None:
        for context in self._every:
            await context.shutdown()
        self._every.clear()
        self._idle.clear()
