"""Replay protection: a signed request's nonce is used once.

A request that carries a nonce and a timestamp is fresh while its timestamp is inside the
window (``COLONIES_FRESHNESS_WINDOW`` seconds either side of now); then it *uses* its nonce.
A nonce used before makes the request a replay: refused with 403 :data:`REPLAYED`, it acts on
nothing. A request with neither (an existing SDK's) uses no nonce, unless the server requires
freshness (``COLONIES_REQUIRE_FRESH``).

Where the nonce is used (store/nonces.py keeps the SQL):
- for most requests, by the dispatcher before the handler runs (:meth:`ReplayProtection.use`);
- for a handler that declares a ``nonce: Nonce | None`` parameter, inside the statement that
  carries the request out: no round trip of its own. Should the request be refused before that
  statement (a scope, a role, a validation), the dispatcher uses the nonce all the same, so
  that a replay of a refused request is told as a replay too.
"""

from __future__ import annotations

import time

from colonies.config import ServerConfig
from colonies.core.timeutil import from_unix_ns
from colonies.rpc import RpcError
from colonies.rpc.messages import Msg
from colonies.store import Replayed, Unavailable, store_error
from colonies.store.nonces import Nonce, NonceStore, unused

__all__ = ["REPLAYED", "Nonce", "ReplayProtection", "unused"]

REPLAYED = "Replayed request: this nonce was already used"
MAX_NONCE = 256  # characters; the project's SDK sends 32


class ReplayProtection:
    def __init__(self, config: ServerConfig, nonces: NonceStore) -> None:
        self.require_fresh = config.require_fresh
        self.window = config.freshness_window
        self._window_ns = config.freshness_window * 1_000_000_000
        self.nonces = nonces

    def nonce(self, caller: str, msg: Msg) -> Nonce | None:
        """The request's nonce when its signed timestamp is inside the window (None for an
        existing SDK's request without either, unless freshness is required); 403 otherwise."""
        nonce, timestamp = msg.nonce, msg.timestamp
        if not nonce and not timestamp:
            if self.require_fresh:
                raise RpcError(403, "Request not fresh: the payload needs a nonce and a timestamp")
            return None
        if not nonce or not timestamp:
            raise RpcError(403, "Request not fresh: give both a nonce and a timestamp")
        if len(nonce) > MAX_NONCE or "\x00" in nonce:  # PostgreSQL could not store it
            raise RpcError(400, f"Invalid nonce: at most {MAX_NONCE} characters, no NUL")
        now_ns = time.time_ns()
        if abs(now_ns - timestamp) > self._window_ns:
            raise RpcError(403, f"Request not fresh: timestamp outside the {self.window} s window")
        return Nonce(caller, nonce, from_unix_ns(now_ns + self._window_ns))

    async def use(self, nonce: Nonce | None) -> None:
        """Use the request's nonce now, unless it has (or carries none): 403 for a replay,
        503 when the database cannot tell."""
        try:
            await self.nonces.use(nonce)
        except Replayed:
            raise RpcError(403, REPLAYED) from None
        except Exception as exc:
            if not isinstance(store_error(exc), Unavailable):
                raise
            raise RpcError(503, "database unavailable") from None
