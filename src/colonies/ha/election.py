"""The election: which replica leads, so that exactly one runs the leader's ticks.

Two elections implement :class:`Election`: etcd's (ha/etcd.py), and without etcd an advisory
lock in PostgreSQL (ha/advisory_lock.py), for one replica or several on one database. Both hand
leadership over within about the leader TTL when the leader dies or freezes. ha/leadership.py
runs either. Neither can promise that a deposed leader stops at once: the term they hand out is
checked by every tick (store/fencing.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

OnElected = Callable[[int], Awaitable[None]]
OnLost = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ReplicaInfo:
    """How a replica is named and reached, as the cluster view shows it."""

    name: str
    host: str
    apiport: int


@dataclass(frozen=True, slots=True)
class ClusterView:
    replicas: list[ReplicaInfo]  # the live replicas
    leader: str  # the leader's name; "" when none is known


class Election(Protocol):
    async def run(self, on_elected: OnElected, on_lost: OnLost) -> None:
        """Campaign until cancelled. Calls ``on_elected(term)`` when this replica becomes the
        leader and ``on_lost()`` as soon as it can no longer prove it still is."""

    async def resign(self) -> None:
        """Give up leadership at once (SIGTERM), so that another replica takes over without
        waiting for a lease to expire; ``run`` is cancelled next."""

    async def cluster(self) -> ClusterView:
        """The live replicas and the leader (``getclustermsg``); ConnectionError when the
        election's backend cannot be reached."""
