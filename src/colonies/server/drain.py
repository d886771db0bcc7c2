"""A stopping replica's drain. On SIGTERM, Services and Ingresses still route to the replica for
a few seconds, so it keeps serving for ``COLONIES_DRAIN_SECONDS`` before it closes its listener:

- at once, it resigns leadership and ``/ready`` answers 503 (load balancers take it out);
- every response carries ``Connection: close``, so clients move their kept-alive connections to
  other replicas instead of having them closed under a request later;
- waiting long polls answer by the end of the drain (the executor polls again elsewhere);
- at the end, ``/pubsub`` WebSockets are closed with 1001 "going away" (clients resubscribe).

server/run.py then closes the listener and idle connections and finishes the requests in flight.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from aiohttp import WSCloseCode, hdrs, web

from colonies.server.state import ServerState

log = logging.getLogger(__name__)


async def start_draining(state: ServerState, seconds: float) -> None:
    """Resign, fail /ready, and cap every long poll at the end of the drain (idempotent)."""
    if math.isfinite(state.drain_deadline):
        return  # started already
    state.draining = True
    state.drain_deadline = time.monotonic() + seconds
    if state.leadership is not None:
        await state.leadership.stop()  # a follower takes over without waiting for the TTL
    state.waiters.wake_all()  # waiting long polls re-check, now under the drain's deadline


async def finish_draining(state: ServerState) -> None:
    """Wait out the drain, then close the WebSockets (the client's close frame is awaited a
    little; a client that does not answer is cut)."""
    remaining = state.drain_deadline - time.monotonic()
    if 0 < remaining < math.inf:
        log.info("draining: serving %.0f s more before closing", remaining)
        await asyncio.sleep(remaining)
    sockets = list(state.websockets)
    if sockets:
        log.info("closing %d WebSockets", len(sockets))
    await asyncio.gather(
        *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping") for ws in sockets),
        return_exceptions=True,
    )


async def close_connection_when_draining(
    state: ServerState, request: web.Request, response: web.StreamResponse
) -> None:
    """``on_response_prepare``: once draining, no connection is kept alive past its response.
    (The hook runs after aiohttp has chosen the Connection header: set it too.)"""
    if state.draining and not isinstance(response, web.WebSocketResponse):
        response.force_close()
        response.headers[hdrs.CONNECTION] = "close"
