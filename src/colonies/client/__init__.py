"""The Python SDK: an async client, a thin sync facade, errors with status and message.

async with AsyncClient("http://localhost:50080", key) as client:
    process = await client.submit(spec)
"""

from colonies.client._client import AsyncClient
from colonies.client._errors import ColoniesError
from colonies.client._sync import Client
from colonies.client._transport import AsyncRpc

__all__ = ["AsyncClient", "AsyncRpc", "Client", "ColoniesError"]
