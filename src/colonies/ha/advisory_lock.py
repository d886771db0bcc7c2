"""The single-node election: a PostgreSQL advisory lock, held on a dedicated connection.

Without etcd the server runs alone and leads, unless a second single-node server on the same
database holds the lock already: then it serves every RPC but runs no ticks, and takes over
when the holder goes away (its connection, and with it the lock, is gone).
"""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from colonies.ha._connect import connect
from colonies.ha.election import ClusterView, OnElected, OnLost, ReplicaInfo
from colonies.store.fencing import begin_term, term_holder

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the single-node leader.
SINGLE_NODE_LOCK_KEY = 0x636F6C5F6C656164  # "col_lead", within int64


class AdvisoryLockElection:
    """The election of a single node (ha/election.py). The lock lives as long as the
    connection that took it; the leader proves it alive every ``check_interval`` seconds."""

    def __init__(
        self,
        dsn: str,
        replica: ReplicaInfo,
        pool: asyncpg.Pool,
        *,
        retry_interval: float = 2.0,
        check_interval: float = 1.0,
    ) -> None:
        self.dsn = dsn
        self.replica = replica
        self.pool = pool  # for the cluster view: the holder's name is stored with the term
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self._conn: asyncpg.Connection | None = None
        self._warned = False

    async def run(self, on_elected: OnElected, on_lost: OnLost) -> None:
        while True:
            try:
                self._conn = await connect(self.dsn)
                term = await self._campaign(self._conn)
                log.info("leader (single-node), term %d", term)
                await on_elected(term)
                try:
                    await self._hold(self._conn)
                finally:
                    await on_lost()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("leader lock connection lost: %s", exc)
            finally:
                self._drop_connection()
            await asyncio.sleep(self.retry_interval)

    async def _campaign(self, conn: asyncpg.Connection) -> int:
        """Wait for the lock; then a new term, above every term so far."""
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", SINGLE_NODE_LOCK_KEY):
            if not self._warned:
                log.warning(
                    "another server holds the single-node leader lock on this database: "
                    "serving requests, running no ticks (use etcd for several replicas)"
                )
                self._warned = True
            await asyncio.sleep(self.retry_interval)
        return await begin_term(conn, self.replica.name)

    async def _hold(self, conn: asyncpg.Connection) -> None:
        """Keep proving the connection (and so the lock) alive; raise once it is not."""
        while True:
            await asyncio.sleep(self.check_interval)
            await conn.fetchval("SELECT 1", timeout=self.check_interval * 2)

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()  # no goodbye: a query may still be in flight

    async def resign(self) -> None:
        """Release the lock at once: its connection goes."""
        self._drop_connection()

    async def cluster(self) -> ClusterView:
        """This replica; the leader is whoever took the last term (on this database)."""
        return ClusterView([self.replica], await term_holder(self.pool))
