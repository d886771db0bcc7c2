"""Numbered SQL migrations, applied once under an advisory lock (N replicas starting together)."""

from __future__ import annotations

import logging
import re
from importlib import resources

import asyncpg

from colonies.store import schema
from colonies.store.statements import Statement

log = logging.getLogger(__name__)

# An arbitrary constant shared by every replica: pg_advisory_lock(MIGRATION_LOCK_KEY).
MIGRATION_LOCK_KEY = 0x636F6C6F6E696573  # "colonies"
_NAME = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")


LOCK = Statement("SELECT pg_advisory_lock(:key)")

UNLOCK = Statement("SELECT pg_advisory_unlock(:key)")

# The record of applied migrations, created by the first migration run.
CREATE_RECORD = Statement("""
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now())
""")

APPLIED = Statement("SELECT version FROM schema_migrations")

RECORD = Statement("INSERT INTO schema_migrations (version, name) VALUES (:version, :name)")


def available_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped in the package, in order."""
    found = []
    for entry in resources.files("colonies.store").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError("two migrations share a version number")
    return found


def known_versions() -> list[int]:
    """The versions of the migrations this code ships."""
    return [version for version, _, _ in available_migrations()]


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply the migrations not yet recorded; return the versions applied by this call.
    Raises ``SchemaTooNew`` on a schema newer than this code can run on (store/schema.py)."""
    applied_now: list[int] = []
    await LOCK.execute(conn, key=MIGRATION_LOCK_KEY)
    try:
        await CREATE_RECORD.execute(conn)
        await schema.PREPARE_RECORD.execute(conn)
        migrations = available_migrations()
        schema.check_not_newer(await schema.schema_state(conn), max(v for v, _, _ in migrations))
        done = {r["version"] for r in await APPLIED.fetch(conn)}
        for version, name, sql in migrations:
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await RECORD.execute(conn, version=version, name=name)
                readable = schema.readable_by(version, sql)
                await schema.RECORD_READABLE_BY.execute(conn, version=version, readable=readable)
            log.info("applied migration %03d_%s", version, name)
            applied_now.append(version)
    finally:
        await UNLOCK.execute(conn, key=MIGRATION_LOCK_KEY)
    return applied_now


async def migrate_database(dsn: str) -> list[int]:
    """``migrate`` over a connection of its own (``colonies server migrate``)."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
