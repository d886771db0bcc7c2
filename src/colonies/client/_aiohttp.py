"""HTTP(S) through aiohttp: ``https://``, a caller's session, WebSocket subscriptions and
``GET /health``. aiohttp's exceptions become the SDK's own (client/_errors.py)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncGenerator, Iterator

import aiohttp

from colonies.client._errors import (
    ConnectError,
    ConnectionLost,
    ReadError,
    Timeout,
    TLSError,
    TransportError,
)
from colonies.client._transport import Transport

CONNECT_TIMEOUT = 10.0  # seconds, whatever the request's own timeout

# aiohttp >= 3.10 tells a connect timeout (nothing sent) from a read timeout.
_CONNECT_TIMEOUTS: tuple[type[BaseException], ...] = tuple(
    t for t in (getattr(aiohttp, "ConnectionTimeoutError", None),) if t is not None
)


def translate(exc: aiohttp.ClientError, url: str) -> TransportError:
    """The SDK's error for one of aiohttp's, by how far the request got."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return TLSError(str(exc))
    if isinstance(exc, (aiohttp.ClientConnectorError, *_CONNECT_TIMEOUTS)):
        return ConnectError(f"cannot connect to {url}: {exc}")
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return Timeout(f"no reply from {url} in time")
    if isinstance(exc, aiohttp.ClientConnectionError):
        return ConnectionLost(f"connection to {url} lost: {exc or type(exc).__name__}")
    return ReadError(f"unreadable reply from {url}: {exc}")


@contextlib.contextmanager
def _translated(url: str) -> Iterator[None]:
    try:
        yield
    except aiohttp.InvalidURL:
        raise  # the caller's mistake, not the connection's (a ValueError)
    except aiohttp.ClientError as exc:
        raise translate(exc, url) from exc
    except asyncio.TimeoutError:
        raise Timeout(f"no reply from {url} in time") from None


class AiohttpTransport(Transport):
    """Requests as ``POST /api``, subscriptions over the ``/pubsub`` WebSocket.

    ``session``: the caller's (kept open on close); by default one of our own, with no limit on
    connections and ``ssl_context`` (a CA for ``https://``; None: the system's).
    """

    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session
        self._own_session = session is None
        self._ssl = ssl_context

    @property
    def websocket_url(self) -> str:
        return self.base_url.replace("http", "ws", 1) + "/pubsub"

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
                connector=aiohttp.TCPConnector(limit=0, ssl=self._ssl or True),
            )
        return self._session

    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        session = await self.session()
        with _translated(self.base_url):
            async with session.post(
                self.base_url + "/api",
                data=envelope,
                timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=CONNECT_TIMEOUT),
            ) as response:
                return response.status, await response.read()

    async def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        session = await self.session()
        with _translated(self.base_url):
            ws = await session.ws_connect(self.websocket_url, heartbeat=30)
        async with ws:
            await ws.send_str(envelope.decode())
            async for frame in ws:  # ends when the server closes
                if frame.type is aiohttp.WSMsgType.TEXT:
                    yield frame.data.encode()
                elif frame.type is aiohttp.WSMsgType.BINARY:
                    yield frame.data
                else:
                    return

    async def health(self, timeout: float) -> bool:
        session = await self.session()
        with _translated(self.base_url):
            async with session.get(
                self.base_url + "/health", timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                return response.status == 200

    async def close(self) -> None:
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None
