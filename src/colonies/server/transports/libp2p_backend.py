"""LibP2P (docs/protocol.md §12.3): a py-libp2p host (TCP, Noise, yamux) serving
``/colonies/rpc/1.0.0`` as upstream v1.9.4 did, and ``/colonies/subscribe/1.0.0``, a project
addition.

RPC: one stream per request. Upstream's Go client writes the envelope and does not half-close
(it reads to EOF), so the request ends where its JSON value ends; the reply envelope is
written and the stream closed. Subscriptions: the client writes one subscription envelope and
keeps its side open; each reply envelope the subscription pushes follows as one line, and the
server closes the stream when the subscription ends. The client closing or resetting its side
ends the subscription. Unlike GossipSub topics, which any peer may join, this stream carries
only what the signed request may see.

py-libp2p runs on trio in a thread of its own (colonies.p2p.host); each stream's handler runs
there and awaits the dispatcher on the asyncio loop without blocking either. py-libp2p is
imported only when this backend starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from colonies.config import ServerConfig
from colonies.core import ServerBackend
from colonies.p2p import RPC_PROTOCOL, SUBSCRIBE_PROTOCOL
from colonies.rpc import RpcError
from colonies.rpc.envelope import encode_error
from colonies.server.context import SubscriberGone
from colonies.server.dispatch import Dispatcher
from colonies.server.transports import TransportStartError, too_large

if TYPE_CHECKING:
    from colonies.p2p.host import P2PHost

BACKEND = "libp2p"  # the transport's name in the metrics
#: Go's LibP2P client waits 90 s for a stream's reply: a long poll answers within 80 s.
MAX_WAIT = 80.0
#: A request's envelope must have arrived within this many seconds of the stream's opening.
READ_TIMEOUT = 30.0
#: Connections a replica keeps at most (clients behind NAT each hold one).
MAX_CONNECTIONS = 4096

log = logging.getLogger(__name__)


class Libp2pBackend:
    def __init__(self, config: ServerConfig, dispatcher: Dispatcher) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.max_body = config.max_body
        self.host: P2PHost | None = None
        self.in_flight = 0
        self.closing = False
        self.drained: Any = None  # a trio.Event once stopping
        self.subscriptions: set[asyncio.Task[None]] = set()  # on the asyncio loop

    async def start(self) -> None:
        from colonies.p2p.host import P2PHost  # about 3 s: only when this backend is used

        config = self.config
        ip = "ip6" if ":" in config.bind else "ip4"
        listen = f"/{ip}/{config.bind}/tcp/{config.libp2p_port}"
        host = P2PHost(
            identity=config.libp2p_identity,
            listen=[listen],
            handlers={RPC_PROTOCOL: self._rpc, SUBSCRIBE_PROTOCOL: self._subscribe},
            announce=config.libp2p_announce_addrs,
            max_connections=MAX_CONNECTIONS,
        )
        try:
            await host.start()
        except Exception as exc:  # py-libp2p's own errors for a port in use, a bad address
            raise TransportStartError(f"LibP2P: cannot listen on {listen}: {exc}") from None
        self.host = host
        for addr in host.addrs:
            log.info("LibP2P serving on %s", addr)

    async def stop(self, grace: float) -> None:
        host = self.host
        if host is None:
            return
        self.closing = True
        for task in self.subscriptions:  # each sends a last 503 error envelope
            task.cancel()
        if self.subscriptions:
            await asyncio.wait(self.subscriptions, timeout=grace)
        await host.run(self._drain, grace)
        await host.stop()
        self.host = None

    def info(self) -> ServerBackend:
        host = self.host
        return ServerBackend(
            type=BACKEND,
            port=self.config.libp2p_port,
            multiaddrs=list(host.addrs) if host is not None else [],
        )

    # --- on the trio thread ---------------------------------------------------------------
    async def _drain(self, grace: float) -> None:
        import trio

        self.drained = trio.Event()
        if self.in_flight == 0:
            return
        with trio.move_on_after(grace):
            await self.drained.wait()

    async def _read_request(self, stream: Any) -> bytes | None:
        """The request envelope; None for one past the body limit. A request that has not
        arrived within READ_TIMEOUT resets the stream (trio.TooSlowError)."""
        import trio

        from colonies.p2p.host import TooLarge, read_json_value

        try:
            with trio.fail_after(READ_TIMEOUT):
                return await read_json_value(stream, self.max_body)
        except TooLarge:
            return None
        except trio.TooSlowError:
            await stream.reset()
            raise

    def _too_large(self) -> bytes:
        return too_large(self.max_body)

    async def _rpc(self, stream: Any) -> None:
        import trio

        from colonies.p2p.host import StreamError

        assert self.host is not None
        host = self.host
        self.in_flight += 1
        try:
            request = await self._read_request(stream)
            if request is None:
                reply = self._too_large()
            elif self.closing:
                reply = encode_error(503, "Server shutting down")
            else:
                _, reply = await host.call_asyncio(
                    self.dispatcher.handle(request, BACKEND, MAX_WAIT)
                )
            await stream.write(reply)
            await stream.close()
        except (StreamError, trio.TooSlowError) as exc:
            log.debug("libp2p stream failed: %r", exc)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0 and self.drained is not None:
                self.drained.set()

    async def _subscribe(self, stream: Any) -> None:
        import trio

        from colonies.p2p.host import StreamError

        assert self.host is not None
        host = self.host
        try:
            request = await self._read_request(stream)
            sink = _StreamSink(host, stream)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_cancel_when_closed, stream, nursery.cancel_scope)
                await host.call_asyncio(self._serve_subscription(request, sink))
                nursery.cancel_scope.cancel()
            await stream.close()
        except (StreamError, trio.TooSlowError) as exc:
            log.debug("libp2p subscription stream failed: %r", exc)

    async def _serve_subscription(self, request: bytes | None, sink: _StreamSink) -> None:
        """On the asyncio loop: run the subscription, its replies going to ``sink``."""
        task = asyncio.current_task()
        assert task is not None
        self.subscriptions.add(task)
        try:
            if request is None:
                await sink.send(self._too_large())
                return
            prepared = await self.dispatcher.subscription(request)
            if prepared is None:
                raise RpcError(400, f"{SUBSCRIBE_PROTOCOL} takes a subscription request")
            await prepared.stream(sink)
        except RpcError as exc:
            with contextlib.suppress(SubscriberGone):
                await sink.send(encode_error(exc.status, exc.message))
        except SubscriberGone:
            pass
        except asyncio.CancelledError:
            if not self.closing:  # the subscriber went away
                raise
            with contextlib.suppress(SubscriberGone):
                await sink.send(encode_error(503, "Server shutting down"))
        finally:
            self.subscriptions.discard(task)


class _StreamSink:
    """A subscription's replies as lines of one libp2p stream (sent from asyncio)."""

    def __init__(self, host: P2PHost, stream: Any) -> None:
        self.host = host
        self.stream = stream

    async def send(self, reply: bytes) -> None:
        from colonies.p2p.host import StreamError

        try:
            await self.host.run(self.stream.write, reply + b"\n")
        except (StreamError, ConnectionError):
            raise SubscriberGone from None


async def _cancel_when_closed(stream: Any, scope: Any) -> None:
    """Read until the subscriber closes or resets its side, then end the subscription."""
    from colonies.p2p.host import StreamError

    try:
        while await stream.read(1024):
            pass
    except StreamError:
        pass
    scope.cancel()
