"""PostgreSQL failover drill: a primary and a synchronous streaming standby on loopback, two
replicas on a URL listing both (``target_session_attrs=read-write``), electing their leader
through the advisory lock, under a steady load of submissions, workflows, generator packs,
assignments and a 1-second cron. The primary is killed (every PostgreSQL process, SIGKILL: its
host is lost) and, after a failover manager's detection time, the standby promoted. Requests
must succeed again, the leader's ticks resume on the new primary, every acknowledged submission
complete exactly once, no cron slot fire twice and the ledger verify (integration/_history.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration._history import Fault, check, snapshot
from integration._load import SteadyLoad
from tests.helpers import eventually
from tests.support.fleet import Fleet, Replica

TTL = 3
DETECTION = 2.0  # seconds between the primary's loss and the promotion
pytestmark = pytest.mark.drill

REPORTS = Path(os.environ.get("COLONIES_REPORT_DIR", Path(__file__).parent.parent / "build"))


def leader_term(replica: Replica) -> int:
    """The term a replica leads in (0: it does not lead), from its metrics."""
    try:
        with urllib.request.urlopen(replica.url + "/metrics", timeout=1) as reply:
            text = reply.read().decode()
    except OSError:
        return 0
    found = re.search(r"^colonies_leader_term ([0-9.e+]+)$", text, re.MULTILINE)
    return int(float(found.group(1))) if found else 0


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    with Fleet(replicas=2, etcd_members=0, leader_ttl=TTL, standby=True) as running:
        yield running


async def test_failover_to_a_synchronous_standby_under_load(fleet: Fleet) -> None:
    assert "target_session_attrs=read-write" in fleet.db_url and fleet.db_url.count(",") == 1
    load = SteadyLoad(fleet.url, fleet.server_prvkey, submit_rate=10, pack_rate=3)
    await load.setup()
    load.start_executors()
    started = time.time()
    flow = asyncio.create_task(load.run(12))
    await asyncio.sleep(4)

    standby = fleet.pg_standby
    assert standby is not None and standby.in_recovery()
    old_term = max(map(leader_term, fleet.members))
    await asyncio.to_thread(fleet.pg.kill)  # returns once every PostgreSQL process is gone
    killed = time.time()
    await asyncio.sleep(DETECTION)  # a failover manager's time to notice and decide
    promotion = await asyncio.to_thread(standby.promote)
    promoted = time.time()

    def new_leader() -> Replica | None:
        leader = fleet.leader()
        return leader if leader is not None and leader_term(leader) > old_term else None

    leader = await eventually(
        lambda: asyncio.to_thread(new_leader), "a leader on the new primary", timeout=2 * TTL
    )
    led = time.time()
    await flow
    drained = await load.drain(60)
    await load.stop()

    assert fleet.primary is fleet.pg_standby and not fleet.pg.is_running()
    fault = Fault(
        "postgres-failover",
        "primary",
        False,
        killed,
        promoted,
        resume_from=promoted,
        leader_after=led - killed,
    )
    report = check(
        load.record,
        await snapshot(fleet.primary_dsn()),
        [fault],
        ttl=TTL,
        started=started,
        title="PostgreSQL failover drill",
    )
    report.write(REPORTS / "postgres-failover.md")
    recovered = load.record.first_success_after(killed)
    print(
        f"\nPostgreSQL failover: primary killed, standby promoted in {promotion:.2f} s; "
        f"submissions succeed again {recovered - killed:.2f} s after the kill "
        f"({recovered - promoted:.2f} s after the promotion); {leader.name} leads "
        f"{led - promoted:.2f} s after the promotion, ticks resumed within "
        f"{fault.ticks_after:.2f} s of it"
    )
    print(report.text())
    assert drained, "processes left unfinished 60 s after the load"
    assert report.ok, report.anomalies[:10]
    assert report.checked["acknowledged submissions"] > 50
    assert report.checked["cron fires (one per slot)"] >= 8
    assert killed < recovered < promoted + 10, "requests did not succeed again within 10 s"
