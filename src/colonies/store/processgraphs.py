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
from colonies.store.events import NOTIFY_SQL
from colonies.store.graph_resolution import refresh_state
from colonies.store.processes import insert_process

_GRAPH_COLUMNS = (
    "processgraphid, initiatorid, initiatorname, colonyname, rootprocessids, state, "
    "submissiontime, starttime, endtime"
)

_MEMBERS = (
    "SELECT processgraphid, processid, spec->>'nodename' AS nodename, parents, children, state "
    "FROM processes WHERE processgraphid = ANY($1::text[]) ORDER BY seq"
)

_CANCEL = f"""
WITH cancelled AS (
  UPDATE processes SET state = 4, endtime = $2
   WHERE processgraphid = $1 AND state IN (0, 1)
  RETURNING processid, state, colonyname, executortype, location_lc)
SELECT {NOTIFY_SQL.format(p="cancelled")} FROM cancelled
"""


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
        await conn.execute(
            f"INSERT INTO processgraphs ({_GRAPH_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
            graph.processgraphid,
            graph.initiatorid,
            graph.initiatorname,
            graph.colonyname,
            graph.rootprocessids,
            graph.state,
            graph.submissiontime,
            graph.starttime,
            graph.endtime,
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
        for m in await self.pool.fetch(_MEMBERS, ids):
            members[m["processgraphid"]].append(m)
        return [_graph(r, members[r["processgraphid"]]) for r in rows]

    async def get(self, graphid: str) -> ProcessGraph | None:
        row = await self.pool.fetchrow(
            f"SELECT {_GRAPH_COLUMNS} FROM processgraphs WHERE processgraphid = $1", graphid
        )
        if row is None:
            return None
        return (await self._with_members([row]))[0]

    async def brief(self, graphid: str) -> tuple[str, int] | None:
        """(colony, state) of a graph."""
        row = await self.pool.fetchrow(
            "SELECT colonyname, state FROM processgraphs WHERE processgraphid = $1", graphid
        )
        return (row["colonyname"], row["state"]) if row else None

    async def list(self, colonyname: str, state: int, count: int) -> list[ProcessGraph]:
        order = "submissiontime" if state in (0, 1) else "endtime DESC"
        rows = await self.pool.fetch(
            f"SELECT {_GRAPH_COLUMNS} FROM processgraphs WHERE colonyname = $1 AND state = $2 "
            f"ORDER BY {order} LIMIT $3",
            colonyname,
            state,
            count,
        )
        return await self._with_members(rows)

    async def remove(self, graphid: str) -> bool:
        """Remove a graph that is not running, with its processes (attributes cascade)."""
        async with self.pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "DELETE FROM processgraphs WHERE processgraphid = $1 AND state <> 1", graphid
            )
            if status == "DELETE 0":
                return False
            await conn.execute("DELETE FROM processes WHERE processgraphid = $1", graphid)
        return True

    async def remove_all(self, colonyname: str, state: int) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            if state == ProcessState.NOTSET:
                ids = await conn.fetch(
                    "DELETE FROM processgraphs WHERE colonyname = $1 AND state <> 1 "
                    "RETURNING processgraphid",
                    colonyname,
                )
            else:
                ids = await conn.fetch(
                    "DELETE FROM processgraphs WHERE colonyname = $1 AND state = $2 "
                    "RETURNING processgraphid",
                    colonyname,
                    state,
                )
            await conn.execute(
                "DELETE FROM processes WHERE processgraphid = ANY($1::text[])",
                [r["processgraphid"] for r in ids],
            )

    async def cancel(self, graphid: str, now: datetime) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            state = await conn.fetchval(
                "SELECT state FROM processgraphs WHERE processgraphid = $1 FOR UPDATE", graphid
            )
            if state not in (ProcessState.WAITING, ProcessState.RUNNING):
                return False
            await conn.execute(_CANCEL, graphid, now)
            await conn.execute(
                "UPDATE processgraphs SET state = 4, endtime = $2 WHERE processgraphid = $1",
                graphid,
                now,
            )
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
            # Lock the graph's rows we rewrite so concurrent growth serialises.
            await conn.execute(
                "SELECT 1 FROM processgraphs WHERE processgraphid = $1 FOR UPDATE", graphid
            )
            old_children: list[str] = await conn.fetchval(
                "SELECT children FROM processes WHERE processid = $1", parentid
            )
            new.process.parents = [parentid]
            if insert:
                new.process.children = list(old_children)
                await insert_process(conn, new)
                await conn.execute(
                    "UPDATE processes SET children = ARRAY[$2::text] WHERE processid = $1",
                    parentid,
                    newid,
                )
                await conn.execute(
                    "UPDATE processes SET parents = array_replace(parents, $1, $2) "
                    "WHERE processid = ANY($3::text[])",
                    parentid,
                    newid,
                    old_children,
                )
            else:
                new.process.children = [childid] if childid else []
                await insert_process(conn, new)
                await conn.execute(
                    "UPDATE processes SET children = array_append(children, $2) "
                    "WHERE processid = $1",
                    parentid,
                    newid,
                )
                if childid:
                    await conn.execute(
                        "UPDATE processes SET parents = array_append(parents, $2) "
                        "WHERE processid = $1",
                        childid,
                        newid,
                    )
            await refresh_state(conn, graphid, now)
