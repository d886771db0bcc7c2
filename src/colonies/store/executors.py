"""Executors of a colony; removing one removes its functions (foreign key cascade)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from colonies.core import Allocations, Capabilities, Executor
from colonies.store.errors import Conflict
from colonies.store.statements import Statement

# An executor's ID is unique in its colony (migration 012): the index that says so.
ID_INDEX = "executors_by_id"

# Registering an executor under a name taken in its colony replaces the one registered before.
REMOVE_NAMED = Statement("""
DELETE FROM executors WHERE colonyname = :colonyname AND executorname = :executorname
""")

ADD = Statement("""
INSERT INTO executors (executorid, executortype, executorname, colonyname, state,
                       requirefuncreg, commissiontime, lastheardfromtime, locationname,
                       capabilities, allocations, blueprintid, blueprintgen)
VALUES (:executorid, :executortype, :executorname, :colonyname, :state,
        :requirefuncreg, :commissiontime, :lastheardfromtime, :locationname,
        :capabilities, :allocations, :blueprintid, :blueprintgen)
""")

GET = Statement("""
SELECT executorid, executortype, executorname, colonyname, state, requirefuncreg,
       commissiontime, lastheardfromtime, locationname, capabilities, allocations, blueprintid,
       blueprintgen
  FROM executors
 WHERE colonyname = :colonyname AND executorname = :executorname
""")

GET_BY_ID = Statement("""
SELECT executorid, executortype, executorname, colonyname, state, requirefuncreg,
       commissiontime, lastheardfromtime, locationname, capabilities, allocations, blueprintid,
       blueprintgen
  FROM executors
 WHERE colonyname = :colonyname AND executorid = :executorid
""")

LIST = Statement("""
SELECT executorid, executortype, executorname, colonyname, state, requirefuncreg,
       commissiontime, lastheardfromtime, locationname, capabilities, allocations, blueprintid,
       blueprintgen
  FROM executors
 WHERE colonyname = :colonyname
 ORDER BY commissiontime
""")

SET_STATE = Statement("""
UPDATE executors SET state = :state
 WHERE colonyname = :colonyname AND executorname = :executorname
""")

SET_CAPABILITIES = Statement("""
UPDATE executors SET capabilities = :capabilities
 WHERE colonyname = :colonyname AND executorname = :executorname
""")

SET_ALLOCATIONS = Statement("""
UPDATE executors SET allocations = :allocations
 WHERE colonyname = :colonyname AND executorname = :executorname
""")

CHANGE_ID = Statement("""
UPDATE executors SET executorid = :new_id WHERE colonyname = :colonyname AND executorid = :old_id
""")

MARK_ALIVE = Statement("""
UPDATE executors SET lastheardfromtime = :now
 WHERE colonyname = :colonyname AND executorid = :executorid
""")


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
                await REMOVE_NAMED.execute(
                    conn, colonyname=e.colonyname, executorname=e.executorname
                )
            try:
                await ADD.execute(
                    conn,
                    executorid=e.executorid,
                    executortype=e.executortype,
                    executorname=e.executorname,
                    colonyname=e.colonyname,
                    state=e.state,
                    requirefuncreg=e.requirefuncreg,
                    commissiontime=e.commissiontime,
                    lastheardfromtime=e.lastheardfromtime,
                    locationname=e.locationname,
                    capabilities=msgspec.to_builtins(e.capabilities),
                    allocations=msgspec.to_builtins(e.allocations),
                    blueprintid=e.blueprintid,
                    blueprintgen=e.blueprintgen,
                )
            except asyncpg.UniqueViolationError as exc:
                if exc.constraint_name == ID_INDEX:
                    raise Conflict(
                        f"Executor with id {e.executorid} already exists in colony {e.colonyname}"
                    ) from None
                raise Conflict(
                    f"Executor with name {e.executorname} already exists in colony {e.colonyname}"
                ) from None
            except asyncpg.ForeignKeyViolationError:
                raise Conflict(f"Colony with name {e.colonyname} does not exist") from None
        return e

    async def get(self, colonyname: str, executorname: str) -> Executor | None:
        row = await GET.fetchrow(self.pool, colonyname=colonyname, executorname=executorname)
        return _executor(row) if row else None

    async def get_by_id(self, colonyname: str, executorid: str) -> Executor | None:
        row = await GET_BY_ID.fetchrow(self.pool, colonyname=colonyname, executorid=executorid)
        return _executor(row) if row else None

    async def list(self, colonyname: str) -> list[Executor]:
        return [_executor(r) for r in await LIST.fetch(self.pool, colonyname=colonyname)]

    async def set_state(self, colonyname: str, executorname: str, state: int) -> bool:
        status = await SET_STATE.execute(
            self.pool, colonyname=colonyname, executorname=executorname, state=state
        )
        return status != "UPDATE 0"

    async def remove(self, colonyname: str, executorname: str) -> bool:
        status = await REMOVE_NAMED.execute(
            self.pool, colonyname=colonyname, executorname=executorname
        )
        return status != "DELETE 0"

    async def set_capabilities(
        self, colonyname: str, executorname: str, capabilities: Capabilities
    ) -> bool:
        status = await SET_CAPABILITIES.execute(
            self.pool,
            colonyname=colonyname,
            executorname=executorname,
            capabilities=msgspec.to_builtins(capabilities),
        )
        return status != "UPDATE 0"

    async def set_allocations(
        self, colonyname: str, executorname: str, allocations: Allocations
    ) -> bool:
        status = await SET_ALLOCATIONS.execute(
            self.pool,
            colonyname=colonyname,
            executorname=executorname,
            allocations=msgspec.to_builtins(allocations),
        )
        return status != "UPDATE 0"

    async def change_id(self, colonyname: str, old_id: str, new_id: str) -> bool:
        try:
            status = await CHANGE_ID.execute(
                self.pool, colonyname=colonyname, old_id=old_id, new_id=new_id
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"Executor with id {new_id} already exists in colony {colonyname}"
            ) from None
        return status != "UPDATE 0"

    async def mark_alive(self, colonyname: str, executorid: str, now: datetime) -> None:
        await MARK_ALIVE.execute(self.pool, colonyname=colonyname, executorid=executorid, now=now)
