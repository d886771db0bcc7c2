"""Failover drills on a real local fleet: 3 replicas behind HAProxy, a 3-member etcd, PostgreSQL.

Real processes, real signals, loopback only; every loop is bounded and every drill records its
client operations and checks the history afterwards (integration/_workload.py).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import asyncpg
import pytest

from colonies.client import AsyncClient, ColoniesError
from integration._workload import COLONY, Workload
from tests.helpers import eventually
from tests.support.fleet import Fleet, Replica

TTL = 3
pytestmark = pytest.mark.drill


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    with Fleet(replicas=3, etcd_members=3, leader_ttl=TTL) as running:
        yield running


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


async def wait_for(predicate, timeout: float, what: str) -> float:
    """Seconds until ``predicate`` (blocking: it asks the fleet over HTTP) holds."""
    started = time.monotonic()
    await eventually(lambda: asyncio.to_thread(predicate), what, timeout=timeout, interval=0.05)
    return time.monotonic() - started


async def current_leader(fleet: Fleet) -> Replica:
    await wait_for(lambda: fleet.leader() is not None, 15, "a leader")
    leader = fleet.leader()
    assert leader is not None
    return leader


async def cron_fire_times(fleet: Fleet) -> list[float]:
    conn = await asyncpg.connect(fleet.db_url)
    try:
        rows = await conn.fetch(
            "SELECT extract(epoch FROM submissiontime) AS t FROM processgraphs "
            "WHERE colonyname = $1 ORDER BY submissiontime",
            COLONY,
        )
    finally:
        await conn.close()
    return [float(r["t"]) for r in rows]


async def add_second_cron(workload: Workload) -> None:
    import json

    from colonies.client import AsyncClient

    spec = {
        "colonyname": COLONY,
        "functionspecs": [
            {"nodename": "tick", "funcname": "tick",
             "conditions": {"colonyname": COLONY, "executortype": "nobody"}}
        ],
    }  # fmt: skip
    async with AsyncClient(workload.url, workload.user) as client:
        await client.call(
            "addcronmsg",
            cron={"colonyname": COLONY, "name": "every-second", "interval": -1,
                  "cronexpression": "0/1 * * * * *", "workflowspec": json.dumps(spec)},
        )  # fmt: skip


async def test_leader_sigkill_during_a_steady_flow(fleet: Fleet) -> None:
    workload = Workload(fleet.url, fleet.server_prvkey)
    await workload.setup()
    await add_second_cron(workload)
    flow = asyncio.create_task(workload.run(count=150, per_second=30))
    await asyncio.sleep(1.5)
    leader = await current_leader(fleet)
    assert leader.proc is not None
    leader.proc.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    others = [r for r in fleet.members if r is not leader]
    failover = await wait_for(
        lambda: any(fleet.is_leader(r) for r in others), TTL + 2, "a new leader"
    )
    print(f"\nleader SIGKILL: a new leader ticks after {failover:.2f} s (TTL {TTL} s)")
    await flow
    await workload.check()
    assert not workload.history.failures, workload.history.failures[:5]
    fires = await cron_fire_times(fleet)
    slots = [int(t) for t in fires]
    assert len(slots) == len(set(slots)), "the cron fired twice for one slot"
    after = [t for t in fires if t > time.time() - (time.monotonic() - killed_at)]
    assert after, "the cron did not resume under the new leader"
    gaps = [b - a for a, b in itertools.pairwise(fires)]
    assert max(gaps) <= failover + 2.5, f"the cron missed more than one slot: {max(gaps):.1f} s"


async def test_leader_sigstop_past_its_ttl_is_fenced(fleet: Fleet) -> None:
    workload = Workload(fleet.url, fleet.server_prvkey)
    await workload.setup()
    await add_second_cron(workload)
    leader = await current_leader(fleet)
    assert leader.proc is not None
    os.kill(leader.proc.pid, signal.SIGSTOP)
    try:
        others = [r for r in fleet.members if r is not leader]
        await wait_for(lambda: any(fleet.is_leader(r) for r in others), TTL + 3, "a new leader")
    finally:
        os.kill(leader.proc.pid, signal.SIGCONT)
    # The old leader wakes believing it leads: it must step down without acting.
    await wait_for(lambda: not fleet.is_leader(leader), TTL + 2, "the old leader stepping down")
    await asyncio.sleep(2)
    leaders = [r for r in fleet.members if fleet.is_leader(r)]
    assert len(leaders) == 1 and leaders[0] is not leader
    slots = [int(t) for t in await cron_fire_times(fleet)]
    assert len(slots) == len(set(slots)), "two leaders fired the cron for one slot"


async def test_follower_sigkill_under_load(fleet: Fleet) -> None:
    workload = Workload(fleet.url, fleet.server_prvkey)
    await workload.setup()
    flow = asyncio.create_task(workload.run(count=150, per_second=40))
    await asyncio.sleep(1.0)
    leader = await current_leader(fleet)
    follower = next(r for r in fleet.members if r is not leader)
    assert follower.proc is not None
    follower.proc.send_signal(signal.SIGKILL)
    await flow
    await workload.check()
    assert not workload.history.failures, workload.history.failures[:5]


async def test_postgres_restart_under_load(fleet: Fleet) -> None:
    workload = Workload(fleet.url, fleet.server_prvkey)
    await workload.setup()
    flow = asyncio.create_task(workload.run(count=120, per_second=30, settle=90))
    await asyncio.sleep(1.5)
    await asyncio.to_thread(fleet.pg.stop, "immediate")
    replica = fleet.members[0]
    try:
        # During the outage: /ready says so, and an RPC fails fast with 503 (clients retry).
        assert await asyncio.to_thread(_status, replica.url + "/ready") == 503
        started = time.monotonic()
        async with AsyncClient(replica.url, workload.user, retry_seconds=0) as client:
            with pytest.raises(ColoniesError) as err:
                await client.get_colony(COLONY)
        assert err.value.status == 503 and time.monotonic() - started < 3
    finally:
        await asyncio.to_thread(fleet.pg.start)
    await wait_for(lambda: _status(replica.url + "/ready") == 200, 15, "/ready after the outage")
    await flow
    await workload.check()
    assert all(r.alive() for r in fleet.members), "a replica crashed"


async def test_etcd_quorum_loss_and_recovery(fleet: Fleet) -> None:
    workload = Workload(fleet.url, fleet.server_prvkey)
    await workload.setup()
    await current_leader(fleet)
    lost = fleet.etcd.members[:2]
    for member in lost:
        fleet.etcd.kill_member(member)
    # No quorum: the leader cannot prove its lease and stops ticking; requests still work.
    await wait_for(
        lambda: not any(fleet.is_leader(r) for r in fleet.members), TTL + 3, "ticks pausing"
    )
    await workload.run(count=30, per_second=30)
    await workload.check()
    for member in lost:
        fleet.etcd.start_member(member, state="existing")
    await wait_for(lambda: fleet.leader() is not None, 20, "ticks resuming")
