"""LibP2P (docs/protocol.md §12.3, §12.5): requests on ``/colonies/rpc/1.0.0`` streams,
subscriptions on ``/colonies/subscribe/1.0.0``, over a py-libp2p host (TCP, Noise, yamux) that
runs on trio in a thread of its own (colonies.p2p.host).

Unlike upstream's Go client given a multiaddr, this one connects before its first request: the
first of ``peers`` that accepts a connection is the server (a server's own multiaddr, or
bootstrap peers of which one serves the protocol). py-libp2p is imported on first use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING, Any

from colonies.client._errors import ConnectError, ConnectionLost, Timeout
from colonies.client._transport import Transport
from colonies.p2p import RPC_PROTOCOL, SUBSCRIBE_PROTOCOL

if TYPE_CHECKING:
    from colonies.p2p.host import P2PHost

#: What the SDK accepts in one reply.
MAX_REPLY = 256 * 1024 * 1024
#: Seconds to connect to one peer (Go's client allows 60).
CONNECT_TIMEOUT = 30.0


class Libp2pTransport(Transport):
    def __init__(self, peers: Sequence[str], *, identity: str = "") -> None:
        if not peers:
            raise ValueError("LibP2P needs the server's multiaddr (or bootstrap peers)")
        for peer in peers:
            if "/p2p/" not in peer:
                raise ValueError(f"not a full multiaddr (no /p2p/<peer ID>): {peer}")
        self.peers = list(peers)
        self.identity = identity
        self.host: P2PHost | None = None
        self.server: Any = None  # the connected peer's ID
        self._connecting = asyncio.Lock()

    def __repr__(self) -> str:
        return f"libp2p {self.peers[0]}" + (" …" if len(self.peers) > 1 else "")

    async def _connected(self) -> tuple[P2PHost, Any]:
        """The host and the server's peer ID, connecting first if need be."""
        async with self._connecting:
            if self.host is None:
                from colonies.p2p.host import P2PHost  # about 3 s, on first use only

                host = P2PHost(identity=self.identity)
                await host.start()
                self.host = host
            if self.server is None:
                self.server = await self.host.run(self._connect)
            return self.host, self.server

    async def _connect(self) -> Any:  # on the trio thread
        import multiaddr
        import trio
        from libp2p.peer.peerinfo import info_from_p2p_addr

        assert self.host is not None and self.host.host is not None
        failures = []
        for address in self.peers:
            peer = info_from_p2p_addr(multiaddr.Multiaddr(address))
            try:
                with trio.fail_after(CONNECT_TIMEOUT):
                    await self.host.host.connect(peer)
            except (Exception, trio.TooSlowError) as exc:
                failures.append(f"{address}: {type(exc).__name__}: {exc}")
                continue
            return peer.peer_id
        raise ConnectError("cannot connect to " + "; ".join(failures))

    async def _open(self, protocol: str) -> Any:
        """A new stream to the server (ConnectError when none opens: nothing was sent); one
        reconnection when the connection went away in between."""
        from libp2p.custom_types import TProtocol
        from libp2p.exceptions import BaseLibp2pError

        for attempt in range(2):
            host, server = await self._connected()
            assert host.host is not None
            try:
                return await host.run(host.host.new_stream, server, [TProtocol(protocol)])
            except (BaseLibp2pError, OSError) as exc:
                if attempt:
                    raise ConnectError(f"cannot open a stream to {self!r}: {exc}") from None
                # Connect again. py-libp2p's connect() does not dial while a closed connection
                # to the peer is still listed ("No valid connections available"): drop it first.
                with contextlib.suppress(BaseLibp2pError, OSError):
                    await host.run(host.host.disconnect, server)
                self.server = None
        raise AssertionError("unreachable")  # pragma: no cover

    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        from colonies.p2p.host import StreamError, TooLarge, read_to_eof

        stream = await self._open(RPC_PROTOCOL)
        host = self.host
        assert host is not None

        async def exchange() -> bytes:  # as upstream's client: no half-close, read to EOF
            await stream.write(envelope)
            reply = await read_to_eof(stream, MAX_REPLY)
            with contextlib.suppress(StreamError):
                await stream.close()
            return reply

        try:
            reply = await asyncio.wait_for(host.run(exchange), timeout)
        except asyncio.TimeoutError:
            raise Timeout(f"no reply from {self!r} in time") from None
        except (StreamError, TooLarge, ConnectionError) as exc:
            raise ConnectionLost(f"stream to {self!r} failed: {exc!r}") from None
        if not reply:
            raise ConnectionLost(f"{self!r} closed the stream without a reply")
        return 200, reply

    async def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        from colonies.p2p.host import StreamError

        stream = await self._open(SUBSCRIBE_PROTOCOL)
        host = self.host
        assert host is not None
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def pump() -> None:  # on the trio thread: lines to the asyncio queue
            buffer = b""
            try:
                await stream.write(envelope)  # and keep our side open: closing it unsubscribes
                while True:
                    try:
                        chunk = await stream.read(65536)
                    except StreamError:
                        break
                    if not chunk:
                        break
                    buffer += chunk
                    *complete, buffer = buffer.split(b"\n")
                    for line in complete:
                        loop.call_soon_threadsafe(lines.put_nowait, line)
            finally:
                loop.call_soon_threadsafe(lines.put_nowait, None)
                with contextlib.suppress(StreamError):
                    await stream.reset()

        pumping = asyncio.ensure_future(host.run(pump))
        try:
            while (line := await lines.get()) is not None:
                yield line
        finally:
            pumping.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pumping

    async def health(self, timeout: float) -> bool:
        """The server answers an unsigned ``versionmsg`` (LibP2P has no health call)."""
        from colonies.rpc import decode_reply, sign_request

        _, reply = await self.request(sign_request("versionmsg", {}, None), timeout)
        return bool(decode_reply(200, reply))

    async def close(self) -> None:
        if self.host is not None:
            await self.host.stop()
        self.host = None
        self.server = None
