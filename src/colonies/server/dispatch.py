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
route by payloadtype (server/routes.py); decode the payload within the request limits
(core/limits.py; a large payload only for a key the server knows); freshness and the nonce
(server/replay.py); scope and role (server/scopes.py, server/auth.py); the handler. Store
errors become error replies here, and nowhere else; so does anything unexpected (a 500
envelope), so that a transport only ever sends envelopes.

A subscription's role is checked again whenever who-is-what changes in any colony (the
access cache is cleared) and every :data:`ACCESS_RECHECK_SECONDS`: a subscriber that lost its
access (removed, rejected, its colony gone) is sent the refusal and the subscription ends.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from colonies.server.registry import Registry, Role, Route, Target
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

# A payload longer than this (base64 characters) is decoded only for a key the server knows
# (decoding a large payload costs more than the look-up, a small one less), and is refused for a
# message that needs no signature (versionmsg's payload is tiny).
LARGE_PAYLOAD = 64 * 1024
# Seconds between a subscription's re-checks of its role when no change was heard.
ACCESS_RECHECK_SECONDS = 30.0


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
        except Exception:  # a bug: still an envelope, and one log entry
            log.exception("%s: internal error", label)
            status, reply = 500, encode_error(500, "internal server error")
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
        try:
            envelope = decode_request(body)
            route = self.routes.get(envelope.payloadtype)
            caller = self.authenticate(envelope)
            if route is None or not route.subscription:
                return None
            if len(envelope.payload) > LARGE_PAYLOAD:
                await self._admit_large(route, caller)
            msg = decode_payload(envelope, route.msg_type, route.action)
            await self.replay.use(self.replay.nonce(caller, msg))
        except RpcError:
            raise
        except Exception:
            log.exception("subscription: internal error")
            raise RpcError(500, "internal server error") from None
        return PreparedSubscription(self, route, caller, msg)

    def authenticate(self, envelope: RequestEnvelope) -> str:
        try:
            return recover_caller_id(envelope.signature, envelope.payload.encode("utf-8"))
        except SignatureError as exc:
            raise RpcError(403, str(exc)) from None

    async def _admit_large(self, route: Route[Any], caller: str) -> None:
        """A payload above :data:`LARGE_PAYLOAD` is decoded only for a caller the server knows:
        anyone can sign, but only the server's keys may make it parse megabytes."""
        if route.role is Role.NONE:
            raise RpcError(413, f"{route.action}, payload too large for an unsigned message")
        try:
            known = await self.state.store.server.is_known_key(caller)
        except Exception as exc:
            if isinstance(store_error(exc), Unavailable):
                raise RpcError(503, "database unavailable") from None
            raise
        if not known:
            raise RpcError(403, "Access denied, the signing key is not known to this server")

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
            if len(envelope.payload) > LARGE_PAYLOAD:
                await self._admit_large(route, caller)
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
        """Authorize and run a route's handler, turning store failures into error replies.
        (The steps of :meth:`authorized` and :meth:`run_authorized`, in one coroutine: this
        is every RPC's path.)"""
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

    async def authorized(self, ctx: Context, route: Route[Any], msg: Any) -> Target | None:
        """The request's target, once its caller has the route's role there (a subscription
        keeps it to check the role again)."""
        try:
            target = await route.scope(ctx, msg) if route.scope is not None else None
            await authorize(ctx, route.role, target)
        except RpcError:
            raise
        except Exception as exc:
            raise _error_reply(route, exc) from None
        ctx.target = target.obj if target is not None else None
        return target

    async def run_authorized(
        self, ctx: Context, route: Route[Any], msg: Any, nonce: Nonce | None = None
    ) -> Any:
        try:
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
    if isinstance(error, Conflict):  # the store's own words
        return RpcError(400, f"{route.action}, {error}")
    # The database's own words stay in the log: they describe its internals.
    if isinstance(error, InvalidInput):
        log.debug("%s: refused by the database: %s", route.payloadtype, error)
        return RpcError(
            400, f"{route.action}, a value cannot be stored (malformed or out of range)"
        )
    if isinstance(error, Unavailable):
        log.warning("%s: database unavailable: %s", route.payloadtype, error)
        return RpcError(503, f"{route.action}, database unavailable")
    if isinstance(error, TooLarge):
        log.debug("%s: refused by the database: %s", route.payloadtype, error)
        return RpcError(413, f"{route.action}, a value is too large to store")
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
        RpcError when refused (also later, once the caller lost its role), SubscriberGone
        when the sink's subscriber went away."""
        dispatcher, route = self.dispatcher, self.route
        ctx = Context(dispatcher.state, self.caller, sink=sink)
        try:
            checked = dispatcher.state.access_cache.generation  # read before the check it covers
            target = await dispatcher.authorized(ctx, route, self.msg)
            running = asyncio.ensure_future(dispatcher.run_authorized(ctx, route, self.msg))
            try:
                await self._while_authorized(ctx, target, running, checked)
            finally:
                if not running.done():
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await running
        except (RpcError, SubscriberGone):
            raise
        except Exception:
            log.exception("%s: internal error", route.payloadtype)
            raise RpcError(500, f"{route.action}, internal server error") from None

    async def _while_authorized(
        self, ctx: Context, target: Target | None, running: asyncio.Future[Any], checked: int
    ) -> None:
        """Wait for ``running`` to end; meanwhile check the caller's role again after every
        change of access since the access cache's generation ``checked`` (and now and then):
        RpcError once it is lost."""
        cache = self.dispatcher.state.access_cache
        while True:
            changed = asyncio.ensure_future(cache.changed_since(checked))
            try:
                await asyncio.wait(
                    (running, changed),
                    timeout=ACCESS_RECHECK_SECONDS,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                changed.cancel()
            if running.done():
                running.result()  # its RpcError or SubscriberGone, if any
                return
            checked = cache.generation
            try:
                await authorize(ctx, self.route.role, target)
            except RpcError:
                raise
            except Exception as exc:  # cannot tell now (the database is away): keep going
                log.debug("%s: access not re-checked: %s", self.route.payloadtype, exc)
