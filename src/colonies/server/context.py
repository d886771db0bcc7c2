"""What a handler gets besides its message: the verified caller, the store, the target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from colonies.core import utcnow

if TYPE_CHECKING:
    from colonies.config import ServerConfig
    from colonies.server.state import ServerState
    from colonies.store import Store
    from colonies.store.nonces import Nonce
    from colonies.store.server import ColonyAccess


@dataclass(slots=True)
class Context:
    state: ServerState
    caller: str  # the ID derived from the signature; never an ID from the payload
    target: Any = None  # the object the scope loaded, if any
    access: ColonyAccess | None = None  # what the caller is in the target colony
    ws: Any = None  # the WebSocket of a subscription request
    # The request's nonce, left for the handler's statement to record (Route.nonce_in_statement)
    nonce: Nonce | None = None

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def config(self) -> ServerConfig:
        return self.state.config

    def now(self) -> datetime:
        return utcnow()

    def take_nonce(self) -> Nonce | None:
        """The nonce for the statement that carries the request out to record (once)."""
        nonce, self.nonce = self.nonce, None
        return nonce

    async def record_nonce(self) -> None:
        """Record the nonce now, on its own, for a request that acts later (Replayed if used)."""
        nonce = self.take_nonce()
        if nonce is not None:
            await self.state.nonces.record(nonce)
