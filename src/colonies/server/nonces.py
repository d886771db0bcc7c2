"""Replay checks in groups: the nonces of requests that arrive together go to PostgreSQL in one
statement, so replay protection costs one round trip per batch instead of one per request."""

from __future__ import annotations

import asyncio
from datetime import datetime

from colonies.store import Store


class NonceBatcher:
    def __init__(self, store: Store, max_batch: int = 256) -> None:
        self.store = store
        self.max_batch = max_batch
        self._pending: dict[tuple[str, str], asyncio.Future[bool]] = {}
        self._expires: datetime | None = None
        self._flushing: asyncio.Task[None] | None = None

    async def use(self, caller: str, nonce: str, expires: datetime) -> bool:
        """True when (caller, nonce) is new; False for a replay (also within one batch)."""
        key = (caller, nonce)
        if key in self._pending:
            return False  # the same nonce twice at once: the second is the replay
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        self._expires = max(self._expires or expires, expires)
        if self._flushing is None:
            # Let the requests that are ready now join this batch, then send it.
            self._flushing = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        await asyncio.sleep(0)
        while self._pending:
            batch = dict(list(self._pending.items())[: self.max_batch])
            for key in batch:
                del self._pending[key]
            expires = self._expires
            assert expires is not None
            try:
                fresh = await self.store.server.use_nonces(list(batch), expires)
            except BaseException as exc:
                for future in batch.values():
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for key, future in batch.items():
                if not future.done():
                    future.set_result(key in fresh)
        self._expires = None
        self._flushing = None
