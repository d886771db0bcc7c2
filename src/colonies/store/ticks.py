"""The leader's periodic work, each tick one fenced, idempotent transaction.

Every tick first raises the stored leader term to its own, or finds a newer one and refuses to
act (:class:`StaleTerm`): a leader that was paused past its lease cannot write after a new
leader has started ticking (docs/architecture.md §5.3, fencing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from colonies.core.timeutil import to_unix_ns
from colonies.store.events import NOTIFY_SQL
from colonies.store.graph_resolution import member_failed, refresh_state
from colonies.store.ledger import seal

EXEC_LIMIT_EXCEEDED = "Maximum execution time limit exceeded"
WAIT_LIMIT_EXCEEDED = "Maximum waiting time limit exceeded"


class StaleTerm(Exception):
    """A newer leader has ticked: this replica must not act."""


async def fence(conn: asyncpg.Connection, term: int) -> None:
    """Inside the tick's transaction: hold the term row and require ours to be current."""
    current = await conn.fetchval(
        "UPDATE leader_term SET term = $1 WHERE term <= $1 RETURNING term", term
    )
    if current is None:
        raise StaleTerm(f"term {term} is stale")


_RECLAIM = f"""
WITH reclaimed AS (
  UPDATE processes
     SET state = 0, isassigned = false, assignedexecutorid = '', endtime = $1,
         retries = retries + 1,
         execdeadline = '0001-01-01 00:00:00+00',
         waitdeadline = CASE WHEN maxwaittime > 0 THEN $1 + maxwaittime * interval '1 second'
                             ELSE '0001-01-01 00:00:00+00'::timestamptz END
   WHERE state = 1 AND maxexectime > 0 AND execdeadline < $1
     AND (maxretries < 0 OR retries < maxretries)
  RETURNING processid, state, colonyname, executortype, location_lc, processgraphid)
SELECT processgraphid, {NOTIFY_SQL.format(p="reclaimed")} FROM reclaimed
"""

_EXPIRE_RUNNING = f"""
WITH failed AS (
  UPDATE processes SET state = 3, endtime = $1, errors = ARRAY['{EXEC_LIMIT_EXCEEDED}']
   WHERE state = 1 AND maxexectime > 0 AND execdeadline < $1
     AND maxretries >= 0 AND retries >= maxretries
  RETURNING processid, state, colonyname, executortype, location_lc, processgraphid)
SELECT processgraphid, {NOTIFY_SQL.format(p="failed")} FROM failed
"""

_EXPIRE_WAITING = f"""
WITH failed AS (
  UPDATE processes SET state = 3, endtime = $1, errors = ARRAY['{WAIT_LIMIT_EXCEEDED}']
   WHERE state = 0 AND maxwaittime > 0 AND waitdeadline < $1
  RETURNING processid, state, colonyname, executortype, location_lc, processgraphid)
SELECT processgraphid, {NOTIFY_SQL.format(p="failed")} FROM failed
"""


@dataclass(frozen=True, slots=True)
class DeadlineResult:
    reclaimed: int
    expired_running: int
    expired_waiting: int


class TickStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def current_term(self) -> int:
        term: int = await self.pool.fetchval("SELECT term FROM leader_term")
        return term

    async def leader_name(self) -> str:
        name: str = await self.pool.fetchval("SELECT holder FROM leader_term")
        return name

    async def deadlines(self, term: int, now: datetime) -> DeadlineResult:
        """Reclaim or fail processes past their execution deadline; fail those past their
        waiting deadline (§7.7). All of them, in one transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            reclaimed = await conn.fetch(_RECLAIM, now)
            expired_running = await conn.fetch(_EXPIRE_RUNNING, now)
            expired_waiting = await conn.fetch(_EXPIRE_WAITING, now)
            failed_graphs = {r["processgraphid"] for r in (*expired_running, *expired_waiting)} - {
                ""
            }
            for graphid in sorted(failed_graphs):
                await member_failed(conn, graphid, now)
            for graphid in sorted({r["processgraphid"] for r in reclaimed} - {""} - failed_graphs):
                await refresh_state(conn, graphid, now)
        return DeadlineResult(len(reclaimed), len(expired_running), len(expired_waiting))

    async def retention(self, term: int, now: datetime, max_age_seconds: int) -> int:
        """Delete SUCCESS processes and graphs, and all logs, older than the policy (§7.17)."""
        cutoff = now - timedelta(seconds=max_age_seconds)
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            graphs = await conn.fetch(
                "DELETE FROM processgraphs WHERE state = 2 AND submissiontime < $1 "
                "RETURNING processgraphid",
                cutoff,
            )
            await conn.execute(
                "DELETE FROM processes WHERE processgraphid = ANY($1::text[])",
                [g["processgraphid"] for g in graphs],
            )
            status = await conn.execute(
                "DELETE FROM processes WHERE processgraphid = '' AND state = 2 "
                "AND submissiontime < $1",
                cutoff,
            )
            await conn.execute("DELETE FROM logs WHERE ts < $1", to_unix_ns(cutoff))
        return int(status.split()[-1]) + len(graphs)

    async def expired_nonces(self, term: int, now: datetime) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            status = await conn.execute("DELETE FROM request_nonces WHERE expires < $1", now)
        return int(status.split()[-1])

    async def seal_ledger(
        self, term: int, sign: Callable[[bytes], tuple[str, str]] | None, now: datetime
    ) -> int:
        """Seal new ledger entries into the chain; checkpoint the head (signed when a key is
        configured) whenever it moved."""
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            sealed, head, position = await seal(conn)
            if sealed:
                message = f"{position}:{head.hex()}".encode()
                signer, signature = sign(message) if sign else ("", "")
                await conn.execute(
                    "INSERT INTO ledger_checkpoints (chain_pos, hash, ts, signer, signature) "
                    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    position,
                    head,
                    now,
                    signer,
                    signature,
                )
        return sealed

    async def stale_executors(self, term: int, now: datetime, max_silence_seconds: int) -> int:
        """Remove executors silent for too long (never those registered without a time)."""
        cutoff = now - timedelta(seconds=max_silence_seconds)
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            status = await conn.execute(
                "DELETE FROM executors WHERE lastheardfromtime > '0001-01-01 00:00:00+00' "
                "AND lastheardfromtime < $1",
                cutoff,
            )
        return int(status.split()[-1])
