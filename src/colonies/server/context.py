"""What a handler gets besides its message: the verified caller, the store, the target, and for
a subscription the sink its replies go to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from colonies.core import utcnow
from colonies.core.wire import encode
from colonies.rpc.envelope import encode_reply

if TYPE_CHECKING:
    from colonies.config import ServerConfig
    from colonies.server.state import ServerState
    from colonies.store import Store
    from colonies.store.server import ColonyAccess


class ReplySink(Protocol):
    """Where a subscription's replies go, one reply envelope at a time: a frame on a WebSocket
    (server/transports/websocket.py), a message of a stream. Raises SubscriberGone once the
    subscriber cannot receive any more."""

    async def send(self, reply: bytes) -> None: ...


class SubscriberGone(Exception):
    """The subscriber went away: the subscription ends, nobody is told."""


@dataclass(slots=True)
class Context:
    state: ServerState
    caller: str  # the ID derived from the signature; never an ID from the payload
    target: Any = None  # the object the scope loaded, if any
    access: ColonyAccess | None = None  # what the caller is in the target colony
    sink: ReplySink | None = None  # a subscription's
    # The transport's cap on a long poll's wait, in seconds (its clients' own timeout minus a
    # margin: docs/protocol.md §12); None where a request's own timeout holds.
    max_wait: float | None = None

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def config(self) -> ServerConfig:
        return self.state.config

    def now(self) -> datetime:
        return utcnow()

    async def push(self, payloadtype: str, payload: Any) -> None:
        """Send one reply of a subscription to its subscriber."""
        assert self.sink is not None, "push is for subscription handlers"
        await self.sink.send(encode_reply(payloadtype, encode(payload)))
