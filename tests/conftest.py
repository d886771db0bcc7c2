"""Shared fixtures: a throwaway PostgreSQL per test session, a fresh database per test, and a
real server on a free loopback port (helpers they build on: tests/helpers.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from colonies.client import AsyncRpc
from colonies.crypto import PrivateKey, parse_private_key
from colonies.store import migrate
from tests.helpers import (
    DEV_SERVER_PRVKEY,
    TEMPLATE_DB,
    Colony,
    RunningServer,
    make_colony,
    make_config,
    start_server,
)
from tests.support.postgres import PostgresCluster


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresCluster]:
    with PostgresCluster() as cluster:
        cluster.start()
        cluster.create_database(TEMPLATE_DB)

        async def prepare() -> None:
            conn = await asyncpg.connect(cluster.dsn(TEMPLATE_DB))
            try:
                await migrate(conn)
            finally:
                await conn.close()

        asyncio.run(prepare())
        yield cluster


@pytest.fixture
def db_url(pg: PostgresCluster) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    name = "t_" + uuid.uuid4().hex[:16]
    pg.create_database(name, template=TEMPLATE_DB)
    try:
        yield pg.dsn(name)
    finally:
        pg.drop_database(name)


@pytest.fixture(scope="session")
def server_key() -> PrivateKey:
    return parse_private_key(DEV_SERVER_PRVKEY)


@pytest.fixture
async def server(db_url: str, server_key: PrivateKey) -> AsyncIterator[RunningServer]:
    config = make_config(db_url, server_key)
    runner, app = await start_server(config)
    url = f"http://127.0.0.1:{config.port}"
    rpc = AsyncRpc(url)
    try:
        yield RunningServer(url, config.port, config, rpc, app)
    finally:
        await rpc.close()
        await runner.cleanup()


@pytest.fixture(params=["ed25519", "secp256k1"])
async def colony(
    request: pytest.FixtureRequest, server: RunningServer, server_key: PrivateKey
) -> Colony:
    """A ready colony, once per signature scheme."""
    return await make_colony(server.rpc, server_key, request.param)
