"""Logs written by executors, about a process or about themselves; read by process or by
executor (oldest or newest first) and searched by text. ``ts`` is in Unix nanoseconds."""

from __future__ import annotations

import asyncpg

from colonies.core import Log
from colonies.store.statements import Statement

ADD_LOG = Statement("""
INSERT INTO logs (colonyname, processid, executorname, message, ts)
VALUES (:colonyname, :processid, :executorname, :message, :ts)
""")

LOGS_OF_PROCESS = Statement("""
SELECT processid, colonyname, executorname, message, ts AS timestamp
  FROM logs
 WHERE colonyname = :colonyname AND processid = :processid AND ts > :since
 ORDER BY ts, seq
 LIMIT :count
""")

LATEST_LOGS_OF_PROCESS = Statement("""
SELECT processid, colonyname, executorname, message, ts AS timestamp
  FROM logs
 WHERE colonyname = :colonyname AND processid = :processid AND ts > :since
 ORDER BY ts DESC, seq DESC
 LIMIT :count
""")

LOGS_OF_EXECUTOR = Statement("""
SELECT processid, colonyname, executorname, message, ts AS timestamp
  FROM logs
 WHERE colonyname = :colonyname AND executorname = :executorname AND ts > :since
 ORDER BY ts, seq
 LIMIT :count
""")

LATEST_LOGS_OF_EXECUTOR = Statement("""
SELECT processid, colonyname, executorname, message, ts AS timestamp
  FROM logs
 WHERE colonyname = :colonyname AND executorname = :executorname AND ts > :since
 ORDER BY ts DESC, seq DESC
 LIMIT :count
""")

SEARCH_LOGS = Statement("""
SELECT processid, colonyname, executorname, message, ts AS timestamp
  FROM logs
 WHERE colonyname = :colonyname AND ts > :since AND strpos(message, :text) > 0
 ORDER BY ts DESC
 LIMIT :count
""")


class Logs:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def add(
        self, colonyname: str, processid: str, executorname: str, message: str, ts: int
    ) -> None:
        """A process's log line (``executorname`` its executor's) or, with ``processid`` '',
        an executor's own."""
        await ADD_LOG.execute(
            self.pool,
            colonyname=colonyname,
            processid=processid,
            executorname=executorname,
            message=message,
            ts=ts,
        )

    async def get(
        self,
        colonyname: str,
        processid: str,
        executorname: str,
        count: int,
        since: int,
        latest: bool,
    ) -> list[Log]:
        """The logs of ``processid`` if given, else those of ``executorname``, after ``since``:
        the oldest ``count`` or, with ``latest``, the newest first."""
        if processid:
            statement = LATEST_LOGS_OF_PROCESS if latest else LOGS_OF_PROCESS
            rows = await statement.fetch(
                self.pool, colonyname=colonyname, processid=processid, since=since, count=count
            )
        else:
            statement = LATEST_LOGS_OF_EXECUTOR if latest else LOGS_OF_EXECUTOR
            rows = await statement.fetch(
                self.pool,
                colonyname=colonyname,
                executorname=executorname,
                since=since,
                count=count,
            )
        return [Log(**dict(r)) for r in rows]

    async def search(self, colonyname: str, text: str, since: int, count: int) -> list[Log]:
        rows = await SEARCH_LOGS.fetch(
            self.pool, colonyname=colonyname, since=since, text=text, count=count
        )
        return [Log(**dict(r)) for r in rows]
