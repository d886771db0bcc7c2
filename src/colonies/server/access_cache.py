"""A per-replica cache of authorization look-ups: (colony, caller) -> what the caller is there.

Every request needs one; caching it saves a database round trip on each. Entries are dropped
on any change to colonies, executors or users (a NOTIFY from triggers, on every replica), when
the event connection is lost (no news can arrive), and after a short TTL as a last resort.
Requests that miss the same entry at once share one look-up. Subscriptions wait for the next
change (:meth:`AccessCache.changed`) to check their caller's role again.
"""

from __future__ import annotations

import asyncio
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
        # Look-ups under way, by key and generation: a later request for the key joins one.
        self._loading: dict[tuple[str, str, int], asyncio.Future[ColonyAccess | None]] = {}
        self._changed: asyncio.Event | None = None

    def clear(self) -> None:
        self._entries.clear()
        self._generation += 1
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    @property
    def generation(self) -> int:
        """Counts the changes of access (each :meth:`clear`)."""
        return self._generation

    async def changed_since(self, generation: int) -> None:
        """Return once access has changed after :attr:`generation` was ``generation`` (at once
        if it has already): read the generation before a check, then wait with it, and a change
        while the check ran is not missed."""
        while self._generation == generation:
            if self._changed is None:
                self._changed = asyncio.Event()
            await self._changed.wait()

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
        loading_key = (colonyname, caller, generation)
        loading = self._loading.get(loading_key)
        if loading is not None:
            try:
                return await asyncio.shield(loading)
            except asyncio.CancelledError:
                if not loading.cancelled():
                    raise  # this request was cancelled
                # The request loading it was cancelled: load it here.
        loading = asyncio.get_running_loop().create_future()
        self._loading[loading_key] = loading
        try:
            access = await load(colonyname, caller)
        except asyncio.CancelledError:
            loading.cancel()
            raise
        except Exception as exc:
            loading.set_exception(exc)
            loading.exception()  # retrieved: those who joined raise it themselves
            raise
        else:
            loading.set_result(access)
        finally:
            if self._loading.get(loading_key) is loading:
                del self._loading[loading_key]
        # Keep it only if nothing was invalidated while we were loading it.
        if self.enabled and access is not None and generation == self._generation:
            if len(self._entries) >= self.capacity:
                self._entries.clear()
            self._entries[key] = (access, now + self.ttl)
        return access
