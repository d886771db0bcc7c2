"""Signed RPC over HTTP: one envelope per request (docs/protocol.md §3), retried only where safe."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import secrets
import ssl
import time
from base64 import b64decode, b64encode
from typing import Any

import aiohttp
import msgspec
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from colonies.client._errors import ColoniesError
from colonies.client._http import ApiPoster, ConnectFailed
from colonies.crypto import PrivateKey

# Messages that change nothing: a retry after a lost reply cannot do anything twice.
_READ_ONLY_EXTRA = frozenset({"versionmsg", "searchlogsmsg", "resolvegeneratormsg"})


def is_read_only(payloadtype: str) -> bool:
    return payloadtype.startswith("get") or payloadtype in _READ_ONLY_EXTRA


class _Nonces:
    """Unique nonces without a random draw per request: a random per-process prefix and a
    counter (uniqueness is what replay protection needs, not secrecy)."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self.prefix = secrets.token_hex(8)
        self.counter = itertools.count()

    def next(self) -> str:
        return f"{self.prefix}{next(self.counter):016x}"


_nonces = _Nonces()
_encode = msgspec.json.encode
_decode = msgspec.json.decode


def sign_envelope(payloadtype: str, payload: dict[str, Any], key: PrivateKey | None) -> bytes:
    """A request envelope for ``payload`` (``msgtype`` added), signed by ``key``."""
    body = dict(payload)
    body["msgtype"] = payloadtype
    if key is not None:  # replay protection: a fresh nonce and the time, signed with the rest
        body.setdefault("nonce", _nonces.next())
        body.setdefault("timestamp", time.time_ns())
    text = b64encode(_encode(body)).decode("ascii")
    signature = key.sign(text.encode("ascii")) if key is not None else ""
    return _encode({"signature": signature, "payloadtype": payloadtype, "payload": text})


def parse_reply(status: int, body: bytes) -> Any:
    try:
        envelope = _decode(body)
        payload = _decode(b64decode(envelope["payload"]))
    except (ValueError, KeyError, TypeError, msgspec.DecodeError):
        raise ColoniesError(status, f"invalid reply from server (HTTP {status})") from None
    if envelope.get("error") or status != 200:
        if isinstance(payload, dict):
            raise ColoniesError(int(payload.get("status", status)), str(payload.get("message", "")))
        raise ColoniesError(status, str(payload))
    return payload


class _Retryable:
    """Which failures a call may retry: never one that may have been carried out, unless the
    message only reads."""

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
        if isinstance(exc, (aiohttp.ClientConnectorError, ConnectFailed)):
            return True  # refused before anything was sent
        if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError)):
            return self.read_only
        return False


class AsyncRpc:
    """The raw RPC layer: ``await rpc.call("getcolonymsg", key, colonyname="dev")``."""

    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession | None = None,
        *,
        ca_file: str = "",
        retry_seconds: float = 15.0,
        retry_attempts: int = 8,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None
        self._ssl: ssl.SSLContext | None = None
        if ca_file:
            self._ssl = ssl.create_default_context(cafile=ca_file)
        self.retry_seconds = retry_seconds
        self.retry_attempts = retry_attempts
        # RPCs to a plain http:// server skip aiohttp's client (client/_http.py).
        self._poster: ApiPoster | None = None
        if session is None and self.base_url.startswith("http://"):
            try:
                self._poster = ApiPoster(self.base_url)
            except ValueError:
                pass  # aiohttp reports the bad URL when it is used

    @property
    def websocket_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/pubsub"

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        return self._ssl

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10),
                connector=aiohttp.TCPConnector(limit=0, ssl=self._ssl or True),
            )
        return self._session

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
            return await self.post(sign_envelope(payloadtype, payload, key), timeout=_timeout)
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
                body = sign_envelope(payloadtype, payload, key)
                return await self.post(body, timeout=_timeout)
        raise AssertionError("unreachable")  # pragma: no cover

    async def post(self, body: bytes, timeout: float | None = 60.0) -> Any:
        if self._poster is not None:
            return parse_reply(*await self._poster.post(body, timeout))
        session = await self.session()
        async with session.post(
            self.base_url + "/api",
            data=body,
            timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=10),
        ) as response:
            return parse_reply(response.status, await response.read())

    async def close(self) -> None:
        if self._poster is not None:
            self._poster.close()
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> AsyncRpc:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
