"""Leadership without etcd: three replicas on one database elect through the advisory lock
(ha/advisory_lock.py). A leader frozen with SIGSTOP keeps its PostgreSQL session, but the
session ends once idle for the TTL (``idle_session_timeout``, kept busy by the leader's own
heartbeat): another replica must tick within TTL + 2 s, and the frozen one, resumed, must be
fenced and step down, with no cron slot fired twice and the history intact.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import asyncpg
import pytest

from integration._faults import is_leader
from integration._history import Fault, check, snapshot
from integration._load import SteadyLoad
from integration.test_postgres_failover import REPORTS, leader_term
from tests.helpers import eventually
from tests.support.fleet import Fleet, Replica

TTL = 3
TAKEOVER_BOUND = TTL + 2.0  # the stated bound: the TTL, a follower's poll, the new term
pytestmark = pytest.mark.drill


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    with Fleet(replicas=3, etcd_members=0, leader_ttl=TTL) as running:
        yield running


async def first_cron_fire_after(dsn: str, moment: float) -> float | None:
    conn = await asyncpg.connect(dsn)
    try:
        found: float | None = await conn.fetchval(
            "SELECT min(extract(epoch FROM g.submissiontime))::float8 FROM processgraphs g "
            "JOIN processes p USING (processgraphid) "
            "WHERE p.funcname = 'cron' AND g.submissiontime > to_timestamp($1)",
            moment,
        )
    finally:
        await conn.close()
    return found


async def test_a_frozen_leader_is_replaced_within_the_ttl_and_fenced(fleet: Fleet) -> None:
    load = SteadyLoad(fleet.url, fleet.server_prvkey, submit_rate=5, workflow_rate=0.5)
    await load.setup()
    load.start_executors()
    started = time.time()
    flow = asyncio.create_task(load.run(TTL + 14))
    leader: Replica = await eventually(
        lambda: asyncio.to_thread(fleet.leader), "a leader", timeout=15
    )
    await asyncio.sleep(2)
    term = leader_term(leader)
    assert leader.proc is not None and term > 0

    os.kill(leader.proc.pid, signal.SIGSTOP)
    stopped = time.time()
    others = [r for r in fleet.members if r is not leader]
    try:
        successor = await eventually(
            lambda: asyncio.to_thread(lambda: next((r for r in others if is_leader(r)), None)),
            "another replica leading",
            timeout=TAKEOVER_BOUND + 3,
        )
        led = time.time() - stopped
        await asyncio.sleep(2)  # frozen on, while the successor ticks
    finally:
        os.kill(leader.proc.pid, signal.SIGCONT)
    resumed = time.time()

    # Resumed, the old leader finds its session gone and its term stale: it steps down.
    await eventually(
        lambda: asyncio.to_thread(lambda: not is_leader(leader)),
        "the resumed leader stepping down",
        timeout=TTL,
    )
    stepped_down = time.time() - resumed
    assert leader_term(successor) > term
    assert leader.alive()
    await flow
    drained = await load.drain(60)
    await load.stop()

    ticked = await first_cron_fire_after(fleet.db_url, stopped)
    assert ticked is not None, "no cron fired after the leader froze"
    takeover = ticked - stopped
    fault = Fault("replica-sigstop", leader.name, True, stopped, resumed, leader_after=led)
    report = check(
        load.record,
        await snapshot(fleet.db_url),
        [fault],
        ttl=TTL,
        started=started,
        title="Advisory-lock leader SIGSTOP drill",
    )
    report.write(REPORTS / "advisory-lock-sigstop.md")
    log = leader.log.read_text(errors="replace")
    why = [line for line in log.splitlines() if "stale" in line or "lock connection" in line]
    print(
        f"\nadvisory lock, leader SIGSTOP: {successor.name} leads after {led:.2f} s and its "
        f"first cron fires {takeover:.2f} s after the freeze (TTL {TTL} s, bound "
        f"{TAKEOVER_BOUND:g} s); the resumed {leader.name} stepped down in {stepped_down:.2f} s"
        f" ({why[-1].strip() if why else 'no log line'})"
    )
    print(report.text())
    assert takeover <= TAKEOVER_BOUND, f"ticks resumed only {takeover:.1f} s after the freeze"
    assert why, "the resumed leader logged neither a stale term nor a lost lock session"
    assert drained and report.ok, report.anomalies[:10]
