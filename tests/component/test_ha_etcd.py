"""Two replicas on one database with a real etcd: one leader, a cluster view, hand-over."""

from __future__ import annotations

import asyncio
import time

import pytest

from colonies.server.app import STATE_KEY
from tests.helpers import eventually, make_config, start_server
from tests.support.etcd import EtcdCluster


@pytest.fixture
def etcd():
    with EtcdCluster(1) as cluster:
        yield cluster


def _leading(app) -> bool:
    leadership = app[STATE_KEY].leadership
    return leadership is not None and leadership.loops.running


async def test_one_leader_cluster_view_and_resignation(db_url, server_key, etcd):
    apps = []
    runners = []
    for name in ("r1", "r2"):
        config = make_config(
            db_url, server_key, etcd_endpoints=etcd.endpoints, leader_ttl=3, replica_name=name
        )
        runner, app = await start_server(config)
        runners.append(runner)
        apps.append((config, app))
    try:
        await eventually(lambda: any(_leading(app) for _, app in apps), "a leader")
        await asyncio.sleep(0.5)
        assert sum(_leading(app) for _, app in apps) == 1
        leader_index = next(i for i, (_, app) in enumerate(apps) if _leading(app))
        from colonies.client import AsyncRpc

        config = apps[0][0]
        async with AsyncRpc(f"http://127.0.0.1:{config.port}") as rpc:
            info = await rpc.call("getclustermsg", server_key)
        assert sorted(n["name"] for n in info["nodes"]) == ["r1", "r2"]
        assert info["leader"]["name"] == ("r1", "r2")[leader_index]
        term_before = await apps[0][1][STATE_KEY].store.ticks.current_term()

        # A clean shutdown of the leader resigns: the other replica takes over at once.
        await runners[leader_index].cleanup()
        other = apps[1 - leader_index][1]
        started = time.monotonic()
        await eventually(lambda: _leading(other), "the take-over", timeout=5)
        took = time.monotonic() - started
        assert took < 3.0, f"take-over took {took:.2f} s"
        await asyncio.sleep(1.2)  # a tick under the new term raises the stored term
        assert await other[STATE_KEY].store.ticks.current_term() > term_before
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_single_node_servers_share_one_leader_lock(db_url, server_key):
    first = await start_server(make_config(db_url, server_key, replica_name="one"))
    second = await start_server(make_config(db_url, server_key, replica_name="two"))
    try:
        await eventually(lambda: _leading(first[1]), "a leader")
        await asyncio.sleep(0.5)
        assert not _leading(second[1]), "two single-node leaders on one database"
        term = await first[1][STATE_KEY].store.ticks.current_term()
        assert term >= 1
        # The lock holder goes away: the other server takes over with a newer term.
        await first[0].cleanup()
        await eventually(lambda: _leading(second[1]), "the take-over")
        assert await second[1][STATE_KEY].store.ticks.current_term() > term
    finally:
        await first[0].cleanup()
        await second[0].cleanup()


async def test_fleet_gauges_come_from_the_leader_only(db_url, server_key):
    import aiohttp

    from tests.helpers import make_colony

    # Colony names in the gauges only when asked for (test_hostile_input.py: the default).
    names = {"metrics_colony_names": True}
    first = await start_server(make_config(db_url, server_key, replica_name="g1", **names))
    second = await start_server(make_config(db_url, server_key, replica_name="g2", **names))
    try:
        await eventually(lambda: _leading(first[1]), "a leader")
        url = f"http://127.0.0.1:{first[0].addresses[0][1]}"
        from colonies.client import AsyncRpc

        async with AsyncRpc(url) as rpc:
            colony = await make_colony(rpc, server_key)
            await rpc.call(
                "submitfuncspecmsg", colony.user,
                spec={"funcname": "f", "conditions": {"colonyname": colony.name,
                                                      "executortype": "cli"}},
            )  # fmt: skip
        leadership = first[1][STATE_KEY].leadership
        gauges = next(t for t in leadership.loops.ticks if t.name == "gauges")
        await gauges.run(leadership.loops.term)
        texts = []
        async with aiohttp.ClientSession() as session:
            for runner, _ in (first, second):
                async with session.get(f"http://127.0.0.1:{runner.addresses[0][1]}/metrics") as r:
                    texts.append(await r.text())
        assert 'colonies_processes{colony="test",state="waiting"} 1.0' in texts[0]
        assert 'colonies_executors{colony="test",state="approved"} 1.0' in texts[0]
        assert "colonies_processes{" not in texts[1]  # a follower exports no fleet counts
    finally:
        await first[0].cleanup()
        await second[0].cleanup()


async def test_two_fleets_on_one_etcd_elect_two_leaders(pg, db_url, server_key, etcd):
    """Each fleet (its own database) under its own COLONIES_ETCD_PREFIX leads on its own; with
    one shared prefix, only one of them would."""
    import uuid

    from tests.helpers import TEMPLATE_DB

    other_db = "t_" + uuid.uuid4().hex[:16]
    pg.create_database(other_db, template=TEMPLATE_DB)
    servers = []
    try:
        for url, prefix in ((db_url, "/colonies/ns/a"), (pg.dsn(other_db), "/colonies/ns/b")):
            config = make_config(
                url, server_key, etcd_endpoints=etcd.endpoints, etcd_prefix=prefix, leader_ttl=3
            )
            servers.append(await start_server(config))
        await eventually(lambda: all(_leading(app) for _, app in servers), "two leaders")
        keys = []
        for _, app in servers:
            election = app[STATE_KEY].leadership.election
            keys.append(election.leader_key)
        assert keys == [b"/colonies/ns/a/leader", b"/colonies/ns/b/leader"]
    finally:
        for runner, _ in servers:
            await runner.cleanup()
        pg.drop_database(other_db)
