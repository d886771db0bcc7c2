"""Blueprint definitions, blueprints and their history.

A blueprint's status lives in its own column so that a reconciler's status report is one
atomic UPDATE that never races with a spec update (no read-modify-write).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from colonies.core import Blueprint, BlueprintDefinition, BlueprintHistory
from colonies.store.errors import Conflict

_BLUEPRINT = "SELECT blueprint, status FROM blueprints"


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
            await self.pool.execute(
                "INSERT INTO blueprint_definitions (definitionid, colonyname, name, kind, "
                "definition) VALUES ($1, $2, $3, $4, $5)",
                d.blueprintdefinitionid,
                d.metadata.colonyname,
                d.metadata.name,
                d.spec.names.kind,
                msgspec.to_builtins(d),
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                f"a blueprint definition named {d.metadata.name} already exists"
            ) from None
        except asyncpg.ForeignKeyViolationError:
            raise Conflict(f"Colony with name {d.metadata.colonyname} does not exist") from None
        return d

    async def definition(self, colonyname: str, name: str) -> BlueprintDefinition | None:
        value = await self.pool.fetchval(
            "SELECT definition FROM blueprint_definitions WHERE colonyname = $1 AND name = $2",
            colonyname,
            name,
        )
        return msgspec.convert(value, BlueprintDefinition) if value else None

    async def definition_for_kind(self, colonyname: str, kind: str) -> BlueprintDefinition | None:
        value = await self.pool.fetchval(
            "SELECT definition FROM blueprint_definitions WHERE colonyname = $1 AND kind = $2 "
            "LIMIT 1",
            colonyname,
            kind,
        )
        return msgspec.convert(value, BlueprintDefinition) if value else None

    async def definitions(self, colonyname: str) -> list[BlueprintDefinition]:
        rows = await self.pool.fetch(
            "SELECT definition FROM blueprint_definitions WHERE colonyname = $1 ORDER BY name",
            colonyname,
        )
        return [msgspec.convert(r["definition"], BlueprintDefinition) for r in rows]

    async def remove_definition(self, colonyname: str, name: str) -> bool:
        status = await self.pool.execute(
            "DELETE FROM blueprint_definitions WHERE colonyname = $1 AND name = $2",
            colonyname,
            name,
        )
        return status != "DELETE 0"

    async def count_of_kind(self, colonyname: str, kind: str, location: str | None = None) -> int:
        if location is None:
            n: int = await self.pool.fetchval(
                "SELECT count(*) FROM blueprints WHERE colonyname = $1 AND kind = $2",
                colonyname,
                kind,
            )
        else:
            n = await self.pool.fetchval(
                "SELECT count(*) FROM blueprints WHERE colonyname = $1 AND kind = $2 "
                "AND locationname = $3",
                colonyname,
                kind,
                location,
            )
        return n

    # --- blueprints ---------------------------------------------------------------------------
    async def add(self, b: Blueprint, history: BlueprintHistory) -> Blueprint:
        async with self.pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(
                    "INSERT INTO blueprints (blueprintid, colonyname, name, kind, locationname, "
                    "blueprint, status) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    b.blueprintid,
                    b.metadata.colonyname,
                    b.metadata.name,
                    b.kind,
                    b.metadata.locationname,
                    msgspec.to_builtins(b),
                    b.status,
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
            await conn.execute(
                "UPDATE blueprints SET blueprint = $2, locationname = $3 WHERE blueprintid = $1",
                b.blueprintid,
                msgspec.to_builtins(b),
                b.metadata.locationname,
            )
            if history is not None:
                await self._history(conn, history)

    async def _history(self, conn: asyncpg.Connection, h: BlueprintHistory) -> None:
        await conn.execute(
            "INSERT INTO blueprint_history (historyid, blueprintid, colonyname, entry, ts) "
            "VALUES ($1, $2, $3, $4, $5)",
            h.historyid,
            h.blueprintid,
            h.namespace,
            msgspec.to_builtins(h),
            h.timestamp,
        )

    async def get(self, colonyname: str, name: str) -> Blueprint | None:
        row = await self.pool.fetchrow(
            f"{_BLUEPRINT} WHERE colonyname = $1 AND name = $2", colonyname, name
        )
        return _blueprint(row) if row else None

    async def list(self, colonyname: str, kind: str = "", location: str = "") -> list[Blueprint]:
        rows = await self.pool.fetch(
            f"{_BLUEPRINT} WHERE colonyname = $1 AND ($2 = '' OR kind = $2) "
            "AND ($3 = '' OR locationname = $3) ORDER BY name",
            colonyname,
            kind,
            location,
        )
        return [_blueprint(r) for r in rows]

    async def remove(self, b: Blueprint, history: BlueprintHistory) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "DELETE FROM blueprints WHERE blueprintid = $1", b.blueprintid
            )
            if status == "DELETE 0":
                return False
            await self._history(conn, history)
        return True

    async def set_status(self, colonyname: str, name: str, status: dict[str, object]) -> bool:
        result = await self.pool.execute(
            "UPDATE blueprints SET status = $3 WHERE colonyname = $1 AND name = $2",
            colonyname,
            name,
            status,
        )
        return result != "UPDATE 0"

    async def history_colony(self, blueprintid: str) -> str | None:
        colonyname: str | None = await self.pool.fetchval(
            "SELECT colonyname FROM blueprint_history WHERE blueprintid = $1 LIMIT 1", blueprintid
        )
        return colonyname

    async def history(self, blueprintid: str, limit: int) -> list[BlueprintHistory]:
        rows = await self.pool.fetch(
            "SELECT entry FROM blueprint_history WHERE blueprintid = $1 ORDER BY seq DESC LIMIT $2",
            blueprintid,
            limit if limit > 0 else None,
        )
        return [msgspec.convert(r["entry"], BlueprintHistory) for r in rows]

    async def note_reconciliation(self, blueprintid: str, processid: str, now: datetime) -> None:
        await self.pool.execute(
            "UPDATE blueprints SET blueprint = jsonb_set(jsonb_set(blueprint, "
            "'{metadata,lastReconciliationProcess}', to_jsonb($2::text)), "
            "'{metadata,lastReconciliationTime}', to_jsonb($3::text)) WHERE blueprintid = $1",
            blueprintid,
            processid,
            now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
