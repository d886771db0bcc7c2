"""Functions registered by executors."""

from __future__ import annotations

import asyncpg
import msgspec

from colonies.core import Function, FunctionArg
from colonies.store.errors import Conflict

_COLUMNS = (
    "functionid, executorname, executortype, colonyname, funcname, description, args, counter, "
    "minwaittime, maxwaittime, minexectime, maxexectime, avgwaittime, avgexectime, locationname"
)


def _function(row: asyncpg.Record) -> Function:
    values = dict(row)
    values["args"] = msgspec.convert(values["args"], list[FunctionArg])
    return Function(**values)


class FunctionStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, f: Function) -> Function:
        try:
            await self.pool.execute(
                f"INSERT INTO functions ({_COLUMNS}) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)",
                f.functionid,
                f.executorname,
                f.executortype,
                f.colonyname,
                f.funcname,
                f.description,
                msgspec.to_builtins(f.args),
                f.counter,
                f.minwaittime,
                f.maxwaittime,
                f.minexectime,
                f.maxexectime,
                f.avgwaittime,
                f.avgexectime,
                f.locationname,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"Function with name {f.funcname} already exists for executor {f.executorname}"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Executor with name {f.executorname} does not exist") from None
        return f

    async def get(self, functionid: str) -> Function | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM functions WHERE functionid = $1", functionid
        )
        return _function(row) if row else None

    async def list(self, colonyname: str, executorname: str = "") -> list[Function]:
        if executorname:
            rows = await self.pool.fetch(
                f"SELECT {_COLUMNS} FROM functions WHERE colonyname = $1 AND executorname = $2 "
                "ORDER BY funcname",
                colonyname,
                executorname,
            )
        else:
            rows = await self.pool.fetch(
                f"SELECT {_COLUMNS} FROM functions WHERE colonyname = $1 "
                "ORDER BY executorname, funcname",
                colonyname,
            )
        return [_function(r) for r in rows]

    async def remove(self, functionid: str) -> bool:
        status = await self.pool.execute("DELETE FROM functions WHERE functionid = $1", functionid)
        return status != "DELETE 0"
