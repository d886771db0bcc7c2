"""Statements of concurrent requests grouped into one: the calls made while the event loop
goes round once are sent together, so N requests cost one round trip instead of N."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import asyncpg

T = TypeVar("T")
R = TypeVar("R")


# Failures that may come from one item of a batch rather than from the database as a whole.
_ITEM_ERRORS = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,  # a value too large to index
    ValueError,
)


class Batcher(Generic[T, R]):
    """``await batcher(item)`` returns ``run([..., item, ...])``'s result for ``item``.

    ``run`` takes the items of one batch and returns one result per item, in order. When a
    batch of several fails because of what an item holds (a data or constraint error), each
    item is run again alone, so one bad item fails only its caller; any other failure (the
    database is unreachable, say) is every caller's.
    """

    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[list[R]]],
        max_batch: int = 64,
        orphaned: Callable[[T, R], Awaitable[None]] | None = None,
    ) -> None:
        """``orphaned(item, result)`` undoes a result whose caller went away while its batch
        ran (a claim for an executor that is no longer waiting, say)."""
        self._run = run
        self.max_batch = max_batch
        self._orphaned = orphaned
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if self._flushing is None:
            self._flushing = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # let the requests that are ready now join this batch
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                # A caller that went away meanwhile (a cancelled request) is not run for.
                batch = [(item, future) for item, future in batch if not future.done()]
                if batch and not await self._settle(batch):
                    for one in batch:
                        await self._settle([one])
        finally:
            self._flushing = None

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> bool:
        """Run one batch; False when a batch of several failed (nothing was answered)."""
        try:
            results = await self._run([item for item, _ in batch])
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            if len(batch) > 1 and isinstance(exc, _ITEM_ERRORS):
                return False  # the caller runs each item alone
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return True
        orphans: list[tuple[T, R]] = []
        for (item, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
            else:
                orphans.append((item, result))
        if self._orphaned is not None:
            for item, result in orphans:
                await self._orphaned(item, result)
        return True
