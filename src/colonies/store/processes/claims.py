"""Claims: the atomic hand-over of a waiting process to an executor (assignprocessmsg, §7.5).

One statement takes the first matching waiting process, marks it running for the executor,
marks the executor alive, starts its graph, uses the request's nonce and sends the event.
Executors without resource limits that claim at the same time share one statement.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from colonies.core import Process, utcnow
from colonies.store.batching import Batcher
from colonies.store.errors import Replayed
from colonies.store.events import process_event
from colonies.store.nonces import Nonce, nonce_use_args, nonce_use_sql
from colonies.store.processes.reads import process_columns, to_process
from colonies.store.statements import Statement


def claimed_set(executorid: str) -> str:
    """What a claim makes of a waiting process ``p`` for the executor ``executorid`` (an SQL
    expression), as the SET list of an UPDATE: every statement that claims (here and in
    handovers.py) uses this one, so a claimed process looks the same whichever path took it."""
    return f"""state = 1 /* RUNNING */, isassigned = true, assignedexecutorid = {executorid},
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
                          WITH ORDINALITY AS e(elem, idx)) END"""


# One executor's claim; only an admitted request acts (store/nonces.py, one item keyed '1').
# The candidates' predicates are those of the partial index processes_claim (migration 002:
# WAITING and not waiting for parents), so that it serves them; test_query_plans.py guards
# this. The claim starts the process never before its submission (the server's clock was read
# before the statement ran) and gives a graph member its parents' outputs as input, in parents
# order (§7.9). One row: admitted, the claimed process's columns (NULL when nothing was
# claimed) and its event.
CLAIM_ONE = Statement(f"""
WITH {nonce_use_sql("ARRAY['1']", ":callers", ":nonces", ":expires")},
alive AS (
  UPDATE executors SET lastheardfromtime = :now
   WHERE colonyname = :colonyname AND executorid = :executorid
     AND EXISTS (SELECT 1 FROM admitted)),
claimed AS (
  UPDATE processes p
     SET {claimed_set(":executorid")}
   WHERE EXISTS (SELECT 1 FROM admitted) AND p.processid = (
           SELECT c.processid FROM processes c
            WHERE c.state = 0 /* WAITING */ AND NOT c.waitforparents
              AND c.colonyname = :colonyname AND c.executortype = :executortype
              AND (cardinality(c.executornames) = 0 OR c.executornames = '{{*}}'
                   OR :executorname = ANY (c.executornames))
              AND (c.location_lc = '' OR c.location_lc = :location_lc)
              -- bigint casts: "< 0" alone would type the parameters int4 (limit 2 GiB).
              AND (:available_cpu::bigint < 0 OR c.req_cpu <= :available_cpu::bigint)
              AND (:available_mem::bigint < 0 OR c.req_mem <= :available_mem::bigint)
            ORDER BY c.prioritytime, c.seq
            LIMIT 1
              FOR UPDATE SKIP LOCKED)
  RETURNING p.*),
graph AS (
  UPDATE processgraphs g SET state = 1 /* RUNNING */, starttime = :now
   WHERE g.processgraphid = (SELECT processgraphid FROM claimed)
     AND g.state = 0 /* WAITING */)
SELECT EXISTS (SELECT 1 FROM admitted) AS admitted,
       {process_columns("c")},
       CASE WHEN c.processid IS NULL THEN NULL ELSE {process_event("c")} END
  FROM (SELECT 1) AS one LEFT JOIN claimed c ON true
""")

# One claim for several executors without resource limits: the k first processes open to any
# executor go to the k admitted requests in order (store/nonces.py; the keys are the requests'
# positions, claim_n). Nothing is claimed while a process aimed at executors by name waits
# (partial index processes_waiting_named, migration 010): then every executor claims alone
# (CLAIM_ONE). The SET is claimed_set's. One row per request: claim_n, admitted, the claimed
# process's columns (NULL when nothing was claimed) and its event.
CLAIM_MANY = Statement(f"""
WITH {nonce_use_sql(":claim_ns", ":callers", ":nonces", ":expires")},
req AS (
  SELECT executorid, row_number() OVER (ORDER BY r.claim_n) AS n, r.claim_n
    FROM unnest(:executorids::text[]) WITH ORDINALITY AS r(executorid, claim_n)
   WHERE r.claim_n::text IN (SELECT key FROM admitted)),
alive AS (
  UPDATE executors SET lastheardfromtime = :now
   WHERE colonyname = :colonyname AND executorid IN (SELECT executorid FROM req)),
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
  RETURNING p.*, req.claim_n),
graph AS (
  UPDATE processgraphs g SET state = 1 /* RUNNING */, starttime = :now
   WHERE g.processgraphid IN (SELECT processgraphid FROM claimed)
     AND g.state = 0 /* WAITING */)
SELECT i.key::bigint AS claim_n, a.key IS NOT NULL AS admitted,
       {process_columns("c")},
       CASE WHEN c.processid IS NULL THEN NULL ELSE {process_event("c")} END
  FROM items i LEFT JOIN admitted a USING (key) LEFT JOIN claimed c ON c.claim_n = i.key::bigint
""")

# A claim nobody received (its executor's request was gone): waiting again, as before it.
UNCLAIM = Statement(f"""
WITH back AS (
  UPDATE processes
     SET state = 0 /* WAITING */, isassigned = false, assignedexecutorid = '',
         starttime = '0001-01-01 00:00:00+00', execdeadline = '0001-01-01 00:00:00+00'
   WHERE processid = :processid AND state = 1 /* RUNNING */
     AND assignedexecutorid = :executorid
  RETURNING processid, state, colonyname, executortype, location_lc)
SELECT {process_event("back")} FROM back
""")


@dataclass(frozen=True, slots=True)
class Claim:
    """One executor's claim, as the shared statement takes it."""

    colonyname: str
    executortype: str
    executorname: str
    location_lc: str
    executorid: str
    now: datetime
    nonce: Nonce | None = None  # the assign request's, used by the claim's statement


# What a claim found: a process, nothing, or a refusal (the request was a replay).
Claimed = Process | None | Replayed


def _claimed(row: asyncpg.Record) -> Claimed:
    """A claim statement's row for one request: refused as a replay, nothing, or a process."""
    if not row["admitted"]:
        return Replayed()
    return to_process(row) if row["processid"] is not None else None


class Claims:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._shared = Batcher(self.claim_many, orphaned=self.unclaim)

    async def claim(
        self,
        colonyname: str,
        executortype: str,
        executorname: str,
        location_lc: str,
        available_cpu: int,
        available_mem: int,
        executorid: str,
        now: datetime,
        nonce: Nonce | None = None,
    ) -> Process | None:
        """Atomically hand the first matching waiting process to this executor.

        The same statement marks the executor alive (every assign attempt does, §7.5) and
        uses the request's ``nonce`` (Replayed, and no effect, if it was used). Executors
        without resource limits that claim at the same time share one statement.
        """
        claim = Claim(colonyname, executortype, executorname, location_lc, executorid, now, nonce)
        if available_cpu < 0 and available_mem < 0:
            claimed = await self._shared(claim)
        else:
            claimed = await self.claim_one(claim, available_cpu, available_mem)
        if isinstance(claimed, Replayed):
            raise Replayed
        return claimed

    async def claim_one(self, c: Claim, cpu: int = -1, mem: int = -1) -> Claimed:
        _, callers, nonces, expires = nonce_use_args(["1"], [c.nonce])
        row = await CLAIM_ONE.fetchrow(
            self.pool,
            colonyname=c.colonyname,
            executortype=c.executortype,
            executorname=c.executorname,
            location_lc=c.location_lc,
            available_cpu=cpu,
            available_mem=mem,
            executorid=c.executorid,
            now=max(c.now, utcnow()),
            callers=callers,
            nonces=nonces,
            expires=expires,
        )
        assert row is not None  # one row, claimed or not
        return _claimed(row)

    async def unclaim(self, claim: Claim, claimed: Claimed) -> None:
        """Put back a process claimed for an executor whose request ended meanwhile."""
        if isinstance(claimed, Process):
            await UNCLAIM.execute(
                self.pool, processid=claimed.processid, executorid=claim.executorid
            )

    async def claim_many(self, asked: list[Claim]) -> list[Claimed]:
        """Claims asked at the same time: shared by those of the same colony, executor type and
        location; each left empty-handed then claims alone."""
        claims = list(asked)  # nonces used by the shared statement are dropped below
        results: list[Claimed] = [None] * len(claims)
        groups: dict[tuple[str, str, str], list[int]] = {}
        for i, c in enumerate(claims):
            groups.setdefault((c.colonyname, c.executortype, c.location_lc), []).append(i)
        for (colonyname, executortype, location_lc), members in groups.items():
            if len(members) > 1:
                claim_ns, callers, nonces, expires = nonce_use_args(
                    [str(n) for n in range(1, len(members) + 1)],
                    [claims[i].nonce for i in members],
                )
                rows = await CLAIM_MANY.fetch(
                    self.pool,
                    colonyname=colonyname,
                    executortype=executortype,
                    location_lc=location_lc,
                    executorids=[claims[i].executorid for i in members],
                    # The time the statement runs, not when the claims were asked: a claim that
                    # waited behind another batch may take a process submitted meanwhile.
                    now=max(max(claims[i].now for i in members), utcnow()),
                    claim_ns=claim_ns,
                    callers=callers,
                    nonces=nonces,
                    expires=expires,
                )
                for row in rows:
                    results[members[row["claim_n"] - 1]] = _claimed(row)
                # Their nonces are used now: those left empty-handed claim without.
                for i in members:
                    claims[i] = dataclasses.replace(claims[i], nonce=None)
            # Those the shared claim left empty-handed claim alone, side by side: a process
            # aimed at them by name, or simply too few processes.
            alone = [i for i in members if results[i] is None]
            found = await asyncio.gather(*(self.claim_one(claims[i]) for i in alone))
            for i, process in zip(alone, found, strict=True):
                results[i] = process
        return results
