"""/ready checks the database over a connection of its own: a pool exhausted by requests does not
make the replica unready, a dropped connection is replaced at once, a draining replica is not
ready, and a database that does not answer makes it unready."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import asyncpg

from colonies.crypto import PrivateKey
from colonies.server.app import READINESS_KEY, STATE_KEY
from colonies.server.readiness import ReadinessCheck
from tests.helpers import make_config, start_server
from tests.support import free_port


async def _ready(session: aiohttp.ClientSession, url: str) -> tuple[int, str, float]:
    started = time.monotonic()
    async with session.get(url + "/ready", timeout=aiohttp.ClientTimeout(total=5)) as reply:
        return reply.status, await reply.text(), time.monotonic() - started


async def test_ready_while_the_pool_is_exhausted(db_url: str, server_key: PrivateKey) -> None:
    config = make_config(db_url, server_key, db_pool_max=2)
    runner, app = await start_server(config)
    url = f"http://127.0.0.1:{config.port}"
    pool = app[STATE_KEY].store.pool
    held = [await pool.acquire() for _ in range(2)]  # every pooled connection is busy
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(3):
                status, text, took = await _ready(session, url)
                assert (status, text) == (200, "ok\n")
                assert took < 1.0
            assert pool.get_size() == 2  # no pooled connection was used

            # The readiness connection is dropped by the server: the next probe reconnects.
            check = app[READINESS_KEY]
            assert check._conn is not None
            pid = check._conn.get_server_pid()
            admin = await asyncpg.connect(db_url)
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            finally:
                await admin.close()
            await asyncio.sleep(0.2)
            assert (await _ready(session, url))[:2] == (200, "ok\n")
            assert check._conn.get_server_pid() != pid

            app[STATE_KEY].draining = True
            assert (await _ready(session, url))[:2] == (503, "shutting down\n")
    finally:
        for conn in held:
            await pool.release(conn)
        await runner.cleanup()


async def test_not_ready_without_a_database() -> None:
    check = ReadinessCheck(f"postgresql://u@127.0.0.1:{free_port()}/db", timeout=1)
    assert await check.problem() in ("ConnectionRefusedError", "OSError")
    await check.close()
