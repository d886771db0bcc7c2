"""Transports: each moves request envelopes to the dispatcher (server/dispatch.py) and its
replies back, and does nothing else; verification, authorization, replay protection, metrics
and error envelopes happen once, in the dispatcher. A transport is one module here, wired into
the application by server/app.py.

The transports that aiohttp serves (``http``, ``websocket``) find the dispatcher in the
application under :data:`DISPATCHER_KEY`. The others (``grpc_backend``, ``coap_backend``,
``libp2p_backend``: docs/protocol.md §12) listen on ports of their own and are each a
:class:`Backend` that the application starts and stops.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from colonies.core import ServerBackend
from colonies.rpc.envelope import encode_error
from colonies.server.dispatch import Dispatcher

DISPATCHER_KEY = web.AppKey("dispatcher", Dispatcher)


class Backend(Protocol):
    """A transport on a port of its own."""

    async def start(self) -> None:
        """Listen; raise TransportStartError when that is impossible."""

    async def stop(self, grace: float) -> None:
        """Refuse new requests, give those in flight up to ``grace`` seconds, then close."""

    def info(self) -> ServerBackend:
        """How getserverinfomsg describes it."""


def too_large(limit: int) -> bytes:
    """The error envelope for a request over the body limit, in the words HTTP's has."""
    return encode_error(413, f"Request body too large: Maximum request body size {limit} exceeded.")


class TransportStartError(Exception):
    """A transport cannot listen; the message is one line for the operator."""
