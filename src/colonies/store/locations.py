"""Locations of a colony."""

from __future__ import annotations

import asyncpg

from colonies.core import Location
from colonies.store.errors import Conflict

_COLUMNS = "locationid, name, colonyname, description, long, lat"


def _location(row: asyncpg.Record) -> Location:
    return Location(**dict(row))


class LocationStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, loc: Location) -> Location:
        try:
            await self.pool.execute(
                f"INSERT INTO locations ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)",
                loc.locationid,
                loc.name,
                loc.colonyname,
                loc.description,
                loc.long,
                loc.lat,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"A location with name {loc.name} already exists in colony {loc.colonyname}"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Colony with name {loc.colonyname} does not exist") from None
        return loc

    async def get(self, colonyname: str, name: str) -> Location | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM locations WHERE colonyname = $1 AND name = $2",
            colonyname,
            name,
        )
        return _location(row) if row else None

    async def list(self, colonyname: str) -> list[Location]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM locations WHERE colonyname = $1 ORDER BY name", colonyname
        )
        return [_location(r) for r in rows]

    async def remove(self, colonyname: str, name: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM locations WHERE colonyname = $1 AND name = $2", colonyname, name
        )
        return status != "DELETE 0"
