"""Functions registered by executors."""

from __future__ import annotations

import asyncpg
import msgspec

from colonies.core import Function, FunctionArg
from colonies.store.errors import Conflict
from colonies.store.statements import Statement

ADD = Statement("""
INSERT INTO functions (functionid, executorname, executortype, colonyname, funcname, description,
                       args, counter, minwaittime, maxwaittime, minexectime, maxexectime,
                       avgwaittime, avgexectime, locationname)
VALUES (:functionid, :executorname, :executortype, :colonyname, :funcname, :description,
        :args, :counter, :minwaittime, :maxwaittime, :minexectime, :maxexectime,
        :avgwaittime, :avgexectime, :locationname)
""")

GET = Statement("""
SELECT functionid, executorname, executortype, colonyname, funcname, description, args, counter,
       minwaittime, maxwaittime, minexectime, maxexectime, avgwaittime, avgexectime,
       locationname
  FROM functions
 WHERE functionid = :functionid
""")

LIST = Statement("""
SELECT functionid, executorname, executortype, colonyname, funcname, description, args, counter,
       minwaittime, maxwaittime, minexectime, maxexectime, avgwaittime, avgexectime,
       locationname
  FROM functions
 WHERE colonyname = :colonyname
 ORDER BY executorname, funcname
""")

LIST_OF_EXECUTOR = Statement("""
SELECT functionid, executorname, executortype, colonyname, funcname, description, args, counter,
       minwaittime, maxwaittime, minexectime, maxexectime, avgwaittime, avgexectime,
       locationname
  FROM functions
 WHERE colonyname = :colonyname AND executorname = :executorname
 ORDER BY funcname
""")

REMOVE = Statement("DELETE FROM functions WHERE functionid = :functionid")


def _function(row: asyncpg.Record) -> Function:
    values = dict(row)
    values["args"] = msgspec.convert(values["args"], list[FunctionArg])
    return Function(**values)


class FunctionStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(self, f: Function) -> Function:
        try:
            await ADD.execute(
                self.pool,
                functionid=f.functionid,
                executorname=f.executorname,
                executortype=f.executortype,
                colonyname=f.colonyname,
                funcname=f.funcname,
                description=f.description,
                args=msgspec.to_builtins(f.args),
                counter=f.counter,
                minwaittime=f.minwaittime,
                maxwaittime=f.maxwaittime,
                minexectime=f.minexectime,
                maxexectime=f.maxexectime,
                avgwaittime=f.avgwaittime,
                avgexectime=f.avgexectime,
                locationname=f.locationname,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"Function with name {f.funcname} already exists for executor {f.executorname}"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Executor with name {f.executorname} does not exist") from None
        return f

    async def get(self, functionid: str) -> Function | None:
        row = await GET.fetchrow(self.pool, functionid=functionid)
        return _function(row) if row else None

    async def list(self, colonyname: str, executorname: str = "") -> list[Function]:
        if executorname:
            rows = await LIST_OF_EXECUTOR.fetch(
                self.pool, colonyname=colonyname, executorname=executorname
            )
        else:
            rows = await LIST.fetch(self.pool, colonyname=colonyname)
        return [_function(r) for r in rows]

    async def remove(self, functionid: str) -> bool:
        return await REMOVE.execute(self.pool, functionid=functionid) != "DELETE 0"
