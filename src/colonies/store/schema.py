"""Which schema a database is at, and whether this code may run on it.

Migrations are expand-only between two releases, so the previous release keeps running on the
new schema during a rollout (docs/deploy.md, "Upgrading"). A server refuses a schema newer than
it knows, unless every newer migration declares, with a line

    -- colonies: readable-by <version>

that code knowing ``<version>`` can still run on it. The declaration is recorded with the
migration (``schema_migrations.readable_by``), since older code does not have the newer file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import asyncpg

from colonies.store.statements import Statement

_READABLE_BY = re.compile(r"^--\s*colonies:\s*readable-by\s+(\d+)\s*$", re.MULTILINE)

# The column is added by the migration run itself: the record predates the rule.
PREPARE_RECORD = Statement(
    "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS readable_by integer"
)

RECORD_READABLE_BY = Statement(
    "UPDATE schema_migrations SET readable_by = :readable WHERE version = :version"
)

# Whether there is a record, and whether it has the column (recorded before the rule).
RECORD_SHAPE = Statement("""
SELECT to_regclass('schema_migrations') IS NOT NULL AS recorded,
       EXISTS (SELECT FROM information_schema.columns
               WHERE table_name = 'schema_migrations' AND column_name = 'readable_by')
           AS has_readable_by
""")

APPLIED = Statement("SELECT version FROM schema_migrations")

# An unrecorded readable_by counts as the migration itself.
STATE = Statement("""
SELECT coalesce(array_agg(version ORDER BY version), '{}') AS applied,
       coalesce(max(coalesce(readable_by, version)), 0)    AS readable_by
FROM schema_migrations
""")


class SchemaError(Exception):
    """This code cannot run on the database's schema; the message is one line."""


class SchemaTooNew(SchemaError):
    """The schema is newer than this code can run on (a rollback past a migration)."""


class SchemaBehind(SchemaError):
    """The schema lacks migrations this code needs (not migrated yet)."""


@dataclass(frozen=True)
class SchemaState:
    applied: frozenset[int]
    # The oldest schema version whose code can run on this database.
    readable_by: int

    @property
    def version(self) -> int:
        return max(self.applied, default=0)


def readable_by(version: int, sql: str) -> int:
    """The oldest schema version whose code can run once migration ``version`` is applied: its
    declaration, or the migration itself (the safe default)."""
    match = _READABLE_BY.search(sql)
    return min(int(match.group(1)), version) if match else version


async def schema_state(conn: asyncpg.Connection) -> SchemaState:
    shape = await RECORD_SHAPE.fetchrow(conn)
    assert shape is not None
    if not shape["recorded"]:
        return SchemaState(frozenset(), 0)
    if not shape["has_readable_by"]:  # recorded before the rule: each counts as itself
        applied = frozenset(r["version"] for r in await APPLIED.fetch(conn))
        return SchemaState(applied, max(applied, default=0))
    row = await STATE.fetchrow(conn)
    assert row is not None
    return SchemaState(frozenset(row["applied"]), row["readable_by"])


async def database_state(dsn: str) -> SchemaState:
    """``schema_state`` over a connection of its own (``colonies server migrate --wait``)."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return await schema_state(conn)
    finally:
        await conn.close()


def check_not_newer(state: SchemaState, known: int) -> None:
    """Refuse a schema this code (which knows migrations up to ``known``) cannot read."""
    if state.readable_by > known:
        raise SchemaTooNew(
            f"the database schema is at version {state.version}, newer than this server knows "
            f"({known}); it needs a server that knows version {state.readable_by} or later: "
            "upgrade the server (roll forward), or restore the database from before the upgrade"
        )


def check_current(state: SchemaState, known: list[int]) -> None:
    """Refuse a schema this code cannot read, or one missing some of its migrations."""
    check_not_newer(state, max(known, default=0))
    missing = sorted(set(known) - state.applied)
    if missing:
        raise SchemaBehind(
            f"the database schema lacks migration {missing[0]:03d} (at version {state.version}, "
            f"this server needs {max(known)}): run `colonies server migrate`"
        )
