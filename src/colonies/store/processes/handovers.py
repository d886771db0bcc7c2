"""Handovers, the executor fast path (a project addition, docs/protocol.md §7.21): an executor
closes its process and claims its next ones in one statement (``closeandassignmsg``), or claims
several at once (``assignprocessesmsg``).

Each statement is the standard path's close (``closes.py``) and claim (``claims.py``) in one:
the same guards (a close acts only on a running process assigned to the caller; a claim takes
waiting processes with ``FOR UPDATE SKIP LOCKED``, so none is handed out twice), the same
ledger triggers and events, and the request's nonce used by the statement itself. Several
processes are claimed in priority order while their summed requirements fit the resources the
executor reported.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

import colonies.store.processes.claims as claims
from colonies.core import Process, utcnow
from colonies.store.batching import Batcher
from colonies.store.errors import Replayed
from colonies.store.events import process_event
from colonies.store.graph_resolution import member_failed, member_succeeded
from colonies.store.nonces import Nonce, nonce_use_args, nonce_use_sql
from colonies.store.processes.claims import claimed_set
from colonies.store.processes.closes import FUNCTION_STATS_SET, Closes
from colonies.store.processes.reads import process_columns, to_process
from colonies.store.statements import Database, Statement


def fitting(guard: str) -> str:
    """The CTEs ``cand`` and ``fits`` of a claim of up to :count processes for one executor:
    the waiting processes open to it, taken in priority order while their summed requirements
    fit the resources it reported; only when the CTE ``guard`` has a row (the close acted, the
    request was admitted)."""
    return f"""cand AS (
  SELECT c.processid, c.prioritytime, c.seq, c.req_cpu, c.req_mem FROM processes c
   WHERE EXISTS (SELECT 1 FROM {guard})
     AND c.state = 0 /* WAITING */ AND NOT c.waitforparents
     AND c.colonyname = :colonyname AND c.executortype = :executortype
     AND (cardinality(c.executornames) = 0 OR c.executornames = '{{*}}'
          OR :executorname = ANY (c.executornames))
     AND (c.location_lc = '' OR c.location_lc = :location_lc)
     AND (:available_cpu::bigint < 0 OR c.req_cpu <= :available_cpu::bigint)
     AND (:available_mem::bigint < 0 OR c.req_mem <= :available_mem::bigint)
   ORDER BY c.prioritytime, c.seq
   LIMIT :count
     FOR UPDATE SKIP LOCKED),
fits AS (
  SELECT s.processid FROM (
    SELECT processid, sum(req_cpu) OVER w AS cpu, sum(req_mem) OVER w AS mem
      FROM cand WINDOW w AS (ORDER BY prioritytime, seq)) s
   WHERE (:available_cpu::bigint < 0 OR s.cpu <= :available_cpu::bigint)
     AND (:available_mem::bigint < 0 OR s.mem <= :available_mem::bigint))"""


# Close the caller's running process as SUCCESS (output replaced when the request's is
# non-empty, function statistics as closesuccessfulmsg's) or FAILED (errors stored), then, only
# if it closed, claim up to :count waiting processes for the same executor as CLAIM_ONE would,
# one after the other in priority order while their summed requirements fit the available
# resources. Only an admitted request acts (store/nonces.py, keyed by processid). One row per
# claimed process (one row with NULL claimed columns when none was): admitted, what was closed
# and its event, the claimed process's columns and its event. The SET of ``claimed`` is
# claimed_set's (claims.py).
CLOSE_AND_CLAIM = Statement(f"""
WITH {nonce_use_sql(":keys", ":callers", ":nonces", ":expires")},
closed AS (
  UPDATE processes p
     SET state = CASE WHEN :successful THEN 2 /* SUCCESS */ ELSE 3 /* FAILED */ END,
         endtime = :now,
         output = CASE WHEN :successful AND jsonb_array_length(:output::jsonb) > 0
                       THEN :output::jsonb ELSE p.output END,
         errors = CASE WHEN :successful THEN p.errors ELSE :errors::text[] END
   WHERE p.processid = :processid AND p.state = 1 /* RUNNING */
     AND p.assignedexecutorid = :executorid AND EXISTS (SELECT 1 FROM admitted)
  RETURNING p.processid, p.state, p.colonyname, p.executortype, p.location_lc, p.funcname,
            p.processgraphid,
            extract(epoch FROM p.starttime - p.submissiontime)::float8 AS waited,
            extract(epoch FROM p.endtime - p.starttime)::float8 AS ran),
stats AS (
  UPDATE functions f
     SET {FUNCTION_STATS_SET}
    FROM closed c, executors e
   WHERE c.state = 2 /* SUCCESS */
     AND e.colonyname = c.colonyname AND e.executorid = :executorid
     AND f.colonyname = c.colonyname AND f.executorname = e.executorname
     AND f.funcname = c.funcname
  RETURNING 1),
alive AS (
  UPDATE executors SET lastheardfromtime = :now
   WHERE colonyname = :colonyname AND executorid = :executorid
     AND EXISTS (SELECT 1 FROM closed)),
{fitting("closed")},
claimed AS (
  UPDATE processes p
     SET {claimed_set(":executorid")}
   WHERE p.processid IN (SELECT processid FROM fits)
  RETURNING p.*),
graph AS (
  UPDATE processgraphs g SET state = 1 /* RUNNING */, starttime = :now
   WHERE g.processgraphid IN (SELECT processgraphid FROM claimed)
     AND g.state = 0 /* WAITING */)
SELECT EXISTS (SELECT 1 FROM admitted) AS admitted,
       cl.processid AS closed_processid, cl.processgraphid AS closed_processgraphid,
       cl.funcname AS closed_funcname, cl.ran AS closed_ran,
       CASE WHEN cl.processid IS NULL THEN NULL ELSE {process_event("cl")} END AS closed_event,
       {process_columns("c")},
       CASE WHEN c.processid IS NULL THEN NULL ELSE {process_event("c")} END
  FROM (SELECT 1) AS one LEFT JOIN closed cl ON true LEFT JOIN claimed c ON true
 ORDER BY c.prioritytime, c.seq
""")

# CLOSE_AND_CLAIM for several executors at once, as closes and claims of concurrent requests
# share one statement on the standard path (closes.py CLOSE_SUCCESSFUL, claims.py CLAIM_MANY):
# executors of one colony, executor type and location, without resource limits, closing
# standalone processes (one executor and one process at most once each). The first processes
# open to any executor go to the closers in request order, :counts each, while none aimed at
# executors by name waits (then each claims alone, as with CLAIM_MANY). Errors are JSON text
# lists (asyncpg would read a list of lists as a 2-D array). One row per request and process
# claimed for it (one with NULL claimed columns when none was): its key (the processid it
# closes), admitted, what was closed and its event, the claimed process's columns and event.
CLOSE_AND_CLAIM_MANY = Statement(f"""
WITH {nonce_use_sql(":processids", ":callers", ":nonces", ":expires")},
closed AS (
  UPDATE processes p
     SET state = CASE WHEN u.successful THEN 2 /* SUCCESS */ ELSE 3 /* FAILED */ END,
         endtime = :now,
         output = CASE WHEN u.successful AND jsonb_array_length(u.output) > 0
                       THEN u.output ELSE p.output END,
         errors = CASE WHEN u.successful THEN p.errors
                       ELSE ARRAY(SELECT jsonb_array_elements_text(u.errors)) END
    FROM (SELECT x.processid, x.executorid, x.successful, x.output::jsonb AS output,
                 x.errors::jsonb AS errors, x.count, x.ord
            FROM unnest(:processids::text[], :executorids::text[], :successes::bool[],
                        :outputs::text[], :errors::text[], :counts::int[])
                 WITH ORDINALITY AS x(processid, executorid, successful, output, errors, count,
                                         ord)
           WHERE x.processid IN (SELECT key FROM admitted)) AS u
   WHERE p.processid = u.processid AND p.state = 1 /* RUNNING */
     AND p.assignedexecutorid = u.executorid
  RETURNING p.processid, p.state, p.colonyname, p.executortype, p.location_lc, p.funcname,
            p.processgraphid, u.executorid, u.count, u.ord,
            extract(epoch FROM p.starttime - p.submissiontime)::float8 AS waited,
            extract(epoch FROM p.endtime - p.starttime)::float8 AS ran),
stats AS (
  UPDATE functions f
     SET {FUNCTION_STATS_SET}
    FROM closed c, executors e
   WHERE c.state = 2 /* SUCCESS */
     AND e.colonyname = c.colonyname AND e.executorid = c.executorid
     AND f.colonyname = c.colonyname AND f.executorname = e.executorname
     AND f.funcname = c.funcname
  RETURNING 1),
req AS (
  SELECT c.executorid, c.processid AS closed_id,
         row_number() OVER (ORDER BY c.ord, g.k) AS n
    FROM closed c CROSS JOIN LATERAL generate_series(1, c.count) AS g(k)),
alive AS (
  UPDATE executors SET lastheardfromtime = :now
   WHERE colonyname = :colonyname AND executorid IN (SELECT executorid FROM closed)),
cand AS (
  SELECT c.processid, row_number() OVER (ORDER BY c.prioritytime, c.seq) AS n
    FROM (SELECT c.processid, c.prioritytime, c.seq FROM processes c
           WHERE c.state = 0 /* WAITING */ AND NOT c.waitforparents
             AND c.colonyname = :colonyname AND c.executortype = :executortype
             AND (cardinality(c.executornames) = 0 OR c.executornames = '{{*}}')
             AND (c.location_lc = '' OR c.location_lc = :location_lc)
             AND NOT EXISTS (
                   SELECT 1 FROM processes r
                    WHERE r.state = 0 /* WAITING */ AND r.colonyname = :colonyname
                      AND r.executortype = :executortype
                      AND cardinality(r.executornames) > 0 AND r.executornames <> '{{*}}')
           ORDER BY c.prioritytime, c.seq
           LIMIT (SELECT count(*) FROM req)
             FOR UPDATE SKIP LOCKED) c),
claimed AS (
  UPDATE processes p
     SET {claimed_set("req.executorid")}
    FROM cand JOIN req USING (n)
   WHERE p.processid = cand.processid
  RETURNING p.*, req.closed_id),
graph AS (
  UPDATE processgraphs g SET state = 1 /* RUNNING */, starttime = :now
   WHERE g.processgraphid IN (SELECT processgraphid FROM claimed)
     AND g.state = 0 /* WAITING */)
SELECT i.key, a.key IS NOT NULL AS admitted,
       cl.processid AS closed_processid, cl.processgraphid AS closed_processgraphid,
       cl.funcname AS closed_funcname, cl.ran AS closed_ran,
       CASE WHEN cl.processid IS NULL THEN NULL ELSE {process_event("cl")} END AS closed_event,
       {process_columns("c")},
       CASE WHEN c.processid IS NULL THEN NULL ELSE {process_event("c")} END
  FROM items i LEFT JOIN admitted a USING (key) LEFT JOIN closed cl ON cl.processid = i.key
       LEFT JOIN claimed c ON c.closed_id = i.key
 ORDER BY i.ord, c.prioritytime, c.seq
""")

# Claim up to :count waiting processes for one executor (assignprocessesmsg, and a fast-path
# long poll that waited): CLOSE_AND_CLAIM without the close. One row per claimed process (one
# row with NULL claimed columns when none was): admitted, the claimed process's columns, its
# event.
CLAIM_UP_TO = Statement(f"""
WITH {nonce_use_sql("ARRAY['1']", ":callers", ":nonces", ":expires")},
alive AS (
  UPDATE executors SET lastheardfromtime = :now
   WHERE colonyname = :colonyname AND executorid = :executorid
     AND EXISTS (SELECT 1 FROM admitted)),
{fitting("admitted")},
claimed AS (
  UPDATE processes p
     SET {claimed_set(":executorid")}
   WHERE p.processid IN (SELECT processid FROM fits)
  RETURNING p.*),
graph AS (
  UPDATE processgraphs g SET state = 1 /* RUNNING */, starttime = :now
   WHERE g.processgraphid IN (SELECT processgraphid FROM claimed)
     AND g.state = 0 /* WAITING */)
SELECT EXISTS (SELECT 1 FROM admitted) AS admitted,
       {process_columns("c")},
       CASE WHEN c.processid IS NULL THEN NULL ELSE {process_event("c")} END
  FROM (SELECT 1) AS one LEFT JOIN claimed c ON true
 ORDER BY c.prioritytime, c.seq
""")


_json_text = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Claimer:
    """The executor a handover claims for, as its registration describes it."""

    colonyname: str
    executortype: str
    executorname: str
    location_lc: str
    executorid: str
    available_cpu: int = -1  # -1: not reported, no limit
    available_mem: int = -1


@dataclass(frozen=True, slots=True)
class Handover:
    """What a close-and-claim did: closed (False: the process was not running for the caller,
    and nothing was claimed), and the processes claimed, in priority order."""

    closed: bool
    processgraphid: str = ""
    funcname: str = ""
    ran: float = 0.0  # seconds from assignment to close
    claimed: tuple[Process, ...] = ()


def _claimed(rows: list[asyncpg.Record]) -> tuple[Process, ...]:
    return tuple(to_process(row) for row in rows if row["processid"] is not None)


@dataclass(frozen=True, slots=True)
class Handoff:
    """One close-and-claim, as the shared statement takes it."""

    processid: str
    claimer: Claimer
    count: int
    successful: bool
    output: list[Any]
    errors: list[str]
    now: datetime
    nonce: Nonce | None = None


# What a close-and-claim did, or its refusal (the request was a replay).
Handed = Handover | Replayed


def _handover(rows: list[asyncpg.Record]) -> Handed:
    """A close-and-claim statement's rows for one request."""
    first = rows[0]
    if not first["admitted"]:
        return Replayed()
    if first["closed_processid"] is None:
        return Handover(closed=False)
    return Handover(
        True, first["closed_processgraphid"], first["closed_funcname"], first["closed_ran"],
        _claimed(rows),
    )  # fmt: skip


def _shares(h: Handoff) -> bool:
    """Whether a handoff can share the statement of concurrent ones (see CLOSE_AND_CLAIM_MANY)."""
    return h.claimer.available_cpu < 0 and h.claimer.available_mem < 0


class Handovers:
    def __init__(self, pool: asyncpg.Pool, closes: Closes) -> None:
        self.pool = pool
        self.closes = closes
        self._shared = Batcher(self.close_and_claim_many, orphaned=self.unclaim)

    async def close_and_claim(
        self,
        processid: str,
        claimer: Claimer,
        count: int,
        *,
        successful: bool,
        output: list[Any],
        errors: list[str],
        now: datetime,
        graphid: str = "",
        nonce: Nonce | None = None,
    ) -> Handover:
        """Close ``processid`` (running for ``claimer``) as successful or failed and claim up to
        ``count`` processes for it, in one statement; a graph member's close resolves its graph
        in the same transaction. Replayed (and no effect) when ``nonce`` was used. A successful
        close of a standalone process that claims nothing is the standard path's, shared with
        concurrent closes (closes.py); close-and-claims of standalone processes by executors
        without resource limits share one statement too."""
        if count == 0 and successful and not graphid:
            closed = await self.closes.close_successful(
                processid, claimer.executorid, output, now, nonce=nonce
            )
            if closed is None:
                return Handover(closed=False)
            return Handover(True, closed.processgraphid, closed.funcname, closed.ran)
        handoff = Handoff(processid, claimer, count, successful, output, errors, now, nonce)
        if graphid:
            async with self.pool.acquire() as conn, conn.transaction():
                handed = _handover(await self._close_and_claim(conn, handoff))
                if isinstance(handed, Handover) and handed.closed:
                    if successful:
                        await member_succeeded(conn, graphid, processid, now)
                    else:
                        await member_failed(conn, graphid, now)
        elif _shares(handoff):
            handed = await self._shared(handoff)
        else:
            handed = _handover(await self._close_and_claim(self.pool, handoff))
        if isinstance(handed, Replayed):
            raise Replayed
        return handed

    async def _close_and_claim(self, db: Database, h: Handoff) -> list[asyncpg.Record]:
        keys, callers, nonces, expires = nonce_use_args([h.processid], [h.nonce])
        c = h.claimer
        return await CLOSE_AND_CLAIM.fetch(
            db,
            keys=keys,
            callers=callers,
            nonces=nonces,
            expires=expires,
            processid=h.processid,
            successful=h.successful,
            output=h.output,
            errors=h.errors,
            now=max(h.now, utcnow()),
            colonyname=c.colonyname,
            executortype=c.executortype,
            executorname=c.executorname,
            location_lc=c.location_lc,
            executorid=c.executorid,
            available_cpu=c.available_cpu,
            available_mem=c.available_mem,
            count=h.count,
        )

    async def close_and_claim_many(self, handoffs: list[Handoff]) -> list[Handed]:
        """Concurrent close-and-claims: one statement per colony, executor type and location;
        one that could not claim in it (a process aimed at executors by name waits) claims
        alone afterwards, as the standard path's shared claims do."""
        results: list[Handed | None] = [None] * len(handoffs)
        groups: dict[tuple[str, str, str], list[int]] = {}
        for i, h in enumerate(handoffs):
            c = h.claimer
            groups.setdefault((c.colonyname, c.executortype, c.location_lc), []).append(i)
        for (colonyname, executortype, location_lc), members in groups.items():
            ids = [handoffs[i].processid for i in members]
            executors = [handoffs[i].claimer.executorid for i in members]
            if len(members) == 1 or len(set(ids)) < len(ids) or len(set(executors)) < len(ids):
                for i in members:
                    results[i] = _handover(await self._close_and_claim(self.pool, handoffs[i]))
                continue
            group = [handoffs[i] for i in members]
            processids, callers, nonces, expires = nonce_use_args(ids, [h.nonce for h in group])
            rows = await CLOSE_AND_CLAIM_MANY.fetch(
                self.pool,
                processids=processids,
                callers=callers,
                nonces=nonces,
                expires=expires,
                now=max(max(h.now for h in group), utcnow()),
                executorids=executors,
                successes=[h.successful for h in group],
                outputs=[_json_text(h.output).decode() for h in group],
                errors=[_json_text(h.errors).decode() for h in group],
                counts=[h.count for h in group],
                colonyname=colonyname,
                executortype=executortype,
                location_lc=location_lc,
            )
            by_key: dict[str, list[asyncpg.Record]] = {}
            for row in rows:
                by_key.setdefault(row["key"], []).append(row)
            for i, h in zip(members, group, strict=True):
                handed = _handover(by_key[h.processid])
                if (
                    isinstance(handed, Handover)
                    and handed.closed
                    and h.count
                    and not handed.claimed
                ):
                    # Closed, nothing claimed by the shared claim: this executor claims alone.
                    alone = await self.claim_up_to(h.claimer, h.count, h.now)
                    handed = dataclasses.replace(handed, claimed=alone)
                results[i] = handed
        return [r if r is not None else Handover(closed=False) for r in results]

    async def unclaim(self, handoff: Handoff, handed: Handed) -> None:
        """Put back what was claimed for a request that ended meanwhile (its close stays)."""
        if isinstance(handed, Handover):
            for process in handed.claimed:
                await claims.UNCLAIM.execute(
                    self.pool, processid=process.processid, executorid=handoff.claimer.executorid
                )

    async def claim_up_to(
        self, claimer: Claimer, count: int, now: datetime, nonce: Nonce | None = None
    ) -> tuple[Process, ...]:
        """Claim up to ``count`` waiting processes for ``claimer`` in one statement (the
        executor is marked alive); Replayed (and no effect) when ``nonce`` was used."""
        c = claimer
        _, callers, nonces, expires = nonce_use_args(["1"], [nonce])
        rows = await CLAIM_UP_TO.fetch(
            self.pool,
            callers=callers,
            nonces=nonces,
            expires=expires,
            now=max(now, utcnow()),
            colonyname=c.colonyname,
            executortype=c.executortype,
            executorname=c.executorname,
            location_lc=c.location_lc,
            executorid=c.executorid,
            available_cpu=c.available_cpu,
            available_mem=c.available_mem,
            count=count,
        )
        if not rows[0]["admitted"]:
            raise Replayed
        return _claimed(rows)
