"""A scheduler of faults for the chaos soak: real signals to real processes of a local fleet.

One fault at a time, each followed by its repair and by a wait until the fleet is whole again
(every replica ready, one leader), so every fault's effect can be measured on its own:

- ``replica-sigkill``: SIGKILL a replica, start it again a second later;
- ``replica-sigstop``: freeze a replica (SIGSTOP) past the leader TTL, then SIGCONT;
- ``etcd-sigkill``: SIGKILL one etcd member, start it again (quorum holds with the two others);
- ``etcd-sigstop``: freeze one etcd member for a while;
- ``postgres-restart``: stop PostgreSQL at once ("immediate": no checkpoint, crash recovery),
  start it again;
- ``etcd-cut``: partition one replica from etcd (its TCP proxy stopped) past the TTL, then heal.

Replica faults and the cut hit the leader two times in three, so most of them cost a leader.
The sequence is drawn from a seeded random generator: a run is repeatable, and every kind comes
once before any comes twice.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
import urllib.request
from collections.abc import Callable

from integration._history import Fault
from tests.support.fleet import Fleet, Replica

KINDS = (
    "replica-sigkill",
    "replica-sigstop",
    "etcd-sigkill",
    "etcd-sigstop",
    "postgres-restart",
    "etcd-cut",
)


def _get(url: str, timeout: float = 0.5) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return reply.read().decode()
    except OSError:
        return None


def _leader_again(fault: Fault) -> str:
    if fault.leader_after is None:
        return ""
    return f", a leader again after {fault.leader_after:.1f} s"


def is_leader(replica: Replica) -> bool:
    metrics = _get(replica.url + "/metrics")
    return metrics is not None and "\ncolonies_leader 1.0" in metrics


def is_ready(replica: Replica) -> bool:
    return _get(replica.url + "/ready") is not None


class FaultScheduler:
    def __init__(
        self,
        fleet: Fleet,
        *,
        seed: int = 20,
        kinds: tuple[str, ...] = KINDS,
        log: Callable[[str], None] = print,
    ) -> None:
        self.fleet = fleet
        self.ttl = float(fleet.leader_ttl)
        self.rng = random.Random(seed)
        self.kinds = kinds
        self.log = log
        self.faults: list[Fault] = []
        self._bag: list[str] = []

    def _next_kind(self) -> str:
        if not self._bag:
            self._bag = list(self.kinds)
            self.rng.shuffle(self._bag)
        return self._bag.pop()

    async def run(self, seconds: float, max_faults: int = 200) -> list[Fault]:
        """Inject faults one after another until ``seconds`` have passed (a fault started in
        time runs to its repair and recovery)."""
        until = time.monotonic() + seconds
        while time.monotonic() < until and len(self.faults) < max_faults:
            fault = await self.inject(self._next_kind())
            self.faults.append(fault)
            self.log(
                f"fault {len(self.faults)}: {fault.kind} of {fault.target}"
                f"{' (leader)' if fault.was_leader else ''}, held {fault.healed - fault.start:.1f}"
                f" s{_leader_again(fault)} {fault.note}"
            )
            await asyncio.sleep(self.rng.uniform(1.0, 2.0))
        return self.faults

    async def leader(self) -> Replica | None:
        flags = await asyncio.gather(
            *(asyncio.to_thread(is_leader, r) for r in self.fleet.members if r.alive())
        )
        leaders = [r for r, flag in zip(self.fleet.members, flags, strict=False) if flag]
        return leaders[0] if len(leaders) == 1 else None

    def _pick_replica(self, leader: Replica | None) -> Replica:
        if leader is not None and self.rng.random() < 2 / 3:
            return leader
        return self.rng.choice(self.fleet.members)

    async def _watch_leader(self, fault: Fault, deposed: Replica | None) -> None:
        """Note when a replica (other than ``deposed``) reports leading after ``fault`` took
        the leader out: how long the fleet was without a leader."""
        while True:
            others = [r for r in self.fleet.members if r is not deposed and r.alive()]
            flags = await asyncio.gather(*(asyncio.to_thread(is_leader, r) for r in others))
            if any(flags):
                fault.leader_after = time.time() - fault.start
                return
            await asyncio.sleep(0.1)

    async def inject(self, kind: str) -> Fault:
        fleet = self.fleet
        leader = await self.leader()
        ttl = self.ttl
        watch: asyncio.Task[None] | None = None
        if kind in ("replica-sigkill", "replica-sigstop", "etcd-cut"):
            replica = self._pick_replica(leader)
            fault = Fault(kind, replica.name, replica is leader, time.time())
            if fault.was_leader and kind != "replica-sigkill":
                # Frozen or cut off, the old leader may still say it leads: not it.
                watch = asyncio.create_task(self._watch_leader(fault, replica))
            assert replica.proc is not None
            if kind == "replica-sigkill":
                replica.proc.send_signal(signal.SIGKILL)
                await asyncio.to_thread(replica.proc.wait, 10)
                if fault.was_leader:  # any replica leading from now on, itself restarted too
                    watch = asyncio.create_task(self._watch_leader(fault, None))
                await asyncio.sleep(1.0)
                fault.healed = time.time()
                fleet.start_replica(replica)
            elif kind == "replica-sigstop":
                os.kill(replica.proc.pid, signal.SIGSTOP)
                await asyncio.sleep(ttl + self.rng.uniform(1.0, 2.5))
                os.kill(replica.proc.pid, signal.SIGCONT)
                fault.healed = time.time()
            else:
                fleet.cut_from_etcd(replica, True)
                await asyncio.sleep(ttl + self.rng.uniform(1.5, 3.0))
                fleet.cut_from_etcd(replica, False)
                fault.healed = time.time()
        elif kind in ("etcd-sigkill", "etcd-sigstop"):
            member = self.rng.choice(fleet.etcd.members)
            fault = Fault(kind, f"etcd {member.name}", False, time.time())
            if kind == "etcd-sigkill":
                await asyncio.to_thread(fleet.etcd.kill_member, member)
                await asyncio.sleep(1.0)
                fleet.etcd.start_member(member, state="existing")
            else:
                fleet.etcd.signal_member(member, signal.SIGSTOP)
                await asyncio.sleep(ttl + self.rng.uniform(0.5, 2.0))
                fleet.etcd.signal_member(member, signal.SIGCONT)
            fault.healed = time.time()
        elif kind == "postgres-restart":
            fault = Fault(kind, "postgres", False, time.time())
            await asyncio.to_thread(fleet.pg.stop, "immediate")
            await asyncio.sleep(self.rng.uniform(0.5, 1.5))
            await asyncio.to_thread(fleet.pg.start)
            fault.healed = fault.resume_from = time.time()
        else:
            raise ValueError(f"unknown fault {kind!r}")
        fault.resume_from = fault.resume_from or fault.start
        try:
            await self.recover(fault)
        finally:
            if watch is not None:
                watch.cancel()
                await asyncio.gather(watch, return_exceptions=True)
        return fault

    async def recover(self, fault: Fault, timeout: float = 40.0) -> None:
        """Until every replica is ready and one leads."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leader = await self.leader()
            ready = await asyncio.gather(
                *(asyncio.to_thread(is_ready, r) for r in self.fleet.members)
            )
            if leader is not None and all(ready):
                return
            await asyncio.sleep(0.2)
        fault.note = f"(the fleet was not whole again within {timeout:.0f} s)"
