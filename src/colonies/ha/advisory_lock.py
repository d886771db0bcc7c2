"""The election without etcd: a PostgreSQL advisory lock, held on a dedicated connection.

Every replica on the database campaigns for one session-level advisory lock; the one that holds
it leads, the others serve every RPC and run no ticks. The lock lives as long as its session,
so a replica that exits or loses its connection hands over at once.

A leader whose node freezes (SIGSTOP, a paused VM) or vanishes without closing its connection
would keep its session, and with it the lock, until TCP keepalive notices (hours, with the
operating system's defaults). So the lock's session is opened with ``idle_session_timeout`` set
to the leader TTL: PostgreSQL ends it once it has been idle that long, and the leader's own
heartbeat (every quarter TTL) is what keeps it busy. A frozen leader thus loses the lock about
one TTL after its last heartbeat, and a follower, polling every half second at most, takes it
over: another replica ticks within the TTL and about one second. The leader itself steps down
when it cannot prove its session alive for half the TTL; a leader that wakes up after losing
the lock finds its term stale at its next tick (store/fencing.py) and its session gone at its
next heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from colonies.ha._connect import connect
from colonies.ha.election import ClusterView, OnElected, OnLost, ReplicaInfo
from colonies.store.db import read_only
from colonies.store.fencing import begin_term, term_holder

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the leader.
LEADER_LOCK_KEY = 0x636F6C5F6C656164  # "col_lead", within int64


class AdvisoryLockElection:
    """The election through the database (ha/election.py), bounded by ``ttl`` seconds."""

    def __init__(
        self,
        dsn: str,
        replica: ReplicaInfo,
        pool: asyncpg.Pool,
        *,
        ttl: float = 5.0,
    ) -> None:
        self.dsn = dsn
        self.replica = replica
        self.pool = pool  # for the cluster view: the holder's name is stored with the term
        self.ttl = ttl
        self.heartbeat = ttl / 4  # a missed one is noticed after half the TTL
        self.poll_interval = min(0.5, ttl / 4)  # a follower's try for the lock
        # The server ends the lock's session after this long without a statement from us.
        self.session_settings = {
            "idle_session_timeout": str(int(ttl * 1000)),
            "application_name": "colonies leader lock",  # as pg_stat_activity shows it
        }
        self._conn: asyncpg.Connection | None = None
        self._warned = False

    async def run(self, on_elected: OnElected, on_lost: OnLost) -> None:
        while True:
            try:
                self._conn = await connect(self.dsn, server_settings=self.session_settings)
                term = await self._campaign(self._conn)
                log.info("leader (advisory lock), term %d", term)
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
            await asyncio.sleep(self.poll_interval)

    async def _campaign(self, conn: asyncpg.Connection) -> int:
        """Wait for the lock; then a new term, above every term so far. Each try is also the
        follower's session's sign of life."""
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY):
            if not self._warned:
                log.info("another replica holds the leader lock: serving requests, no ticks")
                self._warned = True
            await asyncio.sleep(self.poll_interval)
        self._warned = False
        return await begin_term(conn, self.replica.name)

    async def _hold(self, conn: asyncpg.Connection) -> None:
        """Keep the lock's session busy, and so alive; raise once it cannot be proven alive
        within half the TTL, or its server no longer accepts writes (a failover: the lock that
        counts is the new primary's)."""
        lost = asyncio.Event()  # the connection closed: step down now, not at the heartbeat
        conn.add_termination_listener(lambda _conn: lost.set())
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(lost.wait(), self.heartbeat)
            if lost.is_set():
                raise ConnectionError("the leader lock's connection closed")
            await conn.fetchval("SELECT 1", timeout=self.heartbeat)
            if read_only(conn):
                raise ConnectionError("the database turned read-only")

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
