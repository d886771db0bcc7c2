"""Executors of a colony; removing one removes its functions (foreign key cascade)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from colonies.core import Allocations, Capabilities, Executor
from colonies.store.errors import Conflict

_COLUMNS = (
    "executorid, executortype, executorname, colonyname, state, requirefuncreg, commissiontime, "
    "lastheardfromtime, locationname, capabilities, allocations, blueprintid, blueprintgen"
)


def _executor(row: asyncpg.Record) -> Executor:
    return Executor(
        executorid=row["executorid"],
        executortype=row["executortype"],
        executorname=row["executorname"],
        colonyname=row["colonyname"],
        state=row["state"],
        requirefuncreg=row["requirefuncreg"],
        commissiontime=row["commissiontime"],
        lastheardfromtime=row["lastheardfromtime"],
        locationname=row["locationname"],
        capabilities=msgspec.convert(row["capabilities"], Capabilities),
        allocations=msgspec.convert(row["allocations"], Allocations),
        blueprintid=row["blueprintid"],
        blueprintgen=row["blueprintgen"],
    )


class ExecutorStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, e: Executor, *, replace_existing: bool = False) -> Executor:
        async with self.pool.acquire() as conn, conn.transaction():
            if replace_existing:
                await conn.execute(
                    "DELETE FROM executors WHERE colonyname = $1 AND executorname = $2",
                    e.colonyname,
                    e.executorname,
                )
            try:
                await conn.execute(
                    f"INSERT INTO executors ({_COLUMNS}) "
                    "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
                    e.executorid,
                    e.executortype,
                    e.executorname,
                    e.colonyname,
                    e.state,
                    e.requirefuncreg,
                    e.commissiontime,
                    e.lastheardfromtime,
                    e.locationname,
                    msgspec.to_builtins(e.capabilities),
                    msgspec.to_builtins(e.allocations),
                    e.blueprintid,
                    e.blueprintgen,
                )
            except asyncpg.UniqueViolationError:
                raise Conflict(
                    f"Executor with name {e.executorname} already exists in colony {e.colonyname}"
                ) from None
            except asyncpg.ForeignKeyViolationError:
                raise Conflict(f"Colony with name {e.colonyname} does not exist") from None
        return e

    async def get(self, colonyname: str, executorname: str) -> Executor | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM executors WHERE colonyname = $1 AND executorname = $2",
            colonyname,
            executorname,
        )
        return _executor(row) if row else None

    async def get_by_id(self, colonyname: str, executorid: str) -> Executor | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM executors WHERE colonyname = $1 AND executorid = $2 LIMIT 1",
            colonyname,
            executorid,
        )
        return _executor(row) if row else None

    async def list(self, colonyname: str) -> list[Executor]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM executors WHERE colonyname = $1 ORDER BY commissiontime",
            colonyname,
        )
        return [_executor(r) for r in rows]

    async def set_state(self, colonyname: str, executorname: str, state: int) -> bool:
        status = await self.pool.execute(
            "UPDATE executors SET state = $3 WHERE colonyname = $1 AND executorname = $2",
            colonyname,
            executorname,
            state,
        )
        return status != "UPDATE 0"

    async def remove(self, colonyname: str, executorname: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM executors WHERE colonyname = $1 AND executorname = $2",
            colonyname,
            executorname,
        )
        return status != "DELETE 0"

    async def set_capabilities(
        self, colonyname: str, executorname: str, capabilities: Capabilities
    ) -> bool:
        status = await self.pool.execute(
            "UPDATE executors SET capabilities = $3 WHERE colonyname = $1 AND executorname = $2",
            colonyname,
            executorname,
            msgspec.to_builtins(capabilities),
        )
        return status != "UPDATE 0"

    async def set_allocations(
        self, colonyname: str, executorname: str, allocations: Allocations
    ) -> bool:
        status = await self.pool.execute(
            "UPDATE executors SET allocations = $3 WHERE colonyname = $1 AND executorname = $2",
            colonyname,
            executorname,
            msgspec.to_builtins(allocations),
        )
        return status != "UPDATE 0"

    async def change_id(self, colonyname: str, old_id: str, new_id: str) -> bool:
        status = await self.pool.execute(
            "UPDATE executors SET executorid = $3 WHERE colonyname = $1 AND executorid = $2",
            colonyname,
            old_id,
            new_id,
        )
        return status != "UPDATE 0"

    async def mark_alive(self, colonyname: str, executorid: str, now: datetime) -> None:
        await self.pool.execute(
            "UPDATE executors SET lastheardfromtime = $3 WHERE colonyname = $1 AND executorid = $2",
            colonyname,
            executorid,
            now,
        )
