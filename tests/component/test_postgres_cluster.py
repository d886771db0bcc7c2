"""The throwaway PostgreSQL cluster used by tests, benchmarks and drills."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.postgres import (
    BINDIR_ENV,
    PostgresCluster,
    PostgresClusterError,
    find_postgres_bindir,
    free_port,
)

asyncpg = pytest.importorskip("asyncpg")


async def _select_one(dsn: str) -> int:
    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        return int(await conn.fetchval("select 1"))
    finally:
        await conn.close()


@pytest.mark.asyncio
async def test_lifecycle_restart_and_kill() -> None:
    with PostgresCluster() as pg:
        base_dir = pg.base_dir
        assert base_dir is not None and base_dir.is_dir()
        assert pg.is_running()
        assert pg.dsn("app") == f"postgresql://postgres@127.0.0.1:{pg.port}/app"

        pg.create_database("app")
        assert await _select_one(pg.dsn("app")) == 1

        port = pg.port
        pg.restart()
        assert pg.is_running() and pg.port == port
        assert await _select_one(pg.dsn("app")) == 1

        pg.kill()
        assert not pg.is_running()
        assert pg.pid is None
        with pytest.raises(OSError):
            await _select_one(pg.dsn("app"))

        # A killed cluster comes back (crash recovery) on the same port.
        pg.start()
        assert await _select_one(pg.dsn("app")) == 1

        pg.create_database("copy", template="app")
        assert pg.execute("select count(*) from pg_database where datname = 'copy'").strip() == "1"
        conn = await asyncpg.connect(pg.dsn("copy"), timeout=5)
        try:
            pg.drop_database("copy")  # WITH (FORCE): drops despite the open session
        finally:
            await conn.close()
        assert pg.execute("select count(*) from pg_database where datname = 'copy'").strip() == "0"

        pg.stop()
        pg.stop()  # idempotent
        assert not pg.is_running()
    assert not base_dir.exists()  # the temporary directory is removed


@pytest.mark.asyncio
async def test_two_clusters_side_by_side() -> None:
    with PostgresCluster() as one, PostgresCluster() as two:
        assert one.port != two.port
        assert one.data_dir != two.data_dir
        one.execute("create table t (v text); insert into t values ('one');")
        two.execute("create table t (v text); insert into t values ('two');")
        assert one.execute("select v from t").strip() == "one"
        assert two.execute("select v from t").strip() == "two"
        assert await _select_one(one.dsn()) == 1
        one.stop()
        assert await _select_one(two.dsn()) == 1


def test_caller_base_dir_is_kept_and_reused(tmp_path: Path) -> None:
    # As root the server runs as `colonies-pg`, which cannot enter pytest's 0700 tmp_path.
    base = Path(f"/tmp/colonies-pg-test-{os.getpid()}") if os.geteuid() == 0 else tmp_path
    port = free_port()
    try:
        with PostgresCluster(base_dir=base, port=port) as pg:
            assert pg.port == port
            pg.execute("create table kept (v int); insert into kept values (42);")
        assert (base / "data" / "PG_VERSION").exists()
        with PostgresCluster(base_dir=base) as pg:  # reuses the data directory
            assert pg.execute("select v from kept").strip() == "42"
    finally:
        if base != tmp_path:
            shutil.rmtree(base, ignore_errors=True)


def test_sql_errors_and_bad_bindir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pg = PostgresCluster()
    with pytest.raises(PostgresClusterError):
        pg.data_dir  # noqa: B018 - no directory before start()
    pg.stop()  # a no-op before start()
    pg.close()

    monkeypatch.setenv(BINDIR_ENV, str(tmp_path))
    with pytest.raises(PostgresClusterError, match=BINDIR_ENV):
        find_postgres_bindir()
    monkeypatch.delenv(BINDIR_ENV)
    assert (find_postgres_bindir() / "postgres").exists()
