"""What tests share besides fixtures (those are in tests/conftest.py): a real server on a free
loopback port, a ready colony, specs, error expectations and one polling helper.

Throwaway services (PostgreSQL, etcd, a fleet) are in tests/support.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from colonies.client import AsyncRpc, ColoniesError
from colonies.config import ServerConfig
from colonies.crypto import PrivateKey, generate_private_key
from colonies.server.app import create_app
from colonies.server.run import make_runner, server_ssl_context
from tests.support import DEV_SERVER_ID, DEV_SERVER_PRVKEY, free_port

T = TypeVar("T")

# The migrated database every test's database is copied from (the session fixture ``pg``).
TEMPLATE_DB = "colonies_template"
ZERO_TIME = "0001-01-01T00:00:00Z"
# The public test vectors of the wire protocol: keys, IDs, signatures, digests.
VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "test-vectors.json").read_text(encoding="utf-8")
)

__all__ = [
    "DEV_SERVER_ID",
    "DEV_SERVER_PRVKEY",
    "TEMPLATE_DB",
    "VECTORS",
    "ZERO_TIME",
    "Colony",
    "RunningServer",
    "add_executor",
    "eventually",
    "expect_error",
    "free_port",
    "function_spec",
    "make_colony",
    "make_config",
    "rpc_error",
    "start_server",
    "submit",
]


# ----------------------------------------------------------------------------- waiting


async def eventually(
    condition: Callable[[], T | Awaitable[T]],
    what: str = "the condition",
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
) -> T:
    """Poll ``condition`` (a function, or a coroutine function) until it returns a truthy
    value, and return that value; fail naming ``what`` when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s")
        await asyncio.sleep(interval)


# ----------------------------------------------------------------------------- errors


async def rpc_error(call: Awaitable[Any]) -> ColoniesError:
    """Await ``call`` and return the error it raised; fail when it succeeded."""
    try:
        result = await call
    except ColoniesError as exc:
        return exc
    raise AssertionError(f"expected an error reply, got success: {result!r}")


async def expect_error(
    call: Awaitable[Any], status: int, starts: str | None = None, contains: str | None = None
) -> ColoniesError:
    exc = await rpc_error(call)
    assert exc.status == status, (exc.status, exc.message)
    if starts is not None:
        assert exc.message.startswith(starts), exc.message
    if contains is not None:
        assert contains in exc.message, exc.message
    return exc


# ----------------------------------------------------------------------------- servers


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


@contextlib.asynccontextmanager
async def serving(config: ServerConfig) -> AsyncIterator[RunningServer]:
    """A server started on ``config`` with an RPC client of its own, both stopped on exit."""
    runner, app = await start_server(config)
    url = f"http://127.0.0.1:{config.port}"
    rpc = AsyncRpc(url)
    try:
        yield RunningServer(url, config.port, config, rpc, app)
    finally:
        await rpc.close()
        await runner.cleanup()


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


# ----------------------------------------------------------------------------- colonies


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


async def submit(rpc: AsyncRpc, key: PrivateKey, colony: Colony, **extra: Any) -> Any:
    """Submit ``function_spec(colony, **extra)``; the process (wire form)."""
    return await rpc.call("submitfuncspecmsg", key, spec=function_spec(colony, **extra))


async def add_executor(
    rpc: AsyncRpc, colony: Colony, name: str, executortype: str = "cli", **extra: Any
) -> PrivateKey:
    """A further approved executor of the colony, keyed by the colony's scheme."""
    key = generate_private_key(colony.owner.scheme)
    executor = {
        "executorid": key.id,
        "executorname": name,
        "executortype": executortype,
        "colonyname": colony.name,
        **extra,
    }
    await rpc.call("addexecutormsg", colony.owner, executor=executor)
    await rpc.call("approveexecutormsg", colony.owner, colonyname=colony.name, executorname=name)
    return key


def cli_env(
    server: Any, colony: Any, key: PrivateKey | None, **extra: str | None
) -> dict[str, str | None]:
    """The environment for ``colonies`` run by click's CliRunner against ``server`` as ``key``
    in ``colony`` (a variable set to None is removed, so the caller's own settings do not leak
    in)."""
    env: dict[str, str | None] = {
        "COLONIES_SERVER_HOST": "127.0.0.1",
        "COLONIES_SERVER_PORT": str(server.port),
        "COLONIES_SERVER_HTTP_PORT": None,
        "COLONIES_TLS": None,
        "COLONIES_CA_FILE": None,
        "COLONIES_PRVKEY": key.text if key else None,
        "COLONIES_EXECUTOR_PRVKEY": None,
        "COLONIES_COLONY_PRVKEY": colony.owner.text,
        "COLONIES_SERVER_PRVKEY": None,
        "COLONIES_COLONY_NAME": colony.name,
        "COLONIES_EXECUTOR_TYPE": colony.executor_type,
        "COLONIES_EXECUTOR_NAME": colony.executor_name,
    }
    env.update(extra)
    return env
