"""Submissions: a new process enters the queue, with the channels its spec declares and the
attributes it carries. A process that does not wait for parents is announced with an event in
the statement that inserts it.

Standalone submissions made at the same time share one statement (store/batching.py), which
also uses their requests' nonces; a graph's members are inserted in the graph's transaction.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from colonies.core import Process
from colonies.core.submission import NewProcess
from colonies.store.batching import Batcher
from colonies.store.errors import Replayed
from colonies.store.events import process_event
from colonies.store.nonces import Nonce, nonce_use_args, nonce_use_sql, use_nonce
from colonies.store.processes import attributes
from colonies.store.statements import Statement

# One process, its parameters named after its columns (process_values).
INSERT = Statement(f"""
WITH p AS (
  INSERT INTO processes (processid, colonyname, initiatorid, initiatorname, executortype,
                         executornames, location_lc, req_cpu, req_mem, waitforparents,
                         prioritytime, submissiontime, waitdeadline, maxexectime, maxwaittime,
                         maxretries, funcname, label, spec, processgraphid, parents, children,
                         input)
  VALUES (:processid, :colonyname, :initiatorid, :initiatorname, :executortype,
          :executornames, :location_lc, :req_cpu, :req_mem, :waitforparents,
          :prioritytime, :submissiontime, :waitdeadline, :maxexectime, :maxwaittime,
          :maxretries, :funcname, :label, :spec, :processgraphid, :parents, :children,
          :input)
  RETURNING processid, state, colonyname, executortype, location_lc, waitforparents)
SELECT p.processid, CASE WHEN p.waitforparents THEN NULL ELSE {process_event("p")} END
  FROM p
""")

# Several standalone processes (a JSON array of objects keyed by column, process_values), each
# inserted only if its request is admitted (store/nonces.py, keyed by processid). Returns the
# processes inserted.
INSERT_MANY = Statement(f"""
WITH {nonce_use_sql(":processids", ":callers", ":nonces", ":expires")},
p AS (
  INSERT INTO processes (processid, colonyname, initiatorid, initiatorname, executortype,
                         executornames, location_lc, req_cpu, req_mem, waitforparents,
                         prioritytime, submissiontime, waitdeadline, maxexectime, maxwaittime,
                         maxretries, funcname, label, spec, processgraphid, parents, children,
                         input)
  SELECT processid, colonyname, initiatorid, initiatorname, executortype,
         executornames, location_lc, req_cpu, req_mem, waitforparents,
         prioritytime, submissiontime, waitdeadline, maxexectime, maxwaittime,
         maxretries, funcname, label, spec, processgraphid, parents, children,
         input
    FROM jsonb_populate_recordset(NULL::processes, :processes::jsonb)
   WHERE processid IN (SELECT key FROM admitted)
  RETURNING processid, state, colonyname, executortype, location_lc, waitforparents)
SELECT p.processid, CASE WHEN p.waitforparents THEN NULL ELSE {process_event("p")} END
  FROM p
""")

# A channel the process's spec declares (docs/protocol.md §7.12), kept while the process runs.
ADD_CHANNEL = Statement("""
INSERT INTO channels (channelid, processid, name) VALUES (:channelid, :processid, :name)
""")


def process_values(new: NewProcess) -> dict[str, Any]:
    """A new process's columns by name: INSERT's parameters, and the objects INSERT_MANY reads."""
    p = new.process
    return {
        "processid": p.processid,
        "colonyname": new.colonyname,
        "initiatorid": p.initiatorid,
        "initiatorname": p.initiatorname,
        "executortype": new.executortype,
        "executornames": new.executornames,
        "location_lc": new.location_lc,
        "req_cpu": new.req_cpu,
        "req_mem": new.req_mem,
        "waitforparents": p.waitforparents,
        "prioritytime": p.prioritytime,
        "submissiontime": p.submissiontime,
        "waitdeadline": p.waitdeadline,
        "maxexectime": p.spec.maxexectime,
        "maxwaittime": p.spec.maxwaittime,
        "maxretries": p.spec.maxretries,
        "funcname": p.spec.funcname,
        "label": p.spec.label,
        "spec": msgspec.to_builtins(p.spec),
        "processgraphid": p.processgraphid,
        "parents": p.parents,
        "children": p.children,
        "input": p.input,
    }


async def insert_process(conn: asyncpg.Connection, new: NewProcess) -> None:
    """Insert one process with its channels and attributes on ``conn`` (inside the caller's
    transaction)."""
    p = new.process
    await INSERT.execute(conn, **process_values(new))
    if p.spec.channels:
        await ADD_CHANNEL.executemany(
            conn,
            [
                {"channelid": f"{p.processid}_{name}", "processid": p.processid, "name": name}
                for name in p.spec.channels
            ],
        )
    if p.attributes:
        await attributes.ADD_ATTRIBUTE.executemany(
            conn, [attributes.attribute_values(a) for a in p.attributes]
        )


class Submissions:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._shared = Batcher(self.insert_many)

    async def submit(self, new: NewProcess, nonce: Nonce | None = None) -> Process:
        """Insert a submission; Replayed (and nothing inserted) when ``nonce`` was used."""
        if new.process.attributes or new.process.spec.channels:
            async with self.pool.acquire() as conn, conn.transaction():
                await use_nonce(conn, nonce)
                await insert_process(conn, new)
        # One statement, shared with concurrent submissions, that uses the nonces too.
        elif not await self._shared((new, nonce)):
            raise Replayed
        return new.process

    async def insert_many(self, items: list[tuple[NewProcess, Nonce | None]]) -> list[bool]:
        """Whether each submission was inserted (False: a replay)."""
        if len(items) == 1 and items[0][1] is None:
            async with self.pool.acquire() as conn:
                await insert_process(conn, items[0][0])
            return [True]
        processids, callers, nonces, expires = nonce_use_args(
            [new.process.processid for new, _ in items], [nonce for _, nonce in items]
        )
        rows = await INSERT_MANY.fetch(
            self.pool,
            processes=[process_values(new) for new, _ in items],
            processids=processids,
            callers=callers,
            nonces=nonces,
            expires=expires,
        )
        inserted = {row["processid"] for row in rows}
        return [new.process.processid in inserted for new, _ in items]
