"""The request pipeline every transport shares (docs/protocol.md §3.2).

A transport only moves bytes. It hands the dispatcher a request envelope and sends back:
- for an RPC, the reply of ``await dispatcher.handle(body, backend)``: (HTTP status, reply
  envelope), an error envelope included;
- for a subscription, the replies its handler pushes: ``await dispatcher.subscription(body)``
  prepares the request (None: not a subscription, ignored), then ``await
  prepared.stream(sink)`` runs it, each reply going to the transport's sink
  (server/context.py). Both raise RpcError for a refusal, which the transport sends as an
  error envelope.

The steps, in order: decode the envelope; authenticate (the signature gives the caller);
route by payloadtype (server/routes.py); decode the payload; freshness and the nonce
(server/replay.py); scope and role (server/scopes.py, server/auth.py); the handler. Store
errors become error replies here, and nowhere else.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from colonies.core.wire import encode
from colonies.crypto import SignatureError, recover_caller_id
from colonies.rpc import EMPTY_PAYLOAD, RpcError, decode_payload, decode_request
from colonies.rpc.envelope import RequestEnvelope, encode_error, encode_reply
from colonies.server.auth import authorize
from colonies.server.context import Context, ReplySink, SubscriberGone
from colonies.server.registry import Registry, Role, Route
from colonies.server.replay import REPLAYED, Nonce, ReplayProtection
from colonies.server.state import ServerState
from colonies.store import (
    Conflict,
    InvalidInput,
    Replayed,
    TooLarge,
    Unavailable,
    store_error,
)

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, state: ServerState, registry: Registry) -> None:
        self.state = state
        self.routes = registry.routes
        self.metrics = state.metrics
        self.replay = ReplayProtection(state.config, state.store.nonces)
        # The labelled metric children of each (backend, payloadtype, status): looked up once.
        self._observed: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def handle(
        self, body: bytes, backend: str, max_wait: float | None = None
    ) -> tuple[int, bytes]:
        """Answer one RPC request envelope with (HTTP status, reply envelope); ``backend``
        names the transport in the metrics; ``max_wait`` caps a long poll's wait (seconds)
        where the transport's clients give up sooner than a request may ask."""
        started = time.perf_counter()
        label = "invalid"
        try:
            envelope = decode_request(body)
            route = self.routes.get(envelope.payloadtype)
            if route is not None and route.subscription:
                route = None  # subscriptions are served on /pubsub only
            if route is not None:
                label = envelope.payloadtype
            reply = await self._process(envelope, route, max_wait)
            status = 200
        except RpcError as exc:
            status, reply = exc.status, encode_error(exc.status, exc.message)
        observed = self._observed.get((backend, label, status))
        if observed is None:
            observed = self._observed[(backend, label, status)] = (
                self.metrics.rpc_requests.labels(label, str(status), backend),
                self.metrics.rpc_duration.labels(label, backend),
            )
        observed[0].inc()
        observed[1].observe(time.perf_counter() - started)
        return status, reply

    async def subscription(self, body: bytes) -> PreparedSubscription | None:
        """A subscription request, checked up to its nonce and ready to stream; None for any
        other payloadtype (ignored, docs/protocol.md §6.18)."""
        envelope = decode_request(body)
        route = self.routes.get(envelope.payloadtype)
        caller = self.authenticate(envelope)
        if route is None or not route.subscription:
            return None
        msg = decode_payload(envelope, route.msg_type, route.action)
        await self.replay.use(self.replay.nonce(caller, msg))
        return PreparedSubscription(self, route, caller, msg)

    def authenticate(self, envelope: RequestEnvelope) -> str:
        try:
            return recover_caller_id(envelope.signature, envelope.payload.encode("utf-8"))
        except SignatureError as exc:
            raise RpcError(403, str(exc)) from None

    async def _process(
        self, envelope: RequestEnvelope, route: Route[Any] | None, max_wait: float | None
    ) -> bytes:
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
        ctx = Context(self.state, caller, max_wait=max_wait)
        if route.role is Role.NONE:
            result = await self.run(ctx, route, msg)
        elif route.uses_nonce:
            nonce = self.replay.nonce(caller, msg)
            try:
                result = await self.run(ctx, route, msg, nonce)
            finally:
                if nonce is not None and not nonce.used:  # refused before its statement
                    await self.replay.use(nonce)  # the nonce is used up all the same
        else:
            await self.replay.use(self.replay.nonce(caller, msg))
            result = await self.run(ctx, route, msg)
        payload = EMPTY_PAYLOAD if result is None else encode(result)
        return encode_reply(route.reply_payloadtype, payload)

    async def run(
        self, ctx: Context, route: Route[Any], msg: Any, nonce: Nonce | None = None
    ) -> Any:
        """Authorize and run a route's handler, turning store failures into error replies."""
        try:
            target = await route.scope(ctx, msg) if route.scope is not None else None
            await authorize(ctx, route.role, target)
            ctx.target = target.obj if target is not None else None
            if route.uses_nonce:
                result = await route.handler(ctx, msg, nonce)
            else:
                result = await route.handler(ctx, msg)
            if route.changes_access:  # other replicas hear of it through NOTIFY
                self.state.access_cache.clear()
            return result
        except (RpcError, SubscriberGone):
            raise
        except Exception as exc:
            raise _error_reply(route, exc) from None


def _error_reply(route: Route[Any], exc: Exception) -> RpcError:
    """The reply to a handler's failure (called while handling ``exc``)."""
    error = store_error(exc)
    if isinstance(error, Replayed):
        return RpcError(403, REPLAYED)
    if isinstance(error, (Conflict, InvalidInput)):
        return RpcError(400, f"{route.action}, {error}")
    if isinstance(error, Unavailable):
        log.warning("%s: database unavailable: %s", route.payloadtype, error)
        return RpcError(503, f"{route.action}, database unavailable")
    if isinstance(error, TooLarge):
        return RpcError(413, f"{route.action}, a value is too large to store: {error}")
    log.exception("%s: internal error", route.payloadtype)
    return RpcError(500, f"{route.action}, internal server error")


@dataclass(frozen=True, slots=True)
class PreparedSubscription:
    """A subscription request that passed every check up to its role."""

    dispatcher: Dispatcher
    route: Route[Any]
    caller: str
    msg: Any

    async def stream(self, sink: ReplySink) -> None:
        """Authorize and run the subscription, its replies going to ``sink`` until it ends;
        RpcError when refused, SubscriberGone when the sink's subscriber went away."""
        ctx = Context(self.dispatcher.state, self.caller, sink=sink)
        await self.dispatcher.run(ctx, self.route, self.msg)
