"""Several transports in order (COLONIES_CLIENT_BACKENDS, docs/protocol.md §12.6).

A request goes to the first transport; only when it could not even be sent there
(``ConnectError``) does it go to the next. Unlike upstream's Go client, which moves on after any
failure, a reply — an error envelope included — or a failure after sending ends the chain: a
refused request is not sent again elsewhere, and one that may have been carried out is not
carried out twice. (The SDK's retries, client/_rpc.py, then apply to the chain as a whole.)
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from colonies.client._errors import ConnectError
from colonies.client._transport import Transport


class FallbackTransport(Transport):
    def __init__(self, transports: Sequence[Transport]) -> None:
        if not transports:
            raise ValueError("no transport to fall back on")
        self.transports = list(transports)

    def __repr__(self) -> str:
        return " or ".join(repr(t) for t in self.transports)

    async def request(self, envelope: bytes, timeout: float | None) -> tuple[int, bytes]:
        failures: list[str] = []
        for transport in self.transports:
            try:
                return await transport.request(envelope, timeout)
            except ConnectError as exc:  # nothing was sent: the same envelope may go on
                failures.append(str(exc))
        raise ConnectError("; ".join(failures))

    async def subscribe(self, envelope: bytes) -> AsyncGenerator[bytes, None]:
        failures: list[str] = []
        for transport in self.transports:
            replies = transport.subscribe(envelope)
            try:
                try:
                    first = await replies.__anext__()
                except StopAsyncIteration:
                    return
                except ConnectError as exc:
                    failures.append(str(exc))
                    continue
                yield first
                async for reply in replies:
                    yield reply
                return
            finally:
                await replies.aclose()
        raise ConnectError("; ".join(failures))

    async def health(self, timeout: float) -> bool:
        failures: list[str] = []
        for transport in self.transports:
            try:
                return await transport.health(timeout)
            except ConnectError as exc:
                failures.append(str(exc))
        raise ConnectError("; ".join(failures))

    async def close(self) -> None:
        for transport in self.transports:
            await transport.close()
