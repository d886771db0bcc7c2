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
    is_user: bool


_ACCESS = """
SELECT c.colonyid,
       (SELECT e.state FROM executors e
         WHERE e.executorid = $2 AND e.colonyname = c.name LIMIT 1) AS executor_state,
       EXISTS (SELECT 1 FROM users u WHERE u.userid = $2 AND u.colonyname = c.name) AS is_user
  FROM colonies c WHERE c.name = $1
"""

_STATS = """
SELECT (SELECT count(*) FROM colonies WHERE $1::text IS NULL OR name = $1) AS colonies,
       count(*) AS executors,
       count(*) FILTER (WHERE state = 1) AS activeexecutors,
       count(*) FILTER (WHERE state = 3) AS unregisteredexecutors
  FROM executors WHERE $1::text IS NULL OR colonyname = $1
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
        return ColonyAccess(row["colonyid"], row["executor_state"], row["is_user"])

    async def statistics(self, colonyname: str | None = None) -> Statistics:
        row = await self.pool.fetchrow(_STATS, colonyname)
        return Statistics(**dict(row))

    async def ping(self) -> None:
        await self.pool.fetchval("SELECT 1")
