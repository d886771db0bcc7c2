"""Following the database: connections to a server that turned read-only are replaced by
connections to the host that accepts writes; the LISTEN connection comes back after a loss and
every waiting long poll re-checks; a silent holder of the advisory lock loses it within the TTL.

The fleet drills (integration/test_postgres_failover.py, test_advisory_lock_drills.py) do this
with real processes and a promoted standby; these run in-process in seconds.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest

from colonies.client import AsyncRpc
from colonies.ha._connect import connect
from colonies.ha.advisory_lock import LEADER_LOCK_KEY, AdvisoryLockElection
from colonies.ha.election import ReplicaInfo
from colonies.ha.events import APP_NAME
from colonies.server.app import STATE_KEY
from colonies.store import migrate
from tests.helpers import (
    RunningServer,
    eventually,
    function_spec,
    make_colony,
    make_config,
    start_server,
)
from tests.support import free_port
from tests.support.postgres import PostgresCluster


@pytest.fixture(scope="module")
def second_pg() -> Iterator[PostgresCluster]:
    """A second PostgreSQL server, the one that becomes read-only; its ``template`` database is
    migrated."""
    with PostgresCluster() as cluster:
        cluster.create_database("template")

        async def prepare() -> None:
            conn = await asyncpg.connect(cluster.dsn("template"))
            try:
                await migrate(conn)
            finally:
                await conn.close()

        asyncio.run(prepare())
        yield cluster


def set_read_only(pg: PostgresCluster, read_only: bool) -> None:
    """What a failover manager does to fence a demoted primary (a reload: sessions stay)."""
    value = "on" if read_only else "off"
    pg.execute(f"ALTER SYSTEM SET default_transaction_read_only = {value};")
    pg.execute("SELECT pg_reload_conf();")


async def ready(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url + "/ready") as reply:
        return reply.status, await reply.text()


async def test_a_server_turned_read_only_is_left_for_the_one_that_accepts_writes(
    second_pg, db_url, server_key
) -> None:
    # The read-only-to-be server first, the writable one second: the replica starts on the
    # first. Both hold a database of the same name (a URL names one).
    user, second = urlsplit(db_url).netloc.split("@")
    path = urlsplit(db_url).path
    second_pg.create_database(path.lstrip("/"), template="template")
    first = f"{second_pg.host}:{second_pg.port}"
    several = f"postgresql://{user}@{first},{second}{path}?target_session_attrs=read-write"
    config = make_config(several, server_key)
    runner, app = await start_server(config)
    url = f"http://127.0.0.1:{config.port}"
    pool = app[STATE_KEY].store.pool
    writable = await asyncpg.connect(db_url)  # the owner, as the operator seeded the other
    await writable.execute(
        "INSERT INTO server_owner (serverid) VALUES ($1) ON CONFLICT DO NOTHING", server_key.id
    )
    try:
        assert (await ready(url))[0] == 200
        async with pool.acquire() as conn:
            assert conn.get_server_pid() in await second_pg_pids(second_pg)
        await asyncio.to_thread(set_read_only, second_pg, True)

        # Each connection learns it with its next statement, once its backend has had the
        # reload signal (the postmaster passes it on); the pool then replaces its connections,
        # and the new ones go to the host that accepts writes. So does /ready's own.
        async def moved() -> bool:
            async with pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
                return conn.get_server_pid() not in await second_pg_pids(second_pg)

        await eventually(moved, "the pool on the host that accepts writes", timeout=10)
        await eventually(lambda: _status_is(url, 200), "/ready", timeout=10)
        async with AsyncRpc(url) as client:
            colony = await make_colony(client, server_key, name="moved")
            process = await client.call(
                "submitfuncspecmsg", colony.user, spec=function_spec(colony)
            )
        found = await writable.fetchval(
            "SELECT count(*) FROM processes WHERE processid = $1", process["processid"]
        )
        assert found == 1, "the submission did not go to the server that accepts writes"
        async with pool.acquire() as conn:
            assert conn.get_server_pid() not in await second_pg_pids(second_pg)
    finally:
        await writable.close()
        await runner.cleanup()
        await asyncio.to_thread(set_read_only, second_pg, False)
        second_pg.drop_database(path.lstrip("/"))


async def test_a_lone_server_turned_read_only_makes_the_replica_unready(
    second_pg, server_key
) -> None:
    name = "lone_" + uuid.uuid4().hex[:8]
    second_pg.create_database(name, template="template")
    config = make_config(second_pg.dsn(name), server_key)
    runner, _ = await start_server(config)
    url = f"http://127.0.0.1:{config.port}"
    try:
        assert (await ready(url))[0] == 200
        await asyncio.to_thread(set_read_only, second_pg, True)

        async def unready() -> bool:
            status, text = await ready(url)
            return status == 503 and text == "database unavailable: read-only\n"

        await eventually(unready, "/ready saying the database is read-only", timeout=10)
        await asyncio.to_thread(set_read_only, second_pg, False)
        await eventually(
            lambda: _status_is(url, 200), "/ready once the server takes writes", timeout=10
        )
    finally:
        await runner.cleanup()
        await asyncio.to_thread(set_read_only, second_pg, False)
        second_pg.drop_database(name)


async def _status_is(url: str, wanted: int) -> bool:
    return (await ready(url))[0] == wanted


async def second_pg_pids(pg: PostgresCluster) -> set[int]:
    text = await asyncio.to_thread(pg.execute, "SELECT pid FROM pg_stat_activity;")
    return {int(line) for line in text.split()}


def test_a_server_finding_no_host_says_so_in_one_line(tmp_path) -> None:
    hosts = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update(
        COLONIES_DB_URL=f"postgresql://postgres@{hosts}/colonies?target_session_attrs=read-write",
        COLONIES_SERVER_PORT=str(free_port()),
        COLONIES_SERVER_BIND="127.0.0.1",
    )
    started = subprocess.run(
        [sys.executable, "-m", "colonies.cli.main", "server", "start"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode == 1
    errors = [line for line in started.stderr.splitlines() if "cannot start" in line]
    assert len(errors) == 1 and f"database {hosts}/colonies:" in errors[0], started.stderr
    assert "Traceback" not in started.stderr


@pytest.fixture
async def slow_rechecks(server: RunningServer) -> AsyncIterator[RunningServer]:
    """Waiting long polls re-check only every 60 s: a wake-up that is lost stays lost."""
    state = server.app[STATE_KEY]
    state.assign_recheck_interval = 60.0
    yield server


LISTENING = """
SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()
"""


async def test_waiting_polls_recheck_after_the_listen_connection_comes_back(
    slow_rechecks: RunningServer, server_key, db_url
) -> None:
    server = slow_rechecks
    colony = await make_colony(server.rpc, server_key, name="relisten")
    poll = asyncio.create_task(
        server.rpc.call("assignprocessmsg", colony.executor, colonyname=colony.name, timeout=20)
    )
    await asyncio.sleep(0.5)  # the poll waits
    admin = await asyncpg.connect(db_url)
    try:
        # The LISTEN connection goes; a process is submitted before it is back: its NOTIFY is
        # heard by nobody, and only the re-check after the reconnect finds it.
        listening = await admin.fetchval(LISTENING, APP_NAME)
        assert listening is not None
        await admin.execute("SELECT pg_terminate_backend($1)", listening)
        for _ in range(100):
            if await admin.fetchval(LISTENING, APP_NAME) is None:
                break
            await asyncio.sleep(0.01)
        started = time.monotonic()
        process = await server.rpc.call(
            "submitfuncspecmsg", colony.user, spec=function_spec(colony)
        )
        assigned = await asyncio.wait_for(poll, 10)
    finally:
        await admin.close()
    assert assigned["processid"] == process["processid"]
    assert time.monotonic() - started < 5, "the poll waited for its slow re-check"


async def test_a_silent_holder_loses_the_advisory_lock_within_the_ttl(db_url) -> None:
    ttl = 2.0
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2)
    election = AdvisoryLockElection(db_url, ReplicaInfo("second", "127.0.0.1", 1), pool, ttl=ttl)
    # A leader frozen right after a heartbeat: its session holds the lock and says nothing.
    frozen = await connect(db_url, server_settings=election.session_settings)
    assert await frozen.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK_KEY)
    started = time.monotonic()
    elected: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_elected(term: int) -> None:
        elected.set_result(term)

    async def on_lost() -> None:
        pass

    campaign = asyncio.create_task(election.run(on_elected, on_lost))
    try:
        term = await asyncio.wait_for(elected, ttl + 5)
        took = time.monotonic() - started
        assert term > 0
        assert ttl - 0.5 < took < ttl + 1.5, f"took over after {took:.1f} s"
        assert frozen.is_closed() or not await _alive(frozen)
    finally:
        campaign.cancel()
        await asyncio.gather(campaign, return_exceptions=True)
        frozen.terminate()
        await pool.close()


async def _alive(conn: asyncpg.Connection) -> bool:
    try:
        await conn.fetchval("SELECT 1", timeout=1)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
        return False
    return True
