"""How a process ends: closed as successful or failed by its executor, cancelled, removed; and
the output an executor sets while it runs.

Every state change that someone may wait for sends its event in the same statement (hence the
same transaction). A graph member's close resolves its graph in the same transaction
(store/graph_resolution.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from colonies.core import ProcessState
from colonies.store.batching import Batcher
from colonies.store.errors import Replayed
from colonies.store.events import process_event
from colonies.store.graph_resolution import member_failed, member_succeeded
from colonies.store.nonces import Nonce, nonce_use_args, nonce_use_sql
from colonies.store.statements import Statement

# The function statistics of docs/protocol.md §7.20 as one successful close ``c`` (with its
# ``waited`` and ``ran`` seconds) updates them: the SET list of every statement that closes as
# SUCCESS (here and in handovers.py).
FUNCTION_STATS_SET = """counter = f.counter + 1,
         minwaittime = CASE WHEN f.counter = 0 THEN c.waited
                            ELSE least(f.minwaittime, c.waited) END,
         maxwaittime = greatest(f.maxwaittime, c.waited),
         minexectime = CASE WHEN f.counter = 0 THEN c.ran ELSE least(f.minexectime, c.ran) END,
         maxexectime = greatest(f.maxexectime, c.ran),
         avgwaittime = (f.avgwaittime + c.waited) / 2,
         avgexectime = (f.avgexectime + c.ran) / 2"""

# Close as SUCCESS the running processes given (processids, executorids, endtimes, outputs as
# JSON text: asyncpg would read a list of lists as a 2-D array) that are assigned to their
# executor, and update the function statistics of docs/protocol.md §7.20. One executor and
# one process at most once each, so that every function row is updated once per closed process.
# Only admitted requests act (store/nonces.py, keyed by processid). One row per request: was
# it admitted, did it close, what it closed, and its event.
CLOSE_SUCCESSFUL = Statement(f"""
WITH {nonce_use_sql(":processids", ":callers", ":nonces", ":expires")},
closed AS (
  UPDATE processes p
     SET state = 2 /* SUCCESS */, endtime = u.endtime,
         output = CASE WHEN jsonb_array_length(u.output) > 0 THEN u.output ELSE p.output END
    FROM (SELECT x.processid, x.executorid, x.endtime, x.output::jsonb AS output
            FROM unnest(:processids::text[], :executorids::text[], :endtimes::timestamptz[],
                        :outputs::text[]) AS x(processid, executorid, endtime, output)
           WHERE x.processid IN (SELECT key FROM admitted)) AS u
   WHERE p.processid = u.processid AND p.state = 1 /* RUNNING */
     AND p.assignedexecutorid = u.executorid
  RETURNING p.processid, p.state, p.colonyname, p.executortype, p.location_lc, p.funcname,
            p.processgraphid, u.executorid,
            extract(epoch FROM p.starttime - p.submissiontime)::float8 AS waited,
            extract(epoch FROM p.endtime - p.starttime)::float8 AS ran),
stats AS (
  UPDATE functions f
     SET {FUNCTION_STATS_SET}
    FROM closed c, executors e
   WHERE e.colonyname = c.colonyname AND e.executorid = c.executorid
     AND f.colonyname = c.colonyname AND f.executorname = e.executorname
     AND f.funcname = c.funcname
  RETURNING 1)
SELECT i.key AS processid, a.key IS NOT NULL AS admitted, c.processid IS NOT NULL AS closed,
       c.processgraphid, c.funcname, c.waited, c.ran,
       CASE WHEN c.processid IS NULL THEN NULL ELSE {process_event("c")} END
  FROM items i LEFT JOIN admitted a USING (key) LEFT JOIN closed c ON c.processid = i.key
""")

CLOSE_FAILED = Statement(f"""
WITH closed AS (
  UPDATE processes SET state = 3 /* FAILED */, endtime = :endtime, errors = :errors
   WHERE processid = :processid AND state = 1 /* RUNNING */
     AND assignedexecutorid = :executorid
  RETURNING processid, state, colonyname, executortype, location_lc, processgraphid, funcname,
            extract(epoch FROM endtime - starttime)::float8 AS ran)
SELECT c.processid, c.processgraphid, c.funcname, c.ran, {process_event("c")} FROM closed c
""")

SET_OUTPUT = Statement("""
UPDATE processes SET output = :output
 WHERE processid = :processid AND state = 1 /* RUNNING */ AND assignedexecutorid = :executorid
""")

# A standalone process that has not ended; a graph's members are cancelled with their graph.
CANCEL = Statement(f"""
WITH cancelled AS (
  UPDATE processes SET state = 4 /* CANCELLED */, endtime = :endtime
   WHERE processid = :processid AND state IN (0 /* WAITING */, 1 /* RUNNING */)
     AND processgraphid = ''
  RETURNING processid, state, colonyname, executortype, location_lc)
SELECT {process_event("cancelled")} FROM cancelled
""")

# Standalone processes only, never a running one; their attributes go with them (cascade).
REMOVE = Statement("""
DELETE FROM processes
 WHERE processid = :processid AND state <> 1 /* RUNNING */ AND processgraphid = ''
""")

REMOVE_ALL = Statement("""
DELETE FROM processes
 WHERE colonyname = :colonyname AND processgraphid = '' AND state <> 1 /* RUNNING */
""")

REMOVE_ALL_IN_STATE = Statement("""
DELETE FROM processes
 WHERE colonyname = :colonyname AND processgraphid = '' AND state = :state
""")

_json_text = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Closing:
    """A close as SUCCESS, as the shared statement takes it."""

    processid: str
    executorid: str
    endtime: datetime
    output: list[Any]
    nonce: Nonce | None = None  # the close request's, used by the close's statement


@dataclass(frozen=True, slots=True)
class Closed:
    processid: str
    processgraphid: str
    funcname: str
    waited: float  # seconds from submission to assignment
    ran: float  # seconds from assignment to close


class Closes:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._shared = Batcher(self.close_many)

    async def close_many(self, closings: list[Closing]) -> list[asyncpg.Record]:
        """Per close: was it admitted (not a replay), did it close, and what it closed."""
        return await self._close_many(self.pool, closings)

    async def _close_many(
        self, db: asyncpg.Pool | asyncpg.Connection, closings: list[Closing]
    ) -> list[asyncpg.Record]:
        ids, executors = [c.processid for c in closings], [c.executorid for c in closings]
        if len(closings) > 1 and (len(set(ids)) < len(ids) or len(set(executors)) < len(executors)):
            return [(await self._close_many(db, [c]))[0] for c in closings]
        _, callers, nonces, expires = nonce_use_args(ids, [c.nonce for c in closings])
        rows = await CLOSE_SUCCESSFUL.fetch(
            db,
            processids=ids,
            executorids=executors,
            endtimes=[c.endtime for c in closings],
            outputs=[_json_text(c.output).decode() for c in closings],
            callers=callers,
            nonces=nonces,
            expires=expires,
        )
        by_id = {row["processid"]: row for row in rows}
        return [by_id[processid] for processid in ids]

    async def close_successful(
        self,
        processid: str,
        executorid: str,
        output: list[Any],
        now: datetime,
        graphid: str = "",
        nonce: Nonce | None = None,
    ) -> Closed | None:
        """Close as SUCCESS; a graph member releases its children in the same transaction.
        None when the process is not running for ``executorid``; Replayed (and no effect) when
        ``nonce`` was used."""
        closing = Closing(processid, executorid, now, output, nonce)
        if not graphid:  # standalone: one statement, shared with concurrent closes
            row = await self._shared(closing)
        else:
            async with self.pool.acquire() as conn, conn.transaction():
                (row,) = await self._close_many(conn, [closing])
                if row["closed"]:
                    await member_succeeded(conn, graphid, processid, now)
        if not row["admitted"]:
            raise Replayed
        if not row["closed"]:
            return None
        return Closed(
            row["processid"], row["processgraphid"], row["funcname"], row["waited"], row["ran"]
        )

    async def close_failed(
        self, processid: str, executorid: str, errors: list[str], now: datetime, graphid: str = ""
    ) -> Closed | None:
        """Close as FAILED; a graph member fails its graph in the same transaction."""
        values = {"processid": processid, "executorid": executorid, "endtime": now}
        async with self.pool.acquire() as conn:
            if not graphid:
                row = await CLOSE_FAILED.fetchrow(conn, **values, errors=errors)
            else:
                async with conn.transaction():
                    row = await CLOSE_FAILED.fetchrow(conn, **values, errors=errors)
                    if row is not None:
                        await member_failed(conn, graphid, now)
        if row is None:
            return None
        return Closed(row["processid"], row["processgraphid"], row["funcname"], 0.0, row["ran"])

    async def set_output(self, processid: str, executorid: str, output: list[Any]) -> bool:
        status = await SET_OUTPUT.execute(
            self.pool, processid=processid, executorid=executorid, output=output
        )
        return status != "UPDATE 0"

    async def cancel(self, processid: str, now: datetime) -> bool:
        return await CANCEL.fetchrow(self.pool, processid=processid, endtime=now) is not None

    async def remove(self, processid: str) -> bool:
        return await REMOVE.execute(self.pool, processid=processid) != "DELETE 0"

    async def remove_all(self, colonyname: str, state: int) -> int:
        """Remove the colony's standalone processes in ``state`` (NOTSET: every state but
        RUNNING); how many were removed."""
        if state == ProcessState.NOTSET:
            status = await REMOVE_ALL.execute(self.pool, colonyname=colonyname)
        else:
            status = await REMOVE_ALL_IN_STATE.execute(
                self.pool, colonyname=colonyname, state=state
            )
        return int(status.split()[-1])
