"""The server owner's ID, membership look-ups for authorization, and server-wide statistics."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from colonies.core import Statistics


@dataclass(frozen=True, slots=True)
class ColonyAccess:
    """What one caller is in one colony, fetched in one round trip."""

    colonyid: str
    executor_state: int | None  # None: the caller is no executor of this colony
    executor_name: str | None
    executor_type: str | None
    executor_location: str | None
    user_name: str | None  # None: the caller is no user of this colony
    paused: bool  # assignments of the colony are paused

    @property
    def is_user(self) -> bool:
        return self.user_name is not None


_ACCESS = """
SELECT c.colonyid, e.state AS executor_state, e.executorname AS executor_name,
       e.executortype AS executor_type, e.locationname AS executor_location,
       u.name AS user_name, c.paused
  FROM colonies c
  LEFT JOIN LATERAL (SELECT state, executorname, executortype, locationname FROM executors
                      WHERE executorid = $2 AND colonyname = c.name LIMIT 1) e ON true
  LEFT JOIN LATERAL (SELECT name FROM users
                      WHERE userid = $2 AND colonyname = c.name LIMIT 1) u ON true
 WHERE c.name = $1
"""

_STATE_NAMES = {0: "waiting", 1: "running", 2: "successful", 3: "failed", 4: "cancelled"}
_EXECUTOR_STATE_NAMES = {0: "pending", 1: "approved", 2: "rejected", 3: "unregistered"}

_STATS = """
SELECT (SELECT count(*) FROM colonies WHERE $1::text IS NULL OR name = $1) AS colonies,
       e.executors, e.activeexecutors, e.unregisteredexecutors,
       p.waitingprocesses, p.runningprocesses, p.successfulprocesses, p.failedprocesses,
       p.cancelledprocesses, g.waitingworkflows, g.runningworkflows, g.successfulworkflows,
       g.failedworkflows, g.cancelledworkflows
  FROM (SELECT count(*) AS executors,
               count(*) FILTER (WHERE state = 1) AS activeexecutors,
               count(*) FILTER (WHERE state = 3) AS unregisteredexecutors
          FROM executors WHERE $1::text IS NULL OR colonyname = $1) e,
       (SELECT count(*) FILTER (WHERE state = 0) AS waitingprocesses,
               count(*) FILTER (WHERE state = 1) AS runningprocesses,
               count(*) FILTER (WHERE state = 2) AS successfulprocesses,
               count(*) FILTER (WHERE state = 3) AS failedprocesses,
               count(*) FILTER (WHERE state = 4) AS cancelledprocesses
          FROM processes WHERE $1::text IS NULL OR colonyname = $1) p,
       (SELECT count(*) FILTER (WHERE state = 0) AS waitingworkflows,
               count(*) FILTER (WHERE state = 1) AS runningworkflows,
               count(*) FILTER (WHERE state = 2) AS successfulworkflows,
               count(*) FILTER (WHERE state = 3) AS failedworkflows,
               count(*) FILTER (WHERE state = 4) AS cancelledworkflows
          FROM processgraphs WHERE $1::text IS NULL OR colonyname = $1) g
"""


class ServerStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def server_id(self) -> str:
        value = await self.pool.fetchval("SELECT serverid FROM server_owner")
        return value or ""

    async def seed_server_id(self, serverid: str) -> str:
        """Store ``serverid`` when none is stored yet; return the ID in force."""
        await self.pool.execute(
            "INSERT INTO server_owner (serverid) VALUES ($1) ON CONFLICT DO NOTHING", serverid
        )
        return await self.server_id()

    async def change_server_id(self, serverid: str) -> None:
        await self.pool.execute(
            "INSERT INTO server_owner (serverid) VALUES ($1) "
            "ON CONFLICT (singleton) DO UPDATE SET serverid = EXCLUDED.serverid",
            serverid,
        )

    async def colony_access(self, colonyname: str, caller: str) -> ColonyAccess | None:
        row = await self.pool.fetchrow(_ACCESS, colonyname, caller)
        if row is None:
            return None
        return ColonyAccess(**dict(row))

    async def statistics(self, colonyname: str | None = None) -> Statistics:
        row = await self.pool.fetchrow(_STATS, colonyname)
        return Statistics(**dict(row))

    async def fleet_counts(self) -> dict[str, list[tuple[str, str, int]]]:
        """Processes, workflows and executors by colony and state, for the leader's gauges."""
        names = {
            "processes": _STATE_NAMES,
            "workflows": _STATE_NAMES,
            "executors": _EXECUTOR_STATE_NAMES,
        }
        tables = {"processes": "processes", "workflows": "processgraphs", "executors": "executors"}
        result: dict[str, list[tuple[str, str, int]]] = {}
        for key, table in tables.items():
            rows = await self.pool.fetch(
                f"SELECT colonyname, state, count(*) AS n FROM {table} GROUP BY colonyname, state"
            )
            result[key] = [
                (r["colonyname"], names[key].get(r["state"], str(r["state"])), r["n"]) for r in rows
            ]
        return result

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")
