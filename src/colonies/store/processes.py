"""Processes: submit, the atomic claim, close/fail/cancel, listings, attributes and logs.

Every state change that someone may wait for sends a NOTIFY in the same statement (hence the
same transaction), so waiters on every replica learn of it only once it is committed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec

from colonies.core import Attribute, FunctionSpec, Log, Process, ProcessState, utcnow
from colonies.core.submission import NewProcess
from colonies.store.batching import Batcher
from colonies.store.errors import Replayed
from colonies.store.events import NOTIFY_SQL
from colonies.store.graph_resolution import member_failed, member_succeeded
from colonies.store.nonces import Nonce, admission_args, admitted_sql, use_nonce

_NOTIFY = NOTIFY_SQL

_ATTRIBUTES = """
(SELECT coalesce(jsonb_agg(jsonb_build_object(
          'attributeid', a.attributeid, 'targetid', a.targetid,
          'targetcolonyname', a.targetcolonyname, 'targetprocessgraphid', a.targetprocessgraphid,
          'state', {p}.state, 'attributetype', a.attributetype, 'key', a.key, 'value', a.value)
        ORDER BY a.seq), '[]'::jsonb)
   FROM attributes a WHERE a.targetid = {p}.processid) AS attributes"""

_FIELDS = (
    "processid, initiatorid, initiatorname, assignedexecutorid, isassigned, state, prioritytime, "
    "submissiontime, starttime, endtime, waitdeadline, execdeadline, retries, spec, "
    "waitforparents, parents, children, processgraphid, input, output, errors"
)


def _columns(alias: str) -> str:
    fields = ", ".join(f"{alias}.{f.strip()}" for f in _FIELDS.split(","))
    return f"{fields}, {_ATTRIBUTES.format(p=alias)}"


_SELECT = f"SELECT {_columns('p')} FROM processes p"

_attributes_type = list[Attribute]


def to_process(row: asyncpg.Record) -> Process:
    return Process(
        processid=row["processid"],
        initiatorid=row["initiatorid"],
        initiatorname=row["initiatorname"],
        assignedexecutorid=row["assignedexecutorid"],
        isassigned=row["isassigned"],
        state=row["state"],
        prioritytime=row["prioritytime"],
        submissiontime=row["submissiontime"],
        starttime=row["starttime"],
        endtime=row["endtime"],
        waitdeadline=row["waitdeadline"],
        execdeadline=row["execdeadline"],
        retries=row["retries"],
        attributes=msgspec.convert(row["attributes"], _attributes_type),
        spec=msgspec.convert(row["spec"], FunctionSpec),
        waitforparents=row["waitforparents"],
        parents=row["parents"],
        children=row["children"],
        processgraphid=row["processgraphid"],
        input=row["input"],
        output=row["output"],
        errors=row["errors"],
    )


@dataclass(frozen=True, slots=True)
class ProcessBrief:
    """What authorization and state checks need, without the spec."""

    processid: str
    colonyname: str
    state: int
    assignedexecutorid: str
    initiatorid: str
    processgraphid: str


# The columns a submission writes, in the order of _process_row's keys.
_INSERT_COLUMNS = (
    "processid, colonyname, initiatorid, initiatorname, executortype, executornames, "
    "location_lc, req_cpu, req_mem, waitforparents, prioritytime, submissiontime, waitdeadline, "
    "maxexectime, maxwaittime, maxretries, funcname, label, spec, processgraphid, parents, "
    "children, input"
)
_INSERTED = f"""
  RETURNING processid, state, colonyname, executortype, location_lc, waitforparents)
SELECT p.processid, CASE WHEN p.waitforparents THEN NULL ELSE {_NOTIFY.format(p="p")} END
  FROM p
"""
_INSERT = f"""
WITH p AS (
  INSERT INTO processes ({_INSERT_COLUMNS})
  VALUES ({", ".join(f"${i}" for i in range(1, _INSERT_COLUMNS.count(",") + 2))})
{_INSERTED}"""

# Several standalone processes in one statement (concurrent submissions, store/batching.py),
# each inserted only if its request is admitted (store/nonces.py); returns those inserted.
_INSERT_MANY = f"""
WITH {admitted_sql("$2", "$3", "$4", "$5")},
p AS (
  INSERT INTO processes ({_INSERT_COLUMNS})
  SELECT {_INSERT_COLUMNS} FROM jsonb_populate_recordset(NULL::processes, $1::jsonb)
   WHERE processid IN (SELECT key FROM admitted)
{_INSERTED}"""

_INSERT_ATTRIBUTE = """
INSERT INTO attributes (attributeid, targetid, targetcolonyname, targetprocessgraphid,
                        attributetype, key, value)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (attributeid) DO UPDATE SET value = EXCLUDED.value
"""


def _claim_set(executorid: str, now: str) -> str:
    """The SET of a claim: running, assigned, its deadline and, for a graph member, its input:
    the parents' outputs in parents order (§7.9)."""
    # Never before the submission: the server's clock was read before the statement ran.
    start = f"greatest({now}, p.submissiontime)"
    return f"""SET state = 1, isassigned = true, assignedexecutorid = {executorid},
         starttime = {start},
         execdeadline = CASE WHEN p.maxexectime > 0
                             THEN {start} + p.maxexectime * interval '1 second'
                             ELSE '0001-01-01 00:00:00+00'::timestamptz END,
         input = CASE WHEN cardinality(p.parents) = 0 THEN p.input ELSE (
                   SELECT coalesce(jsonb_agg(e.elem ORDER BY u.ord, e.idx), '[]'::jsonb)
                     FROM unnest(p.parents) WITH ORDINALITY AS u(pid, ord)
                     JOIN processes pp ON pp.processid = u.pid
                    CROSS JOIN LATERAL jsonb_array_elements(pp.output)
                          WITH ORDINALITY AS e(elem, idx)) END"""


# One executor's claim; only an admitted request acts (store/nonces.py). One row: admitted, and
# the claimed process's columns (NULL when nothing was claimed).
_CLAIM = f"""
WITH {admitted_sql("ARRAY['1']", "$9", "$10", "$11")},
alive AS (
  UPDATE executors SET lastheardfromtime = $8
   WHERE colonyname = $1 AND executorid = $7 AND EXISTS (SELECT 1 FROM admitted)),
claimed AS (
  UPDATE processes p
     {_claim_set("$7", "$8")}
   WHERE EXISTS (SELECT 1 FROM admitted) AND p.processid = (
           SELECT c.processid FROM processes c
            WHERE c.state = 0 AND NOT c.waitforparents
              AND c.colonyname = $1 AND c.executortype = $2
              AND (cardinality(c.executornames) = 0 OR c.executornames = '{{*}}'
                   OR $3 = ANY (c.executornames))
              AND (c.location_lc = '' OR c.location_lc = $4)
              -- bigint casts: "$6 < 0" alone would type the parameter int4 (limit 2 GiB).
              AND ($5::bigint < 0 OR c.req_cpu <= $5::bigint)
              AND ($6::bigint < 0 OR c.req_mem <= $6::bigint)
            ORDER BY c.prioritytime, c.seq
            LIMIT 1
              FOR UPDATE SKIP LOCKED)
  RETURNING p.*),
graph AS (
  UPDATE processgraphs g SET state = 1, starttime = $8
   WHERE g.processgraphid = (SELECT processgraphid FROM claimed) AND g.state = 0)
SELECT EXISTS (SELECT 1 FROM admitted) AS admitted, {_columns("claimed")},
       CASE WHEN claimed.processid IS NULL THEN NULL ELSE {_NOTIFY.format(p="claimed")} END
  FROM (SELECT 1) AS one LEFT JOIN claimed ON true
"""

# One claim for several executors without resource limits (store/batching.py): the k first
# processes open to any executor go to the k admitted requests in order (store/nonces.py; the
# keys are the requests' positions). Nothing is claimed while a process aimed at executors by
# name waits: then every executor claims alone (_CLAIM). One row per request: claim_n (its
# position), admitted, and the claimed process's columns (NULL when nothing was claimed).
_CLAIM_MANY = f"""
WITH {admitted_sql("$6", "$7", "$8", "$9")},
req AS (
  SELECT executorid, row_number() OVER (ORDER BY r.claim_n) AS n, r.claim_n
    FROM unnest($4::text[]) WITH ORDINALITY AS r(executorid, claim_n)
   WHERE r.claim_n::text IN (SELECT key FROM admitted)),
alive AS (
  UPDATE executors SET lastheardfromtime = $5
   WHERE colonyname = $1 AND executorid IN (SELECT executorid FROM req)),
cand AS (
  SELECT c.processid, row_number() OVER (ORDER BY c.prioritytime, c.seq) AS n
    FROM (SELECT c.processid, c.prioritytime, c.seq FROM processes c
           WHERE c.state = 0 AND NOT c.waitforparents
             AND c.colonyname = $1 AND c.executortype = $2
             AND (cardinality(c.executornames) = 0 OR c.executornames = '{{*}}')
             AND (c.location_lc = '' OR c.location_lc = $3)
             AND NOT EXISTS (
                   SELECT 1 FROM processes r
                    WHERE r.state = 0 AND r.colonyname = $1 AND r.executortype = $2
                      AND cardinality(r.executornames) > 0 AND r.executornames <> '{{*}}')
           ORDER BY c.prioritytime, c.seq
           LIMIT (SELECT count(*) FROM req)
             FOR UPDATE SKIP LOCKED) c),
claimed AS (
  UPDATE processes p
     {_claim_set("req.executorid", "$5")}
    FROM cand JOIN req USING (n)
   WHERE p.processid = cand.processid
  RETURNING p.*, req.claim_n),
graph AS (
  UPDATE processgraphs g SET state = 1, starttime = $5
   WHERE g.processgraphid IN (SELECT processgraphid FROM claimed) AND g.state = 0)
SELECT i.key::bigint AS claim_n, a.key IS NOT NULL AS admitted, {_columns("c")},
       CASE WHEN c.processid IS NULL THEN NULL ELSE {_NOTIFY.format(p="c")} END
  FROM items i LEFT JOIN admitted a USING (key) LEFT JOIN claimed c ON c.claim_n = i.key::bigint
"""

# A claim nobody received (its executor's request was gone): waiting again, as before it.
_UNCLAIM = f"""
WITH back AS (
  UPDATE processes
     SET state = 0, isassigned = false, assignedexecutorid = '',
         starttime = '0001-01-01 00:00:00+00', execdeadline = '0001-01-01 00:00:00+00'
   WHERE processid = $1 AND state = 1 AND assignedexecutorid = $2
  RETURNING processid, state, colonyname, executortype, location_lc)
SELECT {_NOTIFY.format(p="back")} FROM back
"""

_BRIEF = (
    "SELECT processid, colonyname, state, assignedexecutorid, initiatorid, processgraphid "
    "FROM processes WHERE processid = $1"
)


def _close_successful_sql(closing: str, admitted: str = "", answer: str = "") -> str:
    """Close as SUCCESS the running processes of ``closing`` (rows of processid, executorid,
    endtime, output) assigned to their executor, updating the function statistics too. With
    ``admitted`` CTEs before, ``answer`` is the final SELECT instead of the closed rows."""
    answer = (
        answer
        or f"""
SELECT c.processid, c.processgraphid, c.funcname, c.waited, c.ran, {_NOTIFY.format(p="c")}
  FROM closed c"""
    )
    return f"""
WITH {admitted}closed AS (
  UPDATE processes p
     SET state = 2, endtime = u.endtime,
         output = CASE WHEN jsonb_array_length(u.output) > 0 THEN u.output ELSE p.output END
    FROM ({closing}) AS u(processid, executorid, endtime, output)
   WHERE p.processid = u.processid AND p.state = 1 AND p.assignedexecutorid = u.executorid
  RETURNING p.processid, p.state, p.colonyname, p.executortype, p.location_lc, p.funcname,
            p.processgraphid, u.executorid,
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
   WHERE e.colonyname = c.colonyname AND e.executorid = c.executorid
     AND f.colonyname = c.colonyname AND f.executorname = e.executorname
     AND f.funcname = c.funcname
  RETURNING 1){answer}
"""


# Function statistics of docs/protocol.md §7.20, updated in the closing statement.
_CLOSE_SUCCESSFUL = _close_successful_sql("SELECT $1::text, $2::text, $3::timestamptz, $4::jsonb")
# Several closes at once (store/batching.py): one executor and one process at most once each,
# so that every function row is updated once per closed process. Only admitted requests act
# (store/nonces.py); one row per request: was it admitted, and what it closed.
_CLOSE_SUCCESSFUL_MANY = _close_successful_sql(
    "SELECT p, e, t, o::jsonb FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[])"
    " AS x(p, e, t, o)"  # outputs as JSON text: asyncpg reads a list of lists as a 2-D array
    " WHERE p IN (SELECT key FROM admitted)",
    admitted=admitted_sql("$1", "$5", "$6", "$7") + ",\n",
    answer=f"""
SELECT i.key AS processid, a.key IS NOT NULL AS admitted, c.processid IS NOT NULL AS closed,
       c.processgraphid, c.funcname, c.waited, c.ran,
       CASE WHEN c.processid IS NULL THEN NULL ELSE {_NOTIFY.format(p="c")} END
  FROM items i LEFT JOIN admitted a USING (key) LEFT JOIN closed c ON c.processid = i.key""",
)

_CLOSE_FAILED = f"""
WITH closed AS (
  UPDATE processes SET state = 3, endtime = $3, errors = $4
   WHERE processid = $1 AND state = 1 AND assignedexecutorid = $2
  RETURNING processid, state, colonyname, executortype, location_lc, processgraphid, funcname,
            extract(epoch FROM endtime - starttime)::float8 AS ran)
SELECT c.processid, c.processgraphid, c.funcname, c.ran, {_NOTIFY.format(p="c")} FROM closed c
"""

_CANCEL = f"""
WITH cancelled AS (
  UPDATE processes SET state = 4, endtime = $2
   WHERE processid = $1 AND state IN (0, 1) AND processgraphid = ''
  RETURNING processid, state, colonyname, executortype, location_lc)
SELECT {_NOTIFY.format(p="cancelled")} FROM cancelled
"""

_ORDER_BY_STATE = {
    ProcessState.WAITING: "p.prioritytime, p.seq",
    ProcessState.RUNNING: "p.starttime",
    ProcessState.SUCCESS: "p.endtime DESC",
    ProcessState.FAILED: "p.endtime DESC",
    ProcessState.CANCELLED: "p.endtime DESC",
}


_json_text = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class _Claim:
    colonyname: str
    executortype: str
    executorname: str
    location_lc: str
    executorid: str
    now: datetime
    nonce: Nonce | None = None  # the assign request's, recorded by the claim's statement


# What a claim found: a process, nothing, or a refusal (the request was a replay).
_Claimed = Process | None | Replayed


# A close as SUCCESS: processid, executorid, end time, output, and the request's nonce.
_Closing = tuple[str, str, datetime, list[Any], Nonce | None]


@dataclass(frozen=True, slots=True)
class Closed:
    processid: str
    processgraphid: str
    funcname: str
    waited: float  # seconds from submission to assignment
    ran: float  # seconds from assignment to close


def _claimed(row: asyncpg.Record) -> _Claimed:
    """A claim statement's row for one request: refused as a replay, nothing, or a process."""
    if not row["admitted"]:
        return Replayed()
    return to_process(row) if row["processid"] is not None else None


def _attribute_row(a: Attribute) -> tuple[str, str, str, str, int, str, str]:
    return (
        a.attributeid,
        a.targetid,
        a.targetcolonyname,
        a.targetprocessgraphid,
        a.attributetype,
        a.key,
        a.value,
    )


def _process_row(new: NewProcess) -> dict[str, Any]:
    """A process's columns as _INSERT takes them (values in order) and _INSERT_MANY reads them
    (a JSON object per process, keyed by column name)."""
    p = new.process
    return {
        "processid": p.processid,
        "colonyname": new.colonyname,
        "initiatorid": p.initiatorid,
        "initiatorname": p.initiatorname,
        "executortype": new.executortype,
        "executornames": new.executornames,
        "location_lc": new.location_lc,
        "req_cpu": new.req_cpu,
        "req_mem": new.req_mem,
        "waitforparents": p.waitforparents,
        "prioritytime": p.prioritytime,
        "submissiontime": p.submissiontime,
        "waitdeadline": p.waitdeadline,
        "maxexectime": p.spec.maxexectime,
        "maxwaittime": p.spec.maxwaittime,
        "maxretries": p.spec.maxretries,
        "funcname": p.spec.funcname,
        "label": p.spec.label,
        "spec": msgspec.to_builtins(p.spec),
        "processgraphid": p.processgraphid,
        "parents": p.parents,
        "children": p.children,
        "input": p.input,
    }


async def insert_process(conn: asyncpg.Connection, new: NewProcess) -> None:
    """Insert one process with its ENV attributes on ``conn`` (inside the caller's transaction);
    a process that does not wait for parents is announced with NOTIFY."""
    p = new.process
    await conn.execute(_INSERT, *_process_row(new).values())
    if p.spec.channels:
        await conn.executemany(
            "INSERT INTO channels (channelid, processid, name) VALUES ($1, $2, $3)",
            [(f"{p.processid}_{name}", p.processid, name) for name in p.spec.channels],
        )
    if p.attributes:
        await conn.executemany(
            _INSERT_ATTRIBUTE,
            [_attribute_row(a) for a in p.attributes],
        )


class ProcessStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._insert = Batcher(self._insert_many)
        self._close = Batcher(self._close_many)
        self._claim = Batcher(self._claim_many, orphaned=self._unclaim)

    # --- submit and claim ---------------------------------------------------------------------
    async def submit(self, new: NewProcess, nonce: Nonce | None = None) -> Process:
        """Insert a submission; Replayed (and nothing inserted) when ``nonce`` was used."""
        if new.process.attributes or new.process.spec.channels:
            async with self.pool.acquire() as conn, conn.transaction():
                await use_nonce(conn, nonce)
                await insert_process(conn, new)
        # One statement, shared with concurrent submissions, that records the nonces too.
        elif not await self._insert((new, nonce)):
            raise Replayed
        return new.process

    async def _insert_many(self, items: list[tuple[NewProcess, Nonce | None]]) -> list[bool]:
        """Whether each submission was inserted (False: a replay)."""
        if len(items) == 1 and items[0][1] is None:
            async with self.pool.acquire() as conn:
                await insert_process(conn, items[0][0])
            return [True]
        rows = await self.pool.fetch(
            _INSERT_MANY,
            [_process_row(new) for new, _ in items],
            *admission_args([new.process.processid for new, _ in items], [n for _, n in items]),
        )
        inserted = {row["processid"] for row in rows}
        return [new.process.processid in inserted for new, _ in items]

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
        records the request's ``nonce`` (Replayed, and no effect, if it was used). Executors
        without resource limits that claim at the same time share one statement.
        """
        claim = _Claim(colonyname, executortype, executorname, location_lc, executorid, now, nonce)
        if available_cpu < 0 and available_mem < 0:
            claimed = await self._claim(claim)
        else:
            claimed = await self._claim_one(claim, available_cpu, available_mem)
        if isinstance(claimed, Replayed):
            raise Replayed
        return claimed

    async def _claim_one(self, c: _Claim, cpu: int = -1, mem: int = -1) -> _Claimed:
        row = await self.pool.fetchrow(
            _CLAIM, c.colonyname, c.executortype, c.executorname, c.location_lc, cpu, mem,
            c.executorid, max(c.now, utcnow()), *admission_args(["1"], [c.nonce])[1:],
        )  # fmt: skip
        return _claimed(row)

    async def _unclaim(self, claim: _Claim, claimed: _Claimed) -> None:
        """Put back a process claimed for an executor whose request ended meanwhile."""
        if isinstance(claimed, Process):
            await self.pool.execute(_UNCLAIM, claimed.processid, claim.executorid)

    async def _claim_many(self, asked: list[_Claim]) -> list[_Claimed]:
        claims = list(asked)  # nonces recorded by the shared statement are dropped below
        results: list[_Claimed] = [None] * len(claims)
        groups: dict[tuple[str, str, str], list[int]] = {}
        for i, c in enumerate(claims):
            groups.setdefault((c.colonyname, c.executortype, c.location_lc), []).append(i)
        for (colonyname, executortype, location_lc), members in groups.items():
            if len(members) > 1:
                # The time the statement runs, not when the claims were asked: a claim that
                # waited behind another batch may take a process submitted meanwhile.
                rows = await self.pool.fetch(
                    _CLAIM_MANY, colonyname, executortype, location_lc,
                    [claims[i].executorid for i in members],
                    max(max(claims[i].now for i in members), utcnow()),
                    *admission_args(
                        [str(n) for n in range(1, len(members) + 1)],
                        [claims[i].nonce for i in members],
                    ),
                )  # fmt: skip
                for row in rows:
                    results[members[row["claim_n"] - 1]] = _claimed(row)
                # Their nonces are recorded now: those left empty-handed claim without.
                for i in members:
                    claims[i] = dataclasses.replace(claims[i], nonce=None)
            # Those the shared claim left empty-handed claim alone, side by side: a process
            # aimed at them by name, or simply too few processes.
            alone = [i for i in members if results[i] is None]
            found = await asyncio.gather(*(self._claim_one(claims[i]) for i in alone))
            for i, process in zip(alone, found, strict=True):
                results[i] = process
        return results

    # --- reads --------------------------------------------------------------------------------
    async def get(self, processid: str) -> Process | None:
        row = await self.pool.fetchrow(f"{_SELECT} WHERE p.processid = $1", processid)
        return to_process(row) if row else None

    async def brief(self, processid: str) -> ProcessBrief | None:
        row = await self.pool.fetchrow(_BRIEF, processid)
        return ProcessBrief(**dict(row)) if row else None

    async def is_waiting(self, processid: str) -> bool:
        state = await self.pool.fetchval(
            "SELECT state FROM processes WHERE processid = $1", processid
        )
        return state == ProcessState.WAITING

    async def list(
        self,
        colonyname: str,
        state: int,
        count: int,
        *,
        executortype: str = "",
        initiatorid: str | None = None,
        label: str = "",
    ) -> list[Process]:
        where = ["p.colonyname = $1", "p.state = $2"]
        args: list[Any] = [colonyname, state]
        if executortype:
            args.append(executortype)
            where.append(f"p.executortype = ${len(args)}")
        elif initiatorid is not None:
            args.append(initiatorid)
            where.append(f"p.initiatorid = ${len(args)}")
        elif label:
            args.append(label)
            where.append(f"p.label = ${len(args)}")
        args.append(count)
        sql = (
            f"{_SELECT} WHERE {' AND '.join(where)} "
            f"ORDER BY {_ORDER_BY_STATE[ProcessState(state)]} LIMIT ${len(args)}"
        )
        return [to_process(r) for r in await self.pool.fetch(sql, *args)]

    async def history(
        self, colonyname: str, executorid: str, seconds: int, state: int, now: datetime
    ) -> list[Process]:
        since = now - timedelta(seconds=seconds)
        if executorid:
            rows = await self.pool.fetch(
                f"{_SELECT} WHERE p.colonyname = $1 AND p.state = $2 AND p.submissiontime >= $3 "
                "AND p.assignedexecutorid = $4 ORDER BY p.submissiontime",
                colonyname,
                state,
                since,
                executorid,
            )
        else:
            rows = await self.pool.fetch(
                f"{_SELECT} WHERE p.colonyname = $1 AND p.state = $2 AND p.submissiontime >= $3 "
                "ORDER BY p.submissiontime",
                colonyname,
                state,
                since,
            )
        return [to_process(r) for r in rows]

    async def _close_many(self, closings: list[_Closing]) -> list[asyncpg.Record]:
        """Per close: was it admitted (not a replay), did it close, and what it closed."""
        ids, executors = [c[0] for c in closings], [c[1] for c in closings]
        if len(closings) > 1 and (len(set(ids)) < len(ids) or len(set(executors)) < len(executors)):
            return [(await self._close_many([c]))[0] for c in closings]
        rows = await self.pool.fetch(
            _CLOSE_SUCCESSFUL_MANY,
            ids,
            executors,
            [c[2] for c in closings],
            [_json_text(c[3]).decode() for c in closings],
            *admission_args(ids, [c[4] for c in closings])[1:],
        )
        by_id = {row["processid"]: row for row in rows}
        return [by_id[processid] for processid in ids]

    # --- state changes ------------------------------------------------------------------------
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
        if not graphid:  # standalone: one statement, shared with concurrent closes
            row = await self._close((processid, executorid, now, output, nonce))
            if not row["admitted"]:
                raise Replayed
            if not row["closed"]:
                return None
        else:
            async with self.pool.acquire() as conn, conn.transaction():
                await use_nonce(conn, nonce)
                row = await conn.fetchrow(_CLOSE_SUCCESSFUL, processid, executorid, now, output)
                if row is not None:
                    await member_succeeded(conn, graphid, processid, now)
        if row is None:
            return None
        return Closed(
            row["processid"], row["processgraphid"], row["funcname"], row["waited"], row["ran"]
        )

    async def close_failed(
        self, processid: str, executorid: str, errors: list[str], now: datetime, graphid: str = ""
    ) -> Closed | None:
        """Close as FAILED; a graph member fails its graph in the same transaction."""
        async with self.pool.acquire() as conn:
            if not graphid:
                row = await conn.fetchrow(_CLOSE_FAILED, processid, executorid, now, errors)
            else:
                async with conn.transaction():
                    row = await conn.fetchrow(_CLOSE_FAILED, processid, executorid, now, errors)
                    if row is not None:
                        await member_failed(conn, graphid, now)
        if row is None:
            return None
        return Closed(row["processid"], row["processgraphid"], row["funcname"], 0.0, row["ran"])

    async def set_output(self, processid: str, executorid: str, output: list[Any]) -> bool:
        status = await self.pool.execute(
            "UPDATE processes SET output = $3 "
            "WHERE processid = $1 AND state = 1 AND assignedexecutorid = $2",
            processid,
            executorid,
            output,
        )
        return status != "UPDATE 0"

    async def cancel(self, processid: str, now: datetime) -> bool:
        return await self.pool.fetchrow(_CANCEL, processid, now) is not None

    async def remove(self, processid: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM processes WHERE processid = $1 AND state <> 1 AND processgraphid = ''",
            processid,
        )
        return status != "DELETE 0"

    async def remove_all(self, colonyname: str, state: int) -> int:
        if state == ProcessState.NOTSET:
            status = await self.pool.execute(
                "DELETE FROM processes WHERE colonyname = $1 AND processgraphid = '' "
                "AND state <> 1",
                colonyname,
            )
        else:
            status = await self.pool.execute(
                "DELETE FROM processes WHERE colonyname = $1 AND processgraphid = '' "
                "AND state = $2",
                colonyname,
                state,
            )
        return int(status.split()[-1])

    # --- attributes ---------------------------------------------------------------------------
    async def add_attribute(self, a: Attribute) -> None:
        await self.pool.execute(_INSERT_ATTRIBUTE, *_attribute_row(a))

    async def get_attribute(self, attributeid: str) -> Attribute | None:
        row = await self.pool.fetchrow(
            "SELECT a.attributeid, a.targetid, a.targetcolonyname, a.targetprocessgraphid, "
            "p.state, a.attributetype, a.key, a.value "
            "FROM attributes a JOIN processes p ON p.processid = a.targetid "
            "WHERE a.attributeid = $1",
            attributeid,
        )
        return Attribute(**dict(row)) if row else None

    # --- logs ---------------------------------------------------------------------------------
    async def add_log(
        self, colonyname: str, processid: str, executorname: str, message: str, ts: int
    ) -> None:
        await self.pool.execute(
            "INSERT INTO logs (colonyname, processid, executorname, message, ts) "
            "VALUES ($1, $2, $3, $4, $5)",
            colonyname,
            processid,
            executorname,
            message,
            ts,
        )

    async def get_logs(
        self,
        colonyname: str,
        processid: str,
        executorname: str,
        count: int,
        since: int,
        latest: bool,
    ) -> list[Log]:
        if processid:
            where, key = "processid = $2", processid
        else:
            where, key = "executorname = $2", executorname
        order = "ts DESC, seq DESC" if latest else "ts, seq"
        rows = await self.pool.fetch(
            "SELECT processid, colonyname, executorname, message, ts AS timestamp FROM logs "
            f"WHERE colonyname = $1 AND {where} AND ts > $3 ORDER BY {order} LIMIT $4",
            colonyname,
            key,
            since,
            count,
        )
        return [Log(**dict(r)) for r in rows]

    async def search_logs(self, colonyname: str, text: str, since: int, count: int) -> list[Log]:
        rows = await self.pool.fetch(
            "SELECT processid, colonyname, executorname, message, ts AS timestamp FROM logs "
            "WHERE colonyname = $1 AND ts > $2 AND strpos(message, $3) > 0 "
            "ORDER BY ts DESC LIMIT $4",
            colonyname,
            since,
            text,
            count,
        )
        return [Log(**dict(r)) for r in rows]
