"""The HTTP front (server/transports/http.py ``_Front``): ``POST /api`` answered on the
connection itself, every other request handed with its connection to aiohttp; over raw
sockets, plain and over TLS, on asyncio's event loop and on uvloop's (conftest.py here).

The front's replies carry no ``Server`` header and aiohttp's do: that is how these tests tell
who answered. The timeouts of the transport are checked in test_hostile_input.py (which goes
through the front as well), the handler cancellation of a long poll whose client went away in
test_processes_longpoll.py (its client sends what the front answers) and here over a raw
socket, the drain in test_drain.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from colonies.client import AsyncRpc
from colonies.crypto import PrivateKey
from colonies.rpc import sign_request
from colonies.server.app import STATE_KEY, create_app
from colonies.server.transports import http as http_transport
from colonies.server.transports import too_large
from tests.component.test_tls import make_ca_and_certificate
from tests.helpers import (
    Colony,
    RunningServer,
    eventually,
    function_spec,
    make_colony,
    make_config,
    serving,
    start_server,
)


@pytest.fixture
async def colony(server: RunningServer, server_key: PrivateKey) -> Colony:
    return await make_colony(server.rpc, server_key)


def post(body: bytes, *headers: str) -> bytes:
    """A request the front answers (with ``headers`` added)."""
    extra = "".join(f"{h}\r\n" for h in headers)
    head = f"POST /api HTTP/1.1\r\nHost: x\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def get_colony(colony: Colony, name: str | None = None) -> bytes:
    return sign_request("getcolonymsg", {"colonyname": name or colony.name}, colony.user)


class Connection:
    """A raw HTTP/1.1 connection to the server."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int, context: ssl.SSLContext | None = None) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port, ssl=context))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self, timeout: float = 10) -> tuple[str, dict[str, str], bytes]:
        """(status line, headers by lower-cased name, body) of the next reply."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        status, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            assert name.lower() not in headers, head
            headers[name.lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                body += await self.reader.readexactly(size)
                await self.reader.readexactly(2)
            await self.reader.readexactly(2)
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body

    async def closed(self, timeout: float = 5) -> bool:
        """Whether the server closes the connection (sending nothing more) within ``timeout``."""
        return await asyncio.wait_for(self.reader.read(), timeout) == b""

    def close(self) -> None:
        self.writer.close()


def payload(body: bytes) -> Any:
    return json.loads(base64.b64decode(json.loads(body)["payload"]))


def by_the_front(headers: dict[str, str]) -> bool:
    return "server" not in headers


async def test_the_front_answers_as_aiohttp_does(server, colony):
    """The same request by the front and by aiohttp (a chunked body, which the front leaves to
    aiohttp): the same status line, the same headers but aiohttp's Server, the same reply."""
    front = await Connection.open(server.port)
    await front.send(post(get_colony(colony)))
    status, headers, body = await front.reply()
    assert status == "HTTP/1.1 200 OK" and by_the_front(headers), headers
    assert payload(body)["name"] == colony.name

    other = await Connection.open(server.port)
    signed = get_colony(colony)
    await other.send(
        b"POST /api HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"%x\r\n%s\r\n0\r\n\r\n" % (len(signed), signed)
    )
    status2, headers2, body2 = await other.reply()
    assert status2 == status and not by_the_front(headers2)
    assert payload(body2) == payload(body)
    ignored = ("server", "date", "content-length")
    assert {k: v for k, v in headers.items() if k not in ignored} == {
        k: v for k, v in headers2.items() if k not in ignored
    }
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["access-control-allow-origin"] == "*"
    assert headers["content-length"] == str(len(body))
    time.strptime(headers["date"], "%a, %d %b %Y %H:%M:%S GMT")
    front.close()
    other.close()


async def test_pipelined_requests_are_answered_in_order(server, colony):
    connection = await Connection.open(server.port)
    await connection.send(
        post(get_colony(colony)) + post(get_colony(colony, "nowhere")) + post(get_colony(colony))
    )
    replies = [await connection.reply() for _ in range(3)]
    assert [status for status, _, _ in replies] == [
        "HTTP/1.1 200 OK",
        "HTTP/1.1 403 Forbidden",
        "HTTP/1.1 200 OK",
    ]
    assert all(by_the_front(headers) for _, headers, _ in replies)
    assert payload(replies[0][2])["name"] == payload(replies[2][2])["name"] == colony.name
    assert payload(replies[1][2])["status"] == 403
    connection.close()


async def test_a_head_and_a_body_in_pieces(server, colony):
    connection = await Connection.open(server.port)
    request = post(get_colony(colony), "Connection: keep-alive")
    split = request.index(b"\r\n\r\n") + 4
    head, body = request[:split], request[split:]
    for i in range(0, len(head), 7):  # a piece ends inside the closing CR LF CR LF too
        await connection.send(head[i : i + 7])
        await asyncio.sleep(0.01)
    for i in range(0, len(body), 50):
        await connection.send(body[i : i + 50])
        await asyncio.sleep(0.01)
    status, headers, reply = await connection.reply()
    assert status == "HTTP/1.1 200 OK" and by_the_front(headers)
    assert payload(reply)["name"] == colony.name
    # The next request on the connection, in one piece.
    await connection.send(post(get_colony(colony)))
    assert (await connection.reply())[0] == "HTTP/1.1 200 OK"
    connection.close()


async def test_other_requests_after_a_post_go_to_aiohttp(server, colony):
    connection = await Connection.open(server.port)
    await connection.send(post(get_colony(colony)))
    status, headers, _ = await connection.reply()
    assert status == "HTTP/1.1 200 OK" and by_the_front(headers)
    # Three pipelined requests: the first is not the front's, so aiohttp gets all three.
    await connection.send(
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        b"OPTIONS /api HTTP/1.1\r\nHost: x\r\nOrigin: http://elsewhere\r\n"
        b"Access-Control-Request-Method: POST\r\n\r\n" + post(get_colony(colony))
    )
    health, options, again = [await connection.reply() for _ in range(3)]
    assert health[0] == "HTTP/1.1 200 OK" and not by_the_front(health[1])
    assert options[0] == "HTTP/1.1 204 No Content"
    assert options[1]["access-control-allow-methods"].startswith("GET, POST")
    assert again[0] == "HTTP/1.1 200 OK" and not by_the_front(again[1])
    assert payload(again[2])["name"] == colony.name
    connection.close()


async def test_a_websocket_on_a_fresh_connection_and_after_a_post(server, colony):
    async with aiohttp.ClientSession() as session, session.ws_connect(server.url + "/pubsub") as ws:
        await ws.send_str('{"signature": ""}')
        msg = await ws.receive(timeout=5)
        assert msg.type == WSMsgType.TEXT and json.loads(msg.data)["error"] is True
    connection = await Connection.open(server.port)
    await connection.send(post(get_colony(colony)))
    assert (await connection.reply())[0] == "HTTP/1.1 200 OK"
    await connection.send(
        b"GET /pubsub HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = await asyncio.wait_for(connection.reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols"), head
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head  # RFC 6455's example key's answer
    connection.close()


async def test_expect_100_continue_is_answered_by_aiohttp(server, colony):
    connection = await Connection.open(server.port)
    request = post(get_colony(colony), "Expect: 100-continue")
    split = request.index(b"\r\n\r\n") + 4
    await connection.send(request[:split])
    interim = await asyncio.wait_for(connection.reader.readuntil(b"\r\n\r\n"), 5)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    await connection.send(request[split:])
    status, headers, body = await connection.reply()
    assert status == "HTTP/1.1 200 OK" and not by_the_front(headers)
    assert payload(body)["name"] == colony.name
    connection.close()


async def test_http_1_0_is_answered_by_aiohttp(server, colony):
    connection = await Connection.open(server.port)
    await connection.send(post(get_colony(colony)).replace(b"HTTP/1.1", b"HTTP/1.0", 1))
    status, headers, body = await connection.reply()
    assert status.endswith("200 OK") and not by_the_front(headers)
    assert payload(body)["name"] == colony.name
    assert await connection.closed()


async def test_connection_close_is_honoured(server, colony):
    connection = await Connection.open(server.port)
    await connection.send(post(get_colony(colony), "Connection: close"))
    status, headers, _ = await connection.reply()
    assert status == "HTTP/1.1 200 OK" and by_the_front(headers)
    assert headers["connection"] == "close"
    assert await connection.closed()


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /api HTTP/1.1 extra\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /api HTTP/1.1\r\nBad Name: x\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: +2\r\n\r\n{}",
        b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        b"POST /api HTTP/1.1\r\nHost: x\r\n" + b"X-Long: " + b"x" * 9000 + b"\r\n\r\n",
    ],
    ids=["request-line", "header-name", "content-length", "two-lengths", "long-header"],
)
async def test_a_request_the_front_cannot_read_gets_aiohttps_400(server, request_bytes):
    connection = await Connection.open(server.port)
    await connection.send(request_bytes)
    status, headers, _ = await connection.reply()
    assert status.endswith(" 400 Bad Request") and not by_the_front(headers), status
    connection.close()


async def test_a_body_over_the_limit_is_refused_unread(db_url, server_key):
    async with serving(make_config(db_url, server_key, max_body=4096)) as server:
        connection = await Connection.open(server.port)
        await connection.send(
            b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n" + b"x" * 10_000
        )
        status, headers, body = await connection.reply()
        assert status == "HTTP/1.1 413 Request Entity Too Large" and by_the_front(headers)
        assert headers["connection"] == "close"
        assert body == too_large(4096)
        assert await connection.closed()  # its end of the connection, at once
        connection.close()
        # Within the limit: served.
        connection = await Connection.open(server.port)
        await connection.send(post(b"{}"))
        assert (await connection.reply())[0] == "HTTP/1.1 403 Forbidden"
        connection.close()


async def test_a_compressed_body_is_refused_before_it_arrives(server):
    connection = await Connection.open(server.port)
    await connection.send(
        b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Encoding: GZIP\r\nContent-Length: 100\r\n\r\n"
    )
    status, headers, body = await connection.reply()
    assert status == "HTTP/1.1 415 Unsupported Media Type" and by_the_front(headers)
    assert payload(body)["message"] == "Request content encoding 'gzip' is not supported"
    await connection.send(b"x" * 100)  # the body after all: read and dropped, then the end
    assert await connection.closed()
    connection.close()


async def test_a_long_poll_whose_client_goes_away_claims_nothing(server, colony):
    state = server.app[STATE_KEY]
    connection = await Connection.open(server.port)
    await connection.send(
        post(
            sign_request(
                "assignprocessmsg", {"colonyname": colony.name, "timeout": 30}, colony.executor
            )
        )
    )
    await eventually(lambda: len(state.waiters) == 1, "the poll waits")
    connection.close()
    await eventually(lambda: len(state.waiters) == 0, "the poll is cancelled", timeout=2)
    process = await server.rpc.call("submitfuncspecmsg", colony.user, spec=function_spec(colony))
    await asyncio.sleep(0.3)
    got = await server.rpc.call("getprocessmsg", colony.user, processid=process["processid"])
    assert got["state"] == 0 and got["assignedexecutorid"] == ""


async def test_a_large_reply_to_a_slow_reader_and_the_request_after_it(server, colony):
    """A reply larger than the socket buffers (writing pauses) and then the pipelined next."""
    spec = function_spec(colony, args=["a" * 2_000_000])
    process = await server.rpc.call("submitfuncspecmsg", colony.user, spec=spec)
    read = sign_request("getprocessmsg", {"processid": process["processid"]}, colony.user)
    connection = await Connection.open(server.port)
    await connection.send(post(read) + post(get_colony(colony)))
    await asyncio.sleep(0.5)  # not reading: the server's writes back up
    status, headers, body = await connection.reply()
    assert status == "HTTP/1.1 200 OK" and by_the_front(headers)
    assert payload(body)["spec"]["args"] == spec["args"]
    status, _, body = await connection.reply()
    assert status == "HTTP/1.1 200 OK" and payload(body)["name"] == colony.name
    connection.close()


async def test_draining_closes_each_connection_after_its_reply(server, colony):
    state = server.app[STATE_KEY]
    connection = await Connection.open(server.port)
    await connection.send(post(get_colony(colony)))
    assert "connection" not in (await connection.reply())[1]
    state.draining = True
    try:
        await connection.send(post(get_colony(colony)))
        status, headers, _ = await connection.reply()
        assert status == "HTTP/1.1 200 OK" and headers["connection"] == "close"
        assert await connection.closed()
    finally:
        state.draining = False


async def test_stopping_closes_idle_connections_and_answers_those_in_flight(db_url, server_key):
    runner, app = await start_server(make_config(db_url, server_key))
    port = app[STATE_KEY].config.port
    cleanup = None
    try:
        async with AsyncRpc(f"http://127.0.0.1:{port}") as rpc:
            colony = await make_colony(rpc, server_key)
        idle = await Connection.open(port)
        await idle.send(post(get_colony(colony)))
        assert (await idle.reply())[0] == "HTTP/1.1 200 OK"
        polling = await Connection.open(port)
        await polling.send(
            post(
                sign_request(
                    "assignprocessmsg", {"colonyname": colony.name, "timeout": 30}, colony.executor
                )
            )
        )
        await eventually(lambda: len(app[STATE_KEY].waiters) == 1, "the poll waits")
        started = time.monotonic()
        cleanup = asyncio.create_task(runner.cleanup())
        assert await idle.closed()
        status, headers, _ = await polling.reply()
        assert status == "HTTP/1.1 404 Not Found" and headers["connection"] == "close"
        assert await polling.closed()
        await asyncio.wait_for(cleanup, 10)
        assert time.monotonic() - started < 5
    finally:
        if cleanup is None:
            await runner.cleanup()


async def test_the_keep_alive_timeout_closes_idle_connections(db_url, server_key):
    config = make_config(db_url, server_key)
    app = create_app(config)
    runner = http_transport.AppRunner(app, keepalive_timeout=0.5, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, config.bind, config.port).start()
    try:
        never_asked = await Connection.open(config.port)
        asked = await Connection.open(config.port)
        await asked.send(post(b"{}"))
        assert (await asked.reply())[0] == "HTTP/1.1 403 Forbidden"
        started = time.monotonic()
        assert await asked.closed() and await never_asked.closed()
        assert time.monotonic() - started < 3
    finally:
        await runner.cleanup()


async def test_over_tls(db_url, server_key, tmp_path):
    ca, cert, key = await asyncio.to_thread(make_ca_and_certificate, tmp_path)
    config = make_config(db_url, server_key, tls_cert=str(cert), tls_key=str(key))
    runner, _ = await start_server(config)
    context = ssl.create_default_context(cafile=str(ca))
    try:
        async with AsyncRpc(f"https://127.0.0.1:{config.port}", ca_file=str(ca)) as rpc:
            colony = await make_colony(rpc, server_key)
        connection = await Connection.open(config.port, context)
        await connection.send(post(get_colony(colony)) + post(get_colony(colony, "nowhere")))
        first, second = await connection.reply(), await connection.reply()
        assert first[0] == "HTTP/1.1 200 OK" and by_the_front(first[1])
        assert second[0] == "HTTP/1.1 403 Forbidden" and by_the_front(second[1])
        await connection.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + post(b"{}"))
        health, forbidden = await connection.reply(), await connection.reply()
        assert health[0] == "HTTP/1.1 200 OK" and not by_the_front(health[1])
        assert forbidden[0] == "HTTP/1.1 403 Forbidden" and not by_the_front(forbidden[1])
        connection.close()
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session,
            session.ws_connect(f"wss://127.0.0.1:{config.port}/pubsub") as ws,
        ):
            await ws.send_str('{"signature": ""}')
            msg = await ws.receive(timeout=5)
            assert msg.type == WSMsgType.TEXT and json.loads(msg.data)["error"] is True
    finally:
        await runner.cleanup()
