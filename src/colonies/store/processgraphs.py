"""Process graphs: created, grown, cancelled and removed, each in one transaction (§7.9).

Resolution after a member changes state lives in ``graph_resolution``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from colonies.core import ProcessGraph, ProcessState
from colonies.core.graphs import Member, layout
from colonies.core.submission import NewProcess
from colonies.store.events import process_event
from colonies.store.graph_resolution import refresh_state
from colonies.store.processes.submissions import insert_process
from colonies.store.statements import Statement

ADD_GRAPH = Statement("""
INSERT INTO processgraphs (processgraphid, initiatorid, initiatorname, colonyname, rootprocessids,
                           state, submissiontime, starttime, endtime)
VALUES (:processgraphid, :initiatorid, :initiatorname, :colonyname, :rootprocessids,
        :state, :submissiontime, :starttime, :endtime)
""")

GET_GRAPH = Statement("""
SELECT processgraphid, initiatorid, initiatorname, colonyname, rootprocessids, state,
       submissiontime, starttime, endtime
  FROM processgraphs
 WHERE processgraphid = :processgraphid
""")

# The members of several graphs, in insertion order.
MEMBERS = Statement("""
SELECT processgraphid, processid, spec->>'nodename' AS nodename, parents, children, state
  FROM processes
 WHERE processgraphid = ANY (:processgraphids::text[])
 ORDER BY seq
""")

GRAPH_BRIEF = Statement("""
SELECT colonyname, state FROM processgraphs WHERE processgraphid = :processgraphid
""")

# The graphs of a colony in a state that has not ended (WAITING, RUNNING), oldest first.
LIST_BY_SUBMISSION = Statement("""
SELECT processgraphid, initiatorid, initiatorname, colonyname, rootprocessids, state,
       submissiontime, starttime, endtime
  FROM processgraphs
 WHERE colonyname = :colonyname AND state = :state
 ORDER BY submissiontime
 LIMIT :count
""")

# The graphs of a colony in an end state (SUCCESS, FAILED, CANCELLED), last ended first.
LIST_BY_END = Statement("""
SELECT processgraphid, initiatorid, initiatorname, colonyname, rootprocessids, state,
       submissiontime, starttime, endtime
  FROM processgraphs
 WHERE colonyname = :colonyname AND state = :state
 ORDER BY endtime DESC
 LIMIT :count
""")

REMOVE_GRAPH = Statement("""
DELETE FROM processgraphs WHERE processgraphid = :processgraphid AND state <> 1 /* RUNNING */
""")

REMOVE_MEMBERS = Statement("DELETE FROM processes WHERE processgraphid = :processgraphid")

REMOVE_ALL_GRAPHS = Statement("""
DELETE FROM processgraphs
 WHERE colonyname = :colonyname AND state <> 1 /* RUNNING */
RETURNING processgraphid
""")

REMOVE_ALL_GRAPHS_IN_STATE = Statement("""
DELETE FROM processgraphs
 WHERE colonyname = :colonyname AND state = :state
RETURNING processgraphid
""")

REMOVE_MEMBERS_OF_GRAPHS = Statement("""
DELETE FROM processes WHERE processgraphid = ANY (:processgraphids::text[])
""")

LOCK_GRAPH_STATE = Statement("""
SELECT state FROM processgraphs WHERE processgraphid = :processgraphid FOR UPDATE
""")

CANCEL_MEMBERS = Statement(f"""
WITH cancelled AS (
  UPDATE processes SET state = 4 /* CANCELLED */, endtime = :endtime
   WHERE processgraphid = :processgraphid AND state IN (0 /* WAITING */, 1 /* RUNNING */)
  RETURNING processid, state, colonyname, executortype, location_lc)
SELECT {process_event("cancelled")} FROM cancelled
""")

CANCEL_GRAPH = Statement("""
UPDATE processgraphs SET state = 4 /* CANCELLED */, endtime = :endtime
 WHERE processgraphid = :processgraphid
""")

# Growing a graph (addchildmsg): the graph's row is locked so that concurrent growth serialises.
LOCK_GRAPH = Statement("""
SELECT 1 FROM processgraphs WHERE processgraphid = :processgraphid FOR UPDATE
""")

CHILDREN = Statement("SELECT children FROM processes WHERE processid = :processid")

# The new process goes between the parent and all of its children.
SET_ONLY_CHILD = Statement("""
UPDATE processes SET children = ARRAY[:childid::text] WHERE processid = :processid
""")

REPLACE_PARENT = Statement("""
UPDATE processes SET parents = array_replace(parents, :parentid, :newid)
 WHERE processid = ANY (:processids::text[])
""")

# The new process goes below the parent (and above one child, if given).
ADD_CHILD = Statement("""
UPDATE processes SET children = array_append(children, :childid) WHERE processid = :processid
""")

ADD_PARENT = Statement("""
UPDATE processes SET parents = array_append(parents, :parentid) WHERE processid = :processid
""")


def _graph(row: asyncpg.Record, members: Sequence[asyncpg.Record]) -> ProcessGraph:
    graph = ProcessGraph(**dict(row))
    ms = [
        Member(m["processid"], m["nodename"] or "", m["parents"], m["children"], m["state"])
        for m in members
    ]
    graph.processids = [m.processid for m in ms]
    graph.nodes, graph.edges = layout(ms)
    return graph


class ProcessGraphStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(
        self, graph: ProcessGraph, processes: Sequence[NewProcess], conn: asyncpg.Connection
    ) -> None:
        """Insert a graph and its processes on ``conn`` (the caller's transaction)."""
        await ADD_GRAPH.execute(
            conn,
            processgraphid=graph.processgraphid,
            initiatorid=graph.initiatorid,
            initiatorname=graph.initiatorname,
            colonyname=graph.colonyname,
            rootprocessids=graph.rootprocessids,
            state=graph.state,
            submissiontime=graph.submissiontime,
            starttime=graph.starttime,
            endtime=graph.endtime,
        )
        for new in processes:
            await insert_process(conn, new)

    async def submit(self, graph: ProcessGraph, processes: Sequence[NewProcess]) -> ProcessGraph:
        """One transaction: no half-created graph is ever visible."""
        async with self.pool.acquire() as conn, conn.transaction():
            await self.create(graph, processes, conn)
        found = await self.get(graph.processgraphid)
        assert found is not None
        return found

    async def _with_members(self, rows: Sequence[asyncpg.Record]) -> list[ProcessGraph]:
        if not rows:
            return []
        ids = [r["processgraphid"] for r in rows]
        members: dict[str, list[asyncpg.Record]] = {i: [] for i in ids}
        for m in await MEMBERS.fetch(self.pool, processgraphids=ids):
            members[m["processgraphid"]].append(m)
        return [_graph(r, members[r["processgraphid"]]) for r in rows]

    async def get(self, graphid: str) -> ProcessGraph | None:
        row = await GET_GRAPH.fetchrow(self.pool, processgraphid=graphid)
        if row is None:
            return None
        return (await self._with_members([row]))[0]

    async def brief(self, graphid: str) -> tuple[str, int] | None:
        """(colony, state) of a graph."""
        row = await GRAPH_BRIEF.fetchrow(self.pool, processgraphid=graphid)
        return (row["colonyname"], row["state"]) if row else None

    async def list(self, colonyname: str, state: int, count: int) -> list[ProcessGraph]:
        ended = state not in (ProcessState.WAITING, ProcessState.RUNNING)
        statement = LIST_BY_END if ended else LIST_BY_SUBMISSION
        rows = await statement.fetch(self.pool, colonyname=colonyname, state=state, count=count)
        return await self._with_members(rows)

    async def remove(self, graphid: str) -> bool:
        """Remove a graph that is not running, with its processes (attributes cascade)."""
        async with self.pool.acquire() as conn, conn.transaction():
            status = await REMOVE_GRAPH.execute(conn, processgraphid=graphid)
            if status == "DELETE 0":
                return False
            await REMOVE_MEMBERS.execute(conn, processgraphid=graphid)
        return True

    async def remove_all(self, colonyname: str, state: int) -> None:
        """Remove the colony's graphs in ``state`` (NOTSET: every state but RUNNING), with their
        processes."""
        async with self.pool.acquire() as conn, conn.transaction():
            if state == ProcessState.NOTSET:
                ids = await REMOVE_ALL_GRAPHS.fetch(conn, colonyname=colonyname)
            else:
                ids = await REMOVE_ALL_GRAPHS_IN_STATE.fetch(
                    conn, colonyname=colonyname, state=state
                )
            await REMOVE_MEMBERS_OF_GRAPHS.execute(
                conn, processgraphids=[r["processgraphid"] for r in ids]
            )

    async def cancel(self, graphid: str, now: datetime) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            state = await LOCK_GRAPH_STATE.fetchval(conn, processgraphid=graphid)
            if state not in (ProcessState.WAITING, ProcessState.RUNNING):
                return False
            await CANCEL_MEMBERS.execute(conn, processgraphid=graphid, endtime=now)
            await CANCEL_GRAPH.execute(conn, processgraphid=graphid, endtime=now)
        return True

    async def add_child(
        self,
        graphid: str,
        parentid: str,
        childid: str,
        new: NewProcess,
        insert: bool,
        now: datetime,
    ) -> None:
        """Grow a running graph (§7.9, ``addchildmsg``) in one transaction."""
        newid = new.process.processid
        async with self.pool.acquire() as conn, conn.transaction():
            await LOCK_GRAPH.execute(conn, processgraphid=graphid)
            old_children: list[str] = await CHILDREN.fetchval(conn, processid=parentid)
            new.process.parents = [parentid]
            if insert:
                new.process.children = list(old_children)
                await insert_process(conn, new)
                await SET_ONLY_CHILD.execute(conn, processid=parentid, childid=newid)
                await REPLACE_PARENT.execute(
                    conn, parentid=parentid, newid=newid, processids=old_children
                )
            else:
                new.process.children = [childid] if childid else []
                await insert_process(conn, new)
                await ADD_CHILD.execute(conn, processid=parentid, childid=newid)
                if childid:
                    await ADD_PARENT.execute(conn, processid=childid, parentid=newid)
            await refresh_state(conn, graphid, now)
