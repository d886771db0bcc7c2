"""Leadership: who runs the ticks. Single-node mode guards one database with an advisory lock.

A leadership object runs until cancelled and calls ``on_elected(term)`` when this replica
becomes leader and ``on_lost()`` as soon as it can no longer prove it is
(docs/architecture.md §5). The etcd election (several replicas) provides the same interface.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from colonies.ha._connect import connect

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the single-node leader.
SINGLE_NODE_LOCK_KEY = 0x636F6C5F6C656164  # "col_lead", within int64

OnElected = Callable[[int], Awaitable[None]]
OnLost = Callable[[], Awaitable[None]]


class SingleNodeLeadership:
    """Leader while holding a session-level advisory lock on a dedicated connection.

    A second single-node server on the same database finds the lock taken: it serves every
    RPC but runs no ticks, and takes over if the holder goes away.
    """

    def __init__(
        self,
        dsn: str,
        holder: str,
        *,
        retry_interval: float = 2.0,
        check_interval: float = 1.0,
    ) -> None:
        self.dsn = dsn
        self.holder = holder
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self.term: int | None = None

    async def run(self, on_elected: OnElected, on_lost: OnLost) -> None:
        warned = False
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await connect(self.dsn)
                while not await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1)", SINGLE_NODE_LOCK_KEY
                ):
                    if not warned:
                        log.warning(
                            "another server holds the single-node leader lock on this database: "
                            "serving requests, running no ticks (use etcd for several replicas)"
                        )
                        warned = True
                    await asyncio.sleep(self.retry_interval)
                self.term = await conn.fetchval(
                    "UPDATE leader_term SET term = term + 1, holder = $1, since = now() "
                    "RETURNING term",
                    self.holder,
                )
                log.info("leader (single-node), term %d", self.term)
                await on_elected(self.term)
                try:
                    while True:  # the lock lives as long as this connection
                        await asyncio.sleep(self.check_interval)
                        await conn.fetchval("SELECT 1", timeout=self.check_interval * 2)
                finally:
                    self.term = None
                    await on_lost()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("leader lock connection lost: %s", exc)
            finally:
                if conn is not None:
                    conn.terminate()  # no goodbye: a query may still be in flight
            await asyncio.sleep(self.retry_interval)
