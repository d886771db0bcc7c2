"""The lean transport: POST /api over kept-alive HTTP/1.1 connections, without a
general-purpose HTTP client.

Every RPC is one small POST with a JSON body, answered by one JSON body. aiohttp's client spends
more CPU per request on what the SDK never uses (cookies, redirects, tracing, per-request
timeout objects) than on the request itself; this module writes the request in one send and
reads the reply with the stream reader. Plain ``http://`` only; subscriptions (a WebSocket) and
``GET /health`` go through aiohttp (client/_aiohttp.py).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncGenerator, Awaitable
from typing import TypeVar
from urllib.parse import urlsplit

from colonies.client._aiohttp import CONNECT_TIMEOUT, AiohttpTransport
from colonies.client._errors import ConnectError, ConnectionLost, ReadError, Timeout, TransportError
from colonies.client._transport import Transport

T = TypeVar("T")

_MAX_HEAD = 64 * 1024  # status line and headers of a reply


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        return not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        self.writer.close()


class HttpTransport(Transport):
    """Requests over one connection per request in flight, each kept open for the next one."""

    def __init__(self, base_url: str) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"not a plain http:// URL: {base_url!r}")
        self.host = url.hostname
        self.port = url.port or 80
        host_header = url.netloc.rsplit("@", 1)[-1]
        self._head = (
            f"POST {url.path.rstrip('/')}/api HTTP/1.1\r\nHost: {host_header}\r\n"
            "Content-Type: application/json\r\nAccept: application/json\r\n"
            "Content-Length: "
        ).encode("ascii")
        self._idle: list[_Connection] = []
        self._aiohttp = AiohttpTransport(base_url)  # subscriptions and health only

    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        try:
            return await _within(timeout, self._post(envelope))
        except asyncio.TimeoutError:
            raise Timeout(f"no reply from {self.host}:{self.port} within {timeout} s") from None

    def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        return self._aiohttp.subscribe(envelope)

    async def health(self, timeout: float) -> bool:
        return await self._aiohttp.health(timeout)

    async def _post(self, body: bytes) -> tuple[int, bytes]:
        connection = self._take_idle() or await self._connect()
        try:
            connection.writer.write(b"%s%d\r\n\r\n%s" % (self._head, len(body), body))
            status, reply, keep = await _read_reply(connection.reader)
        except BaseException as exc:
            connection.close()  # a request cut short leaves the connection in an unknown state
            if isinstance(exc, OSError) and not isinstance(exc, (TimeoutError, TransportError)):
                raise ConnectionLost(exc.errno, str(exc)) from exc  # reset, say
            raise
        if keep:
            self._idle.append(connection)
        else:
            connection.close()
        return status, reply

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            connection = self._idle.pop()
            if connection.usable():
                return connection
            connection.close()  # the server closed it while idle
        return None

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await _within(
                CONNECT_TIMEOUT,
                asyncio.open_connection(self.host, self.port, limit=_MAX_HEAD),
            )
        except OSError as exc:  # TimeoutError included: nothing was sent either way
            raise ConnectError(
                exc.errno, f"cannot connect to {self.host}:{self.port}: {exc}"
            ) from exc
        return _Connection(reader, writer)

    async def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
        await self._aiohttp.close()


async def _read_reply(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the connection may carry another request)."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        raise ConnectionLost("the server closed the connection without a reply") from None
    except asyncio.LimitOverrunError:
        raise ReadError("reply headers too large") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        version, code = lines[0].split(" ", 2)[:2]
        status = int(code)
    except ValueError:
        raise ReadError(f"bad status line {lines[0]!r}") from None
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    keep = headers.get("connection") != "close" and version == "HTTP/1.1"
    try:
        if "chunked" in headers.get("transfer-encoding", ""):
            body = await _read_chunked(reader)
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:  # the body ends with the connection
            body, keep = await reader.read(), False
    except asyncio.IncompleteReadError:
        raise ConnectionLost("the server closed the connection in the middle of a reply") from None
    except (asyncio.LimitOverrunError, ValueError):
        raise ReadError("malformed reply body") from None
    return status, body, keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def _within(timeout: float | None, awaitable: Awaitable[T]) -> T:
    if timeout is None:
        return await awaitable
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(timeout):
            return await awaitable
    return await asyncio.wait_for(awaitable, timeout)  # pragma: no cover - Python 3.10
