"""Leadership: the election, and the leader's work while this replica leads.

The election (ha/election.py) is etcd's when COLONIES_ETCD_ENDPOINTS is set, else the
single-node advisory lock. While this replica leads, the tick loops (ha/ticks.py) run the
periodic work of docs/protocol.md §7.7 to §7.17, each tick one transaction fenced by the term
(store/ticks.py, store/schedules.py; store/fencing.py checks the term). They stop as soon as
leadership is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from prometheus_client import Counter, Gauge, Histogram

from colonies.config import ServerConfig
from colonies.core import utcnow
from colonies.ha.advisory_lock import AdvisoryLockElection
from colonies.ha.election import ClusterView, Election, ReplicaInfo
from colonies.ha.etcd import EtcdElection, parse_endpoints
from colonies.ha.ticks import Tick, TickLoops
from colonies.store import Store

log = logging.getLogger(__name__)


class LeaderMetrics(Protocol):
    """The metrics the leader's work updates (server/metrics.py has them all)."""

    leader: Gauge
    leader_term: Gauge
    leader_transitions: Counter
    tick_duration: Histogram
    processes_reclaimed: Counter
    processes_expired: Counter
    cron_fires: Counter
    generator_packs: Counter
    ledger_sealed: Counter
    fleet_processes: Gauge
    fleet_workflows: Gauge
    fleet_executors: Gauge

    def set_fleet(self, gauge: Gauge, counts: list[tuple[str, str, int]]) -> None: ...

    def clear_fleet(self) -> None: ...


def election_for(config: ServerConfig, store: Store) -> Election:
    """etcd's election when endpoints are configured; the single-node lock otherwise."""
    replica = ReplicaInfo(config.replica_name, config.advertised_host, config.port)
    if config.etcd_endpoints:
        return EtcdElection(
            parse_endpoints(config.etcd_endpoints),
            replica,
            ttl=config.leader_ttl,
            prefix=config.etcd_prefix,
        )
    return AdvisoryLockElection(config.db_url, replica, store.pool)


def leader_ticks(store: Store, config: ServerConfig, metrics: LeaderMetrics) -> list[Tick]:
    """The leader's periodic work, each a function of the term."""

    async def deadlines(term: int) -> None:
        result = await store.ticks.deadlines(term, utcnow())
        metrics.processes_reclaimed.inc(result.reclaimed)
        metrics.processes_expired.labels("execution").inc(result.expired_running)
        metrics.processes_expired.labels("waiting").inc(result.expired_waiting)

    async def crons(term: int) -> None:
        metrics.cron_fires.inc(await store.schedules.cron_tick(term, utcnow()))

    async def generators(term: int) -> None:
        metrics.generator_packs.inc(await store.schedules.generator_tick(term, utcnow()))

    async def stale_executors(term: int) -> None:
        removed = await store.ticks.stale_executors(term, utcnow(), config.stale_executor_seconds)
        if removed:
            log.info("removed %d stale executors", removed)

    signer = None
    if config.server_prvkey:
        from colonies.crypto import parse_private_key

        key = parse_private_key(config.server_prvkey)

        def signer(message: bytes) -> tuple[str, str]:
            return key.id, key.sign(message)

    async def ledger(term: int) -> None:
        metrics.ledger_sealed.inc(await store.ticks.seal_ledger(term, signer, utcnow()))

    async def gauges(term: int) -> None:
        counts = await store.server.fleet_counts()
        metrics.set_fleet(metrics.fleet_processes, counts["processes"])
        metrics.set_fleet(metrics.fleet_workflows, counts["workflows"])
        metrics.set_fleet(metrics.fleet_executors, counts["executors"])

    async def nonces(term: int) -> None:
        await store.ticks.expired_nonces(term, utcnow())

    ticks = [
        Tick("deadlines", 1.0, deadlines),
        Tick("nonces", 30.0, nonces),
        Tick("ledger", 1.0, ledger),
        Tick("gauges", 10.0, gauges),
        Tick("crons", config.cron_period_ms / 1000, crons),
        Tick("generators", config.generator_period_ms / 1000, generators),
        Tick("stale_executors", float(config.cleanup_interval_seconds), stale_executors),
    ]
    if config.retention:

        async def retention(term: int) -> None:
            removed = await store.ticks.retention(term, utcnow(), config.retention_seconds)
            if removed:
                log.info("retention removed %d processes and graphs", removed)

        ticks.append(Tick("retention", 60.0, retention))
    return ticks


class Leadership:
    """Runs the election and starts or stops the tick loops with it."""

    def __init__(self, election: Election, ticks: list[Tick], metrics: LeaderMetrics) -> None:
        self.election = election
        self.metrics = metrics
        self.loops = TickLoops(
            ticks,
            observe=lambda name, seconds: metrics.tick_duration.labels(name).observe(seconds),
        )
        self._task: asyncio.Task[None] | None = None
        self.leading = False

    async def _elected(self, term: int) -> None:
        metrics = self.metrics
        metrics.leader.set(1)
        metrics.leader_term.set(term)
        metrics.leader_transitions.inc()
        self.leading = True
        await self.loops.start(term)

    async def _lost(self) -> None:
        await self.loops.stop()
        metrics = self.metrics
        if self.leading:
            metrics.leader_transitions.inc()
        self.leading = False
        metrics.clear_fleet()  # only the leader exports fleet-wide counts
        metrics.leader.set(0)
        metrics.leader_term.set(0)

    def start(self) -> None:
        self._task = asyncio.create_task(
            self.election.run(self._elected, self._lost), name="leadership"
        )

    async def stop(self) -> None:
        """Resign first (a rolling restart hands over at once), then stop everything."""
        await self.loops.stop()
        await self.election.resign()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.loops.stop()  # in case the election was starting them meanwhile

    async def cluster(self) -> ClusterView:
        """The live replicas and the leader, for ``getclustermsg``."""
        return await self.election.cluster()
