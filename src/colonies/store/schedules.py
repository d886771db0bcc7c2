"""Generators and crons: definitions, and the leader's ticks that turn them into workflows.

Each firing is one fenced transaction that consumes its inputs (packed arguments, a cron slot)
and creates the graph together, so an interrupted tick neither loses nor repeats anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

import asyncpg

from colonies.core import Cron, Generator, ProcessGraph, ProcessState, WorkflowSpec
from colonies.core.cron import parse_cron
from colonies.core.graphs import plan_workflow
from colonies.core.timeutil import ZERO_TIME, is_zero_time
from colonies.core.wire import decode
from colonies.store.errors import Conflict
from colonies.store.fencing import fence
from colonies.store.processgraphs import ProcessGraphStore

log = logging.getLogger(__name__)

_GENERATOR_COLUMNS = (
    "generatorid, colonyname, initiatorid, initiatorname, name, workflowspec, trigger, timeout, "
    "firstpack, lastrun"
)
_CRON_COLUMNS = (
    "cronid, colonyname, initiatorid, initiatorname, name, cronexpression, interval, random, "
    "nextrun, lastrun, workflowspec, prevprocessgraphid, waitforprevprocessgraph"
)
_QUEUE = "(SELECT count(*) FROM generator_args a WHERE a.generatorid = g.generatorid) AS queuesize"

# Leaves of a graph (members without children), in graph order, for a cron's next input.
_LEAF_OUTPUTS = """
SELECT coalesce(jsonb_agg(e.elem ORDER BY p.seq, e.idx), '[]'::jsonb)
  FROM processes p, jsonb_array_elements(p.output) WITH ORDINALITY AS e(elem, idx)
 WHERE p.processgraphid = $1 AND cardinality(p.children) = 0
"""


_INSERT_CRON = (
    f"INSERT INTO crons ({_CRON_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) "
    "ON CONFLICT (colonyname, name) DO NOTHING"
)


def _cron_args(c: Cron) -> tuple[object, ...]:
    return (
        c.cronid,
        c.colonyname,
        c.initiatorid,
        c.initiatorname,
        c.name,
        c.cronexpression,
        c.interval,
        c.random,
        ZERO_TIME,
        ZERO_TIME,
        c.workflowspec,
        "",
        c.waitforprevprocessgraph,
    )


def _generator(row: asyncpg.Record, period_ms: int) -> Generator:
    return Generator(**dict(row), checkerperiod=period_ms)


def _cron(row: asyncpg.Record, period_ms: int) -> Cron:
    return Cron(**dict(row), checkerperiod=period_ms)


def next_run(interval: int, expression: str, after: datetime, tz: tzinfo) -> datetime:
    """An interval in seconds when positive, else the expression's next activation."""
    if interval > 0:
        return after + timedelta(seconds=interval)
    return parse_cron(expression, tz).next(after)


class ScheduleStore:
    def __init__(
        self,
        pool: asyncpg.Pool,
        graphs: ProcessGraphStore,
        new_id: Callable[[], str],
        *,
        generator_period_ms: int = 1000,
        cron_period_ms: int = 1000,
        tz: tzinfo | None = None,
    ) -> None:
        from datetime import timezone

        self.pool = pool
        self.graphs = graphs
        self.new_id = new_id
        self.generator_period_ms = generator_period_ms
        self.cron_period_ms = cron_period_ms
        self.tz = tz or timezone.utc

    # --- shared: turn a stored workflow spec into a graph -------------------------------------
    async def _create_graph(
        self,
        conn: asyncpg.Connection,
        owner: asyncpg.Record,
        now: datetime,
        *,
        root_args: list[str] | None = None,
        root_input: list[Any] | None = None,
    ) -> ProcessGraph:
        spec = decode(owner["workflowspec"], WorkflowSpec)
        spec.colonyname = owner["colonyname"]
        if root_args is not None:
            for fs in spec.functionspecs:
                if not fs.conditions.dependencies:
                    fs.args = list(root_args)
                    fs.kwargs = {}
        graph, processes = plan_workflow(
            spec,
            graphid=self.new_id(),
            initiatorid=owner["initiatorid"],
            initiatorname=owner["initiatorname"],
            now=now,
            new_id=self.new_id,
            root_input=root_input,
        )
        await self.graphs.create(graph, processes, conn)
        return graph

    # --- generators ---------------------------------------------------------------------------
    async def add_generator(self, g: Generator) -> Generator:
        try:
            await self.pool.execute(
                f"INSERT INTO generators ({_GENERATOR_COLUMNS}) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                g.generatorid,
                g.colonyname,
                g.initiatorid,
                g.initiatorname,
                g.name,
                g.workflowspec,
                g.trigger,
                g.timeout,
                ZERO_TIME,
                ZERO_TIME,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"A generator with name {g.name} already exists") from None
        found = await self.get_generator(g.generatorid)
        assert found is not None
        return found

    async def get_generator(self, generatorid: str) -> Generator | None:
        row = await self.pool.fetchrow(
            f"SELECT {_GENERATOR_COLUMNS}, {_QUEUE} FROM generators g WHERE generatorid = $1",
            generatorid,
        )
        return _generator(row, self.generator_period_ms) if row else None

    async def resolve_generator(self, colonyname: str, name: str) -> Generator | None:
        row = await self.pool.fetchrow(
            f"SELECT {_GENERATOR_COLUMNS}, {_QUEUE} FROM generators g "
            "WHERE colonyname = $1 AND name = $2",
            colonyname,
            name,
        )
        return _generator(row, self.generator_period_ms) if row else None

    async def list_generators(self, colonyname: str, count: int) -> list[Generator]:
        rows = await self.pool.fetch(
            f"SELECT {_GENERATOR_COLUMNS}, {_QUEUE} FROM generators g WHERE colonyname = $1 "
            "ORDER BY name LIMIT $2",
            colonyname,
            count,
        )
        return [_generator(r, self.generator_period_ms) for r in rows]

    async def pack(self, generatorid: str, arg: str, now: datetime) -> bool:
        """Queue one argument; False when the generator is gone."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE generators SET firstpack = $2 WHERE generatorid = $1 "
                "AND firstpack = '0001-01-01 00:00:00+00'",
                generatorid,
                now,
            )
            try:
                await conn.execute(
                    "INSERT INTO generator_args (generatorid, arg) VALUES ($1, $2)",
                    generatorid,
                    arg,
                )
            except asyncpg.ForeignKeyViolationError:
                return False
        return True

    async def remove_generator(self, generatorid: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM generators WHERE generatorid = $1", generatorid
        )
        return status != "DELETE 0"

    async def generator_tick(self, term: int, now: datetime) -> int:
        """Pack ripe generators into workflows; returns how many workflows were submitted."""
        ids = await self.pool.fetch("SELECT generatorid FROM generators")
        submitted = 0
        for row in ids:
            submitted += await self._fire_generator(term, row["generatorid"], now)
        return submitted

    async def _fire_generator(self, term: int, generatorid: str, now: datetime) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            g = await conn.fetchrow(
                f"SELECT {_GENERATOR_COLUMNS}, {_QUEUE} FROM generators g "
                "WHERE generatorid = $1 FOR UPDATE SKIP LOCKED",
                generatorid,
            )
            if g is None or g["queuesize"] == 0:
                return 0
            n, trigger = g["queuesize"], max(g["trigger"], 1)
            if n >= trigger:
                batches = [trigger] * (n // trigger)
            else:
                since = g["firstpack"] if is_zero_time(g["lastrun"]) else g["lastrun"]
                if g["timeout"] <= 0 or now <= since + timedelta(seconds=g["timeout"]):
                    return 0
                batches = [n]
            for size in batches:
                args = await conn.fetch(
                    "DELETE FROM generator_args WHERE seq IN (SELECT seq FROM generator_args "
                    "WHERE generatorid = $1 ORDER BY seq LIMIT $2) RETURNING seq, arg",
                    generatorid,
                    size,
                )
                packed = [a["arg"] for a in sorted(args, key=lambda a: a["seq"])]
                await self._create_graph(conn, g, now, root_args=packed)
            await conn.execute(
                "UPDATE generators SET lastrun = $2 WHERE generatorid = $1", generatorid, now
            )
        return len(batches)

    # --- crons --------------------------------------------------------------------------------
    async def add_cron(self, c: Cron) -> Cron:
        row = await self.pool.fetchrow(f"{_INSERT_CRON} RETURNING *", *_cron_args(c))
        if row is None:
            raise Conflict(f"A cron with name {c.name} already exists")
        return _cron(row, self.cron_period_ms)

    async def ensure_cron(self, c: Cron) -> None:
        """Create the cron unless one of that name exists: the unique constraint decides, so
        concurrent callers end with exactly one."""
        await self.pool.execute(_INSERT_CRON, *_cron_args(c))

    async def remove_cron_by_name(self, colonyname: str, name: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM crons WHERE colonyname = $1 AND name = $2", colonyname, name
        )
        return status != "DELETE 0"

    async def get_cron(self, cronid: str) -> Cron | None:
        row = await self.pool.fetchrow(
            f"SELECT {_CRON_COLUMNS} FROM crons WHERE cronid = $1", cronid
        )
        return _cron(row, self.cron_period_ms) if row else None

    async def list_crons(self, colonyname: str, count: int) -> list[Cron]:
        rows = await self.pool.fetch(
            f"SELECT {_CRON_COLUMNS} FROM crons WHERE colonyname = $1 ORDER BY name LIMIT $2",
            colonyname,
            count,
        )
        return [_cron(r, self.cron_period_ms) for r in rows]

    async def remove_cron(self, cronid: str) -> bool:
        return await self.pool.execute("DELETE FROM crons WHERE cronid = $1", cronid) != "DELETE 0"

    async def _may_fire(self, conn: asyncpg.Connection, cron: asyncpg.Record) -> bool:
        """The wait rule of §7.11 (a cancelled previous graph does not block, §8.1 item 8)."""
        prev = cron["prevprocessgraphid"]
        if not prev or not cron["waitforprevprocessgraph"]:
            return True
        state = await conn.fetchval(
            "SELECT state FROM processgraphs WHERE processgraphid = $1", prev
        )
        return state is None or state >= ProcessState.SUCCESS

    async def _fire_cron(
        self, conn: asyncpg.Connection, cron: asyncpg.Record, now: datetime
    ) -> str:
        prev = cron["prevprocessgraphid"]
        root_input: list[Any] | None = None
        if prev and await conn.fetchval(
            "SELECT 1 FROM processgraphs WHERE processgraphid = $1", prev
        ):
            root_input = await conn.fetchval(_LEAF_OUTPUTS, prev)
        graph = await self._create_graph(conn, cron, now, root_input=root_input)
        await conn.execute(
            "UPDATE crons SET nextrun = $2, lastrun = $3, prevprocessgraphid = $4 "
            "WHERE cronid = $1",
            cron["cronid"],
            next_run(cron["interval"], cron["cronexpression"], now, self.tz),
            now,
            graph.processgraphid,
        )
        return graph.processgraphid

    async def cron_tick(self, term: int, now: datetime) -> int:
        """Fire every due cron once; returns how many fired."""
        fired = 0
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            due = await conn.fetch(
                f"SELECT {_CRON_COLUMNS} FROM crons "
                "WHERE nextrun = '0001-01-01 00:00:00+00' OR nextrun < $1 "
                "ORDER BY nextrun FOR UPDATE SKIP LOCKED",
                now,
            )
            for cron in due:
                try:
                    if is_zero_time(cron["nextrun"]):  # first sight: only schedule
                        await conn.execute(
                            "UPDATE crons SET nextrun = $2 WHERE cronid = $1",
                            cron["cronid"],
                            next_run(cron["interval"], cron["cronexpression"], now, self.tz),
                        )
                    elif await self._may_fire(conn, cron):
                        await self._fire_cron(conn, cron, now)
                        fired += 1
                except ValueError as exc:  # a spec or expression that no longer parses
                    log.warning("cron %s cannot fire: %s", cron["cronid"], exc)
        return fired

    async def run_cron(self, cronid: str, now: datetime) -> Cron | None:
        """``runcronmsg``: fire now, under the same wait rule; the updated cron."""
        async with self.pool.acquire() as conn, conn.transaction():
            cron = await conn.fetchrow(
                f"SELECT {_CRON_COLUMNS} FROM crons WHERE cronid = $1 FOR UPDATE", cronid
            )
            if cron is None:
                return None
            if await self._may_fire(conn, cron):
                await self._fire_cron(conn, cron, now)
        return await self.get_cron(cronid)
