"""Signed RPC: one envelope per request (docs/protocol.md §3), over a transport, retried only
where safe."""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from colonies.client._aiohttp import AiohttpTransport
from colonies.client._errors import ColoniesError, ConnectError, TransportError
from colonies.client._http import HttpTransport
from colonies.client._transport import Transport
from colonies.crypto import PrivateKey
from colonies.rpc import RpcError, decode_reply, sign_request

# Messages that change nothing: a retry after a lost reply cannot do anything twice.
_READ_ONLY_EXTRA = frozenset({"versionmsg", "searchlogsmsg", "resolvegeneratormsg"})


def is_read_only(payloadtype: str) -> bool:
    return payloadtype.startswith("get") or payloadtype in _READ_ONLY_EXTRA


def http_transport(
    base_url: str,
    session: aiohttp.ClientSession | None = None,
    ca_file: str = "",
    verify_tls: bool = True,
) -> Transport:
    """The lean transport for ``http://``; aiohttp for ``https://`` and a caller's session.
    ``verify_tls=False`` accepts any server certificate (the CLI's ``--skip-tls-verify``)."""
    if session is None and base_url.startswith("http://"):
        try:
            return HttpTransport(base_url)
        except ValueError:
            pass  # aiohttp reports the bad URL when it is used
    context = ssl.create_default_context(cafile=ca_file) if ca_file else None
    if not verify_tls:
        context = context or ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return AiohttpTransport(base_url, session, ssl_context=context)


def reply_payload(status: int, body: bytes) -> Any:
    """The payload of a reply envelope; an error reply raises ``ColoniesError``."""
    try:
        return decode_reply(status, body)
    except RpcError as exc:
        raise ColoniesError(exc.status, exc.message) from None


class _Retryable:
    """Which failures a call may retry: one that did nothing (nothing sent, or the server
    refused before acting); one that may have been carried out only if the message only reads."""

    def __init__(self, payloadtype: str) -> None:
        self.read_only = is_read_only(payloadtype)

    def __call__(self, exc: BaseException) -> bool:
        if isinstance(exc, ColoniesError):
            if exc.status == 503:  # the server could not reach its database: nothing done
                return True
            # Our nonce was used already: something between us and the server (a load
            # balancer) resent this very request. Retrying is a new request with a new nonce,
            # exactly what that intermediary meant to do.
            return exc.status == 403 and exc.message.startswith("Replayed request")
        if isinstance(exc, ConnectError):
            return True  # nothing was sent
        if isinstance(exc, TransportError):  # lost connection, unreadable reply, timeout
            return self.read_only
        return False


class AsyncRpc:
    """The raw RPC layer: ``await rpc.call("getcolonymsg", key, colonyname="dev")``.

    ``transport``: how envelopes travel (client/_transport.py); by default HTTP to
    ``base_url``, through ``session`` if given.
    """

    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession | None = None,
        *,
        ca_file: str = "",
        verify_tls: bool = True,
        retry_seconds: float = 15.0,
        retry_attempts: int = 8,
        transport: Transport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.transport = transport or http_transport(self.base_url, session, ca_file, verify_tls)
        self.retry_seconds = retry_seconds
        self.retry_attempts = retry_attempts

    async def call(
        self,
        payloadtype: str,
        key: PrivateKey | None,
        /,
        _timeout: float | None = 60.0,
        **payload: Any,
    ) -> Any:
        """Sign and send one message; retry only failures that cannot have been carried out."""
        retryable = _Retryable(payloadtype)
        try:  # the first attempt without the retry machinery: most calls need no more
            return await self.post(sign_request(payloadtype, payload, key), timeout=_timeout)
        except Exception as exc:
            if not retryable(exc) or self.retry_attempts <= 1:
                raise
        await asyncio.sleep(random.uniform(0, 0.05))
        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_delay(self.retry_seconds) | stop_after_attempt(self.retry_attempts - 1),
            wait=wait_random_exponential(multiplier=0.05, max=2.0),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                # Signed anew per attempt: a retry is a new request, not a replay.
                body = sign_request(payloadtype, payload, key)
                return await self.post(body, timeout=_timeout)
        raise AssertionError("unreachable")  # pragma: no cover

    async def post(self, envelope: bytes, timeout: float | None = 60.0) -> Any:
        """Send a signed envelope as it is (no retry); the reply's payload."""
        return reply_payload(*await self.transport.request(envelope, timeout))

    async def subscribe(
        self, payloadtype: str, key: PrivateKey | None, /, **payload: Any
    ) -> AsyncGenerator[Any, None]:
        """Send a subscription; yield each pushed reply's payload until the server ends it (an
        error reply raises ``ColoniesError``)."""
        frames = self.transport.subscribe(sign_request(payloadtype, payload, key))
        try:
            async for frame in frames:
                yield reply_payload(200, frame)
        finally:
            await frames.aclose()

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> AsyncRpc:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
