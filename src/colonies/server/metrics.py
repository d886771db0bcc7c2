"""Prometheus metrics every replica exports (per-replica; fleet-wide gauges come later)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from colonies import __version__


class Metrics:
    """One set per server instance (tests run several servers in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.rpc_requests = Counter(
            "colonies_rpc_requests",
            "RPC requests answered, by payloadtype and HTTP status.",
            ["payloadtype", "status"],
            registry=self.registry,
        )
        self.rpc_duration = Histogram(
            "colonies_rpc_duration_seconds",
            "Time to answer an RPC request, by payloadtype (long polls included).",
            ["payloadtype"],
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
