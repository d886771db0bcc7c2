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
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from colonies.rpc.envelope import encode_error
from colonies.server.transports import DISPATCHER_KEY

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


class _Server(web.Server):
    """aiohttp's server, making :class:`_Connection` handlers."""

    __slots__ = ()

    def __call__(self) -> RequestHandler:
        return _Connection(self, loop=self._loop, **self._kwargs)


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
        else:
            log.warning("this aiohttp has no read-header timeout: upgrade it (setup.cfg)")
        return server
