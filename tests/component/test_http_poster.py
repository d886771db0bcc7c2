"""client/_http.py: the lean HTTP transport against a loopback server that answers with
exactly the bytes each case needs (kept-alive, chunked, closing, cut short, silent), and the
retry rules over the failures it raises."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from colonies.client import (
    AiohttpTransport,
    AsyncRpc,
    ConnectError,
    ConnectionLost,
    HttpTransport,
    ReadError,
    Timeout,
    TransportError,
)
from colonies.crypto import generate_private_key
from tests.support import free_port

Reply = Callable[[bytes], bytes | None]  # request body -> reply bytes (None: close silently)
Poster = HttpTransport


class RawServer:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                body = await reader.readexactly(length)
                self.requests.append(head + body)
                answer = self.reply(body)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                head = answer.lower().split(b"\r\n\r\n")[0]
                framed = b"content-length" in head or b"transfer-encoding" in head
                if b"connection: close" in head or not framed:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def raw() -> AsyncIterator[Callable[[Reply], asyncio.Future[tuple[RawServer, Poster]]]]:
    servers: list[asyncio.AbstractServer] = []
    posters: list[HttpTransport] = []

    async def start(reply: Reply) -> tuple[RawServer, HttpTransport]:
        raw_server = RawServer(reply)
        port = free_port()
        servers.append(await asyncio.start_server(raw_server.handle, "127.0.0.1", port))
        posters.append(HttpTransport(f"http://127.0.0.1:{port}"))
        return raw_server, posters[-1]

    yield start  # type: ignore[misc]
    for poster in posters:
        await poster.close()
    for server in servers:
        server.close()


def ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


async def test_requests_share_a_kept_alive_connection(raw):
    server, poster = await raw(lambda body: ok(b"echo:" + body))
    for i in range(3):
        assert await poster.request(b'{"n":%d}' % i, timeout=5) == (200, b'echo:{"n":%d}' % i)
    assert server.connections == 1
    head = server.requests[0].split(b"\r\n\r\n")[0].decode()
    assert head.startswith("POST /api HTTP/1.1\r\n") and "Content-Type: application/json" in head
    # Two at once: two connections, each kept for later.
    both = await asyncio.gather(poster.request(b"a", 5), poster.request(b"b", 5))
    assert sorted(both) == [(200, b"echo:a"), (200, b"echo:b")] and server.connections == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nhel\r\n2;ext=1\r\nlo\r\n0\r\nX-Trailer: 1\r\n\r\n",
        b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.0 503 Service Unavailable\r\n\r\nhello",  # no length: the body ends at close
    ],
    ids=["chunked", "connection-close", "until-close"],
)
async def test_replies_of_every_framing_are_read_whole(raw, answer):
    server, poster = await raw(lambda body: answer)
    assert await poster.request(b"{}", timeout=5) == (503, b"hello")
    assert await poster.request(b"{}", timeout=5) == (503, b"hello")
    chunked = b"chunked" in answer
    assert server.connections == (1 if chunked else 2)  # a closing reply is not reused


async def test_a_connection_the_server_closed_while_idle_is_not_reused(raw):
    server, poster = await raw(lambda body: ok(b"x"))
    assert await poster.request(b"1", timeout=5) == (200, b"x")
    for writer in server.writers:
        writer.close()
    await asyncio.sleep(0.1)  # the close reaches the client
    assert await poster.request(b"2", timeout=5) == (200, b"x")
    assert server.connections == 2


KEY = generate_private_key("ed25519")


async def sent_by_one_call(server: RawServer, port: int, payloadtype: str, **kw: Any) -> int:
    """How many requests reach ``server`` from one call of ``payloadtype`` that fails (the
    retry rules: a call that may have been carried out is retried only if it reads)."""
    before = len(server.requests)
    async with AsyncRpc(f"http://127.0.0.1:{port}", retry_attempts=3) as rpc:
        with pytest.raises(TransportError):
            await rpc.call(payloadtype, KEY, **kw)
    return len(server.requests) - before


async def test_failures_say_how_far_the_request_got_and_retry_only_where_safe(raw):
    silent_server, silent = await raw(lambda body: None)  # reads the request, closes, no reply
    with pytest.raises(ConnectionLost):
        await silent.request(b"{}", timeout=5)
    assert await sent_by_one_call(silent_server, silent.port, "submitfuncspecmsg") == 1
    assert await sent_by_one_call(silent_server, silent.port, "getprocessmsg") == 3

    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nshort"
    _, garbled = await raw(lambda body: cut)  # the connection ends 5 bytes early
    with pytest.raises(ConnectionLost):
        await garbled.request(b"{}", timeout=5)
    nonsense_server, nonsense = await raw(lambda body: b"SMTP ready\r\n\r\n")
    with pytest.raises(ReadError):
        await nonsense.request(b"{}", timeout=5)
    assert await sent_by_one_call(nonsense_server, nonsense.port, "addlogmsg") == 1
    assert await sent_by_one_call(nonsense_server, nonsense.port, "getprocessmsg") == 3
    bad_length = b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n"
    _, unframed = await raw(lambda body: bad_length)
    with pytest.raises(ReadError):
        await unframed.request(b"{}", timeout=5)

    def reset(body: bytes) -> bytes | None:
        for writer in resetting.writers:  # an abrupt close: the client reads a reset
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        return None

    resetting, reset_poster = await raw(reset)
    with pytest.raises(ConnectionLost):
        await reset_poster.request(b"{}", timeout=5)
    assert await sent_by_one_call(resetting, reset_poster.port, "closesuccessfulmsg") == 1
    assert await sent_by_one_call(resetting, reset_poster.port, "getprocessmsg") == 3

    refused = HttpTransport(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ConnectError):  # nothing was sent: any call may be retried
        await refused.request(b"{}", timeout=5)
    await refused.close()

    accepted: list[asyncio.StreamWriter] = []
    never = asyncio.Event()  # a server that accepts, reads nothing and never answers

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        await never.wait()

    hang = await asyncio.start_server(hang_up, "127.0.0.1", port := free_port())
    slow = HttpTransport(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(Timeout) as err:
            await slow.request(b"{}", timeout=0.3)
        assert isinstance(err.value, TimeoutError)  # what callers caught before
        for payloadtype, attempts in (("submitfuncspecmsg", 1), ("getprocessmsg", 3)):
            before = len(accepted)  # one connection per attempt: a timed-out one is closed
            async with AsyncRpc(f"http://127.0.0.1:{port}", retry_attempts=3) as rpc:
                with pytest.raises(Timeout):
                    await rpc.call(payloadtype, KEY, _timeout=0.3)
            assert len(accepted) - before == attempts, payloadtype
    finally:
        await slow.close()
        hang.close()


async def test_only_plain_http_urls_and_the_base_path_is_kept(raw):
    for url in ("https://example.org", "ws://x", "http://"):
        with pytest.raises(ValueError):
            HttpTransport(url)
    server, poster = await raw(lambda body: ok(b"x"))
    port = poster.port
    based = HttpTransport(f"http://user@127.0.0.1:{port}/base/")
    try:
        assert await based.request(b"{}", timeout=5) == (200, b"x")
    finally:
        await based.close()
    assert server.requests[0].startswith(
        f"POST /base/api HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode()
    )


async def test_aiohttp_transport_raises_the_same_errors(raw):
    _, silent = await raw(lambda body: None)
    aio = AiohttpTransport(f"http://127.0.0.1:{silent.port}")
    refused = AiohttpTransport(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(ConnectionLost):
            await aio.request(b"{}", timeout=5)
        with pytest.raises(ConnectError):
            await refused.request(b"{}", timeout=5)
        with pytest.raises(ConnectError):
            await refused.health(timeout=5)
    finally:
        await aio.close()
        await refused.close()
    never = asyncio.Event()
    hang = await asyncio.start_server(lambda r, w: never.wait(), "127.0.0.1", port := free_port())
    slow = AiohttpTransport(f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(Timeout):
            await slow.request(b"{}", timeout=0.3)
    finally:
        await slow.close()
        hang.close()
