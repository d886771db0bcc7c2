"""A per-replica cache of authorization look-ups: (colony, caller) -> what the caller is there.

Every request needs one; caching it saves a database round trip on each. Entries are dropped
on any change to colonies, executors or users (a NOTIFY from triggers, on every replica), when
the event connection is lost (no news can arrive), and after a short TTL as a last resort.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from colonies.store.server import ColonyAccess

Loader = Callable[[str, str], Awaitable[ColonyAccess | None]]


class AccessCache:
    def __init__(self, ttl: float = 10.0, capacity: int = 100_000) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self.enabled = False  # only while the event connection is up
        self._entries: dict[tuple[str, str], tuple[ColonyAccess, float]] = {}
        self._generation = 0

    def clear(self) -> None:
        self._entries.clear()
        self._generation += 1

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self.clear()

    async def get(self, colonyname: str, caller: str, load: Loader) -> ColonyAccess | None:
        key = (colonyname, caller)
        now = time.monotonic()
        if self.enabled:
            hit = self._entries.get(key)
            if hit is not None and hit[1] > now:
                return hit[0]
        generation = self._generation
        access = await load(colonyname, caller)
        # Keep it only if nothing was invalidated while we were loading it.
        if self.enabled and access is not None and generation == self._generation:
            if len(self._entries) >= self.capacity:
                self._entries.clear()
            self._entries[key] = (access, now + self.ttl)
        return access
