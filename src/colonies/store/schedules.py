"""Generators and crons: definitions, and the leader's ticks that turn them into workflows.

Each firing consumes its inputs (packed arguments, a cron slot) and creates the graph together,
inside the tick's fenced transaction, so an interrupted tick neither loses nor repeats anything.

One colony's cron or generator can fail only itself: each firing runs in its own savepoint
(generators: their own transaction), and one that fails is rolled back alone, reported once
(a warning when it starts failing, a note when it fires again) and tried again later (a cron
at its next activation, or after :data:`CRON_RETRY_SECONDS` when it has none). Only a lost
database connection or a stale term ends a tick early.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any

import asyncpg

from colonies.core import Cron, Generator, ProcessGraph, ProcessState
from colonies.core.cron import parse_cron
from colonies.core.graphs import plan_workflow, stored_workflow
from colonies.core.limits import CRON_HORIZON_SECONDS
from colonies.core.timeutil import is_zero_time
from colonies.store.errors import Conflict, Unavailable, store_error
from colonies.store.fencing import StaleTerm, fence
from colonies.store.processgraphs import ProcessGraphStore
from colonies.store.statements import Statement

log = logging.getLogger(__name__)

# Seconds before a cron that failed and has no next activation to go by is tried again.
CRON_RETRY_SECONDS = 60
# The most crons and generators remembered as failing (to report each once); beyond it the
# memory starts afresh and a failure still going on is reported again.
_MAX_FAILING = 10_000

ADD_GENERATOR = Statement("""
INSERT INTO generators (generatorid, colonyname, initiatorid, initiatorname, name, workflowspec,
                        trigger, timeout)
VALUES (:generatorid, :colonyname, :initiatorid, :initiatorname, :name, :workflowspec,
        :trigger, :timeout)
""")

# A generator with the number of arguments packed and not yet consumed (queuesize).
GENERATOR = Statement("""
SELECT generatorid, colonyname, initiatorid, initiatorname, name, workflowspec, trigger,
       timeout, firstpack, lastrun,
       (SELECT count(*) FROM generator_args a WHERE a.generatorid = g.generatorid) AS queuesize
  FROM generators g
 WHERE generatorid = :generatorid
""")

GENERATOR_NAMED = Statement("""
SELECT generatorid, colonyname, initiatorid, initiatorname, name, workflowspec, trigger,
       timeout, firstpack, lastrun,
       (SELECT count(*) FROM generator_args a WHERE a.generatorid = g.generatorid) AS queuesize
  FROM generators g
 WHERE colonyname = :colonyname AND name = :name
""")

GENERATORS = Statement("""
SELECT generatorid, colonyname, initiatorid, initiatorname, name, workflowspec, trigger,
       timeout, firstpack, lastrun,
       (SELECT count(*) FROM generator_args a WHERE a.generatorid = g.generatorid) AS queuesize
  FROM generators g
 WHERE colonyname = :colonyname
 ORDER BY name
 LIMIT :count
""")

# The time of the first argument packed since the generator last fired (its timeout's start).
NOTE_FIRST_PACK = Statement("""
UPDATE generators SET firstpack = :now
 WHERE generatorid = :generatorid AND firstpack = '0001-01-01 00:00:00+00'
""")

PACK = Statement("INSERT INTO generator_args (generatorid, arg) VALUES (:generatorid, :arg)")

REMOVE_GENERATOR = Statement("DELETE FROM generators WHERE generatorid = :generatorid")

# The generators with packed arguments (only they can fire), in a stable order.
GENERATORS_WITH_ARGS = Statement("""
SELECT g.generatorid FROM generators g
 WHERE EXISTS (SELECT 1 FROM generator_args a WHERE a.generatorid = g.generatorid)
 ORDER BY g.generatorid
""")

# A generator about to fire, held until its tick's transaction ends; none when another
# replica's tick holds it.
LOCK_GENERATOR = Statement("""
SELECT generatorid, colonyname, initiatorid, initiatorname, name, workflowspec, trigger,
       timeout, firstpack, lastrun,
       (SELECT count(*) FROM generator_args a WHERE a.generatorid = g.generatorid) AS queuesize
  FROM generators g
 WHERE generatorid = :generatorid
   FOR UPDATE SKIP LOCKED
""")

# The oldest :count packed arguments, consumed.
TAKE_ARGS = Statement("""
DELETE FROM generator_args
 WHERE seq IN (SELECT seq FROM generator_args WHERE generatorid = :generatorid
                ORDER BY seq LIMIT :count)
RETURNING seq, arg
""")

NOTE_GENERATOR_RUN = Statement("""
UPDATE generators SET lastrun = :now WHERE generatorid = :generatorid
""")

# A new cron, unless one of that name exists in the colony: then no row.
ADD_CRON = Statement("""
INSERT INTO crons (cronid, colonyname, initiatorid, initiatorname, name, cronexpression,
                   interval, random, workflowspec, waitforprevprocessgraph)
VALUES (:cronid, :colonyname, :initiatorid, :initiatorname, :name, :cronexpression,
        :interval, :random, :workflowspec, :waitforprevprocessgraph)
ON CONFLICT (colonyname, name) DO NOTHING
RETURNING cronid, colonyname, initiatorid, initiatorname, name, cronexpression, interval, random,
          nextrun, lastrun, workflowspec, prevprocessgraphid, waitforprevprocessgraph
""")

REMOVE_CRON_NAMED = Statement("DELETE FROM crons WHERE colonyname = :colonyname AND name = :name")

CRON = Statement("""
SELECT cronid, colonyname, initiatorid, initiatorname, name, cronexpression, interval, random,
       nextrun, lastrun, workflowspec, prevprocessgraphid, waitforprevprocessgraph
  FROM crons
 WHERE cronid = :cronid
""")

CRONS = Statement("""
SELECT cronid, colonyname, initiatorid, initiatorname, name, cronexpression, interval, random,
       nextrun, lastrun, workflowspec, prevprocessgraphid, waitforprevprocessgraph
  FROM crons
 WHERE colonyname = :colonyname
 ORDER BY name
 LIMIT :count
""")

REMOVE_CRON = Statement("DELETE FROM crons WHERE cronid = :cronid")

GRAPH_STATE = Statement("""
SELECT state FROM processgraphs WHERE processgraphid = :processgraphid
""")

# Leaves of a graph (members without children), in graph order, for a cron's next input.
LEAF_OUTPUTS = Statement("""
SELECT coalesce(jsonb_agg(e.elem ORDER BY p.seq, e.idx), '[]'::jsonb)
  FROM processes p, jsonb_array_elements(p.output) WITH ORDINALITY AS e(elem, idx)
 WHERE p.processgraphid = :processgraphid AND cardinality(p.children) = 0
""")

NOTE_CRON_RUN = Statement("""
UPDATE crons SET nextrun = :nextrun, lastrun = :now, prevprocessgraphid = :processgraphid
 WHERE cronid = :cronid
""")

# Crons due (or never scheduled: year 1), held until the tick's transaction ends; those another
# replica's tick holds are skipped.
DUE_CRONS = Statement("""
SELECT cronid, colonyname, initiatorid, initiatorname, name, cronexpression, interval, random,
       nextrun, lastrun, workflowspec, prevprocessgraphid, waitforprevprocessgraph
  FROM crons
 WHERE nextrun = '0001-01-01 00:00:00+00' OR nextrun < :now
 ORDER BY nextrun
   FOR UPDATE SKIP LOCKED
""")

SCHEDULE_CRON = Statement("UPDATE crons SET nextrun = :nextrun WHERE cronid = :cronid")

LOCK_CRON = Statement("""
SELECT cronid, colonyname, initiatorid, initiatorname, name, cronexpression, interval, random,
       nextrun, lastrun, workflowspec, prevprocessgraphid, waitforprevprocessgraph
  FROM crons
 WHERE cronid = :cronid
   FOR UPDATE
""")


def _cron_values(c: Cron) -> dict[str, object]:
    """ADD_CRON's parameters: a new cron, not scheduled yet (year 1), without a previous graph."""
    return {
        "cronid": c.cronid,
        "colonyname": c.colonyname,
        "initiatorid": c.initiatorid,
        "initiatorname": c.initiatorname,
        "name": c.name,
        "cronexpression": c.cronexpression,
        "interval": c.interval,
        "random": c.random,
        "workflowspec": c.workflowspec,
        "waitforprevprocessgraph": c.waitforprevprocessgraph,
    }


def _generator(row: asyncpg.Record, period_ms: int) -> Generator:
    return Generator(**dict(row), checkerperiod=period_ms)


def _cron(row: asyncpg.Record, period_ms: int) -> Cron:
    return Cron(**dict(row), checkerperiod=period_ms)


def next_run(interval: int, expression: str, after: datetime, tz: tzinfo) -> datetime:
    """An interval in seconds when positive, else the expression's next activation."""
    if interval > 0:
        return after + timedelta(seconds=min(interval, CRON_HORIZON_SECONDS))
    return parse_cron(expression, tz).next(after)


def _own_failure(exc: Exception) -> bool:
    """Whether a firing's failure is its own (its spec, its values), not the database's being
    away or the term's being stale: those end the whole tick."""
    return not isinstance(exc, StaleTerm) and not isinstance(store_error(exc), Unavailable)


class _Failures:
    """The crons and generators failing now, each reported once when it starts failing (or
    fails differently) and once when it fires again."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._reasons: dict[str, str] = {}

    def failed(self, key: str, what: str, exc: Exception) -> None:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
        if self._reasons.get(key) == reason:
            return
        if len(self._reasons) >= _MAX_FAILING:
            self._reasons.clear()
        self._reasons[key] = reason
        log.warning("%s %s (%s) cannot fire: %s", self.kind, what, key, reason)

    def fired(self, key: str, what: str) -> None:
        if self._reasons.pop(key, None) is not None:
            log.info("%s %s (%s) fires again", self.kind, what, key)


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
        self.failing_crons = _Failures("cron")
        self.failing_generators = _Failures("generator")

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
        """Submit the owner's workflow, checked as a submitted one (core/graphs.py)."""
        spec = stored_workflow(owner["workflowspec"], owner["colonyname"])
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
            await ADD_GENERATOR.execute(
                self.pool,
                generatorid=g.generatorid,
                colonyname=g.colonyname,
                initiatorid=g.initiatorid,
                initiatorname=g.initiatorname,
                name=g.name,
                workflowspec=g.workflowspec,
                trigger=g.trigger,
                timeout=g.timeout,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"A generator with name {g.name} already exists") from None
        found = await self.get_generator(g.generatorid)
        assert found is not None
        return found

    async def get_generator(self, generatorid: str) -> Generator | None:
        row = await GENERATOR.fetchrow(self.pool, generatorid=generatorid)
        return _generator(row, self.generator_period_ms) if row else None

    async def resolve_generator(self, colonyname: str, name: str) -> Generator | None:
        row = await GENERATOR_NAMED.fetchrow(self.pool, colonyname=colonyname, name=name)
        return _generator(row, self.generator_period_ms) if row else None

    async def list_generators(self, colonyname: str, count: int) -> list[Generator]:
        rows = await GENERATORS.fetch(self.pool, colonyname=colonyname, count=count)
        return [_generator(r, self.generator_period_ms) for r in rows]

    async def pack(self, generatorid: str, arg: str, now: datetime) -> bool:
        """Queue one argument; False when the generator is gone."""
        async with self.pool.acquire() as conn, conn.transaction():
            await NOTE_FIRST_PACK.execute(conn, generatorid=generatorid, now=now)
            try:
                await PACK.execute(conn, generatorid=generatorid, arg=arg)
            except asyncpg.ForeignKeyViolationError:
                return False
        return True

    async def remove_generator(self, generatorid: str) -> bool:
        return await REMOVE_GENERATOR.execute(self.pool, generatorid=generatorid) != "DELETE 0"

    async def generator_tick(self, term: int, now: datetime) -> int:
        """Pack ripe generators into workflows; returns how many workflows were submitted.
        Each generator fires in its own transaction: one that fails fails alone."""
        submitted = 0
        for row in await GENERATORS_WITH_ARGS.fetch(self.pool):
            generatorid = row["generatorid"]
            named: list[str] = []  # colony/name, once its row is read: for the report
            try:
                submitted += await self._fire_generator(term, generatorid, now, named)
            except Exception as exc:
                if not _own_failure(exc):
                    raise
                self.failing_generators.failed(generatorid, "/".join(named), exc)
            else:
                self.failing_generators.fired(generatorid, "/".join(named))
        return submitted

    async def _fire_generator(
        self, term: int, generatorid: str, now: datetime, named: list[str]
    ) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            g = await LOCK_GENERATOR.fetchrow(conn, generatorid=generatorid)
            if g is None or g["queuesize"] == 0:
                return 0
            named[:] = [g["colonyname"], g["name"]]
            n, trigger = g["queuesize"], max(g["trigger"], 1)
            if n >= trigger:
                batches = [trigger] * (n // trigger)
            else:
                since = g["firstpack"] if is_zero_time(g["lastrun"]) else g["lastrun"]
                if g["timeout"] <= 0 or now <= since + timedelta(seconds=g["timeout"]):
                    return 0
                batches = [n]
            for size in batches:
                args = await TAKE_ARGS.fetch(conn, generatorid=generatorid, count=size)
                packed = [a["arg"] for a in sorted(args, key=lambda a: a["seq"])]
                await self._create_graph(conn, g, now, root_args=packed)
            await NOTE_GENERATOR_RUN.execute(conn, generatorid=generatorid, now=now)
        return len(batches)

    # --- crons --------------------------------------------------------------------------------
    async def add_cron(self, c: Cron) -> Cron:
        row = await ADD_CRON.fetchrow(self.pool, **_cron_values(c))
        if row is None:
            raise Conflict(f"A cron with name {c.name} already exists")
        return _cron(row, self.cron_period_ms)

    async def ensure_cron(self, c: Cron) -> None:
        """Create the cron unless one of that name exists: the unique constraint decides, so
        concurrent callers end with exactly one."""
        await ADD_CRON.execute(self.pool, **_cron_values(c))

    async def remove_cron_by_name(self, colonyname: str, name: str) -> bool:
        status = await REMOVE_CRON_NAMED.execute(self.pool, colonyname=colonyname, name=name)
        return status != "DELETE 0"

    async def get_cron(self, cronid: str) -> Cron | None:
        row = await CRON.fetchrow(self.pool, cronid=cronid)
        return _cron(row, self.cron_period_ms) if row else None

    async def list_crons(self, colonyname: str, count: int) -> list[Cron]:
        rows = await CRONS.fetch(self.pool, colonyname=colonyname, count=count)
        return [_cron(r, self.cron_period_ms) for r in rows]

    async def remove_cron(self, cronid: str) -> bool:
        return await REMOVE_CRON.execute(self.pool, cronid=cronid) != "DELETE 0"

    async def _may_fire(self, conn: asyncpg.Connection, cron: asyncpg.Record) -> bool:
        """The wait rule of §7.11 (a cancelled previous graph does not block, §8.1 item 8)."""
        prev = cron["prevprocessgraphid"]
        if not prev or not cron["waitforprevprocessgraph"]:
            return True
        state = await GRAPH_STATE.fetchval(conn, processgraphid=prev)
        return state is None or state >= ProcessState.SUCCESS

    async def _fire_cron(
        self, conn: asyncpg.Connection, cron: asyncpg.Record, now: datetime
    ) -> str:
        prev = cron["prevprocessgraphid"]
        root_input: list[Any] | None = None
        if prev and await GRAPH_STATE.fetchval(conn, processgraphid=prev) is not None:
            root_input = await LEAF_OUTPUTS.fetchval(conn, processgraphid=prev)
        graph = await self._create_graph(conn, cron, now, root_input=root_input)
        await NOTE_CRON_RUN.execute(
            conn,
            cronid=cron["cronid"],
            nextrun=next_run(cron["interval"], cron["cronexpression"], now, self.tz),
            now=now,
            processgraphid=graph.processgraphid,
        )
        return graph.processgraphid

    async def cron_tick(self, term: int, now: datetime) -> int:
        """Fire every due cron once; returns how many fired. Each cron in its own savepoint:
        one that fails is rolled back alone and tried again later."""
        fired = 0
        async with self.pool.acquire() as conn, conn.transaction():
            await fence(conn, term)
            for cron in await DUE_CRONS.fetch(conn, now=now):
                what = f"{cron['colonyname']}/{cron['name']}"
                try:
                    async with conn.transaction():
                        fired += await self._tick_cron(conn, cron, now)
                except Exception as exc:
                    if not _own_failure(exc):
                        raise
                    self.failing_crons.failed(cron["cronid"], what, exc)
                    await SCHEDULE_CRON.execute(
                        conn, cronid=cron["cronid"], nextrun=self._retry_at(cron, now)
                    )
                else:
                    self.failing_crons.fired(cron["cronid"], what)
        return fired

    async def _tick_cron(
        self, conn: asyncpg.Connection, cron: asyncpg.Record, now: datetime
    ) -> int:
        """A due cron: scheduled at first sight, else fired when the wait rule allows."""
        if is_zero_time(cron["nextrun"]):  # first sight: only schedule
            nextrun = next_run(cron["interval"], cron["cronexpression"], now, self.tz)
            await SCHEDULE_CRON.execute(conn, cronid=cron["cronid"], nextrun=nextrun)
            return 0
        if not await self._may_fire(conn, cron):
            return 0
        await self._fire_cron(conn, cron, now)
        return 1

    def _retry_at(self, cron: asyncpg.Record, now: datetime) -> datetime:
        """When a cron that failed is tried again: its next activation, if it has one."""
        try:
            return next_run(cron["interval"], cron["cronexpression"], now, self.tz)
        except Exception:  # an expression that no longer parses, or fires too late
            return now + timedelta(seconds=CRON_RETRY_SECONDS)

    async def run_cron(self, cronid: str, now: datetime) -> Cron | None:
        """``runcronmsg``: fire now, under the same wait rule; the updated cron."""
        async with self.pool.acquire() as conn, conn.transaction():
            cron = await LOCK_CRON.fetchrow(conn, cronid=cronid)
            if cron is None:
                return None
            if await self._may_fire(conn, cron):
                await self._fire_cron(conn, cron, now)
        return await self.get_cron(cronid)
