"""Prometheus metrics every replica exports (docs/metrics.md is the catalogue)."""

from __future__ import annotations

from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from colonies import __version__


class _Pool(Protocol):
    def get_size(self) -> int: ...
    def get_idle_size(self) -> int: ...
    def get_max_size(self) -> int: ...


class Metrics:
    """One set per server instance (tests run several servers in one process).

    ``/metrics`` answers anyone, while only the server owner may list colonies: the fleet
    gauges carry colony names only with ``colony_names`` (COLONIES_METRICS_COLONY_NAMES);
    otherwise their counts are summed over colonies, under an empty ``colony`` label.
    """

    def __init__(self, colony_names: bool = False) -> None:
        self.colony_names = colony_names
        self.registry = CollectorRegistry(auto_describe=True)
        self.rpc_requests = Counter(
            "colonies_rpc_requests",
            "RPC requests answered, by payloadtype, HTTP status and backend (transport).",
            ["payloadtype", "status", "backend"],
            registry=self.registry,
        )
        self.rpc_duration = Histogram(
            "colonies_rpc_duration_seconds",
            "Time to answer an RPC request, by payloadtype and backend (long polls included).",
            ["payloadtype", "backend"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        self.build_info = Gauge(
            "colonies_build_info",
            "Always 1; the labels carry the build.",
            ["version"],
            registry=self.registry,
        )
        self.build_info.labels(__version__).set(1)
        self.processes_submitted = Counter(
            "colonies_processes_submitted",
            "Processes submitted through this replica.",
            registry=self.registry,
        )
        self.processes_assigned = Counter(
            "colonies_processes_assigned",
            "Processes assigned by this replica.",
            registry=self.registry,
        )
        self.processes_closed = Counter(
            "colonies_processes_closed",
            "Processes closed through this replica, by outcome (successful, failed).",
            ["outcome"],
            registry=self.registry,
        )
        latency_buckets = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800, 3600)
        self.process_wait = Histogram(
            "colonies_process_wait_seconds",
            "Time from submission to assignment of the processes this replica assigned.",
            buckets=latency_buckets,
            registry=self.registry,
        )
        self.process_execution = Histogram(
            "colonies_process_execution_seconds",
            "Time from assignment to close, by outcome.",
            ["outcome"],
            buckets=latency_buckets,
            registry=self.registry,
        )
        self.assign_waiting = Gauge(
            "colonies_assign_waiting",
            "Assign long polls waiting on this replica.",
            registry=self.registry,
        )
        self.tick_duration = Histogram(
            "colonies_tick_duration_seconds",
            "Duration of the leader's ticks, by tick.",
            ["tick"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.cron_fires = Counter(
            "colonies_cron_fires",
            "Workflows started by crons on this leader.",
            registry=self.registry,
        )
        self.generator_packs = Counter(
            "colonies_generator_packs",
            "Workflows started by generators on this leader.",
            registry=self.registry,
        )
        self.processes_reclaimed = Counter(
            "colonies_processes_reclaimed",
            "Running processes put back to waiting after their execution deadline.",
            registry=self.registry,
        )
        self.processes_expired = Counter(
            "colonies_processes_expired",
            "Processes failed by a deadline, by kind (execution, waiting).",
            ["kind"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "colonies_leader", "1 while this replica is the leader, else 0.", registry=self.registry
        )
        self.leader_term = Gauge(
            "colonies_leader_term",
            "The fencing term this replica leads under (0 when not leader).",
            registry=self.registry,
        )
        self.leader_transitions = Counter(
            "colonies_leader_transitions",
            "Times this replica became or stopped being the leader.",
            registry=self.registry,
        )
        self.reconciliations = Counter(
            "colonies_reconciliations",
            "Blueprint reconcile processes, by outcome (submitted, successful, failed).",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("submitted", "successful", "failed"):
            self.reconciliations.labels(outcome)
        self.ledger_sealed = Counter(
            "colonies_ledger_entries_sealed",
            "Ledger entries this leader linked into the hash chain.",
            registry=self.registry,
        )
        # Fleet-wide counts from the database: exported by the leader only, so sums across
        # replicas stay right (the others export nothing for them).
        self.fleet_processes = Gauge(
            "colonies_processes",
            "Processes in the database, by colony and state (leader only).",
            ["colony", "state"],
            registry=self.registry,
        )
        self.fleet_workflows = Gauge(
            "colonies_workflows",
            "Workflows in the database, by colony and state (leader only).",
            ["colony", "state"],
            registry=self.registry,
        )
        self.fleet_executors = Gauge(
            "colonies_executors",
            "Executors in the database, by colony and state (leader only).",
            ["colony", "state"],
            registry=self.registry,
        )
        self.channel_messages = Counter(
            "colonies_channel_messages",
            "Messages appended to channels through this replica.",
            registry=self.registry,
        )
        for kind in ("execution", "waiting"):
            self.processes_expired.labels(kind)
        for outcome in ("successful", "failed"):
            self.processes_closed.labels(outcome)
            self.process_execution.labels(outcome)

    def watch_pool(self, pool: _Pool) -> None:
        """Database pool gauges, read from the pool at scrape time."""
        connections = Gauge(
            "colonies_db_pool_connections",
            "Connections of this replica's database pool, by state (busy, idle).",
            ["state"],
            registry=self.registry,
        )
        connections.labels("busy").set_function(lambda: pool.get_size() - pool.get_idle_size())
        connections.labels("idle").set_function(pool.get_idle_size)
        Gauge(
            "colonies_db_pool_max_connections",
            "The most connections this replica's database pool opens.",
            registry=self.registry,
        ).set_function(pool.get_max_size)

    def observe_closed(self, outcome: str, seconds: float, funcname: str = "") -> None:
        self.processes_closed.labels(outcome).inc()
        self.process_execution.labels(outcome).observe(max(seconds, 0.0))
        if funcname == "reconcile":  # a blueprint reconciler's report
            self.reconciliations.labels(outcome).inc()

    def set_fleet(self, gauge: Gauge, counts: list[tuple[str, str, int]]) -> None:
        """Replace a fleet gauge's samples with fresh counts (a colony may have gone)."""
        if not self.colony_names:
            totals: dict[str, int] = {}
            for _, state, n in counts:
                totals[state] = totals.get(state, 0) + n
            counts = [("", state, n) for state, n in totals.items()]
        gauge.clear()
        for colony, state, n in counts:
            gauge.labels(colony, state).set(n)

    def clear_fleet(self) -> None:
        for gauge in (self.fleet_processes, self.fleet_workflows, self.fleet_executors):
            gauge.clear()
