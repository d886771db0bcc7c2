"""Locations of a colony."""

from __future__ import annotations

import asyncpg

from colonies.core import Location
from colonies.store.errors import Conflict
from colonies.store.statements import Statement

ADD = Statement("""
INSERT INTO locations (locationid, name, colonyname, description, long, lat)
VALUES (:locationid, :name, :colonyname, :description, :long, :lat)
""")

GET = Statement("""
SELECT locationid, name, colonyname, description, long, lat FROM locations
 WHERE colonyname = :colonyname AND name = :name
""")

LIST = Statement("""
SELECT locationid, name, colonyname, description, long, lat FROM locations
 WHERE colonyname = :colonyname
 ORDER BY name
""")

REMOVE = Statement("DELETE FROM locations WHERE colonyname = :colonyname AND name = :name")


def _location(row: asyncpg.Record) -> Location:
    return Location(**dict(row))


class LocationStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, loc: Location) -> Location:
        try:
            await ADD.execute(
                self.pool,
                locationid=loc.locationid,
                name=loc.name,
                colonyname=loc.colonyname,
                description=loc.description,
                long=loc.long,
                lat=loc.lat,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"A location with name {loc.name} already exists in colony {loc.colonyname}"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Colony with name {loc.colonyname} does not exist") from None
        return loc

    async def get(self, colonyname: str, name: str) -> Location | None:
        row = await GET.fetchrow(self.pool, colonyname=colonyname, name=name)
        return _location(row) if row else None

    async def list(self, colonyname: str) -> list[Location]:
        return [_location(r) for r in await LIST.fetch(self.pool, colonyname=colonyname)]

    async def remove(self, colonyname: str, name: str) -> bool:
        return await REMOVE.execute(self.pool, colonyname=colonyname, name=name) != "DELETE 0"
