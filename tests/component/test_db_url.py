"""A database URL with several hosts (the chart's external PostgreSQL with failover): a replica
connects to the host that answers and accepts writes, for its pool, its LISTEN connection, its
leader lock and its readiness check alike."""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp

from colonies.client import AsyncRpc
from colonies.crypto import PrivateKey
from colonies.server.app import STATE_KEY
from tests.helpers import make_colony, make_config, start_server
from tests.support import free_port


async def test_a_url_with_a_dead_first_host(db_url: str, server_key: PrivateKey) -> None:
    parts = urlsplit(db_url)
    user, live = parts.netloc.split("@")
    several = (
        f"postgresql://{user}@127.0.0.1:{free_port()},{live}{parts.path}"
        "?target_session_attrs=read-write"
    )
    config = make_config(several, server_key)
    runner, app = await start_server(config)
    try:
        url = f"http://127.0.0.1:{config.port}"
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/ready") as reply:
                assert reply.status == 200
        async with AsyncRpc(url) as rpc:
            colony = await make_colony(rpc, server_key, name="failover")
            got = await rpc.call("getcolonymsg", colony.user, colonyname="failover")
            assert got["name"] == "failover"
        assert app[STATE_KEY].store.pool.get_size() >= 1
    finally:
        await runner.cleanup()
