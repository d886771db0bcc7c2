"""The Python SDK: an async client, a thin sync facade, errors with status and message, and
ColonyFS (files in S3, metadata on the server).

async with AsyncClient("http://localhost:50080", key) as client:
    process = await client.submit(spec)
"""

from colonies.client._client import AsyncClient
from colonies.client._errors import ColoniesError
from colonies.client._fs import ColonyFS, SnapshotDownload, read_cfs_label
from colonies.client._s3 import (
    ChecksumMismatch,
    ColonyFSError,
    S3AccessDenied,
    S3Store,
    S3Unreachable,
)
from colonies.client._sync import Client
from colonies.client._transport import AsyncRpc

__all__ = [
    "AsyncClient",
    "AsyncRpc",
    "ChecksumMismatch",
    "Client",
    "ColoniesError",
    "ColonyFS",
    "ColonyFSError",
    "S3AccessDenied",
    "S3Store",
    "S3Unreachable",
    "SnapshotDownload",
    "read_cfs_label",
]
