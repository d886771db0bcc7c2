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

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from colonies.core import Process, utcnow
from colonies.store.errors import Replayed
from colonies.store.events import process_event
from colonies.store.graph_resolution import member_failed, member_succeeded
from colonies.store.nonces import Nonce, nonce_use_args, nonce_use_sql
from colonies.store.processes.closes import Closes
from colonies.store.processes.reads import to_process
from colonies.store.statements import Database, Statement

# Close the caller's running process as SUCCESS (output replaced when the request's is
# non-empty, function statistics as closesuccessfulmsg's) or FAILED (errors stored), then, only
# if it closed, claim up to :count waiting processes for the same executor as CLAIM_ONE would,
# one after the other in priority order while their summed requirements fit the available
# resources. Only an admitted request acts (store/nonces.py, keyed by processid). One row per
# claimed process (one row with NULL claimed columns when none was): admitted, what was closed
# and its event, the claimed process's columns and its event. The SET of ``claimed`` is
# CLAIM_ONE's.
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
     SET counter = f.counter + 1,
         minwaittime = CASE WHEN f.counter = 0 THEN c.waited
                            ELSE least(f.minwaittime, c.waited) END,
         maxwaittime = greatest(f.maxwaittime, c.waited),
         minexectime = CASE WHEN f.counter = 0 THEN c.ran ELSE least(f.minexectime, c.ran) END,
         maxexectime = greatest(f.maxexectime, c.ran),
         avgwaittime = (f.avgwaittime + c.waited) / 2,
         avgexectime = (f.avgexectime + c.ran) / 2
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
cand AS (
  SELECT c.processid, c.prioritytime, c.seq, c.req_cpu, c.req_mem FROM processes c
   WHERE EXISTS (SELECT 1 FROM closed)
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
     AND (:available_mem::bigint < 0 OR s.mem <= :available_mem::bigint)),
claimed AS (
  UPDATE processes p
     SET state = 1 /* RUNNING */, isassigned = true, assignedexecutorid = :executorid,
         starttime = greatest(:now, p.submissiontime),
         execdeadline = CASE WHEN p.maxexectime > 0
                             THEN greatest(:now, p.submissiontime)
                                  + p.maxexectime * interval '1 second'
                             ELSE '0001-01-01 00:00:00+00'::timestamptz END,
         input = CASE WHEN cardinality(p.parents) = 0 THEN p.input ELSE (
                   SELECT coalesce(jsonb_agg(e.elem ORDER BY u.ord, e.idx), '[]'::jsonb)
                     FROM unnest(p.parents) WITH ORDINALITY AS u(pid, ord)
                     JOIN processes pp ON pp.processid = u.pid
                    CROSS JOIN LATERAL jsonb_array_elements(pp.output)
                          WITH ORDINALITY AS e(elem, idx)) END
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
       c.processid, c.initiatorid, c.initiatorname, c.assignedexecutorid, c.isassigned, c.state,
       c.prioritytime, c.submissiontime, c.starttime, c.endtime, c.waitdeadline, c.execdeadline,
       c.retries, c.spec, c.waitforparents, c.parents, c.children, c.processgraphid, c.input,
       c.output, c.errors,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'attributeid', a.attributeid, 'targetid', a.targetid,
                 'targetcolonyname', a.targetcolonyname,
                 'targetprocessgraphid', a.targetprocessgraphid, 'state', c.state,
                 'attributetype', a.attributetype, 'key', a.key, 'value', a.value)
               ORDER BY a.seq), '[]'::jsonb)
          FROM attributes a WHERE a.targetid = c.processid) AS attributes,
       CASE WHEN c.processid IS NULL THEN NULL ELSE {process_event("c")} END
  FROM (SELECT 1) AS one LEFT JOIN closed cl ON true LEFT JOIN claimed c ON true
 ORDER BY c.prioritytime, c.seq
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
cand AS (
  SELECT c.processid, c.prioritytime, c.seq, c.req_cpu, c.req_mem FROM processes c
   WHERE EXISTS (SELECT 1 FROM admitted)
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
     AND (:available_mem::bigint < 0 OR s.mem <= :available_mem::bigint)),
claimed AS (
  UPDATE processes p
     SET state = 1 /* RUNNING */, isassigned = true, assignedexecutorid = :executorid,
         starttime = greatest(:now, p.submissiontime),
         execdeadline = CASE WHEN p.maxexectime > 0
                             THEN greatest(:now, p.submissiontime)
                                  + p.maxexectime * interval '1 second'
                             ELSE '0001-01-01 00:00:00+00'::timestamptz END,
         input = CASE WHEN cardinality(p.parents) = 0 THEN p.input ELSE (
                   SELECT coalesce(jsonb_agg(e.elem ORDER BY u.ord, e.idx), '[]'::jsonb)
                     FROM unnest(p.parents) WITH ORDINALITY AS u(pid, ord)
                     JOIN processes pp ON pp.processid = u.pid
                    CROSS JOIN LATERAL jsonb_array_elements(pp.output)
                          WITH ORDINALITY AS e(elem, idx)) END
   WHERE p.processid IN (SELECT processid FROM fits)
  RETURNING p.*),
graph AS (
  UPDATE processgraphs g SET state = 1 /* RUNNING */, starttime = :now
   WHERE g.processgraphid IN (SELECT processgraphid FROM claimed)
     AND g.state = 0 /* WAITING */)
SELECT EXISTS (SELECT 1 FROM admitted) AS admitted,
       c.processid, c.initiatorid, c.initiatorname, c.assignedexecutorid, c.isassigned, c.state,
       c.prioritytime, c.submissiontime, c.starttime, c.endtime, c.waitdeadline, c.execdeadline,
       c.retries, c.spec, c.waitforparents, c.parents, c.children, c.processgraphid, c.input,
       c.output, c.errors,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'attributeid', a.attributeid, 'targetid', a.targetid,
                 'targetcolonyname', a.targetcolonyname,
                 'targetprocessgraphid', a.targetprocessgraphid, 'state', c.state,
                 'attributetype', a.attributetype, 'key', a.key, 'value', a.value)
               ORDER BY a.seq), '[]'::jsonb)
          FROM attributes a WHERE a.targetid = c.processid) AS attributes,
       CASE WHEN c.processid IS NULL THEN NULL ELSE {process_event("c")} END
  FROM (SELECT 1) AS one LEFT JOIN claimed c ON true
 ORDER BY c.prioritytime, c.seq
""")


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


class Handovers:
    def __init__(self, pool: asyncpg.Pool, closes: Closes) -> None:
        self.pool = pool
        self.closes = closes

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
        concurrent closes (closes.py)."""
        if count == 0 and successful and not graphid:
            closed = await self.closes.close_successful(processid, claimer.executorid, output, now,
                                                       nonce=nonce)  # fmt: skip
            if closed is None:
                return Handover(closed=False)
            return Handover(True, closed.processgraphid, closed.funcname, closed.ran)
        if not graphid:
            rows = await self._close_and_claim(
                self.pool, processid, claimer, count, successful, output, errors, now, nonce
            )
        else:
            async with self.pool.acquire() as conn, conn.transaction():
                rows = await self._close_and_claim(
                    conn, processid, claimer, count, successful, output, errors, now, nonce
                )
                if rows[0]["closed_processid"] is not None:
                    if successful:
                        await member_succeeded(conn, graphid, processid, now)
                    else:
                        await member_failed(conn, graphid, now)
        first = rows[0]
        if not first["admitted"]:
            raise Replayed
        if first["closed_processid"] is None:
            return Handover(closed=False)
        return Handover(
            True, first["closed_processgraphid"], first["closed_funcname"], first["closed_ran"],
            _claimed(rows),
        )  # fmt: skip

    async def _close_and_claim(
        self,
        db: Database,
        processid: str,
        c: Claimer,
        count: int,
        successful: bool,
        output: list[Any],
        errors: list[str],
        now: datetime,
        nonce: Nonce | None,
    ) -> list[asyncpg.Record]:
        keys, callers, nonces, expires = nonce_use_args([processid], [nonce])
        return await CLOSE_AND_CLAIM.fetch(
            db,
            keys=keys,
            callers=callers,
            nonces=nonces,
            expires=expires,
            processid=processid,
            successful=successful,
            output=output,
            errors=errors,
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
