"""What this replica does while it leads: the tick loops of PROTOCOL.md §7.7 to §7.17."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from colonies.core import utcnow
from colonies.ha.etcd import EtcdLeadership, ReplicaInfo, parse_endpoints
from colonies.ha.leader import SingleNodeLeadership
from colonies.ha.ticks import Tick, TickLoops
from colonies.server.state import ServerState

log = logging.getLogger(__name__)


def build_ticks(state: ServerState) -> list[Tick]:
    store, config, metrics = state.store, state.config, state.metrics

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

    def __init__(self, state: ServerState) -> None:
        self.state = state
        metrics = state.metrics
        self.loops = TickLoops(
            build_ticks(state),
            observe=lambda name, seconds: metrics.tick_duration.labels(name).observe(seconds),
        )
        config = state.config
        self.election: SingleNodeLeadership | EtcdLeadership
        if config.etcd_endpoints:
            self.election = EtcdLeadership(
                parse_endpoints(config.etcd_endpoints),
                ReplicaInfo(config.replica_name, config.advertised_host, config.port),
                ttl=config.leader_ttl,
                prefix=config.etcd_prefix,
            )
        else:
            self.election = SingleNodeLeadership(config.db_url, config.replica_name)
        self._task: asyncio.Task[None] | None = None
        self.leading = False

    async def _elected(self, term: int) -> None:
        metrics = self.state.metrics
        metrics.leader.set(1)
        metrics.leader_term.set(term)
        metrics.leader_transitions.inc()
        self.leading = True
        await self.loops.start(term)

    async def _lost(self) -> None:
        await self.loops.stop()
        metrics = self.state.metrics
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
        if isinstance(self.election, EtcdLeadership):
            await self.election.resign()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.loops.stop()

    async def cluster(self) -> tuple[list[dict[str, object]], str]:
        """(live replicas, leader name) for ``getclustermsg``."""
        config = self.state.config
        if isinstance(self.election, EtcdLeadership):
            return await self.election.cluster()
        me = {"name": config.replica_name, "host": config.advertised_host, "apiport": config.port}
        holder = await self.state.store.ticks.leader_name()
        return [me], holder
