"""What every area of the SDK shares: the RPC layer, the default key, typed replies.

``AsyncClient`` (client/_client.py) is assembled from one class per area (processes,
workflows, schedules, ...), each in its own private module and each a ``ClientBase``; the
public surface is that one class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from colonies.client._rpc import AsyncRpc
from colonies.core.wire import decode_value
from colonies.crypto import PrivateKey, parse_private_key

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: A key for one call: a PrivateKey, its text form, or None for the client's own key.
KeyArg = PrivateKey | str | None

#: The attribute naming the payload types a method sends (see ``sends``).
SENDS = "__colonies_sends__"


def sends(*payloadtypes: str) -> Callable[[F], F]:
    """Declare the payload types a method sends: the SDK's coverage of the protocol is read
    from these marks (tests/unit/test_sdk_coverage.py checks them against the server's
    registry and against what each method really sends)."""

    def mark(fn: F) -> F:
        setattr(fn, SENDS, payloadtypes)
        return fn

    return mark


def wire(obj: Any) -> Any:
    """A core object as plain JSON values."""
    return msgspec.to_builtins(obj)


class ClientBase:
    rpc: AsyncRpc
    key: PrivateKey | None

    def _key(self, key: KeyArg) -> PrivateKey:
        if isinstance(key, str):
            return parse_private_key(key)
        chosen = key or self.key
        if chosen is None:
            raise ValueError("no private key: pass key= or set COLONIES_PRVKEY")
        return chosen

    async def call(self, payloadtype: str, key: KeyArg = None, /, **payload: Any) -> Any:
        """Send any message; the reply payload as plain JSON values."""
        return await self.rpc.call(payloadtype, self._key(key), **payload)

    async def _typed(self, tp: type[T], payloadtype: str, key: KeyArg, **payload: Any) -> T:
        return decode_value(await self.call(payloadtype, key, **payload), tp)
