"""Request processing (protocol.md §3.2): envelope, signature, route, payload, role, handler."""

from __future__ import annotations

import logging
import time
from typing import Any

import asyncpg

from colonies.core.timeutil import from_unix_ns
from colonies.core.wire import encode
from colonies.crypto import SignatureError, recover_caller_id
from colonies.rpc import EMPTY_PAYLOAD, RpcError, decode_payload, decode_request
from colonies.rpc.envelope import RequestEnvelope, encode_error, encode_reply
from colonies.server.auth import authorize
from colonies.server.context import Context
from colonies.server.registry import Registry, Role, Route
from colonies.server.state import ServerState
from colonies.store import Conflict, Replayed
from colonies.store.nonces import Nonce

log = logging.getLogger(__name__)

REPLAYED = "Replayed request: this nonce was already used"

# Errors that mean "the database is not reachable now": answer 503 so clients retry.
_UNAVAILABLE = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)


class Dispatcher:
    def __init__(self, state: ServerState, registry: Registry) -> None:
        self.state = state
        self.routes = registry.routes
        self.metrics = state.metrics
        # The labelled metric children of each (payloadtype, status): looked up once.
        self._observed: dict[tuple[str, int], tuple[Any, Any]] = {}

    async def handle(self, body: bytes) -> tuple[int, bytes]:
        """Answer one request body with (HTTP status, reply envelope)."""
        started = time.perf_counter()
        label = "invalid"
        try:
            envelope = decode_request(body)
            route = self.routes.get(envelope.payloadtype)
            if route is not None and route.websocket:
                route = None  # subscriptions are served on /pubsub only
            if route is not None:
                label = envelope.payloadtype
            reply = await self._process(envelope, route)
            status = 200
        except RpcError as exc:
            status, reply = exc.status, encode_error(exc.status, exc.message)
        observed = self._observed.get((label, status))
        if observed is None:
            observed = self._observed[(label, status)] = (
                self.metrics.rpc_requests.labels(label, str(status)),
                self.metrics.rpc_duration.labels(label),
            )
        observed[0].inc()
        observed[1].observe(time.perf_counter() - started)
        return status, reply

    def authenticate(self, envelope: RequestEnvelope) -> str:
        try:
            return recover_caller_id(envelope.signature, envelope.payload.encode("utf-8"))
        except SignatureError as exc:
            raise RpcError(403, str(exc)) from None

    async def _process(self, envelope: RequestEnvelope, route: Route[Any] | None) -> bytes:
        if route is not None and route.role is Role.NONE:
            caller = ""
        else:
            caller = self.authenticate(envelope)
        if route is None:
            shown = envelope.payloadtype or "empty"
            raise RpcError(403, f"invalid rpcMsg.PayloadType: {shown}")
        if route.payload_ignored:
            msg = route.msg_type()
        else:
            msg = decode_payload(envelope, route.msg_type, route.action)
        nonce = self.fresh_nonce(caller, msg) if route.role is not Role.NONE else None
        if nonce is not None and not route.nonce_in_statement:
            await self.use_nonce(nonce)
            nonce = None
        ctx = Context(self.state, caller, nonce=nonce)
        try:
            result = await self.run(ctx, route, msg)
        finally:
            if ctx.nonce is not None:  # the handler failed before its statement recorded it
                await self.use_nonce(ctx.nonce)  # and a replay is told as one
        payload = EMPTY_PAYLOAD if result is None else encode(result)
        return encode_reply(route.reply_payloadtype, payload)

    async def check_fresh(self, caller: str, msg: Any) -> None:
        """Replay protection: a signed nonce and timestamp, inside the window, used once."""
        nonce = self.fresh_nonce(caller, msg)
        if nonce is not None:
            await self.use_nonce(nonce)

    def fresh_nonce(self, caller: str, msg: Any) -> Nonce | None:
        """The request's nonce when its signed timestamp is inside the window (None for an
        existing SDK's request without either, unless freshness is required)."""
        config = self.state.config
        if not msg.nonce and not msg.timestamp:
            if config.require_fresh:
                raise RpcError(403, "Request not fresh: the payload needs a nonce and a timestamp")
            return None  # an existing SDK: accepted unless freshness is required
        if not msg.nonce or not msg.timestamp:
            raise RpcError(403, "Request not fresh: give both a nonce and a timestamp")
        now_ns = time.time_ns()
        window_ns = config.freshness_window * 1_000_000_000
        if abs(now_ns - msg.timestamp) > window_ns:
            raise RpcError(
                403,
                f"Request not fresh: timestamp outside the {config.freshness_window} s window",
            )
        return Nonce(caller, msg.nonce, from_unix_ns(now_ns + window_ns))

    async def use_nonce(self, nonce: Nonce) -> None:
        """Record the nonce; refuse the request if it was used before."""
        try:
            await self.state.nonces.record(nonce)
        except Replayed:
            raise RpcError(403, REPLAYED) from None
        except _UNAVAILABLE:
            raise RpcError(503, "database unavailable") from None

    async def run(self, ctx: Context, route: Route[Any], msg: Any) -> Any:
        """Authorize and run a route's handler, turning store failures into error replies."""
        try:
            target = await route.scope(ctx, msg) if route.scope is not None else None
            await authorize(ctx, route.role, target)
            ctx.target = target.obj if target is not None else None
            result = await route.handler(ctx, msg)
            if route.changes_access:  # other replicas hear of it through NOTIFY
                self.state.access_cache.clear()
            return result
        except RpcError:
            raise
        except Replayed:
            raise RpcError(403, REPLAYED) from None
        except Conflict as exc:
            raise RpcError(400, f"{route.action}, {exc}") from None
        except _UNAVAILABLE as exc:
            log.warning("%s: database unavailable: %s", route.payloadtype, exc)
            raise RpcError(503, f"{route.action}, database unavailable") from None
        except asyncpg.DataError as exc:
            raise RpcError(400, f"{route.action}, {exc}") from None
        except Exception:
            log.exception("%s: internal error", route.payloadtype)
            raise RpcError(500, f"{route.action}, internal server error") from None
