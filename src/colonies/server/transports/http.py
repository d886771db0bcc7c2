"""``POST /api``: one request envelope in, one reply envelope out (docs/protocol.md §1.2, §1.6).

The reply is the dispatcher's, with its status; CORS headers let a browser page on another
origin call the API.
"""

from __future__ import annotations

from aiohttp import web

from colonies.rpc.envelope import encode_error
from colonies.server.transports import DISPATCHER_KEY

BACKEND = "http"  # the transport's name in the metrics

_CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Origin, Content-Length, Content-Type",
}


def _envelope_response(status: int, body: bytes) -> web.Response:
    return web.Response(
        status=status, body=body, content_type="text/plain", charset="utf-8", headers=_CORS_HEADERS
    )


async def api(request: web.Request) -> web.Response:
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        return _envelope_response(413, encode_error(413, f"Request body too large: {exc.text}"))
    status, reply = await request.app[DISPATCHER_KEY].handle(body, BACKEND)
    return _envelope_response(status, reply)


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=_CORS_HEADERS)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api", api)
    app.router.add_route("OPTIONS", "/api", preflight)
