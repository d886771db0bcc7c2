"""Colonies. Removing one cascades to everything in it (foreign keys ON DELETE CASCADE)."""

from __future__ import annotations

import asyncpg

from colonies.core import Colony
from colonies.store.errors import Conflict
from colonies.store.events import EVENTS_CHANNEL


class ColonyStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, colony: Colony) -> Colony:
        try:
            await self.pool.execute(
                "INSERT INTO colonies (name, colonyid) VALUES ($1, $2)",
                colony.name,
                colony.colonyid,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"A Colony with name {colony.name} already exists") from None
        return colony

    async def get(self, name: str) -> Colony | None:
        row = await self.pool.fetchrow("SELECT name, colonyid FROM colonies WHERE name = $1", name)
        return Colony(colonyid=row["colonyid"], name=row["name"]) if row else None

    async def list(self) -> list[Colony]:
        rows = await self.pool.fetch("SELECT name, colonyid FROM colonies ORDER BY name")
        return [Colony(colonyid=r["colonyid"], name=r["name"]) for r in rows]

    async def remove(self, name: str) -> bool:
        return await self.pool.execute("DELETE FROM colonies WHERE name = $1", name) != "DELETE 0"

    async def change_id(self, name: str, colonyid: str) -> bool:
        status = await self.pool.execute(
            "UPDATE colonies SET colonyid = $2 WHERE name = $1", name, colonyid
        )
        return status != "UPDATE 0"

    async def set_paused(self, name: str, paused: bool) -> bool:
        """Pause or resume assignments; a resume wakes paused waiters on every replica."""
        status = await self.pool.execute(
            "WITH c AS (UPDATE colonies SET paused = $2 WHERE name = $1 RETURNING name) "
            "SELECT CASE WHEN NOT $2 THEN pg_notify($3, json_build_array('r', c.name)::text) "
            "END FROM c",
            name,
            paused,
            EVENTS_CHANNEL,
        )
        return status != "SELECT 0"

    async def is_paused(self, name: str) -> bool:
        return bool(await self.pool.fetchval("SELECT paused FROM colonies WHERE name = $1", name))
