"""The leader's tick loops: each tick is a function of the term, run at its own period.

Loops start when this replica is elected and stop when it loses leadership (ha/leadership.py).
A tick that finds its term stale stops every loop: a newer leader is active (store/fencing.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from colonies.store import Unavailable, store_error
from colonies.store.fencing import StaleTerm

log = logging.getLogger(__name__)

TickFunction = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class Tick:
    name: str
    period: float  # seconds
    run: TickFunction


class TickLoops:
    def __init__(
        self,
        ticks: list[Tick],
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        self.ticks = ticks
        self.observe = observe
        self.term: int | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def start(self, term: int) -> None:
        await self.stop()
        self.term = term
        self._tasks = [
            asyncio.create_task(self._loop(tick, term), name=f"tick-{tick.name}")
            for tick in self.ticks
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()
        for task in tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self.term = None

    async def _loop(self, tick: Tick, term: int) -> None:
        while True:
            started = time.perf_counter()
            try:
                await tick.run(term)
            except asyncio.CancelledError:
                raise
            except StaleTerm:
                log.warning("tick %s: term %d is stale, stopping the ticks", tick.name, term)
                asyncio.get_running_loop().call_soon(asyncio.ensure_future, self.stop())
                return
            except Exception as exc:
                if isinstance(store_error(exc), Unavailable):  # a restart, a failover: retried
                    log.warning("tick %s: database unavailable: %s", tick.name, exc)
                else:
                    log.exception("tick %s failed", tick.name)
            elapsed = time.perf_counter() - started
            if self.observe is not None:
                self.observe(tick.name, elapsed)
            await asyncio.sleep(max(tick.period - elapsed, 0.0))
