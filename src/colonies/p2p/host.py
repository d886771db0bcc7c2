"""A py-libp2p host (TCP, Noise, yamux) on trio, in a thread of its own, driven from asyncio.

py-libp2p runs on trio; the server and the SDK run on asyncio. Neither loop ever blocks on the
other (docs/protocol.md §12.3):

- asyncio → trio: :meth:`P2PHost.run` hands a trio function to the host's nursery through the
  trio token and awaits an asyncio future that the trio side settles with
  ``call_soon_threadsafe``; cancelling the awaiting asyncio task cancels the trio task.
- trio → asyncio: :meth:`P2PHost.call_asyncio` schedules a coroutine on the asyncio loop with
  ``run_coroutine_threadsafe``; its done-callback sets a ``trio.Event`` through the trio token,
  so the trio task sleeps and no thread is parked per request.

Security is Noise only (go-libp2p offers TLS first, then Noise, and settles on Noise) and the
muxer yamux (the only one go-libp2p offers). Importing this module imports py-libp2p (about
3 s): only the LibP2P transports do, and only when they are used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

import multiaddr
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetStream
from libp2p.crypto.ed25519 import Ed25519PrivateKey
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.config import ConnectionConfig
from libp2p.network.stream.exceptions import StreamError
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from libp2p.utils.address_validation import expand_wildcard_address

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

from colonies.p2p import JsonValueEnd, identity_seed, new_identity, peer_id

__all__ = [
    "P2PHost",
    "StreamError",
    "StreamHandler",
    "TooLarge",
    "read_json_value",
    "read_to_eof",
]

T = TypeVar("T")
#: A protocol's stream handler: a trio coroutine function taking the stream.
StreamHandler = Callable[[INetStream], Awaitable[None]]
AddrsFactory = Callable[[list[multiaddr.Multiaddr]], list[multiaddr.Multiaddr]]

log = logging.getLogger(__name__)
READ_CHUNK = 64 * 1024


class TooLarge(Exception):
    """A request grew past its limit before its JSON value ended."""


def key_pair(identity: str) -> KeyPair:
    """The host's key pair from upstream's identity format (checked by colonies.p2p)."""
    private = Ed25519PrivateKey.from_bytes(identity_seed(identity))
    return KeyPair(private, private.get_public_key())


def dialable(addrs: list[multiaddr.Multiaddr]) -> list[multiaddr.Multiaddr]:
    """Listening addresses as a peer can dial them: a wildcard (0.0.0.0, ::) becomes each of
    this machine's interface addresses, since a client caches what identify reports."""
    expanded: list[multiaddr.Multiaddr] = []
    for addr in addrs:
        text = str(addr)
        if text.startswith(("/ip4/0.0.0.0/", "/ip6/::/")):
            expanded.extend(expand_wildcard_address(addr))
        else:
            expanded.append(addr)
    return expanded


async def read_json_value(stream: INetStream, limit: int) -> bytes:
    """The bytes of the first complete JSON value on ``stream`` (what arrived, if the stream
    ended first); TooLarge past ``limit`` bytes."""
    scanner = JsonValueEnd()
    buffer = bytearray()
    while True:
        try:
            chunk = await stream.read(READ_CHUNK)
        except StreamError:  # EOF or reset: whatever arrived is the request
            return bytes(buffer)
        if not chunk:
            return bytes(buffer)
        end = scanner.feed(chunk)
        if end is not None:
            buffer += chunk[:end]
            if len(buffer) > limit:
                raise TooLarge
            return bytes(buffer)
        buffer += chunk
        if len(buffer) > limit:
            raise TooLarge


async def read_to_eof(stream: INetStream, limit: int) -> bytes:
    """Everything until the other side closes; TooLarge past ``limit`` bytes."""
    buffer = bytearray()
    while True:
        try:
            chunk = await stream.read(READ_CHUNK)
        except StreamError:
            break
        if not chunk:
            break
        buffer += chunk
        if len(buffer) > limit:
            raise TooLarge
    return bytes(buffer)


class P2PHost:
    """One libp2p host. ``start``, ``stop`` and ``run`` are called from asyncio; the handlers
    and the functions given to ``run`` execute on the host's trio thread."""

    def __init__(
        self,
        *,
        identity: str = "",
        listen: Sequence[str] = (),
        handlers: Mapping[str, StreamHandler] | None = None,
        announce: Sequence[str] = (),
        max_connections: int = 300,
    ) -> None:
        self.identity = identity or new_identity()
        self._max_connections = max_connections
        self._key_pair = key_pair(self.identity)
        self._listen = [multiaddr.Multiaddr(a) for a in listen]
        self._handlers = dict(handlers or {})
        self._announce = [multiaddr.Multiaddr(a) for a in announce]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._cancel: trio.CancelScope | None = None
        self._nursery: trio.Nursery | None = None
        self._stopped: asyncio.Future[None] | None = None
        self.host: IHost | None = None
        #: The host's own addresses with /p2p/<peer ID>, as identify announces them.
        self.addrs: list[str] = []

    @property
    def peer_id(self) -> str:
        return peer_id(self.identity)

    # --- asyncio side ---------------------------------------------------------------------
    async def start(self) -> None:
        """Start the trio thread; return once the host listens (raises what kept it from it)."""
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._stopped = self._loop.create_future()
        thread = threading.Thread(
            target=self._run_trio, args=(ready,), name="libp2p-trio", daemon=True
        )
        thread.start()
        await ready

    async def stop(self) -> None:
        """Close every connection and end the trio thread."""
        if self._stopped is None:
            return
        if self._token is not None and self._cancel is not None:
            with contextlib.suppress(trio.RunFinishedError):
                self._token.run_sync_soon(self._cancel.cancel)
        await self._stopped

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run the trio function ``fn(*args)`` in the host's nursery and await its result."""
        assert self._loop is not None
        token, nursery = self._token, self._nursery
        if token is None or nursery is None:
            raise ConnectionError("the libp2p host is not running")
        loop = self._loop
        result: asyncio.Future[T] = loop.create_future()
        scope = trio.CancelScope()

        async def call() -> None:
            with scope:
                try:
                    value = await fn(*args)
                except BaseException as exc:
                    if isinstance(exc, trio.Cancelled):
                        loop.call_soon_threadsafe(_cancel_future, result)
                        raise
                    loop.call_soon_threadsafe(_settle, result, None, exc)
                    return
                loop.call_soon_threadsafe(_settle, result, value, None)
            if scope.cancelled_caught:
                loop.call_soon_threadsafe(_cancel_future, result)

        try:
            token.run_sync_soon(nursery.start_soon, call)
        except trio.RunFinishedError:
            raise ConnectionError("the libp2p host has stopped") from None
        try:
            return await result
        except asyncio.CancelledError:
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(scope.cancel)
            raise

    # --- trio side ------------------------------------------------------------------------
    async def call_asyncio(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await ``coro`` on the asyncio loop from a trio task (which sleeps meanwhile)."""
        assert self._loop is not None and self._token is not None
        token = self._token
        done = trio.Event()
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        future.add_done_callback(lambda _: _run_sync_soon(token, done.set))
        try:
            await done.wait()
        except trio.Cancelled:
            future.cancel()
            raise
        return future.result()

    def _run_trio(self, ready: asyncio.Future[None]) -> None:
        assert self._loop is not None and self._stopped is not None
        loop = self._loop
        try:
            trio.run(self._main, ready)
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, ready, None, _unwrap(exc))
        finally:
            loop.call_soon_threadsafe(_settle, self._stopped, None, None)

    async def _main(self, ready: asyncio.Future[None]) -> None:
        assert self._loop is not None
        self._token = trio.lowlevel.current_trio_token()
        announce = self._announce

        def addrs_factory(candidates: list[multiaddr.Multiaddr]) -> list[multiaddr.Multiaddr]:
            return list(announce) if announce else dialable(candidates)

        self.host = host = new_host(
            key_pair=self._key_pair,
            sec_opt={
                NOISE_PROTOCOL_ID: NoiseTransport(
                    self._key_pair, noise_privkey=new_x25519_key_pair().private_key
                )
            },
            muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
            addrs_factory=addrs_factory,
            # No dialling of known peers to keep a minimum (py-libp2p's default aims at 50,
            # and a server would dial its clients back), no pruning below the limit.
            connection_config=ConnectionConfig(
                max_connections=self._max_connections,
                high_watermark=self._max_connections,
                low_watermark=0,
                min_connections=0,
            ),
        )
        for protocol, handler in self._handlers.items():
            host.set_stream_handler(TProtocol(protocol), handler)
        with trio.CancelScope() as self._cancel:
            async with host.run(self._listen), trio.open_nursery() as nursery:
                if self._listen and not host.get_transport_addrs():
                    # py-libp2p logs a listener that failed and carries on without it
                    raise OSError(f"cannot listen on {', '.join(map(str, self._listen))}")
                self._nursery = nursery
                self.addrs = [str(a) for a in host.get_addrs()]
                self._loop.call_soon_threadsafe(_settle, ready, None, None)
                await trio.sleep_forever()


def _run_sync_soon(token: trio.lowlevel.TrioToken, fn: Callable[[], Any]) -> None:
    with contextlib.suppress(trio.RunFinishedError):
        token.run_sync_soon(fn)


def _settle(future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)


def _cancel_future(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.cancel()


def _unwrap(exc: BaseException) -> BaseException:
    """The one real error inside trio's exception groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
