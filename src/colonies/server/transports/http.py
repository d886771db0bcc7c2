"""``POST /api``: one request envelope in, one reply envelope out (docs/protocol.md §1.2, §1.6).

The reply is the dispatcher's, with its status; CORS headers let a browser page on another
origin call the API.

What reaches the dispatcher is the body as sent, read in time:
- request headers must be complete within :data:`HEADER_TIMEOUT` seconds of their first byte
  (docs/protocol.md §1.7), else the connection is closed; between requests a connection may
  idle for the keep-alive timeout;
- the body must keep coming: :data:`BODY_IDLE_TIMEOUT` seconds without a byte ends the
  request with 408;
- a compressed body (any ``Content-Encoding`` but ``identity``) is refused with 415 without
  being inflated: neither the protocol nor its clients compress requests, and a small body
  that inflates to gigabytes would cost everyone on the replica.

Every connection starts with the front (:class:`_Front`), which answers ``POST /api`` requests
itself, the same as :func:`api` below would but without aiohttp's general request machinery
(the hot path's three requests a cycle). At the first request of any other kind (another path
or method, a WebSocket upgrade, HTTP/1.0, a chunked body, ``Expect``, a head it does not
parse) it hands the connection, with the bytes it holds, to aiohttp for good.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, cast

from aiohttp import web
from aiohttp.tcp_helpers import tcp_keepalive
from aiohttp.web_protocol import RequestHandler

from colonies.rpc.envelope import encode_error
from colonies.server.dispatch import Dispatcher
from colonies.server.transports import DISPATCHER_KEY, too_large

log = logging.getLogger(__name__)

BACKEND = "http"  # the transport's name in the metrics

HEADER_TIMEOUT = 10.0  # seconds from a request's first byte to the end of its headers
BODY_IDLE_TIMEOUT = 10.0  # seconds a request body may pause

_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Origin, Content-Length, Content-Type",
}


def _envelope_response(status: int, body: bytes) -> web.Response:
    return web.Response(
        status=status, body=body, content_type="text/plain", charset="utf-8", headers=_CORS_HEADERS
    )


def _error(status: int, message: str) -> web.Response:
    return _envelope_response(status, encode_error(status, message))


async def _read_body(request: web.Request, max_body: int) -> bytes:
    """The whole body; asyncio.TimeoutError when it pauses too long, HTTPRequestEntityTooLarge
    when it is larger than ``max_body``."""
    content = request.content
    if content.is_eof():  # all of it arrived with the headers: the usual small request
        return await request.read()
    body = bytearray()
    while True:
        chunk = await asyncio.wait_for(content.readany(), BODY_IDLE_TIMEOUT)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > max_body:
            raise web.HTTPRequestEntityTooLarge(max_size=max_body, actual_size=len(body))


async def api(request: web.Request) -> web.Response:
    dispatcher = request.app[DISPATCHER_KEY]
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        return _error(415, f"Request content encoding {encoding[:32]!r} is not supported")
    try:
        body = await _read_body(request, dispatcher.state.config.max_body)
    except web.HTTPRequestEntityTooLarge as exc:
        return _error(413, f"Request body too large: {exc.text}")
    except asyncio.TimeoutError:
        response = _error(408, f"Request body paused for more than {BODY_IDLE_TIMEOUT:g} s")
        response.force_close()
        return response
    status, reply = await dispatcher.handle(body, BACKEND)
    return _envelope_response(status, reply)


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=_CORS_HEADERS)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api", api)
    app.router.add_route("OPTIONS", "/api", preflight)


class _Connection(RequestHandler):
    """aiohttp's connection handler with a read-header timeout, which aiohttp lacks (it closes
    a connection whose headers never end only at the keep-alive timeout).

    Armed when bytes of a request's headers arrive and no request is being handled; disarmed
    when the headers are complete. It closes the connection only if, when it fires, no
    request's headers have completed since and the connection is waiting for a request.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._headers_seen = 0  # requests whose headers had completed when the timer was armed

    def data_received(self, data: bytes) -> None:
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:
            self._disarm()
        elif (
            data
            and self._header_timer is None
            and self._current_request is None
            and not self._messages
            and not self._upgraded
        ):
            self._headers_seen = before
            self._header_timer = self._loop.call_later(HEADER_TIMEOUT, self._headers_late)

    def _headers_late(self) -> None:
        self._header_timer = None
        waiting = self._waiter is not None and not self._waiter.done()
        if waiting and self._request_count == self._headers_seen:
            self.force_close()

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)


# The parts of aiohttp's handler that _Connection reads; without them it is not used (and the
# keep-alive timeout alone bounds a connection whose headers never end).
_READS = {"_request_count", "_current_request", "_messages", "_upgraded", "_waiter", "_loop"}
HEADER_TIMEOUT_SUPPORTED = _READS <= {
    name for cls in RequestHandler.__mro__ for name in getattr(cls, "__slots__", ())
}


# ----------------------------------------------------------------------------- the front

_REQUEST_LINE = b"POST /api HTTP/1.1\r\n"
# The header lines of a request the front reads: each a token, a colon and a value without
# CR, LF or NUL (anything else is left to aiohttp's parser, which answers it as it does).
_HEADER_LINES = re.compile(
    rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+:[^\r\n\x00]*(?:\r\n[-!#$%&'*+.^_`|~0-9A-Za-z]+:[^\r\n\x00]*)*"
)
_NOT_OURS = frozenset((b"transfer-encoding", b"expect", b"upgrade"))
MAX_HEAD = 8190  # bytes of a head the front reads (aiohttp's longest line); longer: aiohttp's
MAX_PIPELINED = 256 * 1024  # bytes of later requests held while one is answered, then no reading
LINGER_TIME = 10.0  # seconds a refused body is read and dropped before the connection closes

# A connection's states (the front is in one at a time).
_HEAD = 0  # waiting for a request, or reading its head
_BODY = 1  # reading a body
_BUSY = 2  # the dispatcher answers
_LINGER = 3  # a refused request's body is dropped until it ends
_CLOSED = 4  # closed, or handed to aiohttp

_CORS_LINES = "".join(f"{name}: {value}\r\n" for name, value in _CORS_HEADERS.items())
_HEADS: dict[int, bytes] = {}  # each status's reply head up to the Content-Length value


def _reply_head(status: int) -> bytes:
    head = _HEADS.get(status)
    if head is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        head = _HEADS[status] = (
            f"HTTP/1.1 {status} {reason}\r\n{_CORS_LINES}"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Length: "
        ).encode("latin-1")
    return head


_date: tuple[int, bytes] = (0, b"")


def _http_date() -> bytes:
    """The Date header's value, made once a second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _date[1]


class _Front(asyncio.Protocol):
    """A connection's first protocol: answers ``POST /api HTTP/1.1`` requests with a
    Content-Length itself, in order, one at a time, with the timeouts and limits of the module
    docstring; hands the connection to aiohttp (a :class:`_Connection`) at the first request
    of another kind, between requests.

    One timer serves every state: it is set no later than the state's deadline (the keep-alive
    timeout when idle, the header timeout from a head's first byte, the body's idle timeout
    from its last byte, the linger time) and, when it fires early, set again for the rest.
    """

    def __init__(self, server: _Server, dispatcher: Dispatcher) -> None:
        self._server = server
        self._dispatcher = dispatcher
        self._loop = server._loop
        self._keepalive_timeout = float(server._kwargs.get("keepalive_timeout", 3630.0))
        self._max_body = dispatcher.state.config.max_body
        self._transport: asyncio.Transport | None = None
        self._state = _HEAD
        self._buffer = b""  # bytes not yet read as a request
        self._head_begun = False  # the buffer holds the start of a head (its timeout runs)
        self._body: list[bytes] = []
        self._missing = 0  # bytes of the body still to come (to drop, when lingering)
        self._keep_alive = True
        self._closing = False  # the replica stops: no request after the one being answered
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._since = 0.0  # when the current state's timeout began
        self._reading_paused = False
        self._drained: asyncio.Future[None] | None = None  # while writing is paused
        self._gone: asyncio.Future[None] | None = None  # awaited by a shutdown

    # --- asyncio's calls

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        if self._server._kwargs.get("tcp_keepalive", True):
            tcp_keepalive(self._transport)
        self._server.fronts.add(self)
        self._arm()

    def data_received(self, data: bytes) -> None:
        state = self._state
        if state == _BODY:
            self._since = self._loop.time()
            if len(data) < self._missing:
                self._body.append(data)
                self._missing -= len(data)
                return
            self._body.append(data[: self._missing])
            self._buffer = data[self._missing :]
            body = b"".join(self._body)
            self._body = []
            self._answer(body)
        elif state == _LINGER:
            self._missing -= len(data)
            if self._missing <= 0:
                self._close()
        elif state != _CLOSED:
            self._buffer += data
            if state == _HEAD:
                self._next()
            elif len(self._buffer) > MAX_PIPELINED and not self._reading_paused:
                self._reading_paused = True
                self._transport.pause_reading()  # type: ignore[union-attr]

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._state == _CLOSED and self._transport is None:
            return
        self._forget()
        if self._task is not None and self._server.handler_cancellation:
            self._task.cancel()  # a long poll nobody waits for must not claim a process

    def pause_writing(self) -> None:
        self._drained = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._drained is not None:
            self._drained.set_result(None)
            self._drained = None

    # --- requests

    def _next(self) -> None:
        """Start the request at the front of the buffer, hand the connection to aiohttp if
        it is not one to answer here, or wait for more bytes."""
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if not buffer:
                self._head_begun = False
                self._arm()
            elif len(buffer) > MAX_HEAD or not (
                buffer.startswith(_REQUEST_LINE) or _REQUEST_LINE.startswith(buffer)
            ):
                self._hand_over()
            elif not self._head_begun:
                self._head_begun = True
                self._arm()
            return
        self._head_begun = False
        fields = buffer[len(_REQUEST_LINE) : end]
        if (
            end > MAX_HEAD
            or not buffer.startswith(_REQUEST_LINE)
            or _HEADER_LINES.fullmatch(fields) is None
        ):
            self._hand_over()
            return
        length = -1
        encoding = b""
        keep_alive = True
        for line in fields.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.lower()
            if name == b"content-length":
                value = value.strip()
                if length >= 0 or not value.isdigit():
                    self._hand_over()  # aiohttp refuses it with 400
                    return
                length = int(value)
            elif name == b"connection":
                keep_alive = b"close" not in [t.strip() for t in value.lower().split(b",")]
            elif name == b"content-encoding":
                value = value.strip().lower()
                if value != b"identity":
                    encoding = encoding or value
            elif name in _NOT_OURS:
                self._hand_over()
                return
        if length < 0:
            self._hand_over()
            return
        self._keep_alive = keep_alive
        start = end + 4
        if encoding:
            text = encoding.decode("utf-8", "surrogateescape")
            message = f"Request content encoding {text[:32]!r} is not supported"
            self._refuse(415, encode_error(415, message), length - (len(buffer) - start))
        elif length > self._max_body:
            self._refuse(413, too_large(self._max_body), length - (len(buffer) - start))
        elif len(buffer) - start >= length:  # the usual request: all of it in one piece
            self._buffer = buffer[start + length :]
            self._answer(buffer[start : start + length])
        else:
            self._state = _BODY
            self._body = [buffer[start:]]
            self._missing = length - (len(buffer) - start)
            self._buffer = b""
            self._arm()

    def _answer(self, body: bytes) -> None:
        self._state = _BUSY
        self._task = self._loop.create_task(self._respond(body))
        if len(self._buffer) > MAX_PIPELINED and not self._reading_paused:
            self._reading_paused = True
            self._transport.pause_reading()  # type: ignore[union-attr]

    async def _respond(self, body: bytes) -> None:
        try:
            status, reply = await self._dispatcher.handle(body, BACKEND)
            if self._transport is None:
                return  # gone, and handler_cancellation is off
            keep_alive = self._keep_alive and not (self._closing or self._dispatcher.state.draining)
            self._write(status, reply, keep_alive)
            if not keep_alive:
                self._close()
                return
            if self._drained is not None:  # a large reply: let it go out before the next
                await self._drained
                if self._transport is None:
                    return
        except Exception:  # a bug here: the connection is closed, the replica goes on
            log.exception("POST /api: cannot answer")
            self._close()
            return
        finally:
            self._task = None
        self._state = _HEAD
        if self._reading_paused:
            self._reading_paused = False
            self._transport.resume_reading()
        self._next()

    def _write(self, status: int, reply: bytes, keep_alive: bool) -> None:
        assert self._transport is not None
        self._transport.write(
            b"%s%d\r\nDate: %s\r\n%s\r\n%s"
            % (
                _reply_head(status),
                len(reply),
                _http_date(),
                b"" if keep_alive else b"Connection: close\r\n",
                reply,
            )
        )

    def _refuse(self, status: int, reply: bytes, rest: int) -> None:
        """Answer without reading the body, then drop it as it comes (for at most the linger
        time): a client still sending reads the answer instead of a reset connection."""
        self._write(status, reply, keep_alive=False)
        self._buffer = b""
        if rest <= 0:
            self._close()
            return
        assert self._transport is not None
        if self._transport.can_write_eof():
            self._transport.write_eof()
        self._state = _LINGER
        self._missing = rest
        self._arm()

    # --- timeouts

    def _arm(self) -> None:
        """The current state's timeout begins now."""
        self._since = now = self._loop.time()
        deadline = now + self._limit()
        if self._timer is not None:
            if self._timer.when() <= deadline:
                return  # fires first, and sets itself again for the rest
            self._timer.cancel()
        self._timer = self._loop.call_at(deadline, self._timeout)

    def _limit(self) -> float:
        state = self._state
        if state == _HEAD:
            return HEADER_TIMEOUT if self._head_begun else self._keepalive_timeout
        if state == _BODY:
            return BODY_IDLE_TIMEOUT
        return LINGER_TIME

    def _timeout(self) -> None:
        self._timer = None
        if self._state in (_BUSY, _CLOSED):
            return  # set again when the answer is written
        now = self._loop.time()
        deadline = self._since + self._limit()
        if now < deadline:
            self._timer = self._loop.call_at(deadline, self._timeout)
            return
        if self._state == _BODY:
            message = f"Request body paused for more than {BODY_IDLE_TIMEOUT:g} s"
            self._write(408, encode_error(408, message), keep_alive=False)
        self._close()

    # --- the connection's end, or its handing over

    def _close(self) -> None:
        transport = self._transport
        self._forget()
        if transport is not None:
            transport.close()

    def _forget(self) -> None:
        self._state = _CLOSED
        self._transport = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._server.fronts.discard(self)
        if self._drained is not None:
            self._drained.set_result(None)
            self._drained = None
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(None)

    def _hand_over(self) -> None:
        """aiohttp serves this connection from now on, starting with the bytes held."""
        transport, data = self._transport, self._buffer
        assert transport is not None
        self._forget()
        handler = self._server.connection_handler()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        handler.data_received(data)

    # --- the replica's stop (server/run.py: runner.cleanup)

    def close_idle(self) -> None:
        """No request after the one in flight; closed now if none is."""
        self._closing = True
        if self._state in (_HEAD, _LINGER):
            self._close()

    def gone(self) -> asyncio.Future[None]:
        """Done when the connection is closed or handed over."""
        if self._gone is None:
            self._gone = self._loop.create_future()
            if self._state == _CLOSED:
                self._gone.set_result(None)
        return self._gone

    def abort(self) -> None:
        if self._task is not None:
            self._task.cancel()
        transport = self._transport
        self._forget()
        if transport is not None:
            transport.abort()


class _Server(web.Server):
    """aiohttp's server, starting connections with :class:`_Front` when the application serves
    ``POST /api`` (else with :class:`_Connection` handlers), and stopping both kinds."""

    dispatcher: Dispatcher | None
    fronts: set[_Front]

    def serve_api(self, dispatcher: Dispatcher | None) -> None:
        self.dispatcher = dispatcher
        self.fronts = set()

    def __call__(self) -> asyncio.Protocol:  # type: ignore[override]
        if self.dispatcher is not None:
            return _Front(self, self.dispatcher)
        return self.connection_handler()

    def connection_handler(self) -> RequestHandler:
        return _Connection(self, loop=self._loop, **self._kwargs)

    def pre_shutdown(self) -> None:
        super().pre_shutdown()
        for front in list(self.fronts):
            front.close_idle()

    async def shutdown(self, timeout: float | None = None) -> None:
        """aiohttp's handlers and the fronts each get their request in flight answered
        within ``timeout``, then are closed."""
        await asyncio.gather(super().shutdown(timeout), self._shutdown_fronts(timeout))

    async def _shutdown_fronts(self, timeout: float | None) -> None:
        fronts = list(self.fronts)
        if fronts:
            await asyncio.wait([front.gone() for front in fronts], timeout=timeout)
        for front in fronts:
            front.abort()


class AppRunner(web.AppRunner):
    """The application runner with this transport's connection handling: the read-header
    timeout, and request bodies left as sent (no decompression)."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        super().__init__(app, auto_decompress=False, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        if HEADER_TIMEOUT_SUPPORTED:
            # aiohttp builds the server itself; it is ours but for the handlers it makes.
            server.__class__ = _Server
            serves_api = any(route.handler is api for route in self._app.router.routes())
            cast(_Server, server).serve_api(self._app.get(DISPATCHER_KEY) if serves_api else None)
        else:
            log.warning("this aiohttp has no read-header timeout: upgrade it (setup.cfg)")
        return server
