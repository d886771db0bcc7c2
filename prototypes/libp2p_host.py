"""Prototype (not packaged): a py-libp2p host that upstream v1.9.4's Go client can talk to.

It answers `/colonies/rpc/1.0.0` streams with whatever an asyncio handler returns for the
envelope bytes, the way the server's LibP2P transport will once the request pipeline lands.

* py-libp2p runs on trio, in its own thread with its own `trio.run`; the asyncio loop stays
  free. A request crosses over with `asyncio.run_coroutine_threadsafe`, and the reply comes
  back through the trio token (`run_sync_soon`), so neither loop ever blocks on the other.
* Security is Noise only and the muxer yamux only: go-libp2p 0.43 offers TLS first and then
  Noise, so it settles on Noise; py-libp2p's TLS works with Go too but is slower and young.
* The identity is upstream's format: hex of libp2p's marshalled private key
  (`08 01 12 40 || seed || public key` for Ed25519).

Run: python prototypes/libp2p_host.py --port 47600 [--identity HEX] [--echo]
Without --echo it answers every request with a canned `getserverinfomsg` reply.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import canned
import multiaddr
import trio
from libp2p import new_host
from libp2p.crypto.ed25519 import Ed25519PrivateKey
from libp2p.crypto.keys import KeyPair
from libp2p.crypto.x25519 import create_new_key_pair as new_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamError
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux

RPC_PROTOCOL = TProtocol("/colonies/rpc/1.0.0")
ED25519_PREFIX = bytes.fromhex("08011240")  # protobuf PrivateKey{Type: Ed25519, Data: 64 bytes}
READ_CHUNK = 64 * 1024
READ_TIMEOUT_S = 30.0

Handler = Callable[[bytes], Awaitable[bytes]]
log = logging.getLogger("libp2p_host")


class TooLarge(Exception):
    pass


def key_pair_from_identity(identity_hex: str | None) -> KeyPair:
    """Upstream's COLONIES_SERVER_LIBP2P_IDENTITY (Ed25519 only), or a fresh identity."""
    if not identity_hex:
        private = Ed25519PrivateKey.new()
        return KeyPair(private, private.get_public_key())
    raw = bytes.fromhex(identity_hex)
    if len(raw) != 68 or raw[:4] != ED25519_PREFIX:
        raise ValueError("identity must be hex of a marshalled Ed25519 key (08011240 + 64 bytes)")
    seed, public = raw[4:36], raw[36:]
    private = Ed25519PrivateKey.from_bytes(seed)
    if private.get_public_key().to_bytes() != public:
        raise ValueError("identity's public half does not match its seed")
    return KeyPair(private, private.get_public_key())


def identity_hex(key_pair: KeyPair) -> str:
    """The inverse: what upstream's `colonies p2p generate` prints."""
    seed = key_pair.private_key.to_bytes()
    return (ED25519_PREFIX + seed + key_pair.public_key.to_bytes()).hex()


class JsonValueEnd:
    """Finds where the first complete JSON object ends, fed chunk by chunk (O(n) overall).

    The Go client writes the envelope and keeps its side open (it reads to EOF), so the end of
    the request is the end of the JSON value, not the end of the stream.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False
        self.started = False

    def feed(self, chunk: bytes) -> int | None:
        """Index just past the value's closing brace within `chunk`, or None if not yet."""
        for i, byte in enumerate(chunk):
            if self.in_string:
                if self.escaped:
                    self.escaped = False
                elif byte == 0x5C:  # backslash
                    self.escaped = True
                elif byte == 0x22:  # quote
                    self.in_string = False
            elif byte == 0x22:
                self.in_string = True
            elif byte in (0x7B, 0x5B):  # { [
                self.depth += 1
                self.started = True
            elif byte in (0x7D, 0x5D):  # } ]
                self.depth -= 1
                if self.started and self.depth == 0:
                    return i + 1
            elif not self.started and byte not in b" \t\r\n":
                return i + 1  # not an object: let the pipeline refuse it as bad JSON
        return None


async def read_one_json_value(stream: Any, limit: int) -> bytes:
    scanner = JsonValueEnd()
    buffer = bytearray()
    with trio.fail_after(READ_TIMEOUT_S):
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
                return bytes(buffer)
            buffer += chunk
            if len(buffer) > limit:
                raise TooLarge


class Libp2pHost:
    """Owns the trio thread; start/stop and requests are driven from asyncio."""

    def __init__(
        self, handler: Handler, *, host: str, port: int, identity: str | None, limit: int
    ) -> None:
        self._handler = handler
        self._listen = multiaddr.Multiaddr(f"/ip4/{host}/tcp/{port}")
        self._key_pair = key_pair_from_identity(identity)
        self._limit = limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._cancel: trio.CancelScope | None = None
        self._thread: threading.Thread | None = None
        self.multiaddrs: list[str] = []

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = self._loop.create_future()
        self._stopped: asyncio.Future[None] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._run_trio, args=(ready,), name="libp2p-trio", daemon=True
        )
        self._thread.start()
        await ready

    async def stop(self) -> None:
        if self._token is not None and self._cancel is not None:
            self._token.run_sync_soon(self._cancel.cancel)
        await self._stopped

    # -- the trio side --------------------------------------------------------------------
    def _run_trio(self, ready: asyncio.Future[None]) -> None:
        assert self._loop is not None
        loop = self._loop
        try:
            trio.run(self._trio_main, ready)
        except BaseException as exc:
            loop.call_soon_threadsafe(_settle, ready, exc)
        finally:
            loop.call_soon_threadsafe(_settle, self._stopped, None)

    async def _trio_main(self, ready: asyncio.Future[None]) -> None:
        assert self._loop is not None
        self._token = trio.lowlevel.current_trio_token()
        host = new_host(
            key_pair=self._key_pair,
            sec_opt={
                NOISE_PROTOCOL_ID: NoiseTransport(
                    self._key_pair, noise_privkey=new_x25519_key_pair().private_key
                )
            },
            muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
        )
        host.set_stream_handler(RPC_PROTOCOL, self._on_stream)
        with trio.CancelScope() as self._cancel:
            async with host.run([self._listen]):
                peer = host.get_id().to_base58()
                self.multiaddrs = [f"{a}/p2p/{peer}" for a in host.get_transport_addrs()]
                self._loop.call_soon_threadsafe(_settle, ready, None)
                await trio.sleep_forever()

    async def _on_stream(self, stream: Any) -> None:
        try:
            try:
                request = await read_one_json_value(stream, self._limit)
            except TooLarge:
                # The real transport answers with the pipeline's error envelope.
                await stream.write(b'{"error": "message too large"}')
                return
            except trio.TooSlowError:
                await stream.reset()
                return
            reply = await self._call_asyncio(request)
            await stream.write(reply)
        except StreamError as exc:
            log.debug("stream failed: %s", exc)
        finally:
            try:
                await stream.close()
            except StreamError:
                pass

    async def _call_asyncio(self, request: bytes) -> bytes:
        """Runs the handler on the asyncio loop; this trio task sleeps, the thread does not."""
        assert self._loop is not None and self._token is not None
        token = self._token
        done = trio.Event()
        future = asyncio.run_coroutine_threadsafe(self._handler(request), self._loop)
        future.add_done_callback(lambda _: token.run_sync_soon(done.set))
        try:
            await done.wait()
        except trio.Cancelled:
            future.cancel()
            raise
        return future.result()


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=47600)
    parser.add_argument("--identity", default=None)
    parser.add_argument("--limit", type=int, default=10 * 1024 * 1024)
    parser.add_argument("--echo", action="store_true")
    parser.add_argument("--pad", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--seconds", type=float, default=300.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    canned.PAD = args.pad
    canned.DELAY = args.delay
    handler = canned.echo_handler if args.echo else canned.canned_handler
    host = Libp2pHost(
        handler, host=args.host, port=args.port, identity=args.identity, limit=args.limit
    )
    await host.start()
    for address in host.multiaddrs:
        print("LISTENING", address, flush=True)
    # Show that the asyncio loop stays responsive while libp2p serves.
    ticks = 0
    try:
        async with asyncio.timeout(args.seconds):
            while True:
                await asyncio.sleep(1)
                ticks += 1
    except TimeoutError:
        pass
    finally:
        await host.stop()
        print("STOPPED after", ticks, "asyncio ticks", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
