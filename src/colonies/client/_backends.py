"""The transport a client configuration asks for (COLONIES_CLIENT_BACKENDS and the settings of
each backend, docs/protocol.md §12.6): one transport, or several in a fallback chain. Each
backend's module (and so grpcio, aiocoap or py-libp2p) is imported only when it is used."""

from __future__ import annotations

from colonies.client._chain import FallbackTransport
from colonies.client._rpc import http_transport
from colonies.client._transport import Transport
from colonies.config import ClientConfig


def backend_transport(config: ClientConfig, backend: str, verify_tls: bool = True) -> Transport:
    """The transport of one backend named in COLONIES_CLIENT_BACKENDS. ``verify_tls=False``
    (the CLI's --skip-tls-verify) reaches HTTPS only; gRPC always checks the certificate."""
    if backend == "grpc":
        from colonies.client._grpc import GrpcTransport

        return GrpcTransport(
            config.grpc_host, config.grpc_port, tls=config.grpc_tls, ca_file=config.ca_file
        )
    if backend == "coap":
        from colonies.client._coap import CoapTransport

        return CoapTransport(config.coap_host, config.coap_port)
    if backend == "libp2p":
        from colonies.client._libp2p import Libp2pTransport

        return Libp2pTransport(config.libp2p_peers)
    return http_transport(config.url, None, config.ca_file, verify_tls)


def transport_from_config(config: ClientConfig, verify_tls: bool = True) -> Transport | None:
    """None for HTTP alone (the client's default transport to ``config.url``)."""
    if config.backends == ("http",):
        return None
    transports = [backend_transport(config, backend, verify_tls) for backend in config.backends]
    return transports[0] if len(transports) == 1 else FallbackTransport(transports)
