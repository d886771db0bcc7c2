"""Plain clients of each transport for the backend tests (not a test module): each sends request
envelopes as bytes and returns reply envelopes as bytes, the way upstream's Go clients do
(docs/protocol.md §12): HTTP POST /api, gRPC from the checked-in stubs, CoAP with aiocoap,
LibP2P with py-libp2p (write the envelope, keep the stream open, read to EOF).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Protocol

import aiohttp

from colonies.client import ColoniesError
from colonies.crypto import PrivateKey
from colonies.rpc import RpcError, decode_reply, sign_request


class BackendClient(Protocol):
    name: str

    async def send(self, envelope: bytes, timeout: float = 30.0) -> bytes: ...

    def subscribe(self, envelope: bytes) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


async def call(
    client: BackendClient, payloadtype: str, key: PrivateKey | None, **payload: Any
) -> Any:
    """Sign, send over ``client``, and decode the reply (ColoniesError for an error reply)."""
    return reply_payload(await client.send(sign_request(payloadtype, payload, key)))


def reply_payload(reply: bytes) -> Any:
    """The payload of a reply envelope; ColoniesError for an error reply."""
    try:
        return decode_reply(200, reply)
    except RpcError as exc:
        raise ColoniesError(exc.status, exc.message) from None


class HttpClient:
    name = "http"

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.session = aiohttp.ClientSession()

    async def send(self, envelope: bytes, timeout: float = 30.0) -> bytes:
        async with self.session.post(
            self.url + "/api", data=envelope, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as reply:
            return await reply.read()

    async def subscribe(self, envelope: bytes) -> AsyncIterator[bytes]:
        async with self.session.ws_connect(self.url + "/pubsub") as ws:
            await ws.send_bytes(envelope)
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                yield frame.data.encode()

    async def close(self) -> None:
        await self.session.close()


class GrpcClient:
    name = "grpc"

    def __init__(self, port: int) -> None:
        import grpc

        from colonies.rpc.proto import colonies_pb2 as pb
        from colonies.rpc.proto import colonies_pb2_grpc as pb_grpc

        self.pb = pb
        self.channel = grpc.aio.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.max_receive_message_length", 64 << 20)]
        )
        self.service = pb_grpc.ColoniesServiceStub(self.channel)
        self.subscriptions = pb_grpc.ColoniesSubscriptionsStub(self.channel)

    async def send(self, envelope: bytes, timeout: float = 30.0) -> bytes:
        reply = await self.service.SendMessage(
            self.pb.RPCRequest(json_payload=envelope.decode()), timeout=timeout
        )
        assert reply.error_message == "", reply.error_message
        return bytes(reply.json_payload.encode())

    async def health(self) -> Any:
        return await self.service.CheckHealth(self.pb.HealthRequest(), timeout=5)

    async def subscribe(self, envelope: bytes) -> AsyncIterator[bytes]:
        call = self.subscriptions.Subscribe(self.pb.RPCRequest(json_payload=envelope.decode()))
        try:
            async for reply in call:
                yield reply.json_payload.encode()
        finally:
            call.cancel()

    async def close(self) -> None:
        await self.channel.close()


class CoapClient:
    """aiocoap, one client endpoint (UDP socket) per exchange in flight, as Go's client has:
    Block2 transfers of one endpoint to one resource cannot overlap (RFC 7959 section 2.4)."""

    name = "coap"

    def __init__(self, port: int) -> None:
        self.base = f"coap://127.0.0.1:{port}"
        self.idle: list[Any] = []
        self.every: list[Any] = []

    @contextlib.asynccontextmanager
    async def context(self) -> AsyncIterator[Any]:
        import aiocoap

        if self.idle:
            context = self.idle.pop()
        else:
            context = await aiocoap.Context.create_client_context()
            self.every.append(context)
        try:
            yield context
        finally:
            self.idle.append(context)

    async def send(self, envelope: bytes, timeout: float = 30.0) -> bytes:
        import aiocoap
        from aiocoap.numbers.contentformat import ContentFormat

        request = aiocoap.Message(
            code=aiocoap.POST,
            uri=self.base + "/api",
            payload=envelope,
            content_format=ContentFormat.JSON,
        )
        async with self.context() as context:
            reply = await asyncio.wait_for(context.request(request).response, timeout)
        assert reply.code == aiocoap.CONTENT, reply
        assert reply.opt.content_format == ContentFormat.JSON
        return bytes(reply.payload)

    async def get(self, path: str) -> Any:
        import aiocoap

        message = aiocoap.Message(code=aiocoap.GET, uri=self.base + path)
        async with self.context() as context:
            return await asyncio.wait_for(context.request(message).response, 10)

    async def subscribe(self, envelope: bytes) -> AsyncIterator[bytes]:
        import aiocoap
        from aiocoap.numbers.codes import Code

        message = aiocoap.Message(code=Code.FETCH, uri=self.base + "/pubsub", observe=0)
        message.payload = envelope
        context = await aiocoap.Context.create_client_context()
        request = context.request(message)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        # Not `async for` over request.observation: its iterator keeps only the latest one.
        request.observation.register_callback(queue.put_nowait, _suppress_deprecation=True)
        request.observation.register_errback(queue.put_nowait, _suppress_deprecation=True)
        try:
            first = await request.response
            if first.payload:
                yield bytes(first.payload)
            if first.opt.observe is None:
                return
            while True:
                item = await queue.get()
                if isinstance(item, Exception):
                    return
                if item.payload:
                    yield bytes(item.payload)
                if item.opt.observe is None:
                    return
        finally:
            if not request.observation.cancelled:
                request.observation.cancel()
            await context.shutdown()

    async def close(self) -> None:
        for context in self.every:
            await context.shutdown()


class Libp2pClient:
    """py-libp2p, as upstream's Go client talks: the envelope written without half-closing,
    the reply read to EOF; ``chunks`` > 1 writes the envelope in that many pieces."""

    name = "libp2p"

    def __init__(self, multiaddr: str) -> None:
        self.multiaddr = multiaddr
        self.host: Any = None
        self.peer: Any = None
        self.chunks = 1

    async def connect(self) -> None:
        import multiaddr as ma
        from libp2p.peer.peerinfo import info_from_p2p_addr

        from colonies.p2p.host import P2PHost

        self.host = P2PHost(listen=["/ip4/127.0.0.1/tcp/0"])
        await self.host.start()
        self.peer = info_from_p2p_addr(ma.Multiaddr(self.multiaddr))
        await self.host.run(self.host.host.connect, self.peer)

    async def _exchange(self, envelope: bytes) -> bytes:
        import trio
        from libp2p.custom_types import TProtocol

        from colonies.p2p import RPC_PROTOCOL
        from colonies.p2p.host import read_to_eof

        stream = await self.host.host.new_stream(self.peer.peer_id, [TProtocol(RPC_PROTOCOL)])
        size = -(-len(envelope) // self.chunks)
        for start in range(0, len(envelope), size):
            await stream.write(envelope[start : start + size])
            if self.chunks > 1:
                await trio.sleep(0.05)
        reply: bytes = await read_to_eof(stream, 1 << 30)
        await stream.close()
        return reply

    async def send(self, envelope: bytes, timeout: float = 30.0) -> bytes:
        if self.host is None:
            await self.connect()
        return await asyncio.wait_for(self.host.run(self._exchange, envelope), timeout)

    async def subscribe(self, envelope: bytes) -> AsyncIterator[bytes]:
        from libp2p.custom_types import TProtocol

        from colonies.p2p import SUBSCRIBE_PROTOCOL
        from colonies.p2p.host import StreamError

        if self.host is None:
            await self.connect()
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def pump() -> None:
            stream = await self.host.host.new_stream(
                self.peer.peer_id, [TProtocol(SUBSCRIBE_PROTOCOL)]
            )
            await stream.write(envelope)
            buffer = b""
            try:
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

        task = asyncio.ensure_future(self.host.run(pump))
        try:
            while (line := await lines.get()) is not None:
                yield line
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def close(self) -> None:
        if self.host is not None:
            await self.host.stop()


def error_of(reply: bytes) -> ColoniesError:
    """The error a reply envelope carries; fails when it is not an error."""
    try:
        reply_payload(reply)
    except ColoniesError as exc:
        return exc
    raise AssertionError(f"expected an error reply, got {reply[:200]!r}")
