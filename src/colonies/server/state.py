"""Per-replica state shared by every request: configuration, store, metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import tzinfo

from aiohttp import web

from colonies.config import ServerConfig
from colonies.core import ServerBackend, utcnow
from colonies.ha.leadership import Leadership
from colonies.server.access_cache import AccessCache
from colonies.server.assigned import AssignedProcesses
from colonies.server.metrics import Metrics
from colonies.server.waiters import AssignWaiters, ChannelSubscriptions, Subscriptions
from colonies.store import Store


@dataclass
class ServerState:
    config: ServerConfig
    store: Store
    metrics: Metrics = field(default_factory=Metrics)
    waiters: AssignWaiters = field(default_factory=AssignWaiters)
    subscriptions: Subscriptions = field(default_factory=Subscriptions)
    channel_subscriptions: ChannelSubscriptions = field(default_factory=ChannelSubscriptions)
    # Seconds between a waiting long poll's safety re-checks of the database.
    assign_recheck_interval: float = 5.0
    timezone: tzinfo = field(default_factory=lambda: load_timezone("UTC"))
    leadership: Leadership | None = None
    access_cache: AccessCache = field(default_factory=AccessCache)
    assigned: AssignedProcesses = field(default_factory=AssignedProcesses)
    # What getserverinfomsg reports: each transport served (server/app.py fills it in).
    backends: list[ServerBackend] = field(default_factory=list)
    # Set on SIGTERM: /ready fails; long polls answer by drain_deadline (time.monotonic()), and
    # the open /pubsub WebSockets are closed then (server/drain.py).
    draining: bool = False
    drain_deadline: float = math.inf
    websockets: set[web.WebSocketResponse] = field(default_factory=set)
    build_time: str = field(default_factory=lambda: utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"))


def load_timezone(name: str) -> tzinfo:
    from datetime import timezone
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name in ("", "UTC", "utc"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone TZ={name!r}") from None
