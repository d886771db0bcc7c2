"""A server and `colonies server migrate` against schemas older and newer than they know
(store/schema.py): a newer schema is refused unless its newer migrations declare this version can
read it; with COLONIES_DB_MIGRATE=false an old schema is refused; --wait waits for a migration."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from colonies.crypto import PrivateKey
from colonies.server.run import StartupError, serve
from colonies.store import migrate
from colonies.store.migrate import available_migrations, known_versions
from colonies.store.schema import SchemaTooNew, readable_by, schema_state
from tests.helpers import make_config, start_server
from tests.support.postgres import PostgresCluster

LATEST = max(known_versions())


async def _add_future_migration(db_url: str, readable: int) -> None:
    """What a newer release's migration leaves behind: its record (and its declaration)."""
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "INSERT INTO schema_migrations (version, name, readable_by) VALUES ($1, 'future', $2)",
            LATEST + 1,
            readable,
        )
    finally:
        await conn.close()


async def _migrated_db(db_url: str) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await migrate(conn)  # the template predates nothing: this records readable_by
    finally:
        await conn.close()


@pytest.fixture
async def empty_db(pg: PostgresCluster) -> AsyncIterator[str]:
    name = "e_" + uuid.uuid4().hex[:16]
    pg.create_database(name)
    try:
        yield pg.dsn(name)
    finally:
        pg.drop_database(name)


async def _cli(db_url: str, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "colonies.cli.main", "server", "migrate", *args,
        env={**env, "COLONIES_DB_URL": db_url, "COLONIES_LOG_FORMAT": "text"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


def test_readable_by_declarations() -> None:
    assert readable_by(12, "CREATE TABLE x ();") == 12
    assert readable_by(12, "-- colonies: readable-by 10\nALTER TABLE ...") == 10
    assert readable_by(12, "--colonies:  readable-by 11  \n") == 11
    assert readable_by(12, "-- colonies: readable-by 40\n") == 12  # never above itself
    assert readable_by(12, "SELECT 1; -- colonies: readable-by 3") == 12  # a line of its own


async def test_a_newer_schema_is_refused(db_url: str, server_key: PrivateKey) -> None:
    await _migrated_db(db_url)
    await _add_future_migration(db_url, readable=LATEST + 1)

    # The server does not start, with one line saying why (whether it migrates or not).
    for migrating in (True, False):
        stop = asyncio.Event()
        with pytest.raises(StartupError) as err:
            await serve(make_config(db_url, server_key, db_migrate=migrating), stop)
        message = str(err.value)
        assert message.startswith(f"cannot start: the database schema is at version {LATEST + 1}")
        assert f"newer than this server knows ({LATEST})" in message
        assert "\n" not in message

    # Neither `colonies server migrate` nor its --wait form (the pods' init container).
    for args in ((), ("--wait", "--timeout", "30")):
        code, out = await _cli(db_url, *args)
        assert code == 1, out
        assert f"the database schema is at version {LATEST + 1}, newer than" in out
        assert "Traceback" not in out

    # The store's migrate raises the same.
    conn = await asyncpg.connect(db_url)
    try:
        with pytest.raises(SchemaTooNew):
            await migrate(conn)
    finally:
        await conn.close()


async def test_a_newer_schema_this_version_can_read(db_url: str, server_key: PrivateKey) -> None:
    """An expand-only migration declares the previous version can read it: a rollback works."""
    await _migrated_db(db_url)
    await _add_future_migration(db_url, readable=LATEST)
    runner, _ = await start_server(make_config(db_url, server_key, db_migrate=False))
    await runner.cleanup()
    code, out = await _cli(db_url, "--wait", "--timeout", "10")
    assert code == 0, out
    assert f"is current (version {LATEST + 1})" in out


async def test_an_unmigrated_schema_without_migrating(
    empty_db: str, server_key: PrivateKey
) -> None:
    stop = asyncio.Event()
    with pytest.raises(StartupError, match=r"lacks migration 001.*run `colonies server migrate`"):
        await serve(make_config(empty_db, server_key, db_migrate=False), stop)

    # --wait gives up after its timeout while nobody migrates ...
    code, out = await _cli(empty_db, "--wait", "--timeout", "1")
    assert code == 1 and "gave up after 1 s: the database schema lacks migration 001" in out

    # ... and returns once the migration (the Job) has run.
    waiting = asyncio.ensure_future(_cli(empty_db, "--wait", "--timeout", "45"))
    await asyncio.sleep(1.0)
    assert not waiting.done()
    code, out = await _cli(empty_db)
    assert code == 0 and "migrated" in out and f"{LATEST:03d}" in out, out
    code, out = await waiting
    assert code == 0 and f"is current (version {LATEST})" in out, out

    conn = await asyncpg.connect(empty_db)
    try:
        state = await schema_state(conn)
    finally:
        await conn.close()
    assert state.applied == frozenset(known_versions())
    # What the shipped migrations declare (the newest may be readable by an older release).
    assert state.readable_by == max(readable_by(v, sql) for v, _, sql in available_migrations())
    # Now a server without migrations starts.
    runner, _ = await start_server(make_config(empty_db, server_key, db_migrate=False))
    await runner.cleanup()


async def test_migrate_waits_for_an_unreachable_database() -> None:
    code, out = await _cli("postgresql://u@127.0.0.1:1/db", "--timeout", "1")
    assert code == 1
    assert "gave up after 1 s: database 127.0.0.1:1/db:" in out
    assert "Traceback" not in out
