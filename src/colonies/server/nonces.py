"""Replay checks in groups: the nonces of requests that arrive together go to PostgreSQL in one
statement, so replay protection costs one round trip per batch instead of one per request."""

from __future__ import annotations

from datetime import datetime

from colonies.store import Replayed, Store
from colonies.store.batching import Batcher
from colonies.store.nonces import Nonce

_Use = tuple[str, str, datetime]  # caller, nonce, expiry


class NonceBatcher:
    def __init__(self, store: Store, max_batch: int = 256) -> None:
        self.store = store
        self._batcher: Batcher[_Use, bool] = Batcher(self._use_many, max_batch)

    async def use(self, caller: str, nonce: str, expires: datetime) -> bool:
        """True when (caller, nonce) is new; False for a replay (also within one batch)."""
        return await self._batcher((caller, nonce, expires))

    async def record(self, nonce: Nonce) -> None:
        """Record a request's nonce; Replayed if it was used before."""
        if not await self.use(nonce.caller, nonce.nonce, nonce.expires):
            raise Replayed

    async def _use_many(self, uses: list[_Use]) -> list[bool]:
        keys = [(caller, nonce) for caller, nonce, _ in uses]
        expires = max(expiry for _, _, expiry in uses)
        fresh = await self.store.server.use_nonces(list(dict.fromkeys(keys)), expires)
        seen: set[tuple[str, str]] = set()
        results = []
        for key in keys:  # the same nonce twice at once: the second is the replay
            results.append(key in fresh and key not in seen)
            seen.add(key)
        return results
