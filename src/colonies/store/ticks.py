"""The leader's periodic work, each tick one fenced, idempotent transaction.

Every tick first raises the stored leader term to its own, or finds a newer one and refuses to
act (:class:`StaleTerm`, store/fencing.py): a leader that was paused past its lease cannot
write after a new leader has started ticking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from colonies.core.timeutil import to_unix_ns
from colonies.store.events import process_event
from colonies.store.fencing import StaleTerm, current_term, fence
from colonies.store.graph_resolution import member_failed, refresh_state
from colonies.store.ledger import seal
from colonies.store.statements import Statement

__all__ = [
    "EXEC_LIMIT_EXCEEDED",
    "WAIT_LIMIT_EXCEEDED",
    "DeadlineResult",
    "StaleTerm",  # store/fencing.py's, raised by every tick here
    "TickStore",
]

EXEC_LIMIT_EXCEEDED = "Maximum execution time limit exceeded"
WAIT_LIMIT_EXCEEDED = "Maximum waiting time limit exceeded"


# Running processes past their execution deadline that may be retried wait again (§7.7).
RECLAIM = Statement(f"""
WITH reclaimed AS (
  UPDATE processes
     SET state = 0 /* WAITING */, isassigned = false, assignedexecutorid = '', endtime = :now,
         retries = retries + 1,
         execdeadline = '0001-01-01 00:00:00+00',
         waitdeadline = CASE WHEN maxwaittime > 0 THEN :now + maxwaittime * interval '1 second'
                             ELSE '0001-01-01 00:00:00+00'::timestamptz END
   WHERE state = 1 /* RUNNING */ AND maxexectime > 0 AND execdeadline < :now
     AND (maxretries < 0 OR retries < maxretries)
  RETURNING processid, state, colonyname, executortype, location_lc, processgraphid)
SELECT processgraphid, {process_event("reclaimed")} FROM reclaimed
""")

# Running processes past their execution deadline without retries left fail with :error.
EXPIRE_RUNNING = Statement(f"""
WITH failed AS (
  UPDATE processes SET state = 3 /* FAILED */, endtime = :now, errors = ARRAY[:error::text]
   WHERE state = 1 /* RUNNING */ AND maxexectime > 0 AND execdeadline < :now
     AND maxretries >= 0 AND retries >= maxretries
  RETURNING processid, state, colonyname, executortype, location_lc, processgraphid)
SELECT processgraphid, {process_event("failed")} FROM failed
""")

# Waiting processes past their waiting deadline fail with :error.
EXPIRE_WAITING = Statement(f"""
WITH failed AS (
  UPDATE processes SET state = 3 /* FAILED */, endtime = :now, errors = ARRAY[:error::text]
   WHERE state = 0 /* WAITING */ AND maxwaittime > 0 AND waitdeadline < :now
  RETURNING processid, state, colonyname, executortype, location_lc, processgraphid)
SELECT processgraphid, {process_event("failed")} FROM failed
""")

# Retention (§7.17): successful graphs (then their members) and standalone processes submitted
# before the cutoff, and every log line written before it.
REMOVE_OLD_GRAPHS = Statement("""
DELETE FROM processgraphs WHERE state = 2 /* SUCCESS */ AND submissiontime < :cutoff
RETURNING processgraphid
""")

REMOVE_MEMBERS_OF_GRAPHS = Statement("""
DELETE FROM processes WHERE processgraphid = ANY (:processgraphids::text[])
""")

REMOVE_OLD_PROCESSES = Statement("""
DELETE FROM processes
 WHERE processgraphid = '' AND state = 2 /* SUCCESS */ AND submissiontime < :cutoff
""")

REMOVE_OLD_LOGS = Statement("DELETE FROM logs WHERE ts < :cutoff_ns")

REMOVE_EXPIRED_NONCES = Statement("DELETE FROM request_nonces WHERE expires < :now")

# A checkpoint of the ledger's head, signed when the server has a key (signer '' otherwise).
ADD_CHECKPOINT = Statement("""
INSERT INTO ledger_checkpoints (chain_pos, hash, ts, signer, signature)
VALUES (:chain_pos, :hash, :ts, :signer, :signature)
ON CONFLICT DO NOTHING
""")

# Executors silent since before the cutoff; never those registered without a time (year 1).
REMOVE_SILENT_EXECUTORS = Statement("""
DELETE FROM executors
 WHERE lastheardfromtime > '0001-01-01 00:00:00+00' AND lastheardfromtime < :cutoff
""")


@dataclass(frozen=True, slots=True)
class DeadlineResult:
    reclaimed: int
    expired_running: int
    expired_waiting: int


class TickStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def current_term(self) -> int:
        return await current_term(self.pool)

    async def deadlines(self, term: int, now: datetime) -> DeadlineResult:
        """Reclaim or fail processes past their execution deadline; fail those past their
        waiting deadline (§7.7). All of them, in one transaction."""
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            reclaimed = await RECLAIM.fetch(conn, now=now)
            expired_running = await EXPIRE_RUNNING.fetch(conn, now=now, error=EXEC_LIMIT_EXCEEDED)
            expired_waiting = await EXPIRE_WAITING.fetch(conn, now=now, error=WAIT_LIMIT_EXCEEDED)
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
            graphs = await REMOVE_OLD_GRAPHS.fetch(conn, cutoff=cutoff)
            await REMOVE_MEMBERS_OF_GRAPHS.execute(
                conn, processgraphids=[g["processgraphid"] for g in graphs]
            )
            status = await REMOVE_OLD_PROCESSES.execute(conn, cutoff=cutoff)
            await REMOVE_OLD_LOGS.execute(conn, cutoff_ns=to_unix_ns(cutoff))
        return int(status.split()[-1]) + len(graphs)

    async def expired_nonces(self, term: int, now: datetime) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            status = await REMOVE_EXPIRED_NONCES.execute(conn, now=now)
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
                await ADD_CHECKPOINT.execute(
                    conn,
                    chain_pos=position,
                    hash=head,
                    ts=now,
                    signer=signer,
                    signature=signature,
                )
        return sealed

    async def stale_executors(self, term: int, now: datetime, max_silence_seconds: int) -> int:
        """Remove executors silent for too long (never those registered without a time)."""
        cutoff = now - timedelta(seconds=max_silence_seconds)
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            status = await REMOVE_SILENT_EXECUTORS.execute(conn, cutoff=cutoff)
        return int(status.split()[-1])
