"""The Python SDK: sign requests, send them, raise errors with status and message."""

from colonies.client._errors import ColoniesError
from colonies.client._transport import AsyncRpc

__all__ = ["AsyncRpc", "ColoniesError"]
