"""The transport interface: how signed envelopes reach a server and replies come back.

``AsyncRpc`` signs, retries and decodes; a transport only carries bytes. Two ship with the SDK:
``HttpTransport`` (plain ``http://``, a lean HTTP/1.1 client) and ``AiohttpTransport``
(``https://``, or a caller's ``aiohttp.ClientSession``). Another protocol plugs in as one more
subclass passed as ``AsyncClient(url, transport=...)``; a chain of them is a transport too.

Failures are the SDK's own (client/_errors.py): ``ConnectError`` when nothing was sent,
``ConnectionLost``, ``ReadError`` or ``Timeout`` when the request may have been carried out.
The retry rules in client/_rpc.py are stated in those terms only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator


class Transport(ABC):
    @abstractmethod
    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        """Send one request envelope; return the status (HTTP's, or the transport's
        equivalent: 200 for a reply that is not an error) and the reply envelope.

        ``timeout``: seconds for the whole exchange, None for no limit.
        """

    @abstractmethod
    def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        """Send a subscription request; yield the reply envelopes the server pushes until it
        ends the subscription. Closing the generator ends it from this side."""

    @abstractmethod
    async def health(self, timeout: float) -> bool:
        """Whether the server reports itself healthy (``GET /health`` over HTTP)."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; the transport is not used afterwards."""
