"""gRPC (docs/protocol.md §12.1): requests as ``ColoniesService/SendMessage``, subscriptions as
``ColoniesSubscriptions/Subscribe``, health as ``CheckHealth``; grpcio's failures become the
SDK's own (client/_errors.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Iterator
from pathlib import Path
from typing import Any

import grpc

from colonies.client._errors import ConnectError, ConnectionLost, ReadError, Timeout, TLSError
from colonies.client._transport import Transport
from colonies.rpc.envelope import encode_error
from colonies.rpc.proto import colonies_pb2 as pb
from colonies.rpc.proto import colonies_pb2_grpc as pb_grpc

#: What the SDK accepts in one reply (Go's clients stop at 4 MiB, docs/protocol.md §12).
MAX_REPLY = 256 * 1024 * 1024


def _translate(exc: grpc.aio.AioRpcError, target: str) -> Exception:
    code, details = exc.code(), exc.details() or ""
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return Timeout(f"no reply from {target} in time")
    if code == grpc.StatusCode.UNAVAILABLE:
        # grpcio says so when no connection could be made: nothing was sent then.
        lowered = details.lower()
        if "handshake" in lowered or "ssl" in lowered:
            return TLSError(f"TLS with {target} failed: {details}")
        if "connect" in lowered or "dns" in lowered or "unreachable" in lowered:
            return ConnectError(f"cannot connect to {target}: {details}")
        return ConnectionLost(f"connection to {target} lost: {details}")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ReadError(f"reply from {target} too large: {details}")
    return ConnectionLost(f"gRPC call to {target} failed: {code.name}: {details}")


@contextlib.contextmanager
def _translated(target: str) -> Iterator[None]:
    try:
        yield
    except grpc.aio.AioRpcError as exc:
        raise _translate(exc, target) from exc


class GrpcTransport(Transport):
    """One HTTP/2 channel to ``host:port``; TLS when ``tls`` (trusting ``ca_file``, else the
    system's roots)."""

    def __init__(self, host: str, port: int, *, tls: bool = False, ca_file: str = "") -> None:
        self.target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.credentials: grpc.ChannelCredentials | None = None
        if tls:
            roots = Path(ca_file).read_bytes() if ca_file else None
            self.credentials = grpc.ssl_channel_credentials(roots)
        self._channel: grpc.aio.Channel | None = None
        self._stubs: tuple[Any, Any] | None = None

    def _connected(self) -> tuple[Any, Any]:
        """The stubs of the channel, opened on first use (it belongs to the running loop,
        which a sync client only has once a call runs)."""
        if self._stubs is None:
            options: list[tuple[str, Any]] = [
                ("grpc.max_receive_message_length", MAX_REPLY),
                ("grpc.max_send_message_length", -1),
            ]
            if self.credentials is not None:
                channel = grpc.aio.secure_channel(self.target, self.credentials, options=options)
            else:
                channel = grpc.aio.insecure_channel(self.target, options=options)
            self._channel = channel
            self._stubs = (
                pb_grpc.ColoniesServiceStub(channel),
                pb_grpc.ColoniesSubscriptionsStub(channel),
            )
        return self._stubs

    def __repr__(self) -> str:
        return f"grpc://{self.target}"

    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        service, _ = self._connected()
        with _translated(self.target):
            reply = await service.SendMessage(
                pb.RPCRequest(json_payload=envelope.decode()), timeout=timeout
            )
        if reply.error_message:  # the server could not process the request at all
            return 500, encode_error(500, reply.error_message)
        return 200, reply.json_payload.encode()

    async def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        _, subscriptions = self._connected()
        call = subscriptions.Subscribe(pb.RPCRequest(json_payload=envelope.decode()))
        try:
            with _translated(self.target):
                async for reply in call:
                    yield reply.json_payload.encode()
        finally:
            call.cancel()

    async def health(self, timeout: float) -> bool:
        service, _ = self._connected()
        with _translated(self.target):
            reply = await service.CheckHealth(pb.HealthRequest(), timeout=timeout)
        return bool(reply.healthy)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
        self._channel = None
        self._stubs = None
