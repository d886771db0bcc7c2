"""gRPC: upstream v1.9.4's ``ColoniesService`` and this project's ``ColoniesSubscriptions``
(docs/protocol.md §12.1; the service definition is src/colonies/rpc/proto/colonies.proto).

``SendMessage`` carries one request envelope as text and answers with the dispatcher's reply
envelope, an error envelope included; ``error_message`` stays empty, as upstream left it, so
Go clients report a refusal's own message. ``Subscribe`` streams a subscription's replies, one
``RPCResponse`` each. Plaintext unless a TLS certificate is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc

from colonies.config import ServerConfig
from colonies.core import ServerBackend
from colonies.rpc import RpcError
from colonies.rpc.envelope import encode_error
from colonies.rpc.proto import colonies_pb2 as pb
from colonies.rpc.proto import colonies_pb2_grpc as pb_grpc
from colonies.server.context import SubscriberGone
from colonies.server.dispatch import Dispatcher
from colonies.server.transports import TransportStartError, too_large

BACKEND = "grpc"  # the transport's name in the metrics
#: Go's gRPC client gives up on a SendMessage after 30 s: a long poll answers within 25 s.
MAX_WAIT = 25.0
#: gRPC itself refuses a message over this many times the body limit (RESOURCE_EXHAUSTED);
#: between the two, an oversized request gets the 413 error envelope HTTP gives.
_RECEIVE_FACTOR = 2

log = logging.getLogger(__name__)


class _Service(pb_grpc.ColoniesServiceServicer):
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.max_body = dispatcher.state.config.max_body
        self.version = dispatcher.state.config.build_version

    async def SendMessage(
        self, request: pb.RPCRequest, context: grpc.aio.ServicerContext
    ) -> pb.RPCResponse:
        body = request.json_payload.encode()
        if len(body) > self.max_body:
            reply = too_large(self.max_body)
        else:
            _, reply = await self.dispatcher.handle(body, BACKEND, MAX_WAIT)
        return pb.RPCResponse(json_payload=reply.decode())

    async def CheckHealth(
        self, request: pb.HealthRequest, context: grpc.aio.ServicerContext
    ) -> pb.HealthResponse:
        return pb.HealthResponse(healthy=not self.dispatcher.state.draining, version=self.version)


class _StreamSink:
    """A subscription's replies as messages of one server stream."""

    def __init__(self, context: grpc.aio.ServicerContext) -> None:
        self.context = context

    async def send(self, reply: bytes) -> None:
        if self.context.done():
            raise SubscriberGone
        try:
            await self.context.write(pb.RPCResponse(json_payload=reply.decode()))
        except (grpc.aio.AioRpcError, RuntimeError):  # cancelled or finished meanwhile
            raise SubscriberGone from None


class _Subscriptions(pb_grpc.ColoniesSubscriptionsServicer):
    def __init__(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self.stopping = asyncio.Event()  # the replica stops: every subscription ends at once

    async def Subscribe(  # written with context.write, not yield
        self, request: pb.RPCRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.RPCResponse] | None:
        sink = _StreamSink(context)
        serving = asyncio.ensure_future(self._serve(request.json_payload.encode(), sink))
        stopping = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the subscriber went away
            serving.cancel()
            raise
        finally:
            stopping.cancel()
        if not serving.done():  # stopping: a last 503 error envelope says why it ends
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
            with contextlib.suppress(SubscriberGone):
                await sink.send(encode_error(503, "Server shutting down"))
        return None

    async def _serve(self, body: bytes, sink: _StreamSink) -> None:
        try:
            prepared = await self.dispatcher.subscription(body)
            if prepared is None:
                raise RpcError(400, "Subscribe takes a subscription request")
            await prepared.stream(sink)
        except RpcError as exc:
            try:
                await sink.send(encode_error(exc.status, exc.message))
            except SubscriberGone:
                pass
        except SubscriberGone:
            pass


class GrpcBackend:
    def __init__(self, config: ServerConfig, dispatcher: Dispatcher) -> None:
        self.config = config
        self.dispatcher = dispatcher
        self.server: grpc.aio.Server | None = None
        self.port = config.grpc_port
        self.subscriptions = _Subscriptions(dispatcher)

    async def start(self) -> None:
        config = self.config
        limit = min(config.max_body * _RECEIVE_FACTOR, 2**31 - 1)
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", limit),
                ("grpc.max_send_message_length", -1),
            ]
        )
        pb_grpc.add_ColoniesServiceServicer_to_server(_Service(self.dispatcher), server)
        pb_grpc.add_ColoniesSubscriptionsServicer_to_server(self.subscriptions, server)
        address = _address(config.bind, config.grpc_port)
        try:
            if config.grpc_tls_cert:
                self.port = server.add_secure_port(address, _credentials(config))
            else:
                self.port = server.add_insecure_port(address)
        except (OSError, RuntimeError) as exc:
            raise TransportStartError(f"gRPC: cannot listen on {address}: {exc}") from None
        await server.start()
        self.server = server
        tls = "TLS" if config.grpc_tls_cert else "plaintext"
        log.info("gRPC serving on %s (%s)", _address(config.bind, self.port), tls)

    async def stop(self, grace: float) -> None:
        if self.server is not None:
            self.subscriptions.stopping.set()  # as the WebSockets end
            await self.server.stop(grace)
            self.server = None

    def info(self) -> ServerBackend:
        return ServerBackend(
            type=BACKEND,
            port=self.port,
            tls=bool(self.config.grpc_tls_cert),
            insecure=self.config.grpc_insecure,
        )


def _credentials(config: ServerConfig) -> grpc.ServerCredentials:
    key = Path(config.grpc_tls_key).read_bytes()
    cert = Path(config.grpc_tls_cert).read_bytes()
    return grpc.ssl_server_credentials([(key, cert)])


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
