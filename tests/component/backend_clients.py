"""A client per transport for the backend tests (not a test module): the SDK's transports
(HTTP, gRPC from the checked-in stubs, CoAP with aiocoap, LibP2P with py-libp2p; docs/protocol.md
§12) carrying request envelopes as bytes, so that a test can send any envelope — a bad
signature, a replay, an oversized one — and read the reply envelope as it came."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from colonies.client import ColoniesError, HttpTransport, Transport
from colonies.crypto import PrivateKey
from colonies.rpc import RpcError, decode_reply, sign_request


class BackendClient:
    def __init__(self, name: str, transport: Transport) -> None:
        self.name = name
        self.transport = transport

    async def send(self, envelope: bytes, timeout: float = 30.0) -> bytes:
        _, reply = await self.transport.request(envelope, timeout)
        return reply

    def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        return self.transport.subscribe(envelope)

    async def close(self) -> None:
        await self.transport.close()


def http_client(port: int) -> BackendClient:
    return BackendClient("http", HttpTransport(f"http://127.0.0.1:{port}"))


def grpc_client(port: int) -> BackendClient:
    from colonies.client import GrpcTransport

    return BackendClient("grpc", GrpcTransport("127.0.0.1", port))


def coap_client(port: int) -> BackendClient:
    from colonies.client import CoapTransport

    return BackendClient("coap", CoapTransport("127.0.0.1", port))


def libp2p_client(multiaddr: str) -> BackendClient:
    from colonies.client import Libp2pTransport

    return BackendClient("libp2p", Libp2pTransport([multiaddr]))


def reply_payload(reply: bytes) -> Any:
    """The payload of a reply envelope; ColoniesError for an error reply."""
    try:
        return decode_reply(200, reply)
    except RpcError as exc:
        raise ColoniesError(exc.status, exc.message) from None


async def call(
    client: BackendClient, payloadtype: str, key: PrivateKey | None, **payload: Any
) -> Any:
    """Sign, send over ``client``, and decode the reply (ColoniesError for an error reply)."""
    return reply_payload(await client.send(sign_request(payloadtype, payload, key)))


def error_of(reply: bytes) -> ColoniesError:
    """The error a reply envelope carries; fails when it is not an error."""
    try:
        reply_payload(reply)
    except ColoniesError as exc:
        return exc
    raise AssertionError(f"expected an error reply, got {reply[:200]!r}")
