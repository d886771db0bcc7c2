"""CoAP over UDP (docs/protocol.md §12.2), with aiocoap.

``POST /api``: the body is a request envelope; the answer is always 2.05 Content with
content-format 50 (application/json) carrying the reply or error envelope, as upstream v1.9.4
answered (its Go client takes any other code as a failure and could not show the message).
``GET /health``: 2.05 ``healthy``. aiocoap reassembles Block1 requests and splits large
replies into Block2 blocks by itself; a request announced (Size1) or grown past the body limit
is refused with a 413 error envelope at once, before more blocks are spooled.

``FETCH /pubsub`` with Observe 0 is this project's addition: the body is a subscription
envelope, each notification a reply envelope the subscription pushes, and a final 2.05 without
Observe (empty, or an error envelope) ends it. Cancelling the observation ends the
subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from typing import Any

import aiocoap
from aiocoap import resource
from aiocoap.numbers.codes import Code
from aiocoap.numbers.contentformat import ContentFormat
from aiocoap.pipe import Pipe
from aiocoap.util.asyncio.timeoutdict import TimeoutDict

from colonies.config import ServerConfig
from colonies.core import ServerBackend
from colonies.rpc import RpcError
from colonies.rpc.envelope import encode_error
from colonies.server.dispatch import Dispatcher
from colonies.server.transports import TransportStartError, too_large

BACKEND = "coap"  # the transport's name in the metrics
#: Go's CoAP client gives up on an exchange after 30 s: a long poll answers within 25 s.
MAX_WAIT = 25.0
_ONE_BLOCK = 1024  # the block size of Go's client and aiocoap
_BLOCK_EXPONENT = 6  # SZX of 1,024-byte blocks
_EXCHANGE_LIFETIME = 247.0  # RFC 7252 section 4.8.2, seconds
_FETCH_WAIT = 5.0  # seconds the next notification waits for a large one's blocks to be fetched

log = logging.getLogger(__name__)


def _reply(payload: bytes, observe: int | None = None) -> aiocoap.Message:
    message = aiocoap.Message(code=Code.CONTENT, payload=payload, content_format=ContentFormat.JSON)
    if observe is not None:
        message.opt.observe = observe
    elif len(payload) > _ONE_BLOCK:
        # Block2 blocks are fetched by requests that only name the resource: two exchanges of
        # one client endpoint at once would get each other's blocks (RFC 7959 section 2.4 asks for
        # an endpoint per exchange, as Go's client does). The ETag makes a mix-up an error in
        # the client instead of a corrupted reply.
        message.opt.etag = hashlib.blake2b(payload, digest_size=8).digest()
    return message


class _Api(resource.Resource):
    def __init__(self, dispatcher: Dispatcher) -> None:
        super().__init__()
        self.dispatcher = dispatcher
        self.max_body = dispatcher.state.config.max_body
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()
        self.closing = False  # new requests are refused while those in flight finish

    async def render_to_pipe(self, pipe: Pipe) -> None:
        block1 = pipe.request.opt.block1
        if block1 is not None:
            announced = pipe.request.opt.size1 or 0
            received = block1.start + len(pipe.request.payload)
            if max(announced, received) > self.max_body:
                pipe.add_response(self._too_large(), is_last=True)
                return
        await super().render_to_pipe(pipe)

    def _too_large(self) -> aiocoap.Message:
        return _reply(too_large(self.max_body))

    async def render_post(self, request: aiocoap.Message) -> aiocoap.Message:
        if len(request.payload) > self.max_body:  # one oversized datagram
            return self._too_large()
        if self.closing:
            return _reply(encode_error(503, "Server shutting down"))
        self.in_flight += 1
        self.idle.clear()
        try:
            _, reply = await self.dispatcher.handle(request.payload, BACKEND, MAX_WAIT)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.idle.set()
        return _reply(reply)


class _Health(resource.Resource):
    def __init__(self, dispatcher: Dispatcher) -> None:
        super().__init__()
        self.dispatcher = dispatcher

    async def render_get(self, request: aiocoap.Message) -> aiocoap.Message:
        if self.dispatcher.state.draining:
            return aiocoap.Message(code=Code.SERVICE_UNAVAILABLE, payload=b"shutting down")
        return aiocoap.Message(
            code=Code.CONTENT, payload=b"healthy", content_format=ContentFormat.TEXT
        )


def _block(whole: bytes, number: int, size_exponent: int, observe: int | None) -> aiocoap.Message:
    """Block ``number`` of a notification too large for one datagram (RFC 7959 section 2.6: the
    first block is the notification, the observer fetches the rest)."""
    size = 2 ** (size_exponent + 4)
    start = number * size
    end = min(start + size, len(whole))
    message = aiocoap.Message(
        code=Code.CONTENT, payload=whole[start:end], content_format=ContentFormat.JSON
    )
    message.opt.block2 = (number, end < len(whole), size_exponent)
    message.opt.etag = hashlib.blake2b(whole, digest_size=8).digest()
    if observe is not None:
        message.opt.observe = observe
    return message


class _Large:
    """A notification too large for one datagram, kept for the observer's block requests;
    ``fetched`` is set once its last block has been asked for."""

    __slots__ = ("fetched", "whole")

    def __init__(self, whole: bytes) -> None:
        self.whole = whole
        self.fetched = asyncio.Event()


class _ObserveSink:
    """A subscription's replies as notifications of one observation; one too large for a
    datagram is sent as its first block and kept for the observer's block requests.

    The next notification waits (up to :data:`_FETCH_WAIT`) until the observer has fetched
    the last block of a large one: it would replace the one being fetched, and the observer,
    finding another ETag on the next block, would lose it (aiocoap's ResourceChanged)."""

    def __init__(self, pipe: Pipe, pending: TimeoutDict[Any, _Large], key: Any) -> None:
        self.pipe = pipe
        self.pending = pending
        self.key = key
        self.sequence = 0
        self.fetching: _Large | None = None

    async def send(self, reply: bytes) -> None:
        if self.fetching is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.fetching.fetched.wait(), _FETCH_WAIT)
            self.fetching = None
        if len(reply) > _ONE_BLOCK:
            self.fetching = self.pending[self.key] = _Large(reply)
            notification = _block(reply, 0, _BLOCK_EXPONENT, self.sequence)
        else:
            notification = _reply(reply, observe=self.sequence)
        self.pipe.add_response(notification, is_last=False)
        self.sequence += 1


class _PubSub(resource.Resource):
    """``FETCH /pubsub`` observed: a subscription (a project addition). A FETCH with Block2
    above 0 asks for more of the observer's latest large notification."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        super().__init__()
        self.dispatcher = dispatcher
        # The latest notification too large for one datagram, by observer endpoint (an
        # endpoint observes one subscription at a time, as it runs one exchange at a time),
        # kept for the CoAP exchange lifetime: its blocks may be asked for after the end.
        self.pending: TimeoutDict[Any, _Large] = TimeoutDict(_EXCHANGE_LIFETIME)
        # The subscriptions running, each with its observation: ended when the replica stops.
        self.running: dict[asyncio.Task[Any], Pipe] = {}

    def end_all(self) -> None:
        """Stop every subscription, telling each observer with a last 503 error envelope (an
        observer is not told when the server just goes away)."""
        final = _reply(encode_error(503, "Server shutting down"))
        for task, pipe in list(self.running.items()):
            task.cancel()
            pipe.add_response(final, is_last=True)
        self.running.clear()

    async def render_to_pipe(self, pipe: Pipe) -> None:
        request = pipe.request
        key = request.remote.blockwise_key
        block2 = request.opt.block2
        if block2 is not None and block2.block_number > 0:
            try:
                large: _Large | None = self.pending[key]
            except KeyError:
                large = None
            whole = b"" if large is None else large.whole
            if block2.start >= len(whole):
                pipe.add_response(
                    aiocoap.Message(code=Code.REQUEST_ENTITY_INCOMPLETE), is_last=True
                )
                return
            pipe.add_response(
                _block(whole, block2.block_number, block2.size_exponent, None), is_last=True
            )
            if large is not None and block2.start + block2.size >= len(whole):
                large.fetched.set()
            return
        final = b""
        task = asyncio.current_task()
        assert task is not None
        self.running[task] = pipe
        try:
            if request.code != Code.FETCH or request.opt.observe != 0:
                raise RpcError(400, "Subscriptions over CoAP are FETCH /pubsub with Observe 0")
            prepared = await self.dispatcher.subscription(request.payload)
            if prepared is None:
                raise RpcError(400, "FETCH /pubsub takes a subscription request")
            await prepared.stream(_ObserveSink(pipe, self.pending, key))
        except RpcError as exc:
            final = encode_error(exc.status, exc.message)
        finally:
            # Cancelled when the observer deregisters (nothing more to send) or by end_all.
            self.running.pop(task, None)
        pipe.add_response(_reply(final), is_last=True)


class CoapBackend:
    def __init__(self, config: ServerConfig, dispatcher: Dispatcher) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.context: aiocoap.Context | None = None
        self.api = _Api(dispatcher)
        self.pubsub = _PubSub(dispatcher)

    async def start(self) -> None:
        # aiocoap logs every intermediate Block1 block at INFO ("ContinueException").
        logging.getLogger("coap-server").setLevel(logging.WARNING)
        logging.getLogger("coap").setLevel(logging.WARNING)
        site = resource.Site()
        site.add_resource(["api"], self.api)
        site.add_resource(["health"], _Health(self.dispatcher))
        site.add_resource(["pubsub"], self.pubsub)
        bind = (self.config.bind, self.config.coap_port)
        try:
            self.context = await aiocoap.Context.create_server_context(
                site, bind=bind, transports=["udp6"]
            )
        except OSError as exc:
            raise TransportStartError(
                f"CoAP: cannot listen on {bind[0]}:{bind[1]} (UDP): {exc}"
            ) from None
        log.info("CoAP serving on %s:%d (UDP)", *bind)

    async def stop(self, grace: float) -> None:
        self.api.closing = True
        self.pubsub.end_all()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.api.idle.wait(), grace)
        if self.context is not None:
            await self.context.shutdown()
            self.context = None

    def info(self) -> ServerBackend:
        return ServerBackend(type=BACKEND, port=self.config.coap_port)
