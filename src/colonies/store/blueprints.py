"""Blueprint definitions, blueprints and their history.

A blueprint's status lives in its own column so that a reconciler's status report is one
atomic UPDATE that never races with a spec update (no read-modify-write).
"""

from __future__ import annotations

import builtins
from datetime import datetime

import asyncpg
import msgspec

from colonies.core import Blueprint, BlueprintDefinition, BlueprintHistory
from colonies.store.errors import Conflict
from colonies.store.statements import Statement

ADD_DEFINITION = Statement("""
INSERT INTO blueprint_definitions (definitionid, colonyname, name, kind, definition)
VALUES (:definitionid, :colonyname, :name, :kind, :definition)
""")

DEFINITION = Statement("""
SELECT definition FROM blueprint_definitions WHERE colonyname = :colonyname AND name = :name
""")

DEFINITION_FOR_KIND = Statement("""
SELECT definition FROM blueprint_definitions WHERE colonyname = :colonyname AND kind = :kind
 LIMIT 1
""")

DEFINITIONS = Statement("""
SELECT definition FROM blueprint_definitions WHERE colonyname = :colonyname ORDER BY name
""")

REMOVE_DEFINITION = Statement("""
DELETE FROM blueprint_definitions WHERE colonyname = :colonyname AND name = :name
""")

# Blueprints of a kind, at one location when :location is given (NULL: at any).
COUNT_OF_KIND = Statement("""
SELECT count(*) FROM blueprints
 WHERE colonyname = :colonyname AND kind = :kind
   AND (:location::text IS NULL OR locationname = :location)
""")

ADD = Statement("""
INSERT INTO blueprints (blueprintid, colonyname, name, kind, locationname, blueprint, status)
VALUES (:blueprintid, :colonyname, :name, :kind, :locationname, :blueprint, :status)
""")

# A new spec and metadata; the status, a reconciler's, is left as it is.
REPLACE = Statement("""
UPDATE blueprints SET blueprint = :blueprint, locationname = :locationname
 WHERE blueprintid = :blueprintid
""")

ADD_HISTORY = Statement("""
INSERT INTO blueprint_history (historyid, blueprintid, colonyname, entry, ts)
VALUES (:historyid, :blueprintid, :colonyname, :entry, :ts)
""")

GET = Statement("""
SELECT blueprint, status FROM blueprints WHERE colonyname = :colonyname AND name = :name
""")

# The colony's blueprints, of one kind and at one location when given ('': any).
LIST = Statement("""
SELECT blueprint, status FROM blueprints
 WHERE colonyname = :colonyname AND (:kind = '' OR kind = :kind)
   AND (:location = '' OR locationname = :location)
 ORDER BY name
""")

REMOVE = Statement("DELETE FROM blueprints WHERE blueprintid = :blueprintid")

SET_STATUS = Statement("""
UPDATE blueprints SET status = :status WHERE colonyname = :colonyname AND name = :name
""")

HISTORY_COLONY = Statement("""
SELECT colonyname FROM blueprint_history WHERE blueprintid = :blueprintid LIMIT 1
""")

# Newest first; :limit NULL for all of it.
HISTORY = Statement("""
SELECT entry FROM blueprint_history WHERE blueprintid = :blueprintid ORDER BY seq DESC
 LIMIT :limit
""")

NOTE_RECONCILIATION = Statement("""
UPDATE blueprints
   SET blueprint = jsonb_set(jsonb_set(blueprint,
                     '{metadata,lastReconciliationProcess}', to_jsonb(:processid::text)),
                     '{metadata,lastReconciliationTime}', to_jsonb(:time::text))
 WHERE blueprintid = :blueprintid
""")


def _blueprint(row: asyncpg.Record) -> Blueprint:
    blueprint = msgspec.convert(row["blueprint"], Blueprint)
    blueprint.status = row["status"]
    return blueprint


class BlueprintStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # --- definitions --------------------------------------------------------------------------
    async def add_definition(self, d: BlueprintDefinition) -> BlueprintDefinition:
        try:
            await ADD_DEFINITION.execute(
                self.pool,
                definitionid=d.blueprintdefinitionid,
                colonyname=d.metadata.colonyname,
                name=d.metadata.name,
                kind=d.spec.names.kind,
                definition=msgspec.to_builtins(d),
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"a blueprint definition named {d.metadata.name} already exists"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Colony with name {d.metadata.colonyname} does not exist") from None
        return d

    async def definition(self, colonyname: str, name: str) -> BlueprintDefinition | None:
        value = await DEFINITION.fetchval(self.pool, colonyname=colonyname, name=name)
        return msgspec.convert(value, BlueprintDefinition) if value else None

    async def definition_for_kind(self, colonyname: str, kind: str) -> BlueprintDefinition | None:
        value = await DEFINITION_FOR_KIND.fetchval(self.pool, colonyname=colonyname, kind=kind)
        return msgspec.convert(value, BlueprintDefinition) if value else None

    async def definitions(self, colonyname: str) -> list[BlueprintDefinition]:
        rows = await DEFINITIONS.fetch(self.pool, colonyname=colonyname)
        return [msgspec.convert(r["definition"], BlueprintDefinition) for r in rows]

    async def remove_definition(self, colonyname: str, name: str) -> bool:
        status = await REMOVE_DEFINITION.execute(self.pool, colonyname=colonyname, name=name)
        return status != "DELETE 0"

    async def count_of_kind(self, colonyname: str, kind: str, location: str | None = None) -> int:
        n: int = await COUNT_OF_KIND.fetchval(
            self.pool, colonyname=colonyname, kind=kind, location=location
        )
        return n

    # --- blueprints ---------------------------------------------------------------------------
    async def add(self, b: Blueprint, history: BlueprintHistory) -> Blueprint:
        async with self.pool.acquire() as conn, conn.transaction():
            try:
                await ADD.execute(
                    conn,
                    blueprintid=b.blueprintid,
                    colonyname=b.metadata.colonyname,
                    name=b.metadata.name,
                    kind=b.kind,
                    locationname=b.metadata.locationname,
                    blueprint=msgspec.to_builtins(b),
                    status=b.status,
                )
            except asyncpg.UniqueViolationError:
                raise Conflict(
                    f"blueprint with name '{b.metadata.name}' already exists in colony "
                    f"'{b.metadata.colonyname}'"
                ) from None
            await self._history(conn, history)
        return b

    async def replace(self, b: Blueprint, history: BlueprintHistory | None) -> None:
        """Write a new spec/metadata (status untouched), with a history row when given."""
        async with self.pool.acquire() as conn, conn.transaction():
            await REPLACE.execute(
                conn,
                blueprintid=b.blueprintid,
                blueprint=msgspec.to_builtins(b),
                locationname=b.metadata.locationname,
            )
            if history is not None:
                await self._history(conn, history)

    async def _history(self, conn: asyncpg.Connection, h: BlueprintHistory) -> None:
        await ADD_HISTORY.execute(
            conn,
            historyid=h.historyid,
            blueprintid=h.blueprintid,
            colonyname=h.namespace,
            entry=msgspec.to_builtins(h),
            ts=h.timestamp,
        )

    async def get(self, colonyname: str, name: str) -> Blueprint | None:
        row = await GET.fetchrow(self.pool, colonyname=colonyname, name=name)
        return _blueprint(row) if row else None

    async def list(self, colonyname: str, kind: str = "", location: str = "") -> list[Blueprint]:
        rows = await LIST.fetch(self.pool, colonyname=colonyname, kind=kind, location=location)
        return [_blueprint(r) for r in rows]

    async def remove(self, b: Blueprint, history: BlueprintHistory) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            status = await REMOVE.execute(conn, blueprintid=b.blueprintid)
            if status == "DELETE 0":
                return False
            await self._history(conn, history)
        return True

    async def set_status(self, colonyname: str, name: str, status: dict[str, object]) -> bool:
        result = await SET_STATUS.execute(
            self.pool, colonyname=colonyname, name=name, status=status
        )
        return result != "UPDATE 0"

    async def history_colony(self, blueprintid: str) -> str | None:
        colonyname: str | None = await HISTORY_COLONY.fetchval(self.pool, blueprintid=blueprintid)
        return colonyname

    async def history(self, blueprintid: str, limit: int) -> builtins.list[BlueprintHistory]:
        rows = await HISTORY.fetch(
            self.pool, blueprintid=blueprintid, limit=limit if limit > 0 else None
        )
        return [msgspec.convert(r["entry"], BlueprintHistory) for r in rows]

    async def note_reconciliation(self, blueprintid: str, processid: str, now: datetime) -> None:
        await NOTE_RECONCILIATION.execute(
            self.pool,
            blueprintid=blueprintid,
            processid=processid,
            time=now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
