"""Reads of processes: one by ID (whole or brief), listings by state, an executor's history.

A process is returned with its attributes, gathered as JSON by the statement that reads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import msgspec

from colonies.core import Attribute, FunctionSpec, Process, ProcessState
from colonies.store.statements import Statement


def process_columns(p: str) -> str:
    """The columns of the whole process ``p`` that :func:`to_process` reads, its attributes
    gathered as JSON: every statement that returns processes (here, claims.py, handovers.py)
    selects this list."""
    return f"""{p}.processid, {p}.initiatorid, {p}.initiatorname, {p}.assignedexecutorid,
       {p}.isassigned, {p}.state, {p}.prioritytime, {p}.submissiontime, {p}.starttime,
       {p}.endtime, {p}.waitdeadline, {p}.execdeadline, {p}.retries, {p}.spec,
       {p}.waitforparents, {p}.parents, {p}.children, {p}.processgraphid, {p}.input, {p}.output,
       {p}.errors,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                 'attributeid', attr.attributeid, 'targetid', attr.targetid,
                 'targetcolonyname', attr.targetcolonyname,
                 'targetprocessgraphid', attr.targetprocessgraphid, 'state', {p}.state,
                 'attributetype', attr.attributetype, 'key', attr.key, 'value', attr.value)
               ORDER BY attr.seq), '[]'::jsonb)
          FROM attributes attr WHERE attr.targetid = {p}.processid) AS attributes"""


GET = Statement(f"""
SELECT {process_columns("p")}
  FROM processes p
 WHERE p.processid = :processid
""")

# What authorization and state checks need, without the spec.
BRIEF = Statement("""
SELECT processid, colonyname, state, assignedexecutorid, initiatorid, processgraphid
  FROM processes
 WHERE processid = :processid
""")

STATE = Statement("SELECT state FROM processes WHERE processid = :processid")

# The listings of one colony and state (getprocessesmsg), each in the order its state is listed
# in; executortype, initiatorid and label each narrow it when given ('' and NULL: not given).
LIST_BY_PRIORITY = Statement(f"""
SELECT {process_columns("p")}
  FROM processes p
 WHERE p.colonyname = :colonyname AND p.state = :state
   AND (:executortype = '' OR p.executortype = :executortype)
   AND (:initiatorid::text IS NULL OR p.initiatorid = :initiatorid)
   AND (:label = '' OR p.label = :label)
 ORDER BY p.prioritytime, p.seq
 LIMIT :count
""")

LIST_BY_START = Statement(f"""
SELECT {process_columns("p")}
  FROM processes p
 WHERE p.colonyname = :colonyname AND p.state = :state
   AND (:executortype = '' OR p.executortype = :executortype)
   AND (:initiatorid::text IS NULL OR p.initiatorid = :initiatorid)
   AND (:label = '' OR p.label = :label)
 ORDER BY p.starttime
 LIMIT :count
""")

LIST_BY_END = Statement(f"""
SELECT {process_columns("p")}
  FROM processes p
 WHERE p.colonyname = :colonyname AND p.state = :state
   AND (:executortype = '' OR p.executortype = :executortype)
   AND (:initiatorid::text IS NULL OR p.initiatorid = :initiatorid)
   AND (:label = '' OR p.label = :label)
 ORDER BY p.endtime DESC
 LIMIT :count
""")

_LIST_IN_ORDER = {
    ProcessState.WAITING: LIST_BY_PRIORITY,
    ProcessState.RUNNING: LIST_BY_START,
    ProcessState.SUCCESS: LIST_BY_END,
    ProcessState.FAILED: LIST_BY_END,
    ProcessState.CANCELLED: LIST_BY_END,
}

# Processes of one colony and state submitted since a time (getprocesshistmsg), of one
# executor when executorid is given ('' for every executor's).
HISTORY = Statement(f"""
SELECT {process_columns("p")}
  FROM processes p
 WHERE p.colonyname = :colonyname AND p.state = :state AND p.submissiontime >= :since
   AND (:executorid = '' OR p.assignedexecutorid = :executorid)
 ORDER BY p.submissiontime
""")

_attributes_type = list[Attribute]


def to_process(row: asyncpg.Record) -> Process:
    """A process from a row with the columns GET returns."""
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


class ProcessReads:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def get(self, processid: str) -> Process | None:
        row = await GET.fetchrow(self.pool, processid=processid)
        return to_process(row) if row else None

    async def brief(self, processid: str) -> ProcessBrief | None:
        row = await BRIEF.fetchrow(self.pool, processid=processid)
        return ProcessBrief(**dict(row)) if row else None

    async def is_waiting(self, processid: str) -> bool:
        state: int | None = await STATE.fetchval(self.pool, processid=processid)
        return state == ProcessState.WAITING

    async def history(
        self, colonyname: str, executorid: str, seconds: int, state: int, now: datetime
    ) -> list[Process]:
        rows = await HISTORY.fetch(
            self.pool,
            colonyname=colonyname,
            state=state,
            since=now - timedelta(seconds=seconds),
            executorid=executorid,
        )
        return [to_process(r) for r in rows]

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
        """The first ``count`` processes in ``state``, of ``executortype`` if given, else of
        ``initiatorid`` if given, else with ``label`` if given."""
        if executortype:
            initiatorid, label = None, ""
        elif initiatorid is not None:
            label = ""
        rows = await _LIST_IN_ORDER[ProcessState(state)].fetch(
            self.pool,
            colonyname=colonyname,
            state=state,
            executortype=executortype,
            initiatorid=initiatorid,
            label=label,
            count=count,
        )
        return [to_process(r) for r in rows]
