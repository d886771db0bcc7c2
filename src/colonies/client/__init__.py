"""The Python SDK: an async client, a thin sync facade, errors with status and message, and
ColonyFS (files in S3, metadata on the server).

async with AsyncClient("http://localhost:50080", key) as client:
    process = await client.submit(spec)

Requests travel over a ``Transport`` (client/_transport.py): the lean ``HttpTransport`` for
``http://``, ``AiohttpTransport`` for ``https://`` or a caller's aiohttp session, or one given
as ``AsyncClient(url, key, transport=...)``: ``GrpcTransport``, ``CoapTransport``,
``Libp2pTransport`` (docs/protocol.md §12), several in a ``FallbackTransport``;
``AsyncClient.from_env()`` builds the one COLONIES_CLIENT_BACKENDS names. Failures to get a
reply are ``TransportError``s:
``ConnectError`` (nothing was sent; ``TLSError`` among them), ``ConnectionLost``, ``ReadError``,
``Timeout``.
"""

from colonies.client._aiohttp import AiohttpTransport
from colonies.client._backends import transport_from_config
from colonies.client._chain import FallbackTransport
from colonies.client._client import AsyncClient
from colonies.client._errors import (
    ColoniesError,
    ConnectError,
    ConnectionLost,
    ReadError,
    Timeout,
    TLSError,
    TransportError,
)
from colonies.client._fs import ColonyFS, SnapshotDownload, read_cfs_label
from colonies.client._http import HttpTransport
from colonies.client._rpc import AsyncRpc
from colonies.client._s3 import (
    ChecksumMismatch,
    ColonyFSError,
    S3AccessDenied,
    S3Store,
    S3Unreachable,
)
from colonies.client._sync import Client
from colonies.client._transport import Transport

__all__ = [
    "AiohttpTransport",
    "AsyncClient",
    "AsyncRpc",
    "ChecksumMismatch",
    "Client",
    "CoapTransport",
    "ColoniesError",
    "ColonyFS",
    "ColonyFSError",
    "ConnectError",
    "ConnectionLost",
    "FallbackTransport",
    "GrpcTransport",
    "HttpTransport",
    "Libp2pTransport",
    "ReadError",
    "S3AccessDenied",
    "S3Store",
    "S3Unreachable",
    "SnapshotDownload",
    "TLSError",
    "Timeout",
    "Transport",
    "TransportError",
    "read_cfs_label",
    "transport_from_config",
]


def __getattr__(name: str) -> object:
    """The transports of gRPC, CoAP and LibP2P, imported on first use (py-libp2p takes
    seconds to import, and grpcio and aiocoap are not needed over HTTP)."""
    if name == "GrpcTransport":
        from colonies.client._grpc import GrpcTransport

        return GrpcTransport
    if name == "CoapTransport":
        from colonies.client._coap import CoapTransport

        return CoapTransport
    if name == "Libp2pTransport":
        from colonies.client._libp2p import Libp2pTransport

        return Libp2pTransport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
