"""The chaos soak: a local fleet (three replicas behind HAProxy, a three-member etcd reached by
each replica through a TCP proxy of its own, PostgreSQL) under a steady recorded workload of
processes, workflows, a 1-second cron and a generator, while a scheduler SIGKILLs and SIGSTOPs
replicas and etcd members, restarts PostgreSQL and cuts replicas off from etcd
(integration/_faults.py). The history checker (integration/_history.py) then holds the record
against the database; its report, with what the Grafana dashboards showed around each fault
(Prometheus scraping every second), is printed and kept in build/ (COLONIES_REPORT_DIR).

In ``make test``, each kind of fault once (about a minute); ``make soak`` runs faults for
COLONIES_SOAK_SECONDS (300) with COLONIES_SOAK_SEED choosing their order.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integration._dashboards import dashboard_view
from integration._faults import KINDS, FaultScheduler
from integration._history import check, snapshot, summary
from integration._load import SteadyLoad
from integration.test_observability import Prometheus
from integration.test_postgres_failover import REPORTS
from tests.support.fleet import Fleet

TTL = 3
pytestmark = pytest.mark.drill

# 0: each kind of fault once; else faults one after another for this many seconds.
SOAK_SECONDS = float(os.environ.get("COLONIES_SOAK_SECONDS", "0"))
SOAK_SEED = int(os.environ.get("COLONIES_SOAK_SEED", "20"))


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    with Fleet(replicas=3, etcd_members=3, leader_ttl=TTL, etcd_proxies=True) as running:
        yield running


@pytest.fixture
def prometheus(fleet: Fleet, tmp_path: Path) -> Iterator[Prometheus]:
    """Debian's Prometheus scraping every replica each second, for the dashboards' view."""
    targets = [f"127.0.0.1:{r.port}" for r in fleet.members]
    server = Prometheus(targets, tmp_path)
    try:
        server.wait_scraping(len(targets))
        yield server
    finally:
        server.stop()


async def test_chaos_soak(fleet: Fleet, prometheus: Prometheus) -> None:
    load = SteadyLoad(fleet.url, fleet.server_prvkey, submit_rate=6, pack_rate=2)
    await load.setup()
    load.start_executors()
    started = time.time()
    stop = asyncio.Event()
    flow = asyncio.create_task(load.run(3600, stop))
    await asyncio.sleep(2)
    scheduler = FaultScheduler(fleet, seed=SOAK_SEED)
    if SOAK_SECONDS > 0:
        faults = await scheduler.run(SOAK_SECONDS)
    else:
        faults = await scheduler.run(180, max_faults=len(KINDS))
    await asyncio.sleep(2)
    stop.set()
    await flow
    drained = await load.drain(90)
    await load.stop()

    report = check(
        load.record,
        await snapshot(fleet.db_url),
        faults,
        ttl=TTL,
        started=started,
        title=f"Chaos soak (seed {SOAK_SEED})",
    )
    for i, fault in enumerate(faults):  # what the dashboards showed over each fault
        end = fault.healed + TTL + 4
        if i + 1 < len(faults):
            end = min(end, faults[i + 1].start - 0.5)
        fault.dashboards = await asyncio.to_thread(dashboard_view, prometheus, fault, end)
    name = "soak-report.md" if SOAK_SECONDS > 0 else "soak-short-report.md"
    report.write(REPORTS / name)
    print(f"\n{report.text()}\nkept in {REPORTS / name}; {summary(report)}")
    assert {f.kind for f in faults} == set(KINDS) or SOAK_SECONDS > 0
    assert all(r.alive() for r in fleet.members), "a replica died without being killed"
    assert drained, "processes left unfinished 90 s after the load"
    assert report.ok, report.anomalies[:10]
