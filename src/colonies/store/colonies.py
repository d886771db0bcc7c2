"""Colonies. Removing one cascades to everything in it (foreign keys ON DELETE CASCADE)."""

from __future__ import annotations

import asyncpg

from colonies.core import Colony
from colonies.store.errors import Conflict
from colonies.store.events import resume_event
from colonies.store.statements import Statement

ADD = Statement("INSERT INTO colonies (name, colonyid) VALUES (:name, :colonyid)")

GET = Statement("SELECT name, colonyid FROM colonies WHERE name = :name")

LIST = Statement("SELECT name, colonyid FROM colonies ORDER BY name")

REMOVE = Statement("DELETE FROM colonies WHERE name = :name")

CHANGE_ID = Statement("UPDATE colonies SET colonyid = :colonyid WHERE name = :name")

# Pause or resume assignments; a resume wakes paused waiters on every replica. One row when
# the colony exists.
SET_PAUSED = Statement(f"""
WITH c AS (UPDATE colonies SET paused = :paused WHERE name = :name RETURNING name)
SELECT CASE WHEN NOT :paused THEN {resume_event("c.name")} END FROM c
""")

IS_PAUSED = Statement("SELECT paused FROM colonies WHERE name = :name")


class ColonyStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, colony: Colony) -> Colony:
        try:
            await ADD.execute(self.pool, name=colony.name, colonyid=colony.colonyid)
        except asyncpg.UniqueViolationError:
            raise Conflict(f"A Colony with name {colony.name} already exists") from None
        return colony

    async def get(self, name: str) -> Colony | None:
        row = await GET.fetchrow(self.pool, name=name)
        return Colony(colonyid=row["colonyid"], name=row["name"]) if row else None

    async def list(self) -> list[Colony]:
        rows = await LIST.fetch(self.pool)
        return [Colony(colonyid=r["colonyid"], name=r["name"]) for r in rows]

    async def remove(self, name: str) -> bool:
        return await REMOVE.execute(self.pool, name=name) != "DELETE 0"

    async def change_id(self, name: str, colonyid: str) -> bool:
        return await CHANGE_ID.execute(self.pool, name=name, colonyid=colonyid) != "UPDATE 0"

    async def set_paused(self, name: str, paused: bool) -> bool:
        """Pause or resume assignments; a resume wakes paused waiters on every replica."""
        return await SET_PAUSED.execute(self.pool, name=name, paused=paused) != "SELECT 0"

    async def is_paused(self, name: str) -> bool:
        return bool(await IS_PAUSED.fetchval(self.pool, name=name))
